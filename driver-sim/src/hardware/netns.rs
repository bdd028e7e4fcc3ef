//! Where the simulated hardware lives: a private network namespace that
//! dies with the simulator, or the host's (the simulator's own).
//!
//! Either way a small child process, the holder, opens the netlink sockets
//! the simulator drives its hardware with and hands them over a
//! socketpair; for a private namespace it first unshares a new network
//! namespace (inside a new user namespace when not root, so no privilege
//! is needed). The simulator itself never leaves the caller's namespaces,
//! so its Generic Netlink socket stays where clients are, and the uids it
//! reads from `SCM_CREDENTIALS` are the callers' real uids (a process
//! inside a user namespace would see them remapped).
//!
//! The holder outlives the simulator however it ends: the kernel closes the
//! simulator's end of their socketpair, the holder sees end-of-file, cleans
//! up and exits. What would outlive the simulator is the holder's to
//! delete: the simulator tells it ([`Undertaker`]) which netdevsim devices
//! it created (their netdevs would move to the initial namespace) and, in
//! the host's namespace, which netdevs; the holder deletes those still there
//! and still marked as the simulator's ([`crate::hardware::ownership`]). A
//! private namespace's netdevs go with it, unless somebody keeps it (a
//! process inside it, say): there the holder deletes every netdev still
//! marked as the simulator's (every one there is its, or somebody's who
//! came in later).

use crate::hardware::ownership::Mark;
use nix::sched::{unshare, CloneFlags};
use nix::sys::socket::{
    recvmsg, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags, SockFlag, SockType,
};
use nix::sys::wait::waitpid;
use nix::unistd::{fork, getegid, geteuid, getppid, ForkResult, Pid};
use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// The namespace the hardware is in, with an rtnetlink socket open in it.
#[derive(Debug)]
pub struct HardwareNamespace {
    /// `NETLINK_ROUTE` socket bound in the hardware's namespace.
    pub rtnl: OwnedFd,
    /// `NETLINK_GENERIC` socket in the hardware's namespace (the kernel's
    /// ethtool family answers about that namespace's netdevs).
    pub genl: OwnedFd,
    /// `NETLINK_ROUTE` socket subscribed to the namespace's link
    /// notifications (`RTNLGRP_LINK`).
    pub link_monitor: OwnedFd,
    /// A second `NETLINK_GENERIC` socket there, for notifications.
    pub genl_monitor: OwnedFd,
    /// What to hand to `nsenter --net=`.
    pub netns_path: String,
    /// For `nsenter --user=` when the namespace is owned by a private user
    /// namespace (the simulator was not root).
    pub userns_path: Option<String>,
    /// A namespace of its own, not the simulator's.
    pub private: bool,
    holder: Option<Pid>,
    /// Our end of the holder's socketpair: the holder exits when it closes.
    holder_channel: Option<OwnedFd>,
}

/// Keeps the namespace holder informed of what the simulator created that
/// would outlive it, so that the holder deletes it if the simulator dies
/// without doing so.
#[derive(Debug)]
pub struct Undertaker {
    channel: OwnedFd,
    /// Whether netdevs must be reported (they die with a private namespace).
    tracks_netdevs: bool,
}

impl Undertaker {
    /// Netdevsim device `id`, whose sysfs node is `node`.
    pub fn created_netdevsim(&self, id: u32, node: u64) {
        self.send(&format!("+nsim {id} {node}"));
    }

    pub fn removed_netdevsim(&self, id: u32) {
        self.send(&format!("-nsim {id}"));
    }

    pub fn created_netdev(&self, ifindex: u32) {
        if self.tracks_netdevs {
            self.send(&format!("+link {ifindex}"));
        }
    }

    pub fn removed_netdev(&self, ifindex: u32) {
        if self.tracks_netdevs {
            self.send(&format!("-link {ifindex}"));
        }
    }

    fn send(&self, message: &str) {
        if let Err(e) = nix::sys::socket::send(self.channel.as_raw_fd(), message.as_bytes(), MsgFlags::empty()) {
            log::warn!("telling the namespace holder `{message}`: {e}");
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    #[error("cannot create a private network namespace: {0} (are unprivileged user namespaces disabled? see /proc/sys/kernel/unprivileged_userns_clone)")]
    Unshare(String),
    #[error("cannot set up the namespace holder: {0}")]
    Holder(String),
    #[error("cannot open rtnetlink: {0}")]
    Rtnl(std::io::Error),
}

/// Where `ip netns` keeps named namespaces.
pub const NETNS_RUN_DIR: &str = "/run/netns";

/// Whether `name` can name a namespace under [`NETNS_RUN_DIR`] (as `ip
/// netns add` checks it: a plain file name).
pub fn check_netns_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') {
        return Err(format!("`{name}` is not a namespace name (a file name in {NETNS_RUN_DIR})"));
    }
    Ok(())
}

impl HardwareNamespace {
    /// The hardware's namespace, `private` or the simulator's own, with its
    /// holder; a private one also bind-mounted at /run/netns/`name` (root
    /// only). Must be called while the process is single-threaded (it forks).
    pub fn new(private: bool, name: Option<&str>) -> Result<Self, NetnsError> {
        let (ours, theirs) = socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC)
            .map_err(|e| NetnsError::Holder(e.to_string()))?;
        let parent = nix::unistd::getpid();
        let as_root = geteuid().is_root();
        // SAFETY: the process is single-threaded here (startup, before the
        // event loop), so the child may run arbitrary code.
        match unsafe { fork() }.map_err(|e| NetnsError::Holder(e.to_string()))? {
            ForkResult::Child => {
                drop(ours);
                let status = match hold_namespace(theirs.as_raw_fd(), parent, private, as_root, name) {
                    Ok(()) => 0,
                    Err(message) => {
                        let _ = sendmsg::<()>(
                            theirs.as_raw_fd(),
                            &[IoSlice::new(message.as_bytes())],
                            &[],
                            MsgFlags::empty(),
                            None,
                        );
                        1
                    }
                };
                // SAFETY: leave without running the parent's destructors.
                unsafe { libc::_exit(status) }
            }
            ForkResult::Parent { child } => {
                drop(theirs);
                let [rtnl, genl, link_monitor, genl_monitor] = receive_fds(ours.as_raw_fd()).inspect_err(|_| {
                    let _ = waitpid(child, None);
                })?;
                let owner = if private { child } else { parent };
                Ok(HardwareNamespace {
                    rtnl,
                    genl,
                    link_monitor,
                    genl_monitor,
                    netns_path: format!("/proc/{owner}/ns/net"),
                    userns_path: (private && !as_root).then(|| format!("/proc/{child}/ns/user")),
                    private,
                    holder: Some(child),
                    holder_channel: Some(ours),
                })
            }
        }
    }

    /// An [`Undertaker`] for this namespace's holder.
    pub fn undertaker(&self) -> std::io::Result<Option<Undertaker>> {
        self.holder_channel
            .as_ref()
            .map(|c| Ok(Undertaker { channel: c.try_clone()?, tracks_netdevs: !self.private }))
            .transpose()
    }
}

impl Drop for HardwareNamespace {
    /// Closes the channel (undertakers hold duplicates: drop them first)
    /// and waits for the holder to clean up and exit.
    fn drop(&mut self) {
        self.holder_channel.take();
        if let Some(child) = self.holder.take() {
            let _ = waitpid(child, None);
        }
    }
}

/// The holder's life: a new namespace (if `private`), netlink sockets sent
/// to the simulator, then wait until the simulator is gone and delete what
/// it left that would outlive it.
fn hold_namespace(channel: RawFd, parent: Pid, private: bool, as_root: bool, name: Option<&str>) -> Result<(), String> {
    // Ctrl-C reaches the whole process group: the simulator tears down and
    // then ends the holder, which must not leave on its own before.
    // SAFETY: setting dispositions in a single-threaded child.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_IGN);
        libc::signal(libc::SIGTERM, libc::SIG_IGN);
    }
    if getppid() != parent {
        return Err("simulator exited during startup".into());
    }
    let simulator = Mark::of_process(parent.as_raw() as u32).ok_or("simulator exited during startup")?;
    if private && as_root {
        unshare(CloneFlags::CLONE_NEWNET).map_err(|e| format!("unshare(CLONE_NEWNET): {e}"))?;
    } else if private {
        let (uid, gid) = (geteuid(), getegid());
        unshare(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNET)
            .map_err(|e| format!("unshare(CLONE_NEWUSER|CLONE_NEWNET): {e}"))?;
        let write = |file: &str, text: String| std::fs::write(file, text).map_err(|e| format!("writing {file}: {e}"));
        write("/proc/self/setgroups", "deny".into())?;
        write("/proc/self/uid_map", format!("0 {uid} 1"))?;
        write("/proc/self/gid_map", format!("0 {gid} 1"))?;
    }
    let named = name.map(NamedNetns::mount).transpose()?;
    let rtnl = open_rtnl().map_err(|e| format!("rtnetlink socket: {e}"))?;
    let genl = open_genl().map_err(|e| format!("generic netlink socket: {e}"))?;
    let link_monitor = open_link_monitor().map_err(|e| format!("rtnetlink monitor socket: {e}"))?;
    let genl_monitor = open_genl().map_err(|e| format!("generic netlink socket: {e}"))?;
    let fds = [rtnl.as_raw_fd(), genl.as_raw_fd(), link_monitor.as_raw_fd(), genl_monitor.as_raw_fd()];
    sendmsg::<()>(channel, &[IoSlice::new(b"ok")], &[ControlMessage::ScmRights(&fds)], MsgFlags::empty(), None)
        .map_err(|e| format!("sending the netlink sockets: {e}"))?;
    drop((genl, link_monitor, genl_monitor));
    // Until the simulator closes its end (or dies): note what it creates
    // and removes; then delete what is still there.
    let mut netdevsim_ids = std::collections::BTreeMap::new();
    let mut netdevs = std::collections::BTreeSet::new();
    let mut message = [0u8; 64];
    loop {
        match nix::sys::socket::recv(channel, &mut message, MsgFlags::empty()) {
            Ok(0) => break,
            Ok(len) => {
                let text = String::from_utf8_lossy(&message[..len]);
                let mut words = text.split(' ');
                let (Some(what), Some(Ok(id))) = (words.next(), words.next().map(str::parse::<u32>)) else {
                    continue;
                };
                match what {
                    "+nsim" => {
                        let node = words.next().and_then(|n| n.parse::<u64>().ok()).unwrap_or_default();
                        netdevsim_ids.insert(id, node);
                    }
                    "-nsim" => {
                        netdevsim_ids.remove(&id);
                    }
                    "+link" => {
                        netdevs.insert(id);
                    }
                    "-link" => {
                        netdevs.remove(&id);
                    }
                    _ => {}
                }
            }
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => break,
        }
    }
    let mut rtnl = simdev_netlink::rtnl::Rtnl::new(rtnl);
    // Those still the simulator's (an ifindex can be reused), from one dump.
    // In a namespace of its own every netdev is a candidate: the holder is
    // not told of them (a message for each made starting with 500 ports 4 %
    // slower: 0.299 s against 0.287, means of four).
    let marked: Vec<u32> = rtnl
        .links()
        .unwrap_or_default()
        .into_iter()
        .filter(|link| private || netdevs.contains(&link.ifindex))
        .filter(|link| link.alias.as_deref().and_then(Mark::parse) == Some(simulator))
        .map(|link| link.ifindex)
        .collect();
    if marked.len() < 2 || !rtnl.delete_together(&marked) {
        for ifindex in marked {
            let _ = rtnl.delete_link(ifindex);
        }
    }
    for (id, node) in netdevsim_ids {
        // Only if it still is the one the simulator made: ids are reused.
        if crate::hardware::netdevsim::node_of(id) == Some(node) {
            let _ = std::fs::write(format!("{}/del_device", crate::hardware::netdevsim::BUS), id.to_string());
        }
    }
    drop(named);
    Ok(())
}

/// The holder's namespace bind-mounted at /run/netns/NAME, as `ip netns
/// add` mounts one; unmounted and removed on drop (the holder outlives the
/// simulator, so this happens after `kill -9` too).
struct NamedNetns {
    path: std::path::PathBuf,
}

impl NamedNetns {
    fn mount(name: &str) -> Result<Self, String> {
        use nix::mount::{mount, MsFlags};
        std::fs::create_dir_all(NETNS_RUN_DIR).map_err(|e| format!("creating {NETNS_RUN_DIR}: {e}"))?;
        let path = std::path::Path::new(NETNS_RUN_DIR).join(name);
        // Never take over a name somebody else uses.
        std::fs::OpenOptions::new().write(true).create_new(true).open(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => {
                format!("{} exists: a network namespace of that name is there already (ip netns list)", path.display())
            }
            _ => format!("creating {}: {e}", path.display()),
        })?;
        let named = NamedNetns { path };
        mount(Some("/proc/self/ns/net"), &named.path, None::<&str>, MsFlags::MS_BIND, None::<&str>)
            .map_err(|e| format!("bind-mounting the namespace at {}: {e}", named.path.display()))?;
        Ok(named)
    }
}

impl Drop for NamedNetns {
    fn drop(&mut self) {
        let _ = nix::mount::umount2(&self.path, nix::mount::MntFlags::MNT_DETACH);
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Receives the holder's four netlink sockets, or its error message.
fn receive_fds(channel: RawFd) -> Result<[OwnedFd; 4], NetnsError> {
    let mut data = [0u8; 512];
    let mut iov = [IoSliceMut::new(&mut data)];
    let mut space = nix::cmsg_space!([RawFd; 4]);
    let msg = recvmsg::<()>(channel, &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC)
        .map_err(|e| NetnsError::Holder(e.to_string()))?;
    let received: Vec<RawFd> = msg
        .cmsgs()
        .map_err(|e| NetnsError::Holder(e.to_string()))?
        .flat_map(|c| match c {
            ControlMessageOwned::ScmRights(fds) => fds,
            _ => Vec::new(),
        })
        .collect();
    let len = msg.bytes;
    // SAFETY: the fds were just received and are owned by nobody else.
    let owned: Vec<OwnedFd> = received.into_iter().map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }).collect();
    match <[OwnedFd; 4]>::try_from(owned) {
        Ok(fds) => Ok(fds),
        Err(_) if len == 0 => Err(NetnsError::Holder("the namespace holder exited".into())),
        Err(fds) if fds.is_empty() => Err(NetnsError::Unshare(String::from_utf8_lossy(&data[..len]).into_owned())),
        Err(_) => Err(NetnsError::Holder("the holder sent an unexpected number of sockets".into())),
    }
}

/// A `NETLINK_GENERIC` socket in the current netns.
pub fn open_genl() -> std::io::Result<OwnedFd> {
    let socket =
        neli::socket::NlSocket::connect(neli::consts::socket::NlFamily::Generic, None, neli::utils::Groups::empty())?;
    // SAFETY: into_raw_fd hands over ownership.
    Ok(unsafe { OwnedFd::from_raw_fd(std::os::fd::IntoRawFd::into_raw_fd(socket)) })
}

/// A `NETLINK_ROUTE` socket in the current netns that receives its link
/// notifications, with a receive buffer as large as allowed (an overrun
/// costs a full resynchronisation).
pub fn open_link_monitor() -> std::io::Result<OwnedFd> {
    /// `RTNLGRP_LINK`.
    const LINK_GROUP: u32 = 1;
    let socket = neli::socket::NlSocket::connect(
        neli::consts::socket::NlFamily::Route,
        None,
        neli::utils::Groups::new_groups(&[LINK_GROUP]),
    )?;
    let _ = socket.set_recv_buffer_size(4 * 1024 * 1024);
    // SAFETY: into_raw_fd hands over ownership.
    Ok(unsafe { OwnedFd::from_raw_fd(std::os::fd::IntoRawFd::into_raw_fd(socket)) })
}

/// A `NETLINK_ROUTE` socket with extended ACKs enabled, in the current netns.
pub fn open_rtnl() -> std::io::Result<OwnedFd> {
    let socket =
        neli::socket::NlSocket::connect(neli::consts::socket::NlFamily::Route, None, neli::utils::Groups::empty())?;
    socket.enable_ext_ack(true)?;
    // SAFETY: into_raw_fd hands over ownership.
    Ok(unsafe { OwnedFd::from_raw_fd(std::os::fd::IntoRawFd::into_raw_fd(socket)) })
}

/// Runs `work` on a short-lived thread that has entered the network
/// namespace at `netns_path`: what it creates there (netdevsim devices,
/// sockets) belongs to that namespace, while the simulator's own thread
/// stays where its clients are. Entering a namespace needs
/// `CAP_SYS_ADMIN` over it, so this is for a simulator running as root.
pub fn in_namespace<T: Send + 'static>(
    netns_path: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> std::io::Result<T> {
    let netns = std::fs::File::open(netns_path)?;
    std::thread::spawn(move || {
        nix::sched::setns(&netns, CloneFlags::CLONE_NEWNET).map_err(std::io::Error::from)?;
        Ok(work())
    })
    .join()
    .map_err(|_| std::io::Error::other("a thread working in the hardware namespace panicked"))?
}

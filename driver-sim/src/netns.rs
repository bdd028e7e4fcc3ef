//! Where the simulated hardware lives: a private network namespace that
//! dies with the simulator, or the host's.
//!
//! A private namespace is held by a small child process: it unshares a new
//! network namespace (inside a new user namespace when not root, so no
//! privilege is needed), opens an rtnetlink socket there, hands it to the
//! simulator over a socketpair, and then waits. The simulator itself never
//! leaves the caller's namespaces, so its Generic Netlink socket stays where
//! clients are, and the uids it reads from `SCM_CREDENTIALS` are the
//! callers' real uids (a process inside a user namespace would see them
//! remapped). The child exits when the simulator does, however it ends:
//! the kernel closes the simulator's end of their socketpair, and the child
//! sees end-of-file. With it go the namespace and every virtual netdev in
//! it, even after `kill -9`. netdevsim devices do not die with a namespace
//! (their netdevs move to the initial one), so the simulator tells the
//! child which ones it created ([`Undertaker`]) and the child deletes what
//! is left of them before it exits.

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
    /// What to hand to `nsenter --net=`.
    pub netns_path: String,
    /// For `nsenter --user=` when the namespace is owned by a private user
    /// namespace (the simulator was not root).
    pub userns_path: Option<String>,
    holder: Option<Pid>,
    /// Our end of the holder's socketpair: the holder exits when it closes.
    holder_channel: Option<OwnedFd>,
}

/// Keeps the namespace holder informed of the netdevsim devices the
/// simulator created, so that it deletes them if the simulator dies first.
#[derive(Debug)]
pub struct Undertaker {
    channel: OwnedFd,
}

impl Undertaker {
    pub fn created(&self, id: u32) {
        self.send(&format!("+{id}"));
    }

    pub fn removed(&self, id: u32) {
        self.send(&format!("-{id}"));
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

impl HardwareNamespace {
    /// The namespace the simulator runs in.
    pub fn host() -> Result<Self, NetnsError> {
        Ok(HardwareNamespace {
            rtnl: open_rtnl().map_err(NetnsError::Rtnl)?,
            genl: open_genl().map_err(NetnsError::Rtnl)?,
            netns_path: format!("/proc/{}/ns/net", std::process::id()),
            userns_path: None,
            holder: None,
            holder_channel: None,
        })
    }

    /// An [`Undertaker`] for this namespace's holder (none for the host's).
    pub fn undertaker(&self) -> std::io::Result<Option<Undertaker>> {
        self.holder_channel.as_ref().map(|c| Ok(Undertaker { channel: c.try_clone()? })).transpose()
    }

    /// A fresh namespace held by a child process. Must be called while the
    /// process is single-threaded (it forks).
    pub fn private() -> Result<Self, NetnsError> {
        let (ours, theirs) = socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC)
            .map_err(|e| NetnsError::Holder(e.to_string()))?;
        let parent = nix::unistd::getpid();
        let as_root = geteuid().is_root();
        // SAFETY: the process is single-threaded here (startup, before the
        // event loop), so the child may run arbitrary code.
        match unsafe { fork() }.map_err(|e| NetnsError::Holder(e.to_string()))? {
            ForkResult::Child => {
                drop(ours);
                let status = match hold_namespace(theirs.as_raw_fd(), parent, as_root) {
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
                let [rtnl, genl] = receive_fds(ours.as_raw_fd()).inspect_err(|_| {
                    let _ = waitpid(child, None);
                })?;
                Ok(HardwareNamespace {
                    rtnl,
                    genl,
                    netns_path: format!("/proc/{child}/ns/net"),
                    userns_path: (!as_root).then(|| format!("/proc/{child}/ns/user")),
                    holder: Some(child),
                    holder_channel: Some(ours),
                })
            }
        }
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

/// The holder's life: new namespaces, an rtnetlink socket sent to the
/// parent, then wait until the parent is gone.
fn hold_namespace(channel: RawFd, parent: Pid, as_root: bool) -> Result<(), String> {
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
    if as_root {
        unshare(CloneFlags::CLONE_NEWNET).map_err(|e| format!("unshare(CLONE_NEWNET): {e}"))?;
    } else {
        let (uid, gid) = (geteuid(), getegid());
        unshare(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNET)
            .map_err(|e| format!("unshare(CLONE_NEWUSER|CLONE_NEWNET): {e}"))?;
        let write = |file: &str, text: String| std::fs::write(file, text).map_err(|e| format!("writing {file}: {e}"));
        write("/proc/self/setgroups", "deny".into())?;
        write("/proc/self/uid_map", format!("0 {uid} 1"))?;
        write("/proc/self/gid_map", format!("0 {gid} 1"))?;
    }
    let rtnl = open_rtnl().map_err(|e| format!("rtnetlink socket: {e}"))?;
    let genl = open_genl().map_err(|e| format!("generic netlink socket: {e}"))?;
    let fds = [rtnl.as_raw_fd(), genl.as_raw_fd()];
    sendmsg::<()>(channel, &[IoSlice::new(b"ok")], &[ControlMessage::ScmRights(&fds)], MsgFlags::empty(), None)
        .map_err(|e| format!("sending the netlink sockets: {e}"))?;
    drop((rtnl, genl));
    // Until the simulator closes its end (or dies): note the netdevsim
    // devices it creates and removes; then delete those still there.
    let mut netdevsim_ids = std::collections::BTreeSet::new();
    let mut message = [0u8; 32];
    loop {
        match nix::sys::socket::recv(channel, &mut message, MsgFlags::empty()) {
            Ok(0) => break,
            Ok(len) => {
                let text = String::from_utf8_lossy(&message[..len]);
                let (sign, id) = text.split_at(1);
                if let Ok(id) = id.parse::<u32>() {
                    if sign == "+" {
                        netdevsim_ids.insert(id);
                    } else {
                        netdevsim_ids.remove(&id);
                    }
                }
            }
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => break,
        }
    }
    for id in netdevsim_ids {
        let _ = std::fs::write(format!("{}/del_device", crate::backend::netdevsim::BUS), id.to_string());
    }
    Ok(())
}

/// Receives the rtnetlink and generic netlink sockets, or the holder's
/// error message.
fn receive_fds(channel: RawFd) -> Result<[OwnedFd; 2], NetnsError> {
    let mut data = [0u8; 512];
    let mut iov = [IoSliceMut::new(&mut data)];
    let mut space = nix::cmsg_space!([RawFd; 2]);
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
    match <[OwnedFd; 2]>::try_from(owned) {
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

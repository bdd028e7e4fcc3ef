//! The hardware namespace's netdevs, shared by the backends whose ports
//! are real netdevs with a peer netdev as their cable's far end (veth
//! pairs; linked netdevsim ports). The cable's MTU follows the port's, so
//! frames the port may send are not dropped on the far side; unplugging
//! the cable is taking the peer down, which the kernel shows as the port
//! losing carrier.
//!
//! State is what the kernel announced: the namespace's link notifications
//! (`RTNLGRP_LINK`) and ethtool's ring notifications keep a copy of every
//! netdev current, so reading a port costs no request, and changes made
//! by anyone (`ip link`, `ethtool -G`, a devlink reload) are seen. Changes
//! go through rtnetlink and ethtool; the kernel has announced them by the
//! time it acknowledges, so each change reads the notifications right
//! after. Counters are not announced: statistics are read fresh.

use super::{Port, PortCounters, PortState, Ports};
use crate::hardware::netns::Undertaker;
use crate::hardware::ownership::name_taken;
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{recv, MsgFlags};
use simdev_netlink::client::Client;
use simdev_netlink::ethtool::{decode_rings_notification, Ethtool, Netdev};
use simdev_netlink::rtnl::{parse_link, KernelError, LinkState, Rtnl, RTM_DELLINK, RTM_NEWLINK};
use simdev_protocol::simdev::{Mac, Rings};
use simdev_protocol::wire::{split_messages, Message, RECV_BUF_LEN};
use std::collections::{BTreeSet, HashMap};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

/// The kernel's netdevs of the hardware namespace, as ports with cables.
pub struct Netdevs {
    pub rtnl: Rtnl,
    /// Told what was created that outlives the simulator (see [`crate::hardware::netns`]).
    pub undertaker: Option<Undertaker>,
    ethtool: Option<Ethtool>,
    /// The namespace's link notifications.
    link_monitor: OwnedFd,
    /// Ethtool's notifications (when its `monitor` group could be joined).
    ethtool_monitor: Option<OwnedFd>,
    /// Every netdev of the namespace, as last announced.
    links: HashMap<u32, LinkState>,
    /// Ring sizes of the netdevs whose driver has rings.
    rings: HashMap<u32, Rings>,
    /// Netdevs that changed, appeared or went since [`Netdevs::take_changed`].
    changed: BTreeSet<u32>,
    buf: Vec<u8>,
}

/// Whether two states of a netdev differ in what simdev reports.
fn differs(a: &LinkState, b: &LinkState) -> bool {
    (&a.ifname, a.mac, a.mtu, a.up, a.lower_up, a.oper_state, &a.alias)
        != (&b.ifname, b.mac, b.mtu, b.up, b.lower_up, b.oper_state, &b.alias)
}

impl Netdevs {
    /// Takes the namespace's sockets: for requests (`rtnl`, `genl`) and
    /// for notifications (`link_monitor`, subscribed; `genl_monitor`, to
    /// join ethtool's group on), and reads every netdev once.
    pub fn new(
        rtnl: Rtnl,
        genl: OwnedFd,
        link_monitor: OwnedFd,
        genl_monitor: OwnedFd,
        undertaker: Option<Undertaker>,
    ) -> Result<Self, KernelError> {
        let ethtool = match Client::kernel_on(genl).and_then(Ethtool::new) {
            Ok(ethtool) => Some(ethtool),
            Err(e) => {
                log::warn!("the kernel's ethtool family: {e}: ring sizes are not available");
                None
            }
        };
        let ethtool_monitor = match ethtool.as_ref().and_then(|e| e.monitor_group()) {
            Some(group) => match join_group(&genl_monitor, group) {
                Ok(()) => Some(genl_monitor),
                Err(e) => {
                    log::warn!("joining ethtool's monitor group: {e}: ring changes made elsewhere go unseen");
                    None
                }
            },
            None => None,
        };
        for socket in [Some(&link_monitor), ethtool_monitor.as_ref()].into_iter().flatten() {
            nix::fcntl::fcntl(socket, nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK))
                .map_err(|e| KernelError { errno: e as i32, message: None })?;
        }
        let mut netdevs = Netdevs {
            rtnl,
            undertaker,
            ethtool,
            link_monitor,
            ethtool_monitor,
            links: HashMap::new(),
            rings: HashMap::new(),
            changed: BTreeSet::new(),
            buf: vec![0; RECV_BUF_LEN],
        };
        netdevs.resync()?;
        netdevs.changed.clear();
        Ok(netdevs)
    }

    /// The sockets notifications arrive on (for the loop's watcher).
    pub fn monitors(&self) -> std::io::Result<Vec<OwnedFd>> {
        [Some(&self.link_monitor), self.ethtool_monitor.as_ref()].into_iter().flatten().map(|s| s.try_clone()).collect()
    }

    /// Reads every notification waiting and updates the netdevs' state.
    pub fn sync(&mut self) {
        let mut buf = std::mem::take(&mut self.buf);
        let lost = drain(self.link_monitor.as_raw_fd(), &mut buf, "link notifications", |message| {
            match (message.header.ty, parse_link(message)) {
                (RTM_NEWLINK, Some(link)) => self.update(link),
                (RTM_DELLINK, Some(link)) => self.forget(link.ifindex),
                _ => {}
            }
        });
        self.buf = buf;
        if lost {
            // Notifications were lost: read everything again.
            log::info!("link notifications overran: reading every netdev again");
            if let Err(e) = self.resync() {
                log::warn!("reading the namespace's netdevs: {e}");
            }
        }
        self.sync_rings();
    }

    /// Replaces the copy with a fresh dump, noting what differs.
    fn resync(&mut self) -> Result<(), KernelError> {
        let fresh = self.rtnl.links()?;
        let present: BTreeSet<u32> = fresh.iter().map(|l| l.ifindex).collect();
        let gone: Vec<u32> = self.links.keys().copied().filter(|i| !present.contains(i)).collect();
        for ifindex in gone {
            self.forget(ifindex);
        }
        for link in fresh {
            self.update(link);
        }
        Ok(())
    }

    fn sync_rings(&mut self) {
        let (Some(socket), Some(ethtool)) = (&self.ethtool_monitor, &self.ethtool) else { return };
        let (fd, family) = (socket.as_raw_fd(), ethtool.family_id());
        let mut buf = std::mem::take(&mut self.buf);
        let lost = drain(fd, &mut buf, "ethtool notifications", |message| {
            if let Some((ifindex, rings)) = decode_rings_notification(message, family) {
                if self.rings.insert(ifindex, rings) != Some(rings) {
                    self.changed.insert(ifindex);
                }
            }
        });
        self.buf = buf;
        if lost {
            let known: Vec<u32> = self.rings.keys().copied().collect();
            for ifindex in known {
                self.read_rings(ifindex);
            }
        }
    }

    fn update(&mut self, link: LinkState) {
        let ifindex = link.ifindex;
        match self.links.get(&ifindex) {
            Some(old) if !differs(old, &link) => {}
            _ => {
                self.changed.insert(ifindex);
            }
        }
        self.links.insert(ifindex, link);
    }

    fn forget(&mut self, ifindex: u32) {
        if self.links.remove(&ifindex).is_some() {
            self.changed.insert(ifindex);
        }
        self.rings.remove(&ifindex);
    }

    /// Waits (at most `within`) until the kernel announced the final
    /// operational state of the given netdevs: UP for those that are up
    /// (the kernel's link watch announces it a while after they came up).
    pub fn settle(&mut self, ifindexes: &[u32], within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            self.sync();
            let settled = self.settled(ifindexes);
            let left = deadline.saturating_duration_since(Instant::now());
            if settled || left.is_zero() {
                return settled;
            }
            let mut fds = [PollFd::new(self.link_monitor.as_fd(), PollFlags::POLLIN)];
            let timeout = PollTimeout::try_from(left.as_millis().max(1) as i32).unwrap_or(PollTimeout::MAX);
            let _ = poll(&mut fds, timeout);
        }
    }

    /// Whether the kernel announced, as far as read, the final operational
    /// state of the given netdevs (UP for those that are up).
    pub fn settled(&self, ifindexes: &[u32]) -> bool {
        const IF_OPER_UP: u8 = 6;
        ifindexes.iter().all(|i| self.links.get(i).is_none_or(|link| !link.up || link.oper_state == IF_OPER_UP))
    }

    /// The netdevs that changed, appeared or went since the last call.
    pub fn take_changed(&mut self) -> BTreeSet<u32> {
        std::mem::take(&mut self.changed)
    }

    /// A netdev as last announced.
    pub fn link(&self, ifindex: u32) -> Option<&LinkState> {
        self.links.get(&ifindex)
    }

    /// Every netdev of the namespace, as last announced.
    pub fn all(&self) -> impl Iterator<Item = &LinkState> {
        self.links.values()
    }

    /// Reads a netdev's ring sizes (for ports whose driver has rings; the
    /// kernel announces later changes).
    pub fn read_rings(&mut self, ifindex: u32) {
        let Some(ethtool) = self.ethtool.as_mut() else { return };
        match ethtool.rings(&Netdev::Index(ifindex)) {
            Ok(rings) => {
                if self.rings.insert(ifindex, rings) != Some(rings) {
                    self.changed.insert(ifindex);
                }
            }
            Err(e) => log::warn!("reading the rings of ifindex {ifindex}: {e}"),
        }
    }

    /// Refuses names a netdev of the namespace holds, other than those
    /// being named (`EEXIST`, saying which name and whose netdev holds it).
    pub fn check_names_free<'a>(
        &mut self,
        names: impl IntoIterator<Item = &'a String>,
        being_named: &[u32],
    ) -> Result<(), KernelError> {
        self.sync();
        for name in names {
            let taken = self.links.values().find(|link| link.ifname == *name && !being_named.contains(&link.ifindex));
            if let Some(taken) = taken {
                return Err(KernelError { errno: libc::EEXIST, message: Some(name_taken(taken)) });
            }
        }
        Ok(())
    }

    /// Notes a netdev the simulator created.
    pub fn created(&self, ifindex: u32) {
        if let Some(undertaker) = &self.undertaker {
            undertaker.created_netdev(ifindex);
        }
    }

    /// Notes a netdev the simulator removed.
    pub fn removed(&self, ifindex: u32) {
        if let Some(undertaker) = &self.undertaker {
            undertaker.removed_netdev(ifindex);
        }
    }

    /// After a change of the port: its notifications are waiting, read
    /// them; and read the port and its cable end now, as some of what
    /// follows a change (carrier, operational state) the kernel announces
    /// only later, from its link watch.
    fn changed_by_us<T>(&mut self, port: &Port, outcome: Result<T, KernelError>) -> Result<T, KernelError> {
        self.sync();
        for ifindex in [port.ifindex, port.peer_ifindex] {
            match self.rtnl.link(ifindex) {
                Ok(link) => self.update(link),
                Err(e) if e.errno == libc::ENODEV => self.forget(ifindex),
                Err(e) => log::warn!("reading ifindex {ifindex}: {e}"),
            }
        }
        outcome
    }

    /// The port's netdev, or `ENODEV` saying that it is gone.
    fn present(&self, port: &Port) -> Result<&LinkState, KernelError> {
        self.links.get(&port.ifindex).ok_or_else(|| KernelError {
            errno: libc::ENODEV,
            message: Some(format!("{} was deleted outside simdev (dev reset recreates it)", port.ifname)),
        })
    }
}

/// Reads every datagram waiting on a non-blocking socket, handing each
/// message to `take`; returns whether some were lost (`ENOBUFS`).
fn drain(socket: RawFd, buf: &mut [u8], what: &str, mut take: impl FnMut(&Message<'_>)) -> bool {
    let mut lost = false;
    loop {
        match recv(socket, buf, MsgFlags::MSG_DONTWAIT) {
            Ok(len) => split_messages(&buf[..len]).for_each(|message| take(&message)),
            Err(Errno::EAGAIN) => return lost,
            Err(Errno::EINTR) => {}
            Err(Errno::ENOBUFS) => lost = true,
            Err(e) => {
                log::warn!("reading {what}: {e}");
                return lost;
            }
        }
    }
}

/// `NETLINK_ADD_MEMBERSHIP` of a generic netlink group.
fn join_group(socket: &OwnedFd, group: u32) -> std::io::Result<()> {
    // SAFETY: plain setsockopt with an int argument on a socket we own.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            simdev_protocol::wire::SOL_NETLINK,
            simdev_protocol::wire::NETLINK_ADD_MEMBERSHIP,
            (&group as *const u32).cast(),
            std::mem::size_of::<u32>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

impl Ports for Netdevs {
    fn port_state(&mut self, port: &Port) -> Result<Option<PortState>, KernelError> {
        let Some(link) = self.links.get(&port.ifindex) else {
            return Ok(None);
        };
        let peer_ifname = self.links.get(&port.peer_ifindex).map_or(&port.peer_ifname, |peer| &peer.ifname);
        Ok(Some(PortState {
            ifindex: link.ifindex,
            ifname: link.ifname.clone(),
            peer_ifname: peer_ifname.clone(),
            mac: link.mac,
            mtu: link.mtu,
            up: link.up,
            oper_state: link.oper_state,
            carrier: link.lower_up,
            rings: if port.has_rings { self.rings.get(&port.ifindex).copied() } else { None },
        }))
    }

    /// Sets the cable's MTU, then the port's; undoes the first if the second fails.
    fn set_mtu(&mut self, port: &Port, mtu: u32) -> Result<(), KernelError> {
        self.present(port)?;
        let old_peer_mtu = self.links.get(&port.peer_ifindex).map(|peer| peer.mtu);
        let rtnl = &mut self.rtnl;
        let outcome = rtnl.set_mtu(port.peer_ifindex, mtu).and_then(|()| {
            rtnl.set_mtu(port.ifindex, mtu).inspect_err(|_| {
                if let Some(old) = old_peer_mtu {
                    let _ = rtnl.set_mtu(port.peer_ifindex, old);
                }
            })
        });
        self.changed_by_us(port, outcome)
    }

    fn set_mac(&mut self, port: &Port, mac: &Mac) -> Result<(), KernelError> {
        self.present(port)?;
        let outcome = self.rtnl.set_mac(port.ifindex, mac);
        self.changed_by_us(port, outcome)
    }

    fn set_up(&mut self, port: &Port, up: bool) -> Result<(), KernelError> {
        self.present(port)?;
        let outcome = self.rtnl.set_up(port.ifindex, up);
        self.changed_by_us(port, outcome)
    }

    /// The cable is the peer end: down is unplugged (the port loses carrier).
    fn set_carrier(&mut self, port: &Port, on: bool) -> Result<(), KernelError> {
        self.present(port)?;
        let outcome = self.rtnl.set_up(port.peer_ifindex, on);
        self.changed_by_us(port, outcome)
    }

    /// `ethtool -G`: the kernel says whether the driver has rings and
    /// whether the sizes fit.
    fn set_rings(&mut self, port: &Port, rx: Option<u32>, tx: Option<u32>) -> Result<(), KernelError> {
        self.present(port)?;
        let ethtool = self.ethtool.as_mut().ok_or(KernelError {
            errno: libc::EOPNOTSUPP,
            message: Some("the kernel's ethtool family is not available".into()),
        })?;
        let outcome = ethtool.set_rings(&Netdev::Index(port.ifindex), rx, tx).map_err(KernelError::from);
        if outcome.is_ok() && self.ethtool_monitor.is_none() {
            self.read_rings(port.ifindex);
        }
        self.changed_by_us(port, outcome)
    }

    /// The kernel's counters, read now (they are not announced).
    fn port_counters(&mut self, port: &Port) -> Result<PortCounters, KernelError> {
        self.present(port)?;
        let link = self.rtnl.link(port.ifindex)?;
        Ok(PortCounters { ifname: link.ifname, stats64: link.stats })
    }
}

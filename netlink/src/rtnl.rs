//! A small rtnetlink client: create, inspect, change and delete links.
//!
//! This is how the simulator drives its "hardware". Every call waits for
//! the kernel's answer, so a caller knows the change happened (or why it
//! did not: [`KernelError`] keeps the kernel's errno and extended-ACK text).

use nix::sys::socket::{recv, send, MsgFlags};
use simdev_protocol::extack::decode_status;
use simdev_protocol::simdev::Mac;
use simdev_protocol::wire::{
    split_messages, Message, MessageBuilder, NLMSG_DONE, NLMSG_ERROR, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL,
    NLM_F_REQUEST, RECV_BUF_LEN,
};
use std::collections::BTreeSet;
use std::os::fd::{AsRawFd, OwnedFd};

/// rtnetlink message types (`include/uapi/linux/rtnetlink.h`).
pub const RTM_NEWLINK: u16 = 16;
pub const RTM_DELLINK: u16 = 17;
pub const RTM_GETLINK: u16 = 18;

const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_LINK: u16 = 5;
const IFLA_IFALIAS: u16 = 20;
const IFLA_OPERSTATE: u16 = 16;
const IFLA_STATS64: u16 = 23;
const IFLA_GROUP: u16 = 27;
const IFLA_NUM_TX_QUEUES: u16 = 31;
const IFLA_NUM_RX_QUEUES: u16 = 32;
const IFLA_PHYS_PORT_NAME: u16 = 38;
const IFLA_PARENT_DEV_NAME: u16 = 56;
const IFLA_LINKINFO: u16 = 18;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const VETH_INFO_PEER: u16 = 1;

const IFF_UP: u32 = 0x1;
const IFF_LOWER_UP: u32 = 0x1_0000;
const AF_UNSPEC: u8 = 0;
/// `sizeof(struct ifinfomsg)`.
const IFINFOMSG_LEN: usize = 16;

/// The kernel refused a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}", simdev_protocol::errno::strerror(*.errno), .message.as_ref().map(|m| format!(" ({m})")).unwrap_or_default())]
pub struct KernelError {
    /// Positive errno.
    pub errno: i32,
    /// The kernel's extended-ACK message, if it gave one.
    pub message: Option<String>,
}

impl KernelError {
    fn io(err: nix::errno::Errno) -> Self {
        KernelError { errno: err as i32, message: None }
    }
}

/// A refused system call (a sysfs write, entering a namespace): its errno.
impl From<std::io::Error> for KernelError {
    fn from(e: std::io::Error) -> Self {
        KernelError { errno: e.raw_os_error().unwrap_or(libc::EIO), message: None }
    }
}

/// What the kernel's other families (devlink, ethtool) answered, through
/// [`crate::client`]: its errno and extended-ACK message.
impl From<crate::error::Error> for KernelError {
    fn from(e: crate::error::Error) -> Self {
        match &e {
            crate::error::Error::Netlink { errno, message, .. } => {
                KernelError { errno: *errno as i32, message: message.clone() }
            }
            other => {
                KernelError { errno: other.errno().map_or(libc::EIO, |e| e as i32), message: Some(other.to_string()) }
            }
        }
    }
}

/// How a new port starts.
#[derive(Debug, Clone, Copy, Default)]
pub struct NewPort {
    pub mtu: Option<u32>,
    pub mac: Option<Mac>,
    /// RX and TX queues of both ends.
    pub queues: Option<u32>,
}

/// A link as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkState {
    pub ifindex: u32,
    pub ifname: String,
    pub mac: Mac,
    pub mtu: u32,
    pub up: bool,
    pub lower_up: bool,
    pub oper_state: u8,
    /// The first eight counters of `struct rtnl_link_stats64`: rx/tx
    /// packets, rx/tx bytes, rx/tx errors, rx/tx dropped.
    pub stats: [u64; 8],
    /// The device the netdev belongs to (`netdevsim3`), for bus devices.
    pub parent_dev: Option<String>,
    /// The port's name on its device (`p0`), when the driver gives one.
    pub phys_port_name: Option<String>,
    /// The alias (`ip link set ... alias`), where simdev marks its netdevs.
    pub alias: Option<String>,
    /// The link it is tied to (a veth's peer), as an ifindex.
    pub link: Option<u32>,
    /// Its device group (`ip link set DEV group N`; 0 is the default).
    pub group: u32,
}

/// A change to an existing link, made with one request.
#[derive(Debug, Clone, Default)]
pub struct LinkChange {
    pub ifindex: u32,
    pub name: Option<String>,
    pub alias: Option<String>,
    pub up: Option<bool>,
}

/// `struct ifinfomsg` for link `ifindex`, changing the flags in `change`.
fn ifinfomsg(ifindex: u32, flags: u32, change: u32) -> [u8; IFINFOMSG_LEN] {
    let mut raw = [0u8; IFINFOMSG_LEN];
    raw[0] = AF_UNSPEC;
    raw[4..8].copy_from_slice(&ifindex.to_ne_bytes());
    raw[8..12].copy_from_slice(&flags.to_ne_bytes());
    raw[12..16].copy_from_slice(&change.to_ne_bytes());
    raw
}

/// An rtnetlink socket in the hardware's namespace.
#[derive(Debug)]
pub struct Rtnl {
    fd: OwnedFd,
    seq: u32,
    buf: Vec<u8>,
}

impl Rtnl {
    pub fn new(fd: OwnedFd) -> Self {
        Rtnl { fd, seq: 0, buf: vec![0; RECV_BUF_LEN] }
    }

    /// Creates veth pairs, already configured: each port end with its MTU
    /// and MAC, its cable end with the same MTU; requests go several to a
    /// datagram, each with `NLM_F_EXCL` (an existing name is refused, never
    /// taken over). Returns, per pair, whether the kernel created it: only
    /// those are the caller's. (A veth cannot be opened before its peer
    /// exists, so the pairs come up later, with [`Rtnl::change_links`].)
    pub fn create_veths(&mut self, pairs: &[(String, String, NewPort)]) -> Vec<Result<(), KernelError>> {
        let mut creates = Vec::new();
        for (name, peer, port) in pairs {
            let mut msg = self.request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
            msg.put_raw(&ifinfomsg(0, 0, 0)).put_str(IFLA_IFNAME, name);
            if let Some(mtu) = port.mtu {
                msg.put_u32(IFLA_MTU, mtu);
            }
            if let Some(mac) = &port.mac {
                msg.put_bytes(IFLA_ADDRESS, mac);
            }
            if let Some(queues) = port.queues {
                msg.put_u32(IFLA_NUM_TX_QUEUES, queues).put_u32(IFLA_NUM_RX_QUEUES, queues);
            }
            msg.nest_start_noflag(IFLA_LINKINFO).put_str(IFLA_INFO_KIND, "veth");
            msg.nest_start_noflag(IFLA_INFO_DATA).nest_start_noflag(VETH_INFO_PEER);
            msg.put_raw(&ifinfomsg(0, 0, 0)).put_str(IFLA_IFNAME, peer);
            if let Some(mtu) = port.mtu {
                msg.put_u32(IFLA_MTU, mtu);
            }
            if let Some(queues) = port.queues {
                msg.put_u32(IFLA_NUM_TX_QUEUES, queues).put_u32(IFLA_NUM_RX_QUEUES, queues);
            }
            msg.nest_end().nest_end().nest_end();
            creates.push(msg.finish());
        }
        self.transact_each(creates)
    }

    /// Changes links (name, alias, admin state), several requests to a
    /// datagram, in order; returns the first refusal and its index.
    pub fn change_links(&mut self, changes: &[LinkChange]) -> Result<(), (usize, KernelError)> {
        let requests = changes
            .iter()
            .map(|change| {
                let flags = if change.up == Some(true) { IFF_UP } else { 0 };
                let mask = if change.up.is_some() { IFF_UP } else { 0 };
                let mut msg = self.request(RTM_NEWLINK, 0);
                msg.put_raw(&ifinfomsg(change.ifindex, flags, mask));
                if let Some(name) = &change.name {
                    msg.put_str(IFLA_IFNAME, name);
                }
                if let Some(alias) = &change.alias {
                    msg.put_str(IFLA_IFALIAS, alias);
                }
                msg.finish()
            })
            .collect();
        let results = self.transact_each(requests);
        match results.into_iter().enumerate().find_map(|(i, r)| r.err().map(|e| (i, e))) {
            Some(failure) => Err(failure),
            None => Ok(()),
        }
    }

    /// Sends requests many to a datagram (the kernel runs them in order)
    /// and waits for every answer; returns each request's outcome.
    fn transact_each(&mut self, requests: Vec<Vec<u8>>) -> Vec<Result<(), KernelError>> {
        // Bounded so the ACKs of one datagram fit the receive buffer.
        const PER_DATAGRAM: usize = 64;
        let mut outcomes = Vec::with_capacity(requests.len());
        for chunk in requests.chunks(PER_DATAGRAM) {
            let seqs: Vec<u32> = chunk.iter().map(|r| u32::from_ne_bytes(r[8..12].try_into().unwrap())).collect();
            let mut results: Vec<Option<Result<(), KernelError>>> = vec![None; chunk.len()];
            if let Err(e) = send(self.fd.as_raw_fd(), &chunk.concat(), MsgFlags::empty()) {
                outcomes.extend(chunk.iter().map(|_| Err(KernelError::io(e))));
                continue;
            }
            let mut pending = seqs.len();
            while pending > 0 {
                let len = match recv(self.fd.as_raw_fd(), &mut self.buf, MsgFlags::empty()) {
                    Ok(len) => len,
                    Err(e) => {
                        for result in results.iter_mut().filter(|r| r.is_none()) {
                            *result = Some(Err(KernelError::io(e)));
                        }
                        break;
                    }
                };
                for message in split_messages(&self.buf[..len]) {
                    let Some(position) = seqs.iter().position(|&s| s == message.header.seq) else { continue };
                    if message.header.ty != NLMSG_ERROR || results[position].is_some() {
                        continue;
                    }
                    pending -= 1;
                    results[position] = Some(match decode_status(&message) {
                        Some(status) if status.error != 0 => {
                            Err(KernelError { errno: -status.error, message: status.message })
                        }
                        _ => Ok(()),
                    });
                }
            }
            outcomes.extend(results.into_iter().map(|r| r.expect("every request answered")));
        }
        outcomes
    }

    /// Every link of the namespace (one dump).
    pub fn links(&mut self) -> Result<Vec<LinkState>, KernelError> {
        let mut msg = self.request(RTM_GETLINK, NLM_F_DUMP);
        msg.put_raw(&ifinfomsg(0, 0, 0));
        let mut links = Vec::new();
        self.transact(msg.finish(), |m| {
            if m.header.ty == RTM_NEWLINK {
                links.extend(parse_link(m));
            }
        })?;
        Ok(links)
    }

    pub fn link(&mut self, ifindex: u32) -> Result<LinkState, KernelError> {
        let mut msg = self.request(RTM_GETLINK, 0);
        msg.put_raw(&ifinfomsg(ifindex, 0, 0));
        self.get_link(msg)
    }

    pub fn set_mtu(&mut self, ifindex: u32, mtu: u32) -> Result<(), KernelError> {
        let mut msg = self.request(RTM_NEWLINK, 0);
        msg.put_raw(&ifinfomsg(ifindex, 0, 0)).put_u32(IFLA_MTU, mtu);
        self.transact(msg.finish(), |_| ())
    }

    pub fn set_mac(&mut self, ifindex: u32, mac: &Mac) -> Result<(), KernelError> {
        let mut msg = self.request(RTM_NEWLINK, 0);
        msg.put_raw(&ifinfomsg(ifindex, 0, 0)).put_bytes(IFLA_ADDRESS, mac);
        self.transact(msg.finish(), |_| ())
    }

    pub fn set_up(&mut self, ifindex: u32, up: bool) -> Result<(), KernelError> {
        let mut msg = self.request(RTM_NEWLINK, 0);
        msg.put_raw(&ifinfomsg(ifindex, if up { IFF_UP } else { 0 }, IFF_UP));
        self.transact(msg.finish(), |_| ())
    }

    /// Deletes a link by name (only for one the caller just created and
    /// could not find by its ifindex).
    pub fn delete_link_named(&mut self, name: &str) -> Result<(), KernelError> {
        let mut msg = self.request(RTM_DELLINK, 0);
        msg.put_raw(&ifinfomsg(0, 0, 0)).put_str(IFLA_IFNAME, name);
        self.transact(msg.finish(), |_| ())
    }

    pub fn delete_link(&mut self, ifindex: u32) -> Result<(), KernelError> {
        let mut msg = self.request(RTM_DELLINK, 0);
        msg.put_raw(&ifinfomsg(ifindex, 0, 0));
        self.transact(msg.finish(), |_| ())
    }

    /// Puts links in device group `group` (`ip link set DEV group N`),
    /// several requests to a datagram; returns each one's outcome.
    fn set_groups(&mut self, ifindexes: &[u32], group: u32) -> Vec<Result<(), KernelError>> {
        let requests = ifindexes
            .iter()
            .map(|&ifindex| {
                let mut msg = self.request(RTM_NEWLINK, 0);
                msg.put_raw(&ifinfomsg(ifindex, 0, 0)).put_u32(IFLA_GROUP, group);
                msg.finish()
            })
            .collect();
        self.transact_each(requests)
    }

    /// Deletes every link of the namespace in device group `group` with
    /// one request (`ip link delete group N`).
    fn delete_group(&mut self, group: u32) -> Result<(), KernelError> {
        let mut msg = self.request(RTM_DELLINK, 0);
        msg.put_raw(&ifinfomsg(0, 0, 0)).put_u32(IFLA_GROUP, group);
        self.transact(msg.finish(), |_| ())
    }

    /// Deletes links `ifindexes` with one request, as `ip link delete
    /// group` does: they are put in a device group no other link of the
    /// namespace is in, the group is checked to hold them alone, and
    /// deleted. The kernel then waits for RCU readers once for all of them,
    /// where deleting them one by one waits once each (500 veth pairs: 8.5
    /// s one by one, 0.2 s together). Returns whether it did; `false`
    /// deleted nothing (a step failed, or another link was in the group by
    /// then), and the caller deletes them one by one (they may be in the
    /// group by then).
    pub fn delete_together(&mut self, ifindexes: &[u32]) -> bool {
        let ours: BTreeSet<u32> = ifindexes.iter().copied().collect();
        let Ok(links) = self.links() else { return false };
        let group = free_group(&links.iter().map(|l| l.group).collect());
        if self.set_groups(ifindexes, group).iter().any(Result::is_err) {
            return false;
        }
        let Ok(links) = self.links() else { return false };
        if links.iter().any(|l| l.group == group && !ours.contains(&l.ifindex)) {
            log::warn!("device group {group} was taken by another link meanwhile: deleting links one by one");
            return false;
        }
        match self.delete_group(group) {
            Ok(()) => true,
            Err(e) => {
                log::debug!("deleting device group {group}: {e}; deleting links one by one");
                false
            }
        }
    }

    fn request(&mut self, ty: u16, flags: u16) -> MessageBuilder {
        self.seq = self.seq.wrapping_add(1);
        MessageBuilder::new(ty, NLM_F_REQUEST | NLM_F_ACK | flags, self.seq, 0)
    }

    fn get_link(&mut self, msg: MessageBuilder) -> Result<LinkState, KernelError> {
        let mut found = None;
        self.transact(msg.finish(), |m| {
            if m.header.ty == RTM_NEWLINK {
                found = parse_link(m);
            }
        })?;
        found.ok_or(KernelError { errno: libc::ENODEV, message: Some("no link in the reply".into()) })
    }

    /// Sends one request and feeds each reply message to `on_reply` until
    /// the kernel's ACK or error for it arrives.
    fn transact(&mut self, request: Vec<u8>, mut on_reply: impl FnMut(&Message<'_>)) -> Result<(), KernelError> {
        let seq = self.seq;
        send(self.fd.as_raw_fd(), &request, MsgFlags::empty()).map_err(KernelError::io)?;
        loop {
            let len = recv(self.fd.as_raw_fd(), &mut self.buf, MsgFlags::empty()).map_err(KernelError::io)?;
            for message in split_messages(&self.buf[..len]) {
                if message.header.seq != seq {
                    continue; // a late answer to an earlier, abandoned request
                }
                match message.header.ty {
                    NLMSG_ERROR | NLMSG_DONE => {
                        let status = decode_status(&message)
                            .ok_or(KernelError { errno: libc::EPROTO, message: Some("short NLMSG_ERROR".into()) })?;
                        if status.error == 0 {
                            return Ok(());
                        }
                        return Err(KernelError { errno: -status.error, message: status.message });
                    }
                    _ => on_reply(&message),
                }
            }
        }
    }
}

/// A device group (nonzero) that no link of the namespace is in: one
/// derived from the process id, so that two processes sharing a namespace
/// start from different ones.
fn free_group(taken: &BTreeSet<u32>) -> u32 {
    let mut group = 0x5d00_0000 | (std::process::id() & 0x00ff_ffff);
    while group == 0 || taken.contains(&group) {
        group = group.wrapping_add(1);
    }
    group
}

/// A link as an `RTM_NEWLINK` (or `RTM_DELLINK`) message describes it.
pub fn parse_link(message: &Message<'_>) -> Option<LinkState> {
    let payload = message.payload();
    if payload.len() < IFINFOMSG_LEN {
        return None;
    }
    let ifindex = u32::from_ne_bytes(payload[4..8].try_into().ok()?);
    let flags = u32::from_ne_bytes(payload[8..12].try_into().ok()?);
    let attrs = simdev_protocol::wire::Attrs::new(
        &payload[IFINFOMSG_LEN..],
        simdev_protocol::wire::NLMSG_HDRLEN + IFINFOMSG_LEN,
    );
    Some(LinkState {
        ifindex,
        ifname: attrs.get(IFLA_IFNAME)?.string()?.to_string(),
        mac: attrs.get(IFLA_ADDRESS).and_then(|a| Mac::try_from(a.payload).ok()).unwrap_or_default(),
        mtu: attrs.get(IFLA_MTU)?.u32()?,
        up: flags & IFF_UP != 0,
        lower_up: flags & IFF_LOWER_UP != 0,
        oper_state: attrs.get(IFLA_OPERSTATE).and_then(|a| a.u8()).unwrap_or(0),
        stats: attrs.get(IFLA_STATS64).map(|a| read_stats64(a.payload)).unwrap_or_default(),
        parent_dev: attrs.get(IFLA_PARENT_DEV_NAME).and_then(|a| a.string()).map(str::to_string),
        phys_port_name: attrs.get(IFLA_PHYS_PORT_NAME).and_then(|a| a.string()).map(str::to_string),
        alias: attrs.get(IFLA_IFALIAS).and_then(|a| a.string()).filter(|a| !a.is_empty()).map(str::to_string),
        link: attrs.get(IFLA_LINK).and_then(|a| a.u32()),
        group: attrs.get(IFLA_GROUP).and_then(|a| a.u32()).unwrap_or(0),
    })
}

fn read_stats64(payload: &[u8]) -> [u64; 8] {
    let mut counters = [0u64; 8];
    for (i, chunk) in payload.chunks_exact(8).take(8).enumerate() {
        counters[i] = u64::from_ne_bytes(chunk.try_into().unwrap());
    }
    counters
}

//! A Generic Netlink client socket: to the kernel (`NETLINK_GENERIC`, port
//! 0) or to the simulator (`NETLINK_USERSOCK`, its port). Requests are
//! matched to answers by sequence number; errors are decoded with their
//! extended ACK, and the attribute an error points at is named from the
//! family's policy.
//!
//! A simulator client `connect()`s to the simulator's port, so the kernel
//! delivers unicast to it only from that port: no other process can answer
//! in the simulator's name. Whoever holds the port must also be trusted:
//! every answer carries its sender's uid (`SCM_CREDENTIALS`), and by default
//! only root's and the client's own are accepted ([`SimulatorOptions`]), so
//! a process that bound the port first is refused, not believed. A
//! simulator that is gone is noticed within [`PROBE_EVERY`] (the port is
//! probed while waiting); one that does not answer (stopped) is reported
//! after the timeout, [`DEFAULT_TIMEOUT`] by default.

use crate::error::{Error, Result};
use crate::mmsg::{send_batch, RecvBatch};
use crate::pipeline::{Flow, Pipelined};
use neli::consts::socket::NlFamily;
use neli::socket::NlSocket;
use neli::utils::Groups;
use nix::errno::Errno;
use nix::sys::socket::{connect, setsockopt, sockopt, NetlinkAddr};
use simdev_protocol::ctrl::{self, FamilyInfo, FamilySelector, GENL_ID_CTRL};
use simdev_protocol::extack::Status;
use simdev_protocol::policy::AttrSet;
use simdev_protocol::policy_dump::PolicyPart;
use simdev_protocol::simdev;
use simdev_protocol::wire::{
    split_messages, Message, MessageBuilder, NLMSG_HDRLEN, NLMSG_MIN_TYPE, NLMSG_OVERRUN, NLM_F_DUMP_INTR,
    NLM_F_REQUEST, RECV_BUF_LEN, SOL_NETLINK,
};
use std::os::fd::{AsRawFd, BorrowedFd, IntoRawFd};
use std::time::{Duration, Instant};

/// Who answers: the kernel's genetlink, or a simulator at a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Kernel,
    Simulator { port: u32 },
}

/// One received message, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub bytes: Vec<u8>,
}

impl Reply {
    pub fn message(&self) -> Message<'_> {
        split_messages(&self.bytes).next().expect("replies hold one whole message")
    }
}

/// The parts of a dump, and whether the peer flagged it inconsistent.
#[derive(Debug, Clone, Default)]
pub struct Dump {
    pub parts: Vec<Reply>,
    /// `NLM_F_DUMP_INTR` was set on a part: data changed during the dump.
    pub interrupted: bool,
}

pub struct Client {
    socket: NlSocket,
    target: Target,
    seq: u32,
    /// Slots for receiving answers, many at once.
    batch: RecvBatch,
    /// How long a receive waits in all (`None`: forever).
    timeout: Option<Duration>,
    /// Uids whose answers are believed (simulator targets).
    trusted: Vec<u32>,
    /// The simulator was told this socket's receive size (or told it
    /// cannot be; see [`Client::declare_recv_size`]).
    recv_size_declared: bool,
    /// simdev's family id, once this socket resolved it.
    simdev_id: Option<u16>,
}

/// Answers [`Client::recv_many`] takes in one system call.
const RECV_SLOTS: usize = 16;

/// How long a simulator may take to answer, unless told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// How often a wait for a simulator checks that its port is still bound.
pub const PROBE_EVERY: Duration = Duration::from_millis(500);
/// Environment variables that set [`SimulatorOptions`].
pub const TRUST_ENV: &str = "SIMDEV_TRUST_UID";
pub const TIMEOUT_ENV: &str = "SIMDEV_TIMEOUT";

/// What a simulator client believes and how long it waits.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulatorOptions {
    /// Uids besides root's and the client's own whose answers are believed.
    pub trusted_uids: Vec<u32>,
    pub timeout: Duration,
}

static OPTIONS: std::sync::OnceLock<SimulatorOptions> = std::sync::OnceLock::new();

impl SimulatorOptions {
    /// From `SIMDEV_TRUST_UID` (uids, comma-separated) and `SIMDEV_TIMEOUT`
    /// (seconds); malformed values are errors.
    pub fn from_env() -> Result<Self> {
        let trusted_uids = match std::env::var(TRUST_ENV) {
            Ok(text) => parse_uids(&text).map_err(Error::Usage)?,
            Err(_) => Vec::new(),
        };
        let timeout = match std::env::var(TIMEOUT_ENV) {
            Ok(text) => parse_timeout(&text).map_err(Error::Usage)?,
            Err(_) => DEFAULT_TIMEOUT,
        };
        Ok(SimulatorOptions { trusted_uids, timeout })
    }

    /// Makes these the options of every simulator client of this process
    /// (the CLI's `--trust-uid` and `--timeout`); only the first call counts.
    pub fn set_for_process(self) {
        let _ = OPTIONS.set(self);
    }

    fn current() -> Result<Self> {
        match OPTIONS.get() {
            Some(options) => Ok(options.clone()),
            None => Self::from_env(),
        }
    }
}

/// Uids, comma-separated.
pub fn parse_uids(text: &str) -> std::result::Result<Vec<u32>, String> {
    text.split(',')
        .filter(|w| !w.trim().is_empty())
        .map(|w| w.trim().parse().map_err(|_| format!("`{w}` is not a uid")))
        .collect()
}

/// Seconds (`2`, `0.5`), more than 0.
pub fn parse_timeout(text: &str) -> std::result::Result<Duration, String> {
    match text.trim().parse::<f64>() {
        Ok(seconds) if seconds > 0.0 && seconds.is_finite() => Ok(Duration::from_secs_f64(seconds)),
        _ => Err(format!("`{text}` is not a number of seconds above 0")),
    }
}

impl Client {
    /// A client of the kernel's Generic Netlink.
    pub fn kernel() -> Result<Self> {
        Self::open(NlFamily::Generic, Target::Kernel)
    }

    /// A client of the simulator at `port`, with the process's
    /// [`SimulatorOptions`].
    pub fn simulator(port: u32) -> Result<Self> {
        let options = SimulatorOptions::current()?;
        let mut client = Self::open(NlFamily::Usersock, Target::Simulator { port })?;
        connect(client.socket.as_raw_fd(), &NetlinkAddr::new(port, 0))
            .map_err(|e| Error::io("connecting to the simulator's port", e))?;
        // SAFETY: the socket outlives this borrow.
        let fd = unsafe { BorrowedFd::borrow_raw(client.socket.as_raw_fd()) };
        setsockopt(&fd, sockopt::PassCred, &true).map_err(|e| Error::io("asking for the sender's credentials", e))?;
        client.trusted = [0, nix::unistd::geteuid().as_raw()].into_iter().chain(options.trusted_uids).collect();
        client.set_recv_timeout(options.timeout)?;
        Ok(client)
    }

    /// Believes answers from processes of `uid` too.
    pub fn trust_uid(&mut self, uid: u32) {
        self.trusted.push(uid);
    }

    /// Connects to `target`.
    pub fn connect(target: Target) -> Result<Self> {
        match target {
            Target::Kernel => Self::kernel(),
            Target::Simulator { port } => Self::simulator(port),
        }
    }

    /// A client of the kernel's Generic Netlink on a `NETLINK_GENERIC`
    /// socket opened elsewhere (in another network namespace, say).
    pub fn kernel_on(socket: std::os::fd::OwnedFd) -> Result<Self> {
        // SAFETY: the fd is owned and handed over.
        let socket = unsafe { <NlSocket as std::os::fd::FromRawFd>::from_raw_fd(socket.into_raw_fd()) };
        Self::configure(socket, Target::Kernel)
    }

    fn open(family: NlFamily, target: Target) -> Result<Self> {
        let socket =
            NlSocket::connect(family, None, Groups::empty()).map_err(|e| Error::io("opening a netlink socket", e))?;
        Self::configure(socket, target)
    }

    fn configure(socket: NlSocket, target: Target) -> Result<Self> {
        // Ask the kernel for extended ACKs and capped errors: the simulator
        // always answers that way, so both targets look the same.
        socket.enable_ext_ack(true).map_err(|e| Error::io("enabling extended ACKs", e))?;
        set_netlink_option(&socket, simdev_protocol::wire::NETLINK_CAP_ACK, 1)?;
        let _ = socket.set_recv_buffer_size(1024 * 1024);
        Ok(Client {
            socket,
            target,
            seq: 0,
            batch: RecvBatch::new(RECV_SLOTS, RECV_BUF_LEN),
            timeout: None,
            trusted: Vec::new(),
            recv_size_declared: false,
            simdev_id: None,
        })
    }

    /// Before its first dump from the simulator, a socket says how large it
    /// reads (simdev's `socket-set`): the kernel sizes dump datagrams to a
    /// socket's largest receive, which the simulator cannot see, and gives
    /// page-sized ones to a socket that said nothing. Once per socket; a
    /// simulator without the operation is not asked again.
    pub(crate) fn declare_recv_size(&mut self) {
        if self.recv_size_declared || self.target == Target::Kernel {
            return;
        }
        self.recv_size_declared = true;
        let family_id = match self.simdev_id {
            Some(id) => Ok(id),
            None => self.get_family(&FamilySelector::Name(simdev::FAMILY_NAME.to_string())).map(|family| family.id),
        };
        let declared = family_id.and_then(|id| {
            let mut request = self.new_request(id, simdev::cmd::SOCKET_SET, simdev::FAMILY_VERSION, 0);
            request.put_u32(simdev::dev_attr::RECV_SIZE, RECV_BUF_LEN as u32);
            self.execute(request, None)
        });
        if let Err(e) = declared {
            log::debug!("the simulator was not told this socket's receive size: {e}");
        }
    }

    pub fn target(&self) -> Target {
        self.target
    }

    /// This socket's own port id.
    pub fn local_port(&self) -> Result<u32> {
        self.socket.pid().map_err(|e| Error::io("reading the socket's port", e))
    }

    /// Starts a request with the next sequence number. `flags` is added to
    /// `NLM_F_REQUEST`.
    pub fn new_request(&mut self, family: u16, cmd: u8, version: u8, flags: u16) -> MessageBuilder {
        self.seq = self.seq.wrapping_add(1).max(1);
        MessageBuilder::genl(family, NLM_F_REQUEST | flags, self.seq, 0, cmd, version)
    }

    /// Sends raw bytes as they are (for conformance tests and tools).
    pub fn send_raw(&mut self, datagram: &[u8]) -> Result<()> {
        let sent = self.socket.send(datagram, neli::consts::socket::Msg::empty());
        match sent {
            Ok(_) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::ECONNREFUSED) => match self.target {
                Target::Simulator { port } => Err(Error::NoSimulator(port)),
                Target::Kernel => Err(Error::io("sending", e)),
            },
            Err(e) => Err(Error::io("sending", e)),
        }
    }

    /// Sends datagrams as they are, in order, in as few system calls as the
    /// kernel allows.
    pub fn send_many(&mut self, datagrams: &[&[u8]]) -> Result<()> {
        let port = match self.target {
            Target::Kernel => 0,
            Target::Simulator { port } => port,
        };
        let mut rest = datagrams;
        while !rest.is_empty() {
            let (sent, error) = send_batch(self.socket.as_raw_fd(), port, rest, 0);
            match error {
                Some(Errno::EINTR) | None => rest = &rest[sent..],
                Some(Errno::ECONNREFUSED) if matches!(self.target, Target::Simulator { .. }) => {
                    return Err(Error::NoSimulator(port))
                }
                Some(e) => return Err(Error::io("sending", std::io::Error::from(e))),
            }
        }
        Ok(())
    }

    /// Receives one datagram and returns its messages.
    pub fn recv_raw(&mut self) -> Result<Vec<Reply>> {
        self.receive(1)
    }

    /// Waits for one datagram, takes every other one already queued (one
    /// system call), and returns their messages in order.
    pub fn recv_many(&mut self) -> Result<Vec<Reply>> {
        self.receive(RECV_SLOTS)
    }

    /// Waits (within the timeout; probing a simulator's port meanwhile)
    /// for at most `most` datagrams from a trusted sender.
    fn receive(&mut self, most: usize) -> Result<Vec<Reply>> {
        let started = Instant::now();
        loop {
            match self.batch.receive_up_to(self.socket.as_raw_fd(), 0, most) {
                Ok(count) => {
                    let mut replies = Vec::new();
                    for index in 0..count {
                        let datagram = self.batch.get(index);
                        if let Target::Simulator { port } = self.target {
                            match datagram.uid {
                                Some(uid) if self.trusted.contains(&uid) => {}
                                uid => return Err(Error::Untrusted { port, uid: uid.unwrap_or(u32::MAX) }),
                            }
                        }
                        if split_messages(datagram.bytes).any(|m| m.header.ty == NLMSG_OVERRUN) {
                            return Err(Error::AnswersLost);
                        }
                        replies.extend(split_messages(datagram.bytes).map(|m| Reply { bytes: m.bytes.to_vec() }));
                    }
                    return Ok(replies);
                }
                Err(Errno::EINTR) => {}
                Err(Errno::EAGAIN) => match self.target {
                    Target::Simulator { .. } => {
                        self.probe()?;
                        self.check_waited(started.elapsed())?;
                    }
                    Target::Kernel => return Err(Error::Timeout),
                },
                Err(Errno::ECONNREFUSED) if matches!(self.target, Target::Simulator { .. }) => {
                    return Err(self.no_simulator())
                }
                Err(e) => return Err(Error::io("receiving", std::io::Error::from(e))),
            }
        }
    }

    /// [`Error::NoAnswer`] once a simulator was waited for longer than the
    /// timeout.
    pub(crate) fn check_waited(&self, waited: Duration) -> Result<()> {
        match (self.target, self.timeout) {
            (Target::Simulator { port }, Some(limit)) if waited >= limit => Err(Error::NoAnswer { port, waited }),
            _ => Ok(()),
        }
    }

    /// Whether a simulator still holds the port: a no-op message (which
    /// it ignores, as the kernel does) is refused if nobody does
    /// ([`Error::NoSimulator`]).
    pub fn probe(&self) -> Result<()> {
        let noop = MessageBuilder::new(simdev_protocol::wire::NLMSG_NOOP, 0, 0, 0).finish();
        match nix::sys::socket::send(self.socket.as_raw_fd(), &noop, nix::sys::socket::MsgFlags::MSG_DONTWAIT) {
            Err(Errno::ECONNREFUSED) => Err(self.no_simulator()),
            _ => Ok(()),
        }
    }

    fn no_simulator(&self) -> Error {
        match self.target {
            Target::Simulator { port } => Error::NoSimulator(port),
            Target::Kernel => Error::io("receiving", std::io::Error::from(Errno::ECONNREFUSED)),
        }
    }

    /// Sends a do request with `NLM_F_ACK` and returns its replies (often
    /// one, none for commands that only ACK). `policy` names attributes in
    /// errors.
    pub fn execute(&mut self, request: MessageBuilder, policy: Option<&'static AttrSet>) -> Result<Vec<Reply>> {
        self.one(request, false, policy)
    }

    /// Sends a dump request and collects every part until `NLMSG_DONE`.
    pub fn dump(&mut self, request: MessageBuilder, policy: Option<&'static AttrSet>) -> Result<Dump> {
        let parts = self.one(request, true, policy)?;
        let interrupted = parts.iter().any(|p| p.message().header.flags & NLM_F_DUMP_INTR != 0);
        Ok(Dump { parts, interrupted })
    }

    /// One request: a pipeline of one.
    fn one(&mut self, request: MessageBuilder, dump: bool, policy: Option<&'static AttrSet>) -> Result<Vec<Reply>> {
        let mut result = None;
        self.pipeline([Pipelined { request, dump }], 1, policy, |_, outcome| {
            result = Some(outcome);
            Flow::Continue
        })?;
        result.expect("the pipeline completes its request")
    }

    /// `CTRL_CMD_GETFAMILY` for one family.
    pub fn get_family(&mut self, selector: &FamilySelector) -> Result<FamilyInfo> {
        let mut request = self.new_request(GENL_ID_CTRL, ctrl::cmd::GETFAMILY, ctrl::CTRL_VERSION, 0);
        selector.encode(&mut request);
        let replies = self.execute(request, Some(&ctrl::CTRL_GETFAMILY_POLICY)).map_err(|e| match e.errno() {
            Some(Errno::ENOENT) => Error::FamilyNotFound(selector.to_string()),
            _ => e,
        })?;
        let reply = replies.first().ok_or_else(|| Error::Protocol("GETFAMILY without a reply".into()))?;
        let family = FamilyInfo::decode(reply.message().genl_attrs(0))?;
        if family.name == simdev::FAMILY_NAME && self.target != Target::Kernel {
            self.simdev_id = Some(family.id);
        }
        Ok(family)
    }

    /// Resolves a family by name.
    pub fn resolve_family(&mut self, name: &str) -> Result<FamilyInfo> {
        self.get_family(&FamilySelector::Name(name.to_string()))
    }

    /// `CTRL_CMD_GETPOLICY`: the family's policies (of one command), with
    /// the family id each part names.
    pub fn get_policy(&mut self, selector: &FamilySelector, op: Option<u32>) -> Result<Vec<(u16, PolicyPart)>> {
        let mut request = self.new_request(GENL_ID_CTRL, ctrl::cmd::GETPOLICY, ctrl::CTRL_VERSION, 0);
        selector.encode(&mut request);
        if let Some(op) = op {
            request.put_u32(ctrl::attr::OP, op);
        }
        let dump = self.dump(request, Some(&ctrl::CTRL_GETPOLICY_POLICY)).map_err(|e| match e.errno() {
            Some(Errno::ENOENT) if op.is_none() => Error::FamilyNotFound(selector.to_string()),
            _ => e,
        })?;
        dump.parts
            .iter()
            .map(|p| {
                let attrs = p.message().genl_attrs(0);
                let id = attrs.get(ctrl::attr::FAMILY_ID).and_then(|a| a.u16()).unwrap_or_default();
                Ok((id, PolicyPart::decode(attrs)?))
            })
            .collect()
    }

    /// Every family the controller knows, in its order.
    pub fn list_families(&mut self) -> Result<Vec<FamilyInfo>> {
        let request = self.new_request(GENL_ID_CTRL, ctrl::cmd::GETFAMILY, ctrl::CTRL_VERSION, 0);
        let dump = self.dump(request, Some(&ctrl::CTRL_GETFAMILY_POLICY))?;
        dump.parts.iter().map(|p| FamilyInfo::decode(p.message().genl_attrs(0)).map_err(Error::from)).collect()
    }
}

/// Turns a status into an [`Error`], naming attributes from `policy`.
pub(crate) fn status_error(status: &Status, request: &[u8], policy: Option<&'static AttrSet>) -> Error {
    let errno = Errno::from_raw(-status.error);
    let attrs_start = NLMSG_HDRLEN + simdev_protocol::wire::GENL_HDRLEN;
    let attribute = status.offset.map(|offset| {
        let named = policy.and_then(|p| {
            let attrs = simdev_protocol::wire::Attrs::new(request.get(attrs_start..).unwrap_or_default(), attrs_start);
            p.name_at_offset(attrs, offset as usize)
        });
        named.unwrap_or_else(|| format!("at offset {offset}"))
    });
    let missing = status.missing_type.map(|t| {
        policy
            .and_then(|p| u16::try_from(t).ok().and_then(|t| p.get(t)))
            .map_or_else(|| format!("type {t}"), |spec| spec.name.to_string())
    });
    let details = Box::new(crate::error::ExtackDetails::from_status(status));
    Error::Netlink { errno, message: status.message.clone(), attribute, missing, details }
}

fn set_netlink_option(socket: &NlSocket, option: i32, value: i32) -> Result<()> {
    // SAFETY: plain setsockopt on a socket we own, with an int argument.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            SOL_NETLINK,
            option,
            (&value as *const i32).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(Error::io("setting a netlink socket option", std::io::Error::last_os_error()));
    }
    Ok(())
}

impl Client {
    /// Sets how long a receive waits in all (for tools and tests that must
    /// not hang); a simulator's port is probed every [`PROBE_EVERY`] meanwhile.
    pub fn set_recv_timeout(&mut self, timeout: Duration) -> Result<()> {
        self.timeout = Some(timeout);
        let slice = match self.target {
            Target::Simulator { .. } => timeout.min(PROBE_EVERY),
            Target::Kernel => timeout,
        };
        set_recv_timeout(self.socket.as_raw_fd(), slice)
    }
}

/// `SO_RCVTIMEO`; zero waits forever.
fn set_recv_timeout(fd: std::os::fd::RawFd, timeout: std::time::Duration) -> Result<()> {
    // SAFETY: the caller's socket outlives this borrow.
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    let tv = nix::sys::time::TimeVal::new(timeout.as_secs() as i64, timeout.subsec_micros().into());
    setsockopt(&fd, sockopt::ReceiveTimeout, &tv).map_err(|e| Error::io("setting the receive timeout", e))
}

/// A socket subscribed to multicast groups, for notifications.
///
/// `NETLINK_USERSOCK` groups are shared by every simulator in a network
/// namespace, so a subscription to a simulator keeps only what that
/// simulator's port sent.
pub struct Subscription {
    socket: NlSocket,
    target: Target,
    slot: RecvBatch,
    /// Uids whose notifications are believed (simulator targets).
    trusted: Vec<u32>,
    /// When the peer unicasts the notifications (see
    /// [`Client::into_unicast_subscription`]): the group of each
    /// notification command, since a unicast does not say.
    unicast_groups: Option<std::collections::HashMap<u8, u32>>,
}

impl Client {
    /// This client's socket as a [`Subscription`] to notifications the
    /// peer unicasts to it (once asked to, by a request on this socket),
    /// `groups` naming the group of each notification command.
    pub fn into_unicast_subscription(self, groups: std::collections::HashMap<u8, u32>) -> Result<Subscription> {
        let subscription = Subscription {
            socket: self.socket,
            target: self.target,
            slot: RecvBatch::new(1, RECV_BUF_LEN),
            trusted: self.trusted,
            unicast_groups: Some(groups),
        };
        // Notifications may be far apart: no answer timeout.
        subscription.set_timeout(None)?;
        Ok(subscription)
    }
}

impl Subscription {
    /// Joins `groups` (numbers from the controller's `MCAST_GROUPS`).
    pub fn new(target: Target, groups: &[u32]) -> Result<Self> {
        let family = match target {
            Target::Kernel => NlFamily::Generic,
            Target::Simulator { .. } => NlFamily::Usersock,
        };
        let socket = NlSocket::connect(family, None, Groups::new_groups(groups)).map_err(|e| {
            match (e.raw_os_error(), target) {
                // The kernel lets anyone send to NETLINK_USERSOCK groups
                // but only CAP_NET_ADMIN join them.
                (Some(libc::EPERM), Target::Simulator { .. }) => Error::SubscribePermission,
                _ => Error::io("joining multicast groups", e),
            }
        })?;
        let mut trusted = Vec::new();
        if let Target::Simulator { .. } = target {
            // SAFETY: the socket outlives this borrow.
            let fd = unsafe { BorrowedFd::borrow_raw(socket.as_raw_fd()) };
            setsockopt(&fd, sockopt::PassCred, &true)
                .map_err(|e| Error::io("asking for the sender's credentials", e))?;
            let options = SimulatorOptions::current()?;
            trusted = [0, nix::unistd::geteuid().as_raw()].into_iter().chain(options.trusted_uids).collect();
        }
        Ok(Subscription { socket, target, slot: RecvBatch::new(1, RECV_BUF_LEN), trusted, unicast_groups: None })
    }

    /// Sets the receive buffer size (the kernel doubles it and enforces a
    /// minimum); small buffers lose notifications sooner.
    pub fn set_recv_buffer(&self, bytes: usize) -> Result<()> {
        self.socket.set_recv_buffer_size(bytes).map_err(|e| Error::io("setting the receive buffer", e))
    }

    /// Sets the receive timeout (`None`: wait forever); a timeout is [`Error::Timeout`].
    pub fn set_timeout(&self, timeout: Option<std::time::Duration>) -> Result<()> {
        set_recv_timeout(self.socket.as_raw_fd(), timeout.unwrap_or_default())
    }

    /// Waits for the next datagram of notifications, each with the group
    /// it arrived on. A receive buffer that overflowed is
    /// [`Error::EventsLost`]: some notifications are gone.
    pub fn recv(&mut self) -> Result<Vec<(u32, Reply)>> {
        let wanted_port = match self.target {
            Target::Kernel => 0,
            Target::Simulator { port } => port,
        };
        loop {
            match self.slot.receive(self.socket.as_raw_fd(), 0) {
                Err(Errno::EAGAIN) => return Err(Error::Timeout),
                Ok(_) => {
                    let datagram = self.slot.get(0);
                    if datagram.port != wanted_port {
                        continue; // another sender on the same group numbers
                    }
                    if let Target::Simulator { port } = self.target {
                        match datagram.uid {
                            Some(uid) if self.trusted.contains(&uid) => {}
                            uid => return Err(Error::Untrusted { port, uid: uid.unwrap_or(u32::MAX) }),
                        }
                    }
                    // The simulator's marker of answers it lost for this
                    // socket: the ENOBUFS a group member gets from the kernel.
                    if split_messages(datagram.bytes).any(|m| m.header.ty == NLMSG_OVERRUN) {
                        return Err(Error::EventsLost);
                    }
                    let messages = split_messages(datagram.bytes);
                    let Some(by_command) = &self.unicast_groups else {
                        // nl_groups holds the bit of the group it was sent to.
                        let group = datagram.groups.trailing_zeros() + 1;
                        return Ok(messages.map(|m| (group, Reply { bytes: m.bytes.to_vec() })).collect());
                    };
                    // Unicast: notifications only (not the answers to this
                    // socket's own requests), their group by command.
                    let notifications: Vec<(u32, Reply)> = messages
                        .filter(|m| m.header.seq == 0 && m.header.ty >= NLMSG_MIN_TYPE)
                        .filter_map(|m| {
                            let group = *by_command.get(&m.genl_header()?.cmd)?;
                            Some((group, Reply { bytes: m.bytes.to_vec() }))
                        })
                        .collect();
                    if !notifications.is_empty() {
                        return Ok(notifications);
                    }
                }
                Err(Errno::EINTR) => continue,
                Err(Errno::ENOBUFS) => return Err(Error::EventsLost),
                Err(e) => return Err(Error::io("receiving notifications", e)),
            }
        }
    }
}

//! The netlink side of the simulator: a `NETLINK_USERSOCK` socket bound at
//! the simulator's port, and the single-threaded event loop that receives
//! requests (with the sender's credentials), answers them through
//! [`crate::genl`], and sends notifications to multicast groups.

use crate::genl::{handle_datagram, Outbox, Sender, DUMP_DATAGRAM_MAX};
use crate::simulator::Simulator;
use crate::timers::TimerEvent;
use neli::consts::socket::NlFamily;
use neli::socket::NlSocket;
use neli::utils::Groups;
use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::sys::socket::{sendto, setsockopt, sockopt, MsgFlags, NetlinkAddr};
use simdev_protocol::extack::{build_error, ExtAck};
use simdev_protocol::wire::NlHeader;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

/// How long a send may wait for a client that does not read its socket
/// before its answer is dropped (the kernel's controller would wait too,
/// but a simulator serving others cannot wait forever).
const SEND_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum BindError {
    #[error("netlink port {0} is already in use (another driver-sim? choose one with --port)")]
    PortInUse(u32),
    #[error("cannot open the NETLINK_USERSOCK socket: {0}")]
    Socket(std::io::Error),
}

pub struct Server {
    socket: NlSocket,
    port: u32,
}

impl Server {
    /// Binds the simulator's port; a taken port is [`BindError::PortInUse`].
    pub fn bind(port: u32) -> Result<Self, BindError> {
        let socket = NlSocket::new(NlFamily::Usersock).map_err(BindError::Socket)?;
        socket.bind(Some(port), Groups::empty()).map_err(|e| match e.raw_os_error() {
            Some(libc::EADDRINUSE) => BindError::PortInUse(port),
            _ => BindError::Socket(e),
        })?;
        // SAFETY: the socket outlives this borrow.
        let fd = unsafe { BorrowedFd::borrow_raw(socket.as_raw_fd()) };
        setsockopt(&fd, sockopt::PassCred, &true).map_err(|e| BindError::Socket(e.into()))?;
        setsockopt(&fd, sockopt::SendTimeout, &nix::sys::time::TimeVal::new(SEND_TIMEOUT.as_secs() as i64, 0))
            .map_err(|e| BindError::Socket(e.into()))?;
        // Room for bursts of pipelined requests.
        let _ = socket.set_recv_buffer_size(4 * 1024 * 1024);
        Ok(Server { socket, port })
    }

    pub fn port(&self) -> u32 {
        self.port
    }

    /// Serves until SIGINT or SIGTERM (see [`install_signal_handlers`]);
    /// returns the signal. Between requests, runs the timer queue's due
    /// events.
    ///
    /// The loop blocks in `recvmmsg` itself (no `poll`): a request costs
    /// the simulator one receive and one send, like the leanest echo peer,
    /// and a pipelining client's queued requests come in with one call. A
    /// receive timeout wakes it for the next timer; signals interrupt the
    /// receive (handlers without `SA_RESTART`), and the timeout is capped at
    /// [`MAX_BLOCK`] so a signal landing just before the call is seen soon.
    pub fn serve(&mut self, sim: &mut Simulator) -> std::io::Result<Signal> {
        let mut slots = RecvSlots::new();
        let mut current_timeout = None;
        loop {
            if let Some(signal) = stop_signal() {
                return Ok(signal);
            }
            self.run_timers(sim);
            let wait = sim
                .timers
                .next_deadline()
                .map_or(MAX_BLOCK, |d| d.saturating_duration_since(Instant::now()).max(Duration::from_millis(1)))
                .min(MAX_BLOCK);
            // Whole milliseconds, so an unchanged deadline costs no syscall.
            let wait = Duration::from_millis(wait.as_millis().max(1) as u64);
            if current_timeout != Some(wait) {
                let tv = nix::sys::time::TimeVal::new(wait.as_secs() as i64, wait.subsec_micros().into());
                setsockopt(&self.as_fd(), sockopt::ReceiveTimeout, &tv)?;
                current_timeout = Some(wait);
            }
            match slots.receive(self.socket.as_raw_fd()) {
                Ok(count) => self.answer(sim, &mut slots, count),
                Err(Errno::EAGAIN | Errno::EINTR) => {}
                Err(Errno::ENOBUFS) => log::warn!("receive buffer overrun: multicast input was lost"),
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Answers the `count` datagrams just received, then sends the answers
    /// packed (several messages to a datagram, per client, in order).
    fn answer(&mut self, sim: &mut Simulator, slots: &mut RecvSlots, count: usize) {
        let mut outbox = Outbox::default();
        let mut packed = Packer::default();
        for index in 0..count {
            let datagram = slots.datagram(index);
            if datagram.port == 0 {
                continue; // only the kernel sends from port 0, and not requests
            }
            let sender = Sender { port: datagram.port, uid: datagram.uid };
            if datagram.truncated {
                if let Some(header) = NlHeader::parse(datagram.bytes) {
                    let ext = ExtAck::message("request larger than the simulator's receive buffer");
                    outbox.unicast.push(build_error(&header, -libc::EMSGSIZE, &ext));
                }
            } else {
                handle_datagram(sim, datagram.bytes, sender, &mut outbox);
            }
            for (delay, datagrams) in outbox.deferred.drain(..) {
                sim.timers.schedule(delay, TimerEvent::Send { port: sender.port, datagrams });
            }
            for answer in outbox.unicast.drain(..) {
                packed.push(sender.port, answer);
            }
        }
        for (port, datagram) in packed.take() {
            self.send_to(port, &datagram);
        }
        self.send_notifications(&mut outbox);
    }

    /// Runs every due timer event and sends what they produced.
    fn run_timers(&mut self, sim: &mut Simulator) {
        let now = Instant::now();
        let mut outbox = Outbox::default();
        while let Some((deadline, event)) = sim.timers.pop_due(now) {
            if let Some((port, datagrams)) = sim.run_timer(deadline, event) {
                outbox.unicast = datagrams;
                self.send(port, sim, &mut outbox);
            }
        }
        sim.poll_background();
        outbox.multicast = sim.take_notifications();
        self.send(0, sim, &mut outbox);
    }

    /// Sends answers to `port`: held-back ones to the timer queue first.
    fn send(&self, port: u32, sim: &mut Simulator, outbox: &mut Outbox) {
        for (delay, datagrams) in outbox.deferred.drain(..) {
            sim.timers.schedule(delay, TimerEvent::Send { port, datagrams });
        }
        for datagram in outbox.unicast.drain(..) {
            if !self.send_to(port, &datagram) {
                break;
            }
        }
        self.send_notifications(outbox);
    }

    /// One datagram to a client; false if the client cannot take more.
    fn send_to(&self, port: u32, datagram: &[u8]) -> bool {
        match sendto(self.socket.as_raw_fd(), datagram, &NetlinkAddr::new(port, 0), MsgFlags::empty()) {
            Ok(_) => true,
            Err(Errno::ECONNREFUSED) => {
                log::debug!("client port {port} is gone; dropping its answers");
                false
            }
            Err(Errno::EAGAIN) => {
                log::warn!("client port {port} does not read its socket; dropping its answers");
                false
            }
            Err(e) => {
                log::warn!("sending to port {port}: {e}");
                true
            }
        }
    }

    fn send_notifications(&self, outbox: &mut Outbox) {
        for (group, message) in outbox.multicast.drain(..) {
            let destination = NetlinkAddr::new(0, 1 << (group - 1));
            match sendto(self.socket.as_raw_fd(), &message, &destination, MsgFlags::empty()) {
                // Delivered to the group; ECONNREFUSED is for the absent
                // unicast part (no kernel socket on NETLINK_USERSOCK).
                Ok(_) | Err(Errno::ECONNREFUSED) => {}
                Err(e) => log::warn!("notifying group {group}: {e}"),
            }
        }
    }
}

/// Longest the loop blocks without looking at signals and timers.
pub const MAX_BLOCK: Duration = Duration::from_millis(250);

/// Datagrams one `recvmmsg` may return.
const SLOTS: usize = 32;
/// Largest request datagram read whole; bigger ones are answered `EMSGSIZE`.
pub const REQUEST_MAX: usize = 64 * 1024;

/// One received datagram.
struct Datagram<'a> {
    bytes: &'a [u8],
    port: u32,
    uid: Option<u32>,
    truncated: bool,
}

/// Buffers for `recvmmsg`: datagrams, sender addresses, credentials.
struct RecvSlots {
    buffers: Vec<Vec<u8>>,
    addrs: Vec<libc::sockaddr_nl>,
    controls: Vec<[u64; 8]>,
    iovecs: Vec<libc::iovec>,
    headers: Vec<libc::mmsghdr>,
    /// Slots the kernel wrote into last time (the others are still pristine).
    used: usize,
}

impl RecvSlots {
    fn new() -> Self {
        // SAFETY: plain C structs, all-zero is a valid value.
        let zero_addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        let mut slots = RecvSlots {
            buffers: vec![vec![0u8; REQUEST_MAX]; SLOTS],
            addrs: vec![zero_addr; SLOTS],
            controls: vec![[0u64; 8]; SLOTS],
            iovecs: Vec::with_capacity(SLOTS),
            // SAFETY: as above.
            headers: vec![unsafe { std::mem::zeroed() }; SLOTS],
            used: SLOTS,
        };
        for buffer in &mut slots.buffers {
            slots.iovecs.push(libc::iovec { iov_base: buffer.as_mut_ptr().cast(), iov_len: buffer.len() });
        }
        slots
    }

    /// Blocks until at least one datagram arrives (or the receive timeout),
    /// then takes every queued one up to [`SLOTS`]; returns how many.
    fn receive(&mut self, fd: std::os::fd::RawFd) -> Result<usize, Errno> {
        // Re-arm only the headers the kernel changed; the buffers (and the
        // iovecs pointing at them) never move.
        for i in 0..self.used {
            let header = &mut self.headers[i].msg_hdr;
            header.msg_name = (&mut self.addrs[i] as *mut libc::sockaddr_nl).cast();
            header.msg_namelen = std::mem::size_of::<libc::sockaddr_nl>() as u32;
            header.msg_iov = &mut self.iovecs[i];
            header.msg_iovlen = 1;
            header.msg_control = self.controls[i].as_mut_ptr().cast();
            header.msg_controllen = std::mem::size_of::<[u64; 8]>();
            header.msg_flags = 0;
            self.headers[i].msg_len = 0;
        }
        // SAFETY: every header points at live buffers owned by `self`.
        let count = unsafe {
            libc::recvmmsg(fd, self.headers.as_mut_ptr(), SLOTS as u32, libc::MSG_WAITFORONE, std::ptr::null_mut())
        };
        let count = Errno::result(count)? as usize;
        self.used = count;
        Ok(count)
    }

    fn datagram(&self, index: usize) -> Datagram<'_> {
        let header = &self.headers[index];
        let len = (header.msg_len as usize).min(REQUEST_MAX);
        Datagram {
            bytes: &self.buffers[index][..len],
            port: self.addrs[index].nl_pid,
            uid: credentials_uid(&header.msg_hdr),
            truncated: header.msg_hdr.msg_flags & libc::MSG_TRUNC != 0,
        }
    }
}

/// The uid of an `SCM_CREDENTIALS` control message, if there is one.
fn credentials_uid(header: &libc::msghdr) -> Option<u32> {
    // SAFETY: walks the control buffer the kernel filled, with the libc
    // macros, within msg_controllen.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(header);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_CREDENTIALS {
                let creds = libc::CMSG_DATA(cmsg) as *const libc::ucred;
                return Some(std::ptr::read_unaligned(creds).uid);
            }
            cmsg = libc::CMSG_NXTHDR(header, cmsg);
        }
    }
    None
}

/// The signal that asked the simulator to stop (0: none yet).
static STOP: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_stop_signal(signal: libc::c_int) {
    STOP.store(signal, Ordering::Relaxed);
}

/// SIGINT and SIGTERM make [`Server::serve`] return (and the simulator tear
/// down). Installed without `SA_RESTART`, so they interrupt its receive.
pub fn install_signal_handlers() -> nix::Result<()> {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet};
    let action = SigAction::new(SigHandler::Handler(on_stop_signal), SaFlags::empty(), SigSet::empty());
    for signal in [Signal::SIGINT, Signal::SIGTERM] {
        // SAFETY: the handler only stores to an atomic.
        unsafe { sigaction(signal, &action) }?;
    }
    Ok(())
}

fn stop_signal() -> Option<Signal> {
    match STOP.load(Ordering::Relaxed) {
        0 => None,
        signal => Some(Signal::try_from(signal).unwrap_or(Signal::SIGTERM)),
    }
}

/// Answers per client, packed into datagrams of at most
/// [`DUMP_DATAGRAM_MAX`] bytes (what clients are expected to read whole),
/// in the order they were produced.
#[derive(Default)]
struct Packer {
    datagrams: Vec<(u32, Vec<u8>)>,
}

impl Packer {
    fn push(&mut self, port: u32, answer: Vec<u8>) {
        let last = self.datagrams.iter_mut().rev().find(|(p, _)| *p == port);
        match last {
            Some((_, datagram)) if datagram.len() + answer.len() <= DUMP_DATAGRAM_MAX => datagram.extend(answer),
            _ => self.datagrams.push((port, answer)),
        }
    }

    fn take(&mut self) -> Vec<(u32, Vec<u8>)> {
        std::mem::take(&mut self.datagrams)
    }
}

impl AsFd for Server {
    fn as_fd(&self) -> BorrowedFd<'_> {
        // SAFETY: the socket lives as long as `self`.
        unsafe { BorrowedFd::borrow_raw(self.socket.as_raw_fd()) }
    }
}

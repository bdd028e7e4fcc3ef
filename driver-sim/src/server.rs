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
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;
use nix::sys::signalfd::SignalFd;
use nix::sys::socket::{recvmsg, sendto, setsockopt, sockopt, ControlMessageOwned, MsgFlags, NetlinkAddr};
use simdev_protocol::extack::{build_error, ExtAck};
use simdev_protocol::wire::NlHeader;
use std::io::IoSliceMut;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::time::{Duration, Instant};

/// Largest request datagram the simulator reads whole; bigger ones are
/// answered with `EMSGSIZE`.
const REQUEST_BUF_LEN: usize = 256 * 1024;
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
    buf: Vec<u8>,
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
        Ok(Server { socket, port, buf: vec![0; REQUEST_BUF_LEN] })
    }

    pub fn port(&self) -> u32 {
        self.port
    }

    /// Serves until SIGINT or SIGTERM arrives on `signals`; returns it.
    /// Between requests, runs the timer queue's due events.
    pub fn serve(&mut self, sim: &mut Simulator, signals: &SignalFd) -> std::io::Result<Signal> {
        loop {
            self.run_timers(sim);
            let timeout = match sim.timers.next_deadline() {
                None => PollTimeout::NONE,
                Some(deadline) => {
                    // Round up so the loop never spins on a sub-millisecond remainder.
                    let wait = deadline.saturating_duration_since(Instant::now()).as_micros().div_ceil(1000);
                    PollTimeout::try_from(wait.min(60_000) as u32).unwrap_or(PollTimeout::MAX)
                }
            };
            let mut fds =
                [PollFd::new(self.as_fd(), PollFlags::POLLIN), PollFd::new(signals.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, timeout) {
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
                Ok(_) => {}
            }
            let signal_ready = fds[1].revents().is_some_and(|r| r.contains(PollFlags::POLLIN));
            if signal_ready {
                if let Ok(Some(info)) = signals.read_signal() {
                    return Ok(Signal::try_from(info.ssi_signo as i32).unwrap_or(Signal::SIGTERM));
                }
            }
            self.drain(sim)?;
        }
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
        outbox.multicast = sim.take_notifications();
        self.send(0, sim, &mut outbox);
    }

    /// Answers the datagrams waiting on the socket: up to
    /// [`DRAIN_BATCH`] are read and answered, then the answers go out packed
    /// (several messages to a datagram, per client, in order), and again
    /// until the socket is empty. Packing saves a send and a wake-up per
    /// answer when clients pipeline.
    fn drain(&mut self, sim: &mut Simulator) -> std::io::Result<()> {
        let mut outbox = Outbox::default();
        let mut packed = Packer::default();
        loop {
            let mut read = 0;
            let mut empty = false;
            while read < DRAIN_BATCH {
                match self.receive(sim, &mut outbox)? {
                    Received::Nothing => {
                        empty = true;
                        break;
                    }
                    Received::Skipped => {}
                    Received::From(port) => {
                        read += 1;
                        for (delay, datagrams) in outbox.deferred.drain(..) {
                            sim.timers.schedule(delay, TimerEvent::Send { port, datagrams });
                        }
                        for answer in outbox.unicast.drain(..) {
                            packed.push(port, answer);
                        }
                        if read == 1 {
                            // A lone request (a client waiting for it) is
                            // answered at once; the ones queued behind it
                            // (a pipelining client) are packed.
                            self.flush(&mut packed, &mut outbox);
                        }
                    }
                }
            }
            self.flush(&mut packed, &mut outbox);
            if empty {
                return Ok(());
            }
        }
    }

    fn flush(&self, packed: &mut Packer, outbox: &mut Outbox) {
        for (port, datagram) in packed.take() {
            self.send_to(port, &datagram);
        }
        self.send_notifications(outbox);
    }

    /// Reads and answers one datagram into `outbox`.
    fn receive(&mut self, sim: &mut Simulator, outbox: &mut Outbox) -> std::io::Result<Received> {
        let fd = self.socket.as_raw_fd();
        let mut iov = [IoSliceMut::new(&mut self.buf)];
        let mut cmsg = nix::cmsg_space!(nix::sys::socket::UnixCredentials);
        let msg = match recvmsg::<NetlinkAddr>(fd, &mut iov, Some(&mut cmsg), MsgFlags::MSG_DONTWAIT) {
            Ok(msg) => msg,
            Err(Errno::EAGAIN) => return Ok(Received::Nothing),
            Err(Errno::EINTR) => return Ok(Received::Skipped),
            Err(Errno::ENOBUFS) => {
                log::warn!("receive buffer overrun: multicast input was lost");
                return Ok(Received::Skipped);
            }
            Err(e) => return Err(e.into()),
        };
        let len = msg.bytes;
        let truncated = msg.flags.contains(MsgFlags::MSG_TRUNC);
        let port = msg.address.map_or(0, |a| a.pid());
        let uid = msg.cmsgs().ok().and_then(|mut c| {
            c.find_map(|c| match c {
                ControlMessageOwned::ScmCredentials(creds) => Some(creds.uid()),
                _ => None,
            })
        });
        if port == 0 {
            return Ok(Received::Skipped); // only the kernel sends from port 0, and not requests
        }
        if truncated {
            if let Some(header) = NlHeader::parse(&self.buf[..len]) {
                let ext = ExtAck::message("request larger than the simulator's receive buffer");
                outbox.unicast.push(build_error(&header, -libc::EMSGSIZE, &ext));
            }
        } else {
            handle_datagram(sim, &self.buf[..len], Sender { port, uid }, outbox);
        }
        Ok(Received::From(port))
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

/// Datagrams read before the answers are sent.
const DRAIN_BATCH: usize = 64;

enum Received {
    Nothing,
    Skipped,
    From(u32),
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

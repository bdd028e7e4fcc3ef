//! The netlink side of the simulator: a `NETLINK_USERSOCK` socket bound at
//! the simulator's port, and the single-threaded event loop that receives
//! requests (with the sender's credentials), answers them through
//! [`crate::genl`], and sends notifications to multicast groups.

use crate::genl::{handle_datagram, Outbox, Sender};
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

    /// Answers every datagram waiting on the socket.
    fn drain(&mut self, sim: &mut Simulator) -> std::io::Result<()> {
        let mut outbox = Outbox::default();
        loop {
            let fd = self.socket.as_raw_fd();
            let mut iov = [IoSliceMut::new(&mut self.buf)];
            let mut cmsg = nix::cmsg_space!(nix::sys::socket::UnixCredentials);
            let received = recvmsg::<NetlinkAddr>(fd, &mut iov, Some(&mut cmsg), MsgFlags::MSG_DONTWAIT);
            let msg = match received {
                Ok(msg) => msg,
                Err(Errno::EAGAIN) => return Ok(()),
                Err(Errno::EINTR) => continue,
                Err(Errno::ENOBUFS) => {
                    log::warn!("receive buffer overrun: multicast input was lost");
                    continue;
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
                continue; // only the kernel sends from port 0, and not requests
            }
            let sender = Sender { port, uid };
            if truncated {
                if let Some(header) = NlHeader::parse(&self.buf[..len]) {
                    let ext = ExtAck::message("request larger than the simulator's receive buffer");
                    outbox.unicast.push(build_error(&header, -libc::EMSGSIZE, &ext));
                }
            } else {
                handle_datagram(sim, &self.buf[..len], sender, &mut outbox);
            }
            self.send(sender.port, sim, &mut outbox);
        }
    }

    /// Sends an outbox: answers to `port`, held-back answers to the timer
    /// queue, notifications to their groups.
    fn send(&self, port: u32, sim: &mut Simulator, outbox: &mut Outbox) {
        for (delay, datagrams) in outbox.deferred.drain(..) {
            sim.timers.schedule(delay, TimerEvent::Send { port, datagrams });
        }
        let fd = self.socket.as_raw_fd();
        for datagram in outbox.unicast.drain(..) {
            match sendto(fd, &datagram, &NetlinkAddr::new(port, 0), MsgFlags::empty()) {
                Ok(_) => {}
                Err(Errno::ECONNREFUSED) => {
                    log::debug!("client port {port} is gone; dropping its answers");
                    break;
                }
                Err(Errno::EAGAIN) => {
                    log::warn!("client port {port} does not read its socket; dropping its answers");
                    break;
                }
                Err(e) => log::warn!("sending to port {port}: {e}"),
            }
        }
        outbox.unicast.clear();
        for (group, message) in outbox.multicast.drain(..) {
            let destination = NetlinkAddr::new(0, 1 << (group - 1));
            match sendto(fd, &message, &destination, MsgFlags::empty()) {
                // Delivered to the group; ECONNREFUSED is for the absent
                // unicast part (no kernel socket on NETLINK_USERSOCK).
                Ok(_) | Err(Errno::ECONNREFUSED) => {}
                Err(e) => log::warn!("notifying group {group}: {e}"),
            }
        }
    }
}

impl AsFd for Server {
    fn as_fd(&self) -> BorrowedFd<'_> {
        // SAFETY: the socket lives as long as `self`.
        unsafe { BorrowedFd::borrow_raw(self.socket.as_raw_fd()) }
    }
}

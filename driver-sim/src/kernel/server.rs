//! The netlink side of the simulator: a `NETLINK_USERSOCK` socket bound at
//! the simulator's port, and the single-threaded event loop that receives
//! requests (with the sender's credentials), answers them through
//! [`crate::kernel::genl`], and sends notifications to multicast groups.
//!
//! The loop never waits for a client: every send is non-blocking, and what
//! a client's socket cannot take yet waits in that client's bounded queue
//! ([`crate::kernel::clients`]), which is tried again later.

use crate::config::PortChoice;
use crate::kernel::capture::Direction;
use crate::kernel::clients::{Clients, Sent, MESSAGES_PER_TURN};
use crate::kernel::genl::{handle_datagram, refuse_datagram, Sender};
use crate::simulator::{Notification, Simulator};
use neli::consts::socket::NlFamily;
use neli::socket::NlSocket;
use neli::utils::Groups;
use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::sys::socket::{sendto, setsockopt, sockopt, MsgFlags, NetlinkAddr};
use simdev_netlink::mmsg::{send_batch, RecvBatch};
use simdev_protocol::extack::{build_error, ExtAck};
use simdev_protocol::wire::NlHeader;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

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
    /// Where every datagram in and out is recorded (`--pcap`).
    pub capture: Option<crate::kernel::capture::Capture>,
    /// The loop's own wake-up socket's port: its no-ops are not a
    /// conversation, and are not captured.
    pub waker_port: Option<u32>,
}

impl Server {
    /// Binds the simulator's port; a taken port is [`BindError::PortInUse`].
    /// With [`PortChoice::Auto`] the kernel picks a free one (port 0 asks
    /// for its autobind), read back from the socket.
    pub fn bind(choice: PortChoice) -> Result<Self, BindError> {
        let socket = NlSocket::new(NlFamily::Usersock).map_err(BindError::Socket)?;
        let asked = match choice {
            PortChoice::Auto => 0,
            PortChoice::Fixed(port) => port,
        };
        socket.bind(Some(asked), Groups::empty()).map_err(|e| match e.raw_os_error() {
            Some(libc::EADDRINUSE) => BindError::PortInUse(asked),
            _ => BindError::Socket(e),
        })?;
        let port = socket.pid().map_err(BindError::Socket)?;
        // SAFETY: the socket outlives this borrow.
        let fd = unsafe { BorrowedFd::borrow_raw(socket.as_raw_fd()) };
        setsockopt(&fd, sockopt::PassCred, &true).map_err(|e| BindError::Socket(e.into()))?;
        // Room for bursts of pipelined requests.
        let _ = socket.set_recv_buffer_size(4 * 1024 * 1024);
        Ok(Server { socket, port, capture: None, waker_port: None })
    }

    pub fn port(&self) -> u32 {
        self.port
    }

    /// Serves until SIGINT or SIGTERM (see [`install_signal_handlers`]);
    /// returns the signal. Between requests, runs the timer queue's due
    /// events and sends what clients have waiting.
    ///
    /// The loop blocks in its receive itself (no `poll`): a request costs
    /// the simulator one receive and one send, like the leanest echo peer,
    /// and a pipelining client's queued requests come in with one more
    /// call ([`Drain`]). A
    /// receive timeout wakes it for the next timer or the next client to
    /// try again (a receive that cannot wait when one is due now); signals
    /// interrupt the receive (handlers without `SA_RESTART`), and the
    /// timeout is capped at [`MAX_BLOCK`] so a signal landing just before
    /// the call is seen soon.
    pub fn serve(&mut self, sim: &mut Simulator) -> std::io::Result<Signal> {
        let mut slots = RecvBatch::new(SLOTS, REQUEST_MAX);
        let mut clients = Clients::default();
        let mut touched = Vec::new();
        let mut current_timeout = None;
        let mut last_sweep = Instant::now();
        let mut drain = Drain::default();
        loop {
            if let Some(signal) = stop_signal() {
                sim.abort_flashes("the simulator stopped");
                self.notify(sim, &mut clients);
                return Ok(signal);
            }
            self.run_timers(sim, &mut clients, &mut touched);
            // Notifications go out before the answers of the requests that
            // made them, as a kernel doit sends them before netlink_ack: a
            // group member that asked sees the change, then its ACK.
            sim.announce_changes();
            self.notify(sim, &mut clients);
            let mut send = |port, datagrams: &[&[u8]]| self.send_to(port, datagrams);
            touched.sort_unstable();
            touched.dedup();
            for port in touched.drain(..) {
                clients.flush(port, sim, &mut send);
            }
            clients.flush_due(sim, &mut send);
            if clients.has_socket_settings() && last_sweep.elapsed() >= SUBSCRIBER_SWEEP {
                last_sweep = Instant::now();
                match bound_usersock_ports() {
                    Ok(bound) => clients.forget_departed_sockets(&bound),
                    Err(e) => log::debug!("cannot read {PROC_NETLINK}: {e}"),
                }
            }
            sim.server_stats = clients.stats();
            if let Some(capture) = &self.capture {
                capture.hand_over();
                sim.server_stats.capture_frames = capture.written();
                sim.server_stats.capture_dropped = capture.dropped();
            }

            let now = Instant::now();
            let deadline = [sim.timers.next_wakeup(), clients.next_due()]
                .into_iter()
                .flatten()
                .fold(now + MAX_BLOCK, Instant::min);
            let received = if deadline <= now || clients.turns_waiting() || sim.is_advancing() {
                slots.receive(self.socket.as_raw_fd(), libc::MSG_DONTWAIT)
            } else {
                // Whole milliseconds, so an unchanged deadline costs no syscall.
                let wait = deadline.saturating_duration_since(now);
                let wait = Duration::from_millis(wait.as_millis().max(1) as u64);
                if current_timeout != Some(wait) {
                    let tv = nix::sys::time::TimeVal::new(wait.as_secs() as i64, wait.subsec_micros().into());
                    setsockopt(&self.as_fd(), sockopt::ReceiveTimeout, &tv)?;
                    current_timeout = Some(wait);
                }
                let received = slots.receive_first(self.socket.as_raw_fd(), 0, drain.now());
                drain.after(&received, now.elapsed());
                received
            };
            match received {
                Ok(count) => {
                    if let Some(capture) = &self.capture {
                        let datagrams = (0..count).map(|index| slots.get(index));
                        for datagram in datagrams.filter(|d| Some(d.port) != self.waker_port) {
                            capture.record(Direction::ToDriver, datagram.bytes);
                        }
                    }
                    answer(sim, &mut clients, &slots, count, &mut touched)
                }
                Err(Errno::EAGAIN | Errno::EINTR) => {}
                Err(Errno::ENOBUFS) => log::warn!("receive buffer overrun: requests were lost"),
                Err(e) => return Err(e.into()),
            }
            take_turns(sim, &mut clients, &mut touched);
        }
    }

    /// Runs every due timer event: held-back answers go to their clients.
    fn run_timers(&self, sim: &mut Simulator, clients: &mut Clients, touched: &mut Vec<u32>) {
        while let Some((deadline, event)) = sim.timers.pop_due() {
            if let Some((port, uid, datagrams)) = sim.run_timer(deadline, event) {
                for datagram in datagrams {
                    clients.push(port, uid, datagram);
                }
                touched.push(port);
            }
        }
        sim.continue_advance();
        sim.poll_background();
        for (port, uid, datagrams) in sim.take_completed() {
            // The notifications of the work that ended come first, as a
            // kernel doit's come before its ACK.
            crate::kernel::genl::hand_out_own_notifications(sim, clients.entry(port, uid));
            clients.settle(port);
            for datagram in datagrams {
                clients.push(port, uid, datagram);
            }
            touched.push(port);
        }
    }

    /// Datagrams to a client, in order, in one system call, never waiting:
    /// how many were delivered, and what stopped the rest.
    fn send_to(&self, port: u32, datagrams: &[&[u8]]) -> (usize, Sent) {
        let (delivered, error) = send_batch(self.socket.as_raw_fd(), port, datagrams, libc::MSG_DONTWAIT);
        if let Some(capture) = &self.capture {
            datagrams[..delivered].iter().for_each(|datagram| capture.record(Direction::FromDriver, datagram));
        }
        let stopped = match error {
            None if delivered == datagrams.len() => Sent::Delivered,
            // Stopped without saying why: most likely a full socket; the
            // retry of that datagram will tell.
            None => Sent::Full,
            Some(Errno::EAGAIN) => Sent::Full,
            Some(Errno::ECONNREFUSED) => Sent::Gone,
            Some(e) => {
                log::warn!("sending to port {port}: {e}");
                Sent::Failed
            }
        };
        (delivered, stopped)
    }

    /// Sends the notifications waiting: to their groups, and to the
    /// sockets subscribed to those groups by unicast.
    fn notify(&self, sim: &mut Simulator, clients: &mut Clients) {
        let notifications = sim.take_notifications();
        let mut send = |port, datagrams: &[&[u8]]| self.send_to(port, datagrams);
        for port in clients.fan_out(&notifications) {
            clients.flush(port, sim, &mut send);
        }
        self.send_notifications(notifications);
    }

    fn send_notifications(&self, notifications: Vec<Notification>) {
        for Notification { group, message, .. } in notifications {
            let destination = NetlinkAddr::new(0, 1 << (group - 1));
            // A broadcast never waits: subscribers whose socket is full
            // lose it and see ENOBUFS.
            match sendto(self.socket.as_raw_fd(), &message, &destination, MsgFlags::MSG_DONTWAIT) {
                // Delivered to the group; ECONNREFUSED is for the absent
                // unicast part (no kernel socket on NETLINK_USERSOCK).
                Ok(_) | Err(Errno::ECONNREFUSED) => {
                    if let Some(capture) = &self.capture {
                        capture.record(Direction::FromDriver, &message);
                    }
                }
                Err(e) => log::warn!("notifying group {group}: {e}"),
            }
        }
    }
}

/// Answers the `count` datagrams just received (a turn's worth of each;
/// the rest, and datagrams of clients that already wait for a turn, go to
/// their client's inbox).
fn answer(sim: &mut Simulator, clients: &mut Clients, slots: &RecvBatch, count: usize, touched: &mut Vec<u32>) {
    for index in 0..count {
        let datagram = slots.get(index);
        if datagram.port == 0 {
            continue; // only the kernel sends from port 0, and not requests
        }
        let sender = Sender { port: datagram.port, uid: datagram.uid };
        let client = clients.entry(sender.port, sender.uid);
        if datagram.truncated {
            if let Some(header) = NlHeader::parse(datagram.bytes) {
                let ext = ExtAck::message("request larger than the simulator's receive buffer");
                client.push(build_error(&header, sender.port, -libc::EMSGSIZE, &ext));
            }
        } else if client.has_inbox() {
            if !client.park(datagram.bytes, sender.uid) {
                refuse_datagram(datagram.bytes, client);
            }
        } else if let Some(rest) = handle_datagram(sim, datagram.bytes, sender, client, MESSAGES_PER_TURN) {
            client.park(&datagram.bytes[rest..], sender.uid);
            clients.wait_turn(sender.port);
        }
        clients.settle(sender.port);
        touched.push(sender.port);
    }
}

/// Gives every client with parked requests one turn.
fn take_turns(sim: &mut Simulator, clients: &mut Clients, touched: &mut Vec<u32>) {
    for port in clients.take_turns() {
        let Some(uid) = clients.uid_of(port) else {
            continue; // forgotten meanwhile
        };
        let client = clients.entry(port, uid);
        if let Some(mut parked) = client.take_parked() {
            let sender = Sender { port, uid: parked.uid };
            let rest = handle_datagram(sim, &parked.bytes[parked.offset..], sender, client, MESSAGES_PER_TURN);
            if let Some(rest) = rest {
                parked.offset += rest;
                client.unpark(parked);
            }
        }
        let more = client.has_inbox();
        clients.settle(port);
        if more {
            clients.wait_turn(port);
        }
        touched.push(port);
    }
}

/// Longest the loop blocks without looking at signals and timers.
pub const MAX_BLOCK: Duration = Duration::from_millis(250);

/// How often the loop looks for subscribers whose socket is gone (while
/// there are any subscribers).
const SUBSCRIBER_SWEEP: Duration = Duration::from_secs(1);

/// The kernel's list of this network namespace's netlink sockets.
const PROC_NETLINK: &str = "/proc/net/netlink";

/// The ports bound on `NETLINK_USERSOCK` in this network namespace, from
/// [`PROC_NETLINK`] (columns `sk Eth Pid ...`; any user may read it).
fn bound_usersock_ports() -> std::io::Result<std::collections::HashSet<u32>> {
    let text = std::fs::read_to_string(PROC_NETLINK)?;
    let usersock = (libc::NETLINK_USERSOCK as u32).to_string();
    Ok(text
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut columns = line.split_whitespace().skip(1);
            (columns.next()? == usersock).then(|| columns.next()?.parse().ok()).flatten()
        })
        .collect())
}

/// Datagrams one `recvmmsg` may return.
const SLOTS: usize = 32;
/// Largest request datagram read whole; bigger ones are answered `EMSGSIZE`.
pub const REQUEST_MAX: usize = 64 * 1024;

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

/// SIGCHLD makes [`Server::serve`] return too (`--exec`: the program under
/// test ended; the only other child, the namespace holder, ends only after
/// the simulator, unless something killed it).
pub fn stop_when_a_child_exits() -> nix::Result<()> {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet};
    let action = SigAction::new(SigHandler::Handler(on_stop_signal), SaFlags::SA_NOCLDSTOP, SigSet::empty());
    // SAFETY: the handler only stores to an atomic.
    unsafe { sigaction(Signal::SIGCHLD, &action) }.map(drop)
}

fn stop_signal() -> Option<Signal> {
    match STOP.load(Ordering::Relaxed) {
        0 => None,
        signal => Some(Signal::try_from(signal).unwrap_or(Signal::SIGTERM)),
    }
}

impl AsFd for Server {
    fn as_fd(&self) -> BorrowedFd<'_> {
        // SAFETY: the socket lives as long as `self`.
        unsafe { BorrowedFd::borrow_raw(self.socket.as_raw_fd()) }
    }
}

/// Whether a receive that may wait looks behind its first datagram for
/// more ([`RecvBatch::receive_first`]): while looking finds some, or the
/// last receive did not have to wait (a client that pipelines), and once
/// every [`Drain::EVERY`] receives otherwise (a client that waits for each
/// answer never leaves one behind, and looking costs its round trip about
/// 0.5 µs).
#[derive(Default)]
struct Drain {
    /// Receives since one found more than it waited for.
    quiet: u32,
}

impl Drain {
    const EVERY: u32 = 8;
    /// A receive that came back sooner did not wait: its datagram was
    /// queued already, and others may be behind it. (Waiting is a sleep
    /// and a wake-up, several microseconds at least, and more where the
    /// client runs meanwhile on the same CPU; a receive that finds a
    /// datagram queued takes about one.)
    const UNWAITED: Duration = Duration::from_micros(3);

    fn now(&self) -> bool {
        self.quiet.is_multiple_of(Self::EVERY)
    }

    /// After a receive that took `took` from the loop's clock reading.
    fn after(&mut self, received: &Result<usize, Errno>, took: Duration) {
        let looked = self.now();
        self.quiet = match received {
            Ok(count) if looked && *count > 1 => 0,
            Ok(_) if took < Self::UNWAITED => 0,
            _ => self.quiet.wrapping_add(1),
        };
    }
}

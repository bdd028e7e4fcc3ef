//! One Generic Netlink socket of the program, as the library sees it: the
//! program's own kernel socket plus a hidden companion on
//! `NETLINK_USERSOCK` that talks to the simulator. Sending splits each
//! datagram by destination ([`crate::route`]); receiving takes the next
//! datagram from either side, the simulator's reframed ([`crate::reframe`]),
//! and waits on both when there is none and the socket blocks.

use crate::config::Config;
use crate::real;
use crate::reframe::{reframe, Context, Requests};
use crate::route;
use libc::{c_int, c_void, iovec, msghdr, pollfd, sockaddr_nl, socklen_t, ssize_t};
use simdev_protocol::ctrl::{self, GENL_ID_CTRL};
use simdev_protocol::pcap::Direction;
use simdev_protocol::simdev::{self, dev_attr};
use simdev_protocol::wire::{split_messages, MessageBuilder, NLMSG_DONE, NLMSG_ERROR, NLM_F_DUMP, NLM_F_REQUEST};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long a controller dump's `NLMSG_DONE` waits for simdev's entry
/// before it goes without it (the simulator is stopped or gone).
const DUMP_ENTRY_WAIT: Duration = Duration::from_secs(2);
/// How many of the library's own requests it remembers, to drop their answers.
const OWN_KEPT: usize = 64;
/// Larger than any datagram the simulator or the kernel sends (their
/// buffers are at most 64 KiB).
const SCRATCH_LEN: usize = 128 * 1024;

thread_local! {
    static SCRATCH: RefCell<Vec<u8>> = RefCell::new(vec![0; SCRATCH_LEN]);
    /// This thread is in a send waiting for its answer.
    static AWAITING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

pub struct Shim {
    /// The companion socket (its fd).
    pub companion: c_int,
    companion_port: u32,
    config: &'static Config,
    state: Mutex<State>,
    /// Datagrams taken from the companion so far (by any thread): a send
    /// waiting for its answer stops when another thread took it.
    taken: AtomicU64,
    /// Sends waiting for their answer now (any thread's).
    waiting_sends: AtomicU64,
    /// Roughly how many datagrams on their way to the companion are the
    /// library's own business (answers to its requests, its wake-ups):
    /// while there are some, a send waiting for its answer looks at what
    /// came (and drops it) before it returns.
    own_coming: AtomicU64,
}

#[derive(Debug, Default)]
struct State {
    ext_ack: bool,
    cap_ack: bool,
    /// The program's socket's port, once it has one.
    program_port: u32,
    /// `connect`ed to another program's socket: sends without an address go there.
    connected_elsewhere: bool,
    requests: Requests,
    /// Controller dumps waiting for simdev's entry: (seq, sent at).
    dumps: Vec<(u32, Instant)>,
    /// Sequence numbers of the library's own requests and of dumps that
    /// gave up waiting: answers with them are dropped.
    own: VecDeque<u32>,
    next_own_seq: u32,
    /// Which side is asked first on the next receive (they take turns).
    simulator_first: bool,
    /// The socket's `SO_RCVTIMEO`, as the program set it.
    receive_timeout: Option<Duration>,
    /// The socket's `O_NONBLOCK`, as the program set it (at creation,
    /// `fcntl(F_SETFL)`, `ioctl(FIONBIO)`).
    nonblocking: bool,
    /// The program sent to the kernel or joined its groups: answers may
    /// come from there.
    kernel_active: bool,
    /// The largest receive buffer the program read with: the kernel sizes
    /// dump datagrams to it.
    recv_size: usize,
    /// What the simulator was told of it (`socket-set`).
    recv_size_told: usize,
    /// The simulator knows this socket waits for each request's first
    /// answer (`socket-set`'s `sync-send`), so it answers every request.
    sync_send_told: bool,
    /// The program sent to the simulator or joined simdev's groups:
    /// answers may come from there.
    simulator_active: bool,
}

/// What taking from the simulator's side gave.
enum Taken {
    Delivered(ssize_t),
    /// The companion's receive failed (errno set).
    Failed,
    /// Nothing there (or, waiting, the receive timeout passed).
    Empty,
    /// Waiting, a datagram came that was not the program's.
    Skipped,
}

impl State {
    /// Drops answers with this sequence number from now on.
    fn ignore(&mut self, seq: u32) {
        if self.own.len() == OWN_KEPT {
            self.own.pop_front();
        }
        self.own.push_back(seq);
    }
}

fn errno() -> c_int {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn set_errno(value: c_int) {
    // SAFETY: the calling thread's errno.
    unsafe { *libc::__errno_location() = value };
}

/// Says once per process that the simulator cannot be reached.
fn warn_unreachable(port: u32, error: &io::Error) {
    static SAID: AtomicBool = AtomicBool::new(false);
    if !SAID.swap(true, Ordering::Relaxed) {
        eprintln!("simdev-preload: the simulator at port {port} cannot be reached ({error}); is driver-sim running?");
    }
}

fn netlink_address(port: u32, groups: u32) -> sockaddr_nl {
    // SAFETY: sockaddr_nl is plain data; all-zero is valid.
    let mut address: sockaddr_nl = unsafe { std::mem::zeroed() };
    address.nl_family = libc::AF_NETLINK as u16;
    address.nl_pid = port;
    address.nl_groups = groups;
    address
}

const ADDRESS_LEN: socklen_t = std::mem::size_of::<sockaddr_nl>() as socklen_t;

/// The bound port of a netlink socket (0 when unbound).
fn port_of(fd: c_int) -> u32 {
    let mut address = netlink_address(0, 0);
    let mut len = ADDRESS_LEN;
    // SAFETY: address has room for len bytes.
    let r = unsafe { libc::getsockname(fd, (&raw mut address).cast(), &mut len) };
    if r == 0 {
        address.nl_pid
    } else {
        0
    }
}

/// The first `limit` bytes a `msghdr`'s buffers hold, in order.
///
/// # Safety
/// `msg` describes valid buffers.
unsafe fn gather(msg: &msghdr, limit: usize) -> Vec<u8> {
    let mut bytes = Vec::new();
    for i in 0..msg.msg_iovlen {
        let wanted = limit - bytes.len();
        // SAFETY: the caller's buffers.
        let iov = unsafe { &*msg.msg_iov.add(i) };
        if iov.iov_len > 0 && wanted > 0 {
            let len = iov.iov_len.min(wanted);
            bytes.extend_from_slice(unsafe { std::slice::from_raw_parts(iov.iov_base as *const u8, len) });
        }
    }
    bytes
}

/// Fills a `msghdr` as the kernel's `netlink_recvmsg` would with this
/// datagram from port 0; returns what `recvmsg` returns.
///
/// # Safety
/// `msg` describes valid buffers.
unsafe fn deliver(msg: &mut msghdr, datagram: &[u8], groups: u32, flags: c_int) -> ssize_t {
    let mut copied = 0;
    for i in 0..msg.msg_iovlen {
        // SAFETY: the caller's buffers.
        let iov = unsafe { &*msg.msg_iov.add(i) };
        let take = iov.iov_len.min(datagram.len() - copied);
        unsafe { std::ptr::copy_nonoverlapping(datagram[copied..].as_ptr(), iov.iov_base as *mut u8, take) };
        copied += take;
    }
    msg.msg_flags = if copied < datagram.len() { libc::MSG_TRUNC } else { 0 };
    if !msg.msg_name.is_null() {
        let address = netlink_address(0, groups);
        let len = (msg.msg_namelen as usize).min(ADDRESS_LEN as usize);
        // SAFETY: the caller's name buffer holds msg_namelen bytes.
        unsafe { std::ptr::copy_nonoverlapping((&raw const address).cast::<u8>(), msg.msg_name.cast(), len) };
        msg.msg_namelen = ADDRESS_LEN;
    }
    msg.msg_controllen = 0;
    if flags & libc::MSG_TRUNC != 0 {
        datagram.len() as ssize_t
    } else {
        copied as ssize_t
    }
}

impl Shim {
    /// Opens the companion socket for a new program socket.
    pub fn open(config: &'static Config, nonblocking: bool) -> io::Result<Shim> {
        // SAFETY: plain socket calls on an fd this function owns.
        let companion =
            unsafe { real::socket(libc::AF_NETLINK, libc::SOCK_RAW | libc::SOCK_CLOEXEC, libc::NETLINK_USERSOCK) };
        if companion < 0 {
            return Err(io::Error::last_os_error());
        }
        let address = netlink_address(0, 0);
        // SAFETY: a valid address of its length.
        if unsafe { real::bind(companion, (&raw const address).cast(), ADDRESS_LEN) } < 0 {
            let error = io::Error::last_os_error();
            unsafe { real::close(companion) };
            return Err(error);
        }
        let companion_port = port_of(companion);
        let state = State { nonblocking, ..State::default() };
        let (taken, waiting_sends, own_coming) = (AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0));
        Ok(Shim { companion, companion_port, config, state: Mutex::new(state), taken, waiting_sends, own_coming })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Sends to the simulator from the companion.
    fn to_simulator(&self, bytes: &[u8], nonblocking: bool) -> io::Result<()> {
        let address = netlink_address(self.config.port, 0);
        let flags = if nonblocking { libc::MSG_DONTWAIT } else { 0 };
        // SAFETY: bytes and address are valid for their lengths.
        let sent = unsafe {
            real::sendto(
                self.companion,
                bytes.as_ptr().cast(),
                bytes.len(),
                flags,
                (&raw const address).cast(),
                ADDRESS_LEN,
            )
        };
        if sent < 0 {
            let error = io::Error::last_os_error();
            if error.raw_os_error() == Some(libc::ECONNREFUSED) {
                warn_unreachable(self.config.port, &error);
            }
            return Err(error);
        }
        Ok(())
    }

    /// The program's port, binding its socket first if it has none yet
    /// (the kernel binds on the first send too).
    fn program_port(&self, fd: c_int) -> u32 {
        let known = self.state().program_port;
        if known != 0 {
            return known;
        }
        let mut port = port_of(fd);
        if port == 0 {
            let address = netlink_address(0, 0);
            // SAFETY: a valid address of its length.
            unsafe { real::bind(fd, (&raw const address).cast(), ADDRESS_LEN) };
            port = port_of(fd);
        }
        self.state().program_port = port;
        port
    }

    /// A request of the library's own (its answer is dropped), with the
    /// attributes `fill` puts.
    fn own_request(&self, cmd: u8, fill: impl FnOnce(&mut MessageBuilder)) -> io::Result<()> {
        let seq = {
            let mut state = self.state();
            state.next_own_seq = state.next_own_seq.wrapping_add(1);
            let seq = 0x5349_0000 | (state.next_own_seq & 0xffff);
            state.ignore(seq);
            seq
        };
        let mut request =
            MessageBuilder::genl(self.config.simdev().id, NLM_F_REQUEST, seq, 0, cmd, simdev::FAMILY_VERSION);
        fill(&mut request);
        self.own_coming.fetch_add(1, Ordering::Relaxed);
        self.to_simulator(&request.finish(), false)
    }

    /// Joins or leaves a served family's group: the simulator unicasts the
    /// group's notifications to the companion (any user may; all
    /// simulators share `NETLINK_USERSOCK`'s groups, so joining those
    /// would also bring other simulators' notifications).
    pub fn membership(&self, group: u32, join: bool) -> io::Result<()> {
        if join {
            self.simulator_active();
        }
        let cmd = if join { simdev::cmd::SUBSCRIBE } else { simdev::cmd::UNSUBSCRIBE };
        self.own_request(cmd, |request| {
            request.put_u32(dev_attr::MCAST_GROUP, group);
        })
    }

    /// Notes the size of a receive of the program's: when it is the largest
    /// yet, the simulator is told (simdev's `socket-set`), as the kernel's
    /// `netlink_recvmsg` notes a socket's largest receive to size its dump
    /// datagrams by.
    pub fn note_receive_size(&self, bytes: usize) {
        {
            let mut state = self.state();
            state.recv_size = state.recv_size.max(bytes.min(u32::MAX as usize));
        }
        self.tell_settings();
    }

    /// Tells the simulator (simdev's `socket-set`) the program's largest
    /// receive, if it grew since, and, the first time, that each send
    /// waits for its answer; only once the program talks to the simulator
    /// at all (a program that only talks to the kernel costs the simulator
    /// nothing).
    fn tell_settings(&self) {
        let (bytes, sync_send) = {
            let state = self.state();
            if !state.simulator_active {
                return;
            }
            let bytes = (state.recv_size > state.recv_size_told).then_some(state.recv_size);
            (bytes, !state.sync_send_told)
        };
        if bytes.is_none() && !sync_send {
            return;
        }
        let told = self.own_request(simdev::cmd::SOCKET_SET, |request| {
            if let Some(bytes) = bytes {
                request.put_u32(dev_attr::RECV_SIZE, bytes as u32);
            }
            if sync_send {
                request.put_flag(dev_attr::SYNC_SEND);
            }
        });
        match told {
            Ok(()) => {
                let mut state = self.state();
                state.recv_size_told = state.recv_size_told.max(bytes.unwrap_or(0));
                state.sync_send_told |= sync_send;
            }
            Err(e) => eprintln!("simdev-preload: telling the simulator of this socket: {e}"),
        }
    }

    /// The program's socket talks to the simulator from now on: how it
    /// reads is said first, so that its first dump is sized for it and its
    /// sends can wait for their answers.
    fn simulator_active(&self) {
        self.state().simulator_active = true;
        self.tell_settings();
    }

    /// The kernel handles a Generic Netlink request inside its send: when
    /// the send returns, the answer is queued (a flash's ACK, when the flash
    /// ended; iproute2's `devlink dev flash` sends from a child process and
    /// prints progress until that send returns). So a send to the simulator
    /// returns once the companion has an answer for the program (the
    /// simulator answers every request of a socket that said `sync-send`:
    /// an `NLMSG_NOOP`, dropped, when it has nothing else to say; what is
    /// the library's own business is dropped meanwhile), once another
    /// thread took one from it (since `taken_before`; that thread wakes
    /// this wait), or once the socket's receive timeout passed (the
    /// companion has it). The wait is a blocking `MSG_PEEK`, which leaves
    /// the answer for whichever process reads it: the sender may be a
    /// forked child. A signal does not end the wait, as it does not end the
    /// kernel's handling.
    fn await_answer(&self, fd: c_int, taken_before: u64) {
        if !self.state().sync_send_told {
            return; // the simulator does not answer every request: nothing to wait for
        }
        let saved_errno = errno();
        let mut taken = taken_before;
        // Seen by a taker after its count, or this sees its count (SeqCst).
        self.waiting_sends.fetch_add(1, Ordering::SeqCst);
        AWAITING.set(true);
        loop {
            if self.taken.load(Ordering::SeqCst) != taken {
                break;
            }
            let mut head = [0u8; 1];
            // SAFETY: a one-byte buffer.
            let peeked = unsafe { real::recv(self.companion, head.as_mut_ptr().cast(), 1, libc::MSG_PEEK) };
            if peeked < 0 && errno() == libc::EINTR {
                continue;
            }
            if peeked < 0 || self.taken.load(Ordering::SeqCst) != taken {
                break; // the receive timeout, or a failure the program's receive will see
            }
            if self.own_coming.load(Ordering::Relaxed) > 0 && self.drop_own_business(fd) {
                taken += 1; // that one was this wait's own
                continue;
            }
            break;
        }
        AWAITING.set(false);
        self.waiting_sends.fetch_sub(1, Ordering::SeqCst);
        set_errno(saved_errno);
    }

    /// Counts a datagram taken from the companion, and wakes the sends of
    /// other threads waiting for an answer: it may have been theirs.
    fn count_taken(&self) {
        self.taken.fetch_add(1, Ordering::SeqCst);
        if self.waiting_sends.load(Ordering::SeqCst) > u64::from(AWAITING.get()) {
            self.wake();
        }
    }

    /// A datagram from the companion to itself, which every receive drops:
    /// it ends a wait on the companion alone.
    fn wake(&self) {
        let wake = MessageBuilder::new(simdev_protocol::wire::NLMSG_NOOP, 0, 0, 0).finish();
        let address = netlink_address(self.companion_port, 0);
        self.own_coming.fetch_add(1, Ordering::Relaxed);
        // SAFETY: a valid buffer and address.
        unsafe {
            real::sendto(
                self.companion,
                wake.as_ptr().cast(),
                wake.len(),
                libc::MSG_DONTWAIT,
                (&raw const address).cast(),
                ADDRESS_LEN,
            )
        };
    }

    /// Drops the companion's next datagram if nothing in it is for the
    /// program (the answer to a request of the library's own, a `NOOP`, a
    /// wake-up); whether it did.
    fn drop_own_business(&self, fd: c_int) -> bool {
        let program_port = self.receiving_port(fd);
        let own = SCRATCH.with_borrow_mut(|scratch| {
            let (len, source) = self.companion_recv(scratch, libc::MSG_PEEK | libc::MSG_DONTWAIT);
            if len < 0 {
                return false;
            }
            if source.nl_pid != self.config.port {
                return true;
            }
            let datagram = &scratch[..(len as usize).min(scratch.len())];
            let delivery = self.reframed(&self.state(), datagram, program_port);
            delivery.datagram.is_none() && !delivery.overrun && delivery.dumps_answered.is_empty()
        });
        if own {
            self.drop_companion_head();
            self.own_came();
        }
        own
    }

    /// A datagram that was not the program's was dropped.
    fn own_came(&self) {
        let _ = self.own_coming.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
    }

    /// Drops the companion's next datagram (one looked at with `MSG_PEEK`).
    fn drop_companion_head(&self) {
        // SAFETY: a zero-length receive consumes one datagram.
        unsafe { real::recv(self.companion, std::ptr::null_mut(), 0, libc::MSG_DONTWAIT) };
        self.count_taken();
    }

    /// Whether `group` is one of a served family's.
    pub fn is_served_group(&self, group: u32) -> bool {
        self.config.is_group(group)
    }

    /// The served families' groups among a `bind` group mask.
    pub fn served_groups_in(&self, mask: u32) -> Vec<u32> {
        (1..=32).filter(|&g| mask & (1 << (g - 1)) != 0 && self.config.is_group(g)).collect()
    }

    pub fn set_option(&self, name: c_int, on: bool) {
        let mut state = self.state();
        match name {
            simdev_protocol::wire::NETLINK_EXT_ACK => state.ext_ack = on,
            simdev_protocol::wire::NETLINK_CAP_ACK => state.cap_ack = on,
            _ => {}
        }
    }

    /// Records the `SO_RCVTIMEO` the program gave its socket (zero: none).
    pub fn set_receive_timeout(&self, timeout: Duration) {
        self.state().receive_timeout = (!timeout.is_zero()).then_some(timeout);
    }

    pub fn set_connected_elsewhere(&self, elsewhere: bool) {
        self.state().connected_elsewhere = elsewhere;
    }

    /// `sendmsg` on the program's socket.
    ///
    /// # Safety
    /// `msg` describes valid buffers.
    pub unsafe fn sendmsg(&self, fd: c_int, msg: *const msghdr, flags: c_int) -> ssize_t {
        // SAFETY: the caller's message.
        let m = unsafe { &*msg };
        if crate::record::recording() {
            // SAFETY: the caller's buffers.
            crate::record::record(Direction::ToDriver, &unsafe { gather(m, usize::MAX) });
        }
        let to_kernel = if m.msg_name.is_null() || (m.msg_namelen as usize) < ADDRESS_LEN as usize {
            !self.state().connected_elsewhere
        } else {
            let address = unsafe { &*(m.msg_name as *const sockaddr_nl) };
            address.nl_pid == 0 && address.nl_groups == 0
        };
        if !to_kernel {
            self.kernel_active(); // the peer may answer on it
            return unsafe { real::sendmsg(fd, msg, flags) };
        }
        let gathered;
        let bytes: &[u8] = if m.msg_iovlen == 1 && !m.msg_iov.is_null() {
            // SAFETY: the caller's one buffer.
            let iov = unsafe { &*m.msg_iov };
            if iov.iov_len == 0 {
                &[]
            } else {
                unsafe { std::slice::from_raw_parts(iov.iov_base as *const u8, iov.iov_len) }
            }
        } else {
            gathered = unsafe { gather(m, usize::MAX) };
            &gathered
        };
        let split;
        let (for_simulator, for_kernel, dumps_with_simdev): (&[u8], &[u8], &[u32]) =
            match route::route(bytes, self.config) {
                route::Routing::Kernel => {
                    self.kernel_active();
                    return unsafe { real::sendmsg(fd, msg, flags) };
                }
                route::Routing::Simulator => (bytes, &[], &[]),
                route::Routing::Split(plan) => {
                    split = plan;
                    (&split.simulator, &split.kernel, &split.dumps_with_simdev)
                }
            };
        // The kernel handles a Generic Netlink request inside the send and
        // never says EAGAIN; the simulator's socket is read promptly, so a
        // send to it waits (rarely) rather than fail, unless told not to.
        let nonblocking = flags & libc::MSG_DONTWAIT != 0;
        self.program_port(fd);
        if !for_simulator.is_empty() || !dumps_with_simdev.is_empty() {
            self.simulator_active();
        }
        if !for_simulator.is_empty() {
            {
                let mut state = self.state();
                if !state.cap_ack {
                    for message in split_messages(for_simulator) {
                        state.requests.remember(message.bytes);
                    }
                }
            }
            // Counted before the send: another thread may take the answer
            // as soon as it comes.
            let taken_before = self.taken.load(Ordering::Relaxed);
            if let Err(error) = self.to_simulator(for_simulator, nonblocking) {
                set_errno(error.raw_os_error().unwrap_or(libc::EIO));
                return -1;
            }
            self.await_answer(fd, taken_before);
        }
        for &seq in dumps_with_simdev {
            // The simulator lists its families too; those it serves to the
            // program join the kernel's list (reframe).
            let flags = NLM_F_REQUEST | NLM_F_DUMP;
            let request = MessageBuilder::genl(GENL_ID_CTRL, flags, seq, 0, ctrl::cmd::GETFAMILY, ctrl::CTRL_VERSION);
            // Unreachable: the kernel's list goes without them (warned).
            if self.to_simulator(&request.finish(), nonblocking).is_ok() {
                self.state().dumps.push((seq, Instant::now()));
            }
        }
        if !for_kernel.is_empty() {
            self.kernel_active();
            let mut iov = iovec { iov_base: for_kernel.as_ptr() as *mut c_void, iov_len: for_kernel.len() };
            let mut kernel_part = *m;
            kernel_part.msg_iov = &mut iov;
            kernel_part.msg_iovlen = 1;
            let sent = unsafe { real::sendmsg(fd, &kernel_part, flags) };
            if sent < 0 {
                return sent;
            }
        }
        bytes.len() as ssize_t
    }

    /// `recvmsg` on the program's socket: what it received is recorded
    /// (`exec --pcap`), unless only peeked at.
    ///
    /// # Safety
    /// `msg` describes valid buffers.
    pub unsafe fn recvmsg(&self, fd: c_int, msg: *mut msghdr, flags: c_int) -> ssize_t {
        // SAFETY: the caller's message.
        let received = unsafe { self.receive(fd, msg, flags) };
        if received > 0 && flags & libc::MSG_PEEK == 0 && crate::record::recording() {
            // SAFETY: the caller's buffers, `received` bytes of them filled.
            crate::record::record(Direction::FromDriver, &unsafe { gather(&*msg, received as usize) });
        }
        received
    }

    /// [`Shim::recvmsg`]'s receive.
    ///
    /// # Safety
    /// `msg` describes valid buffers.
    unsafe fn receive(&self, fd: c_int, msg: *mut msghdr, flags: c_int) -> ssize_t {
        // SAFETY: the caller's iovecs are valid.
        self.note_receive_size(unsafe { buffer_length(msg) });
        let (nonblocking, receive_timeout) = {
            let state = self.state();
            (flags & libc::MSG_DONTWAIT != 0 || state.nonblocking, state.receive_timeout)
        };
        // Computed when first needed: the wait on the simulator alone keeps
        // the timeout on the companion itself.
        let mut deadline = None;
        loop {
            if self.kernel_idle() {
                // Nothing can come from the kernel: wait on the simulator
                // alone, in one system call (the companion has the socket's
                // receive timeout). A wake-up ends the wait when the kernel
                // side gets busy meanwhile.
                match unsafe { self.take_from_simulator(fd, msg, flags, !nonblocking) } {
                    Taken::Delivered(result) => return result,
                    Taken::Failed => return -1,
                    Taken::Empty => {
                        set_errno(libc::EAGAIN);
                        return -1;
                    }
                    Taken::Skipped => continue,
                }
            }
            // One poll tells which side has something (a blocking socket
            // waits here); then that side is read without waiting.
            if deadline.is_none() {
                deadline = Some(receive_timeout.filter(|_| !nonblocking).map(|timeout| Instant::now() + timeout));
            }
            let deadline = deadline.flatten();
            // SAFETY: the caller's message.
            if let Some(result) = unsafe { self.splice_family_dump(fd, msg, flags) } {
                return result;
            }
            let kernel_waits = self.kernel_must_wait(fd);
            if !kernel_waits && !self.state().simulator_active {
                // Only the kernel can have answered, and a kernel answer is
                // queued by the time its request's send returned: taken at
                // once, it costs one system call, as without the library.
                // (Not waited for here: another thread may yet make this
                // socket talk to the simulator, and the wait covers both.)
                // SAFETY: the caller's message.
                let result = unsafe { real::recvmsg(fd, msg, flags | libc::MSG_DONTWAIT) };
                if result >= 0 || errno() != libc::EAGAIN {
                    return result;
                }
            }
            let mut fds = [
                pollfd { fd: self.companion, events: libc::POLLIN, revents: 0 },
                pollfd { fd, events: libc::POLLIN, revents: 0 },
            ];
            let timeout = if nonblocking {
                0
            } else {
                let dump_deadline = self.state().dumps.iter().map(|&(_, since)| since + DUMP_ENTRY_WAIT).min();
                let wake_at = [deadline, dump_deadline.filter(|_| kernel_waits)].into_iter().flatten().min();
                let now = Instant::now();
                wake_at.map_or(-1, |at| at.saturating_duration_since(now).as_millis().min(i32::MAX as u128) as c_int)
            };
            let count = if kernel_waits { 1 } else { 2 };
            let ready = unsafe { real::poll(fds.as_mut_ptr(), count, timeout) };
            if ready < 0 {
                return -1; // EINTR, as a blocking recvmsg interrupted by a signal
            }
            if kernel_waits && fds[0].revents != 0 {
                // simdev's entry may have come for the kernel's last datagram.
                // SAFETY: the caller's message.
                if let Some(result) = unsafe { self.splice_family_dump(fd, msg, flags) } {
                    return result;
                }
            }
            let simulator_first = {
                let mut state = self.state();
                state.simulator_first = !state.simulator_first;
                state.simulator_first
            };
            for simulator in [simulator_first, !simulator_first] {
                if simulator && fds[0].revents != 0 {
                    match unsafe { self.take_from_simulator(fd, msg, flags, false) } {
                        Taken::Delivered(result) => return result,
                        Taken::Failed => return -1,
                        Taken::Empty | Taken::Skipped => {}
                    }
                } else if !simulator && count == 2 && fds[1].revents != 0 {
                    // Errors (ENOBUFS, a pending socket error) are the kernel socket's to report.
                    let result = unsafe { real::recvmsg(fd, msg, flags | libc::MSG_DONTWAIT) };
                    if result >= 0 || errno() != libc::EAGAIN {
                        return result;
                    }
                }
            }
            let timed_out = deadline.is_some_and(|d| Instant::now() >= d);
            if nonblocking || timed_out {
                set_errno(libc::EAGAIN);
                return -1;
            }
        }
    }

    /// Whether nothing can arrive from the kernel: the program never sent
    /// to it, joined none of its groups, and no controller dump is merging.
    fn kernel_idle(&self) -> bool {
        let state = self.state();
        !state.kernel_active && state.dumps.is_empty()
    }

    /// The program's socket talks to the kernel from now on: its answers
    /// must be waited for too. A reader waiting on the simulator alone is
    /// woken (a datagram from the companion to itself, which it drops).
    pub fn kernel_active(&self) {
        let was = std::mem::replace(&mut self.state().kernel_active, true);
        if !was {
            self.wake();
        }
    }

    /// Records the socket's `O_NONBLOCK` as the program sets it.
    pub fn set_nonblocking(&self, nonblocking: bool) {
        self.state().nonblocking = nonblocking;
    }

    /// Takes the next datagram from the simulator and delivers it
    /// reframed: one that is there, or (`wait`) the next to come, until
    /// the socket's receive timeout.
    ///
    /// # Safety
    /// `msg` describes valid buffers.
    unsafe fn take_from_simulator(&self, fd: c_int, msg: *mut msghdr, flags: c_int, wait: bool) -> Taken {
        let peek = flags & libc::MSG_PEEK != 0;
        let program_port = self.receiving_port(fd);
        SCRATCH.with_borrow_mut(|scratch| loop {
            let flags_here = if wait { 0 } else { libc::MSG_DONTWAIT } | if peek { libc::MSG_PEEK } else { 0 };
            let (len, source) = self.companion_recv(scratch, flags_here);
            if len < 0 {
                return if errno() == libc::EAGAIN { Taken::Empty } else { Taken::Failed };
            }
            let consume = || {
                if peek {
                    self.drop_companion_head();
                }
            };
            // A datagram that is not the program's is gone.
            let drop_own = || {
                consume();
                self.own_came();
            };
            if source.nl_pid != self.config.port {
                drop_own(); // not from our simulator (or a wake-up): nobody else may answer
                if wait {
                    return Taken::Skipped;
                }
                continue;
            }
            let datagram = &scratch[..(len as usize).min(scratch.len())];
            let delivery = {
                let mut state = self.state();
                let delivery = self.reframed(&state, datagram, program_port);
                if !peek {
                    state.dumps.retain(|(seq, _)| !delivery.dumps_answered.contains(seq));
                }
                delivery
            };
            if delivery.overrun {
                consume();
                set_errno(libc::ENOBUFS);
                return Taken::Failed;
            }
            match delivery.datagram {
                None if wait => {
                    drop_own();
                    return Taken::Skipped;
                }
                None => drop_own(),
                // SAFETY: the caller's message.
                Some(out) => return Taken::Delivered(unsafe { deliver(&mut *msg, &out, delivery.groups, flags) }),
            }
        })
    }

    /// One receive on the companion into `buf`: its result and its sender.
    fn companion_recv(&self, buf: &mut [u8], flags: c_int) -> (ssize_t, sockaddr_nl) {
        let mut source = netlink_address(0, 0);
        let mut iov = iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
        // SAFETY: zeroed msghdr, then pointed at live buffers.
        let mut header: msghdr = unsafe { std::mem::zeroed() };
        header.msg_name = (&raw mut source).cast();
        header.msg_namelen = ADDRESS_LEN;
        header.msg_iov = &mut iov;
        header.msg_iovlen = 1;
        // SAFETY: as above; the buffers outlive the call.
        let len = unsafe { real::recvmsg(self.companion, &mut header, flags) };
        if len >= 0 && flags & libc::MSG_PEEK == 0 {
            self.count_taken();
        }
        (len, source)
    }

    /// The program's port for what it receives. Not program_port():
    /// receiving does not bind a socket.
    fn receiving_port(&self, fd: c_int) -> u32 {
        match self.state().program_port {
            0 => port_of(fd),
            known => known,
        }
    }

    /// A datagram from the simulator as the program receives it.
    fn reframed(&self, state: &State, datagram: &[u8], program_port: u32) -> crate::reframe::Delivery {
        let (dumps, own) = (&state.dumps, &state.own);
        reframe(
            datagram,
            &Context {
                companion_port: self.companion_port,
                program_port,
                ext_ack: state.ext_ack,
                cap_ack: state.cap_ack,
                requests: &state.requests,
                dumps_with_simdev: &|seq| dumps.iter().any(|&(s, _)| s == seq),
                own: &|seq| own.contains(&seq),
                config: self.config,
            },
        )
    }

    /// A controller family dump being merged ends in the kernel's next
    /// datagram (its `NLMSG_DONE`, packed with its last families when they
    /// fit) and simdev's entry is the simulator's next: the program gets
    /// them as the kernel would send them were simdev one of its families,
    /// after the kernel's (whose ids are lower: the simulator takes the
    /// next free id) and before `NLMSG_DONE`, in one datagram. `None`: not
    /// that case, or the whole does not fit the program's buffer (simdev's
    /// entry then comes first, in a datagram of its own).
    ///
    /// # Safety
    /// `msg` describes valid buffers.
    unsafe fn splice_family_dump(&self, fd: c_int, msg: *mut msghdr, flags: c_int) -> Option<ssize_t> {
        if self.state().dumps.is_empty() {
            return None;
        }
        let peek_here = libc::MSG_PEEK | libc::MSG_DONTWAIT;
        let mut kernel = vec![0u8; SCRATCH_LEN];
        // SAFETY: kernel is writable for its length.
        let len = unsafe { real::recv(fd, kernel.as_mut_ptr().cast(), kernel.len(), peek_here) };
        kernel.truncate(usize::try_from(len).ok().filter(|&len| len > 0)?);
        let (seq, done_at) = {
            let state = self.state();
            let done = split_messages(&kernel)
                .find(|m| m.header.ty == NLMSG_DONE && state.dumps.iter().any(|&(s, _)| s == m.header.seq))?;
            (done.header.seq, done.bytes.as_ptr() as usize - kernel.as_ptr() as usize)
        };
        // What comes before it and is not the program's (a wake-up the
        // library sent itself, the answer to its own request) is dropped,
        // as every receive from the companion drops it.
        while self.drop_own_business(fd) {}
        let mut entry = vec![0u8; SCRATCH_LEN];
        let (len, source) = self.companion_recv(&mut entry, peek_here);
        entry.truncate(usize::try_from(len).ok().filter(|&len| len > 0)?);
        if source.nl_pid != self.config.port {
            return None;
        }
        let program_port = self.receiving_port(fd);
        let delivery = self.reframed(&self.state(), &entry, program_port);
        // Only simdev's entry of this dump: anything else takes the usual way.
        let reframed = delivery.datagram.filter(|_| delivery.dumps_answered == [seq])?;
        if split_messages(&reframed).any(|m| m.header.seq != seq) {
            return None;
        }
        let combined = [&kernel[..done_at], &reframed, &kernel[done_at..]].concat();
        // SAFETY: the caller's message.
        if combined.len() > unsafe { buffer_length(msg) } {
            return None;
        }
        if flags & libc::MSG_PEEK == 0 {
            // SAFETY: a zero-length receive consumes the kernel's datagram.
            unsafe { real::recv(fd, std::ptr::null_mut(), 0, libc::MSG_DONTWAIT) };
            self.drop_companion_head();
            self.state().dumps.retain(|&(s, _)| s != seq);
        }
        // SAFETY: the caller's message.
        Some(unsafe { deliver(&mut *msg, &combined, 0, flags) })
    }

    /// Whether the kernel's next datagram must wait: it ends a controller
    /// dump whose simdev entry has not been delivered yet. A dump that
    /// waited too long, or that the kernel refused, stops waiting.
    fn kernel_must_wait(&self, fd: c_int) -> bool {
        let mut state = self.state();
        if state.dumps.is_empty() {
            return false;
        }
        let expired: Vec<u32> =
            state.dumps.iter().filter(|(_, since)| since.elapsed() >= DUMP_ENTRY_WAIT).map(|&(seq, _)| seq).collect();
        for seq in expired {
            eprintln!("simdev-preload: the simulator did not answer in time; the family list goes without simdev");
            state.dumps.retain(|&(s, _)| s != seq);
            state.ignore(seq);
        }
        SCRATCH.with_borrow_mut(|scratch| {
            let flags = libc::MSG_PEEK | libc::MSG_DONTWAIT;
            // SAFETY: scratch is writable for its length.
            let len = unsafe { real::recv(fd, scratch.as_mut_ptr().cast(), scratch.len(), flags) };
            if len <= 0 {
                return false;
            }
            let mut wait = false;
            for message in split_messages(&scratch[..len as usize]) {
                let seq = message.header.seq;
                if !state.dumps.iter().any(|&(s, _)| s == seq) {
                    continue;
                }
                match message.header.ty {
                    NLMSG_DONE => wait = true,
                    NLMSG_ERROR => {
                        // The kernel refused the dump: it has no list to join.
                        state.dumps.retain(|&(s, _)| s != seq);
                        state.ignore(seq);
                    }
                    _ => {}
                }
            }
            wait
        })
    }

    /// Applies a receive buffer size to the companion too.
    pub fn mirror_socket_option(&self, name: c_int, value: *const c_void, len: socklen_t) {
        // SAFETY: the caller's option value.
        unsafe { real::setsockopt(self.companion, libc::SOL_SOCKET, name, value, len) };
    }
}

impl Drop for Shim {
    fn drop(&mut self) {
        // SAFETY: the companion is this shim's alone.
        unsafe { real::close(self.companion) };
    }
}

/// The total length of a `msghdr`'s buffers.
///
/// # Safety
/// `msg` and its iovec array are valid.
unsafe fn buffer_length(msg: *const msghdr) -> usize {
    // SAFETY: as the caller promises.
    let msg = unsafe { &*msg };
    if msg.msg_iov.is_null() {
        return 0;
    }
    // SAFETY: msg_iovlen entries at msg_iov.
    let iovs = unsafe { std::slice::from_raw_parts(msg.msg_iov, msg.msg_iovlen) };
    iovs.iter().map(|iov| iov.iov_len).sum()
}

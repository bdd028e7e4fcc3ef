//! What the simulator keeps per client socket (by port id), and the bounds
//! that keep one client from stalling or bloating it.
//!
//! The kernel answers genetlink requests with non-blocking unicast: a
//! reader whose socket is full loses the answer, and a dump goes on only as
//! the reader reads. The simulator does the same with user-space means:
//! - every send is non-blocking; an answer that does not fit the client's
//!   socket waits in the client's queue, bounded by [`CLIENT_QUEUE_MAX`]
//!   bytes (and all queues together by [`TOTAL_QUEUE_MAX`]); answers past
//!   the bound are dropped and counted ([`ServerStats::answers_dropped`]);
//! - a client has at most one dump running (another dump request is
//!   `EBUSY`, as the kernel answers); its next buffer is built only when
//!   the previous one was sent;
//! - a client whose socket is full is retried after a short, growing pause
//!   ([`RETRY_MIN`] to [`RETRY_MAX`]): user space cannot be told when
//!   another socket has room;
//! - clients take turns: at most [`MESSAGES_PER_TURN`] of a client's
//!   requests are answered before others get theirs, and the rest wait in
//!   its inbox (the kernel runs each sender's requests in the sender's own
//!   context; a user-space driver has one thread to share). An inbox holds
//!   at most [`INBOX_MAX`] bytes: requests beyond are answered `ENOBUFS`
//!   without being run.
//!
//! The kernel can flag a lost answer on the reader's socket (`ENOBUFS` on
//! its next receive); a user-space sender cannot, so a client that does not
//! read sees its later answers missing, and nothing else.
//!
//! State exists only while there is something to keep (queued answers, a
//! dump, failed batches), at most [`CLIENTS_PER_UID`] entries per user (the
//! user's least recently active one is forgotten first), and goes when the
//! kernel says the port is gone (`ECONNREFUSED`).

use crate::driver::batch::FailedBatches;
use crate::kernel::dump::DumpCursor;
use crate::simulator::Notification;
use crate::simulator::Simulator;
use simdev_protocol::simdev::ServerStats;
use std::collections::{BTreeSet, VecDeque};
use std::time::{Duration, Instant};

/// Bytes of answers one client may have waiting.
pub const CLIENT_QUEUE_MAX: usize = 128 * 1024;
/// Bytes of answers all clients together may have waiting.
pub const TOTAL_QUEUE_MAX: usize = 16 * 1024 * 1024;
/// Client entries kept per user.
pub const CLIENTS_PER_UID: usize = 256;
/// First and longest pause before trying a full socket again.
pub const RETRY_MIN: Duration = Duration::from_millis(1);
pub const RETRY_MAX: Duration = Duration::from_millis(50);
/// Sweeps in a row that must miss a socket before its settings end (one
/// read missed a live socket in 1.8 % of reads here while other sockets
/// came and went fast: 1216 of 68069).
const DEPARTED_AFTER: u8 = 3;
/// Datagrams one client may be sent in one go before others get a turn.
const FLUSH_BUDGET: usize = 16;
/// Requests of one client answered in one turn.
pub const MESSAGES_PER_TURN: usize = 64;
/// Bytes of requests one client may have waiting for their turn.
pub const INBOX_MAX: usize = 256 * 1024;

/// Requests waiting for their client's next turn: a datagram from
/// `offset` on, and who sent it.
/// A change to a socket's unicast subscription, as masks of group numbers
/// (bit N-1 for group N).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionChange {
    Join(u32),
    Leave(u32),
}

pub struct Parked {
    pub bytes: Vec<u8>,
    pub offset: usize,
    pub uid: Option<u32>,
}

/// What a send to a client came to (for several datagrams: what stopped it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// Everything was delivered.
    Delivered,
    /// The client's socket is full (`EAGAIN`): try again later.
    Full,
    /// No socket has that port any more (`ECONNREFUSED`).
    Gone,
    /// Any other refusal: the datagram is dropped.
    Failed,
}

/// One client socket.
pub struct Client {
    pub port: u32,
    pub uid: Option<u32>,
    outgoing: VecDeque<Vec<u8>>,
    outgoing_bytes: usize,
    pub dump: Option<DumpCursor>,
    pub failed_batches: FailedBatches,
    inbox: VecDeque<Parked>,
    inbox_bytes: usize,
    /// Answers dropped and not yet counted in the totals.
    dropped: u64,
    /// When it is tried again, and the pause after that.
    retry: Option<(Instant, Duration)>,
    last_active: u64,
    /// Groups whose notifications it is sent by unicast (`subscribe`), as
    /// a mask of group numbers (bit N-1 for group N).
    subscribed: u32,
    /// Its largest receive, as it said (simdev's `socket-set`); 0: unknown.
    /// Only grows, as the kernel's `max_recvmsg_len`.
    recv_size: usize,
    /// It waits for each request's first answer (`socket-set`'s
    /// `sync-send`): a request handled without one gets an `NLMSG_NOOP`.
    pub sync_send: bool,
    /// Sweeps in a row that did not find its socket bound
    /// ([`Clients::forget_departed_sockets`]).
    unseen: u8,
    /// Its dropped answers were logged.
    warned: bool,
    /// Answers were lost since its queue last drained, and the marker
    /// saying so is queued ([`overrun_marker`]).
    overran: bool,
}

impl Client {
    /// Whether it has settings that outlive its requests.
    fn has_settings(&self) -> bool {
        self.subscribed != 0 || self.recv_size != 0 || self.sync_send
    }

    /// How much each of its dump buffers holds.
    pub fn dump_buffer_size(&self) -> usize {
        crate::kernel::dump::buffer_size(self.recv_size)
    }

    /// Notes the largest receive the socket said it makes.
    pub fn note_recv_size(&mut self, bytes: usize) {
        self.recv_size = self.recv_size.max(bytes);
    }

    /// Whether notifications of `group` are unicast to this socket.
    pub fn is_subscribed(&self, group: u32) -> bool {
        group >= 1 && self.subscribed & 1u32.checked_shl(group - 1).unwrap_or(0) != 0
    }

    fn new(port: u32, uid: Option<u32>) -> Self {
        Client {
            port,
            uid,
            outgoing: VecDeque::new(),
            outgoing_bytes: 0,
            dump: None,
            failed_batches: FailedBatches::default(),
            inbox: VecDeque::new(),
            inbox_bytes: 0,
            dropped: 0,
            retry: None,
            last_active: 0,
            subscribed: 0,
            recv_size: 0,
            sync_send: false,
            unseen: 0,
            overran: false,
            warned: false,
        }
    }

    /// Queues an answer datagram, or drops it when the queue is full.
    pub fn push(&mut self, datagram: Vec<u8>) {
        if self.outgoing_bytes + datagram.len() > CLIENT_QUEUE_MAX {
            if !self.warned {
                // Once per client: a log line per drop would be a flood.
                log::warn!("client port {} (uid {:?}) does not read its socket: dropping answers", self.port, self.uid);
                self.warned = true;
            }
            self.dropped += 1;
            self.mark_overrun(CLIENT_QUEUE_MAX);
            return;
        }
        self.outgoing_bytes += datagram.len();
        self.outgoing.push_back(datagram);
    }

    /// After a loss, once until the queue drains: queues the marker that
    /// says answers were lost here, where the kernel would set `ENOBUFS`
    /// on the socket; the queue stays within `limit` bytes (the last
    /// answers make room for it).
    fn mark_overrun(&mut self, limit: usize) {
        if self.overran {
            return;
        }
        self.overran = true;
        let marker = overrun_marker(self.port);
        while self.outgoing_bytes + marker.len() > limit {
            let Some(dropped) = self.outgoing.pop_back() else { break };
            self.outgoing_bytes -= dropped.len();
            self.dropped += u64::from(!is_overrun_marker(&dropped));
        }
        self.outgoing_bytes += marker.len();
        self.outgoing.push_back(marker);
    }

    pub fn change_subscription(&mut self, change: SubscriptionChange) {
        self.subscribed = match change {
            SubscriptionChange::Join(groups) => self.subscribed | groups,
            SubscriptionChange::Leave(groups) => self.subscribed & !groups,
        };
    }

    pub fn dump_running(&self) -> bool {
        self.dump.is_some()
    }

    /// Whether requests wait for a later turn (new ones must queue behind).
    pub fn has_inbox(&self) -> bool {
        !self.inbox.is_empty()
    }

    /// Keeps requests for a later turn; `false` when the inbox is full.
    pub fn park(&mut self, bytes: &[u8], uid: Option<u32>) -> bool {
        if self.inbox_bytes + bytes.len() > INBOX_MAX {
            return false;
        }
        self.inbox_bytes += bytes.len();
        self.inbox.push_back(Parked { bytes: bytes.to_vec(), offset: 0, uid });
        true
    }

    /// Takes the oldest waiting requests (give back what is left with
    /// [`Client::unpark`]).
    pub fn take_parked(&mut self) -> Option<Parked> {
        let parked = self.inbox.pop_front()?;
        self.inbox_bytes -= parked.bytes.len();
        Some(parked)
    }

    /// Puts requests back at the head of the inbox.
    pub fn unpark(&mut self, parked: Parked) {
        self.inbox_bytes += parked.bytes.len();
        self.inbox.push_front(parked);
    }

    /// Whether anything is waiting to be sent or produced.
    fn has_work(&self) -> bool {
        !self.outgoing.is_empty() || self.dump.is_some()
    }

    fn is_empty(&self) -> bool {
        !self.has_work() && self.failed_batches.is_empty() && self.inbox.is_empty() && !self.has_settings()
    }

    /// Drops the newest answers until at most `bytes` are waiting.
    fn trim_to(&mut self, bytes: usize) {
        let (mut trimmed, had_marker) = (false, self.overran);
        while self.outgoing_bytes > bytes {
            let Some(dropped) = self.outgoing.pop_back() else { break };
            self.outgoing_bytes -= dropped.len();
            if is_overrun_marker(&dropped) {
                self.overran = false; // to be queued again, not an answer lost
            } else {
                self.dropped += 1;
                trimmed = true;
            }
        }
        if trimmed || (had_marker && !self.overran) {
            self.mark_overrun(bytes);
        }
    }
}

/// Every client with state.
#[derive(Default)]
pub struct Clients {
    /// foldhash (randomly seeded, like std's): an entry is made, read and
    /// dropped for every request, and std's SipHash cost a GETFAMILY round
    /// trip 0.14 µs (15.55 against 15.41, means of five).
    by_port: foldhash::HashMap<u32, Client>,
    per_uid: foldhash::HashMap<Option<u32>, usize>,
    /// Clients to try again, by time.
    due: BTreeSet<(Instant, u32)>,
    queued_bytes: usize,
    answers_dropped: u64,
    activity: u64,
    /// Clients with requests waiting for a turn, in turn order.
    ready: VecDeque<u32>,
}

impl Clients {
    /// The client at `port`, created if new (forgetting the user's least
    /// recently active client if the user has [`CLIENTS_PER_UID`]).
    pub fn entry(&mut self, port: u32, uid: Option<u32>) -> &mut Client {
        self.activity += 1;
        if !self.by_port.contains_key(&port) {
            if self.per_uid.get(&uid).copied().unwrap_or(0) >= CLIENTS_PER_UID {
                let oldest = self
                    .by_port
                    .values()
                    .filter(|c| c.uid == uid)
                    .min_by_key(|c| c.last_active)
                    .map(|c| c.port)
                    .expect("the user has clients");
                log::warn!("uid {uid:?} has more than {CLIENTS_PER_UID} client sockets: forgetting port {oldest}");
                self.remove(oldest);
            }
            *self.per_uid.entry(uid).or_default() += 1;
            self.by_port.insert(port, Client::new(port, uid));
        }
        let client = self.by_port.get_mut(&port).expect("just made");
        client.last_active = self.activity;
        self.queued_bytes -= client.outgoing_bytes;
        client
    }

    /// The uid of the client at `port`, if it has state.
    pub fn uid_of(&self, port: u32) -> Option<Option<u32>> {
        self.by_port.get(&port).map(|c| c.uid)
    }

    /// Accounts for what was done to the client [`Clients::entry`] gave,
    /// enforcing [`TOTAL_QUEUE_MAX`]; forgets it if nothing is left.
    pub fn settle(&mut self, port: u32) {
        let Some(client) = self.by_port.get_mut(&port) else { return };
        client.trim_to(TOTAL_QUEUE_MAX.saturating_sub(self.queued_bytes));
        self.queued_bytes += client.outgoing_bytes;
        self.answers_dropped += std::mem::take(&mut client.dropped);
        if client.is_empty() {
            self.remove(port);
        }
    }

    fn remove(&mut self, port: u32) {
        if let Some(client) = self.by_port.remove(&port) {
            self.queued_bytes -= client.outgoing_bytes;
            self.answers_dropped += client.dropped + client.outgoing.len() as u64;
            if let Some((at, _)) = client.retry {
                self.due.remove(&(at, port));
            }
            if let Some(count) = self.per_uid.get_mut(&client.uid) {
                *count -= 1;
                if *count == 0 {
                    self.per_uid.remove(&client.uid);
                }
            }
        }
    }

    /// Whether any socket has settings of its own (a unicast subscription,
    /// a receive size), kept while the socket lives.
    pub fn has_socket_settings(&self) -> bool {
        self.by_port.values().any(Client::has_settings)
    }

    /// Forgets the sockets with settings that are gone (their port is
    /// not in `bound` in [`DEPARTED_AFTER`] sweeps in a row): the kernel
    /// drops a closed socket's group memberships at once, and a
    /// subscription is simdev's stand-in for one, so it must not outlive
    /// its socket until the next notification finds it gone (nor the
    /// memory its settings take). Not at the first miss: one read of
    /// `/proc/net/netlink` can miss a live socket (the kernel walks its
    /// socket table while sockets come and go), and a monitor that lost
    /// its subscription so would hear nothing more.
    pub fn forget_departed_sockets(&mut self, bound: &std::collections::HashSet<u32>) {
        let mut departed = Vec::new();
        for client in self.by_port.values_mut().filter(|c| c.has_settings()) {
            if bound.contains(&client.port) {
                client.unseen = 0;
                continue;
            }
            client.unseen = client.unseen.saturating_add(1);
            if client.unseen >= DEPARTED_AFTER {
                departed.push(client.port);
            }
        }
        for port in departed {
            log::debug!("port {port}: its socket is gone; its subscription and settings ended");
            self.remove(port);
        }
    }

    /// Queues a copy of each notification for every socket subscribed to
    /// its group; returns those sockets' ports (to flush).
    pub fn fan_out(&mut self, notifications: &[Notification]) -> Vec<u32> {
        let mut touched = Vec::new();
        for notification in notifications {
            let subscribers: Vec<(u32, Option<u32>)> = self
                .by_port
                .values()
                .filter(|c| c.is_subscribed(notification.group) && !notification.delivered.contains(&c.port))
                .map(|c| (c.port, c.uid))
                .collect();
            for (port, uid) in subscribers {
                self.push(port, uid, notification.message.clone());
                touched.push(port);
            }
        }
        touched.sort_unstable();
        touched.dedup();
        touched
    }

    /// Queues an answer for `port` (answers a timer released).
    pub fn push(&mut self, port: u32, uid: Option<u32>, datagram: Vec<u8>) {
        self.entry(port, uid).push(datagram);
        self.settle(port);
    }

    /// Sends what `port` has waiting through `send` (which sends datagrams
    /// in order and says how many were delivered and what stopped it),
    /// building dump buffers as the previous ones go out, until its socket
    /// is full, nothing is left, or it had its turn.
    pub fn flush(&mut self, port: u32, sim: &mut Simulator, send: &mut impl FnMut(u32, &[&[u8]]) -> (usize, Sent)) {
        let Some(client) = self.by_port.get_mut(&port) else { return };
        self.queued_bytes -= client.outgoing_bytes;
        if let Some((at, _)) = client.retry {
            self.due.remove(&(at, port));
        }
        let now = Instant::now();
        let mut budget = FLUSH_BUDGET;
        let mut outcome = Sent::Delivered;
        while budget > 0 {
            if client.outgoing.is_empty() {
                let Some(dump) = client.dump.as_mut() else { break };
                if self.queued_bytes > TOTAL_QUEUE_MAX {
                    outcome = Sent::Full; // the dump waits until others drained
                    break;
                }
                let (buffer, finished) = dump.next_buffer(sim, crate::kernel::dump::buffer_size(client.recv_size));
                if finished {
                    client.dump = None;
                }
                client.outgoing_bytes += buffer.len();
                client.outgoing.push_back(buffer);
            }
            let batch: Vec<&[u8]> = client.outgoing.iter().take(budget).map(Vec::as_slice).collect();
            let (delivered, stopped) = send(port, &batch);
            outcome = stopped;
            // A datagram refused for another reason is dropped, not retried.
            let done = delivered + usize::from(stopped == Sent::Failed);
            for sent in client.outgoing.drain(..done) {
                client.outgoing_bytes -= sent.len();
            }
            if client.outgoing.is_empty() {
                client.overran = false; // drained: a later loss is a new one
            }
            budget = budget.saturating_sub(done);
            if matches!(outcome, Sent::Full | Sent::Gone) {
                break;
            }
        }
        client.retry = match outcome {
            _ if !client.has_work() => None,
            Sent::Full => {
                let pause = client.retry.map_or(RETRY_MIN, |(_, pause)| (pause * 2).min(RETRY_MAX));
                Some((now + pause, pause))
            }
            // Its turn is over, but it could go on: as soon as others had theirs.
            _ => Some((now, Duration::ZERO)),
        };
        if let Some((at, _)) = client.retry {
            self.due.insert((at, port));
        }
        if outcome == Sent::Gone {
            log::debug!("client port {port} is gone; dropping its answers");
            self.queued_bytes += client.outgoing_bytes;
            self.remove(port);
        } else {
            self.settle(port);
        }
    }

    /// Flushes every client whose turn has come.
    pub fn flush_due(&mut self, sim: &mut Simulator, send: &mut impl FnMut(u32, &[&[u8]]) -> (usize, Sent)) {
        let now = Instant::now();
        let due: Vec<u32> = self.due.iter().take_while(|(at, _)| *at <= now).map(|(_, port)| *port).collect();
        for port in due {
            self.flush(port, sim, send);
        }
    }

    /// Puts `port` at the end of the turn order (it has parked requests).
    pub fn wait_turn(&mut self, port: u32) {
        self.ready.push_back(port);
    }

    /// The clients whose turn it is, in order (each at most once).
    pub fn take_turns(&mut self) -> Vec<u32> {
        std::mem::take(&mut self.ready).into()
    }

    /// Whether some client has requests waiting for a turn.
    pub fn turns_waiting(&self) -> bool {
        !self.ready.is_empty()
    }

    /// Whether the client at `port` has answers waiting or a dump going.
    pub fn waiting(&self, port: u32) -> bool {
        self.by_port.get(&port).is_some_and(Client::has_work)
    }

    /// When a client should be tried next.
    pub fn next_due(&self) -> Option<Instant> {
        self.due.first().map(|(at, _)| *at)
    }

    pub fn stats(&self) -> ServerStats {
        ServerStats {
            answers_dropped: self.answers_dropped,
            answers_queued: self.queued_bytes as u64,
            clients_waiting: self.by_port.values().filter(|c| c.has_work()).count() as u32,
            subscribers: self.by_port.values().filter(|c| c.subscribed != 0).count() as u32,
            capture_frames: 0,
            capture_dropped: 0,
        }
    }
}

/// What the simulator queues where it lost answers for a client (its
/// queue full because the client did not read): `NLMSG_OVERRUN`, netlink's
/// own type for lost data (`"Data lost"` in `linux/netlink.h`), carrying
/// `-ENOBUFS`, to the client's port. The kernel instead sets `ENOBUFS` on
/// the socket, which a user-space sender cannot; `genl-client exec`'s
/// preload turns the marker into that `ENOBUFS` for the program, and
/// libnl reports it as an overflow to a direct client.
fn is_overrun_marker(datagram: &[u8]) -> bool {
    datagram.get(4..6) == Some(&simdev_protocol::wire::NLMSG_OVERRUN.to_ne_bytes())
}

pub fn overrun_marker(port: u32) -> Vec<u8> {
    let mut marker = simdev_protocol::wire::MessageBuilder::new(simdev_protocol::wire::NLMSG_OVERRUN, 0, 0, port);
    marker.put_raw(&(-libc::ENOBUFS).to_ne_bytes());
    marker.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_queue_is_bounded_and_drops_are_counted() {
        let mut clients = Clients::default();
        let client = clients.entry(7, Some(1000));
        for _ in 0..(CLIENT_QUEUE_MAX / 1024 + 10) {
            client.push(vec![0; 1024]);
        }
        clients.settle(7);
        let stats = clients.stats();
        // The last answer that fit made room for the marker of the loss.
        let marker = overrun_marker(7).len();
        assert_eq!(stats.answers_queued, (CLIENT_QUEUE_MAX - 1024 + marker) as u64);
        assert_eq!(stats.answers_dropped, 11);
        assert_eq!(stats.clients_waiting, 1);
        let client = clients.entry(7, Some(1000));
        assert!(is_overrun_marker(client.outgoing.back().unwrap()), "the loss is marked where it happened");
        assert_eq!(client.outgoing.iter().filter(|d| is_overrun_marker(d)).count(), 1, "once per loss");
    }

    #[test]
    fn a_socket_missed_by_a_sweep_keeps_its_settings() {
        let mut clients = Clients::default();
        clients.entry(7, Some(0)).sync_send = true;
        let (none, bound) = (std::collections::HashSet::new(), std::collections::HashSet::from([7]));
        for _ in 1..DEPARTED_AFTER {
            clients.forget_departed_sockets(&none);
        }
        assert!(clients.by_port.contains_key(&7), "a read may miss a live socket");
        clients.forget_departed_sockets(&bound);
        for _ in 1..DEPARTED_AFTER {
            clients.forget_departed_sockets(&none);
        }
        assert!(clients.by_port.contains_key(&7), "seen in between: counted afresh");
        clients.forget_departed_sockets(&none);
        assert!(!clients.by_port.contains_key(&7), "missed every time: gone");
    }

    #[test]
    fn a_user_with_too_many_sockets_loses_only_its_own_oldest() {
        let mut clients = Clients::default();
        clients.entry(1, Some(0)).failed_batches.record_failure(1);
        clients.settle(1);
        for port in 100..(100 + CLIENTS_PER_UID as u32 + 5) {
            clients.entry(port, Some(65534)).failed_batches.record_failure(1);
            clients.settle(port);
        }
        assert!(clients.by_port.contains_key(&1), "another user's client is kept");
        assert!(!clients.by_port.contains_key(&100), "the oldest of that user's went");
        assert_eq!(clients.per_uid[&Some(65534)], CLIENTS_PER_UID);
    }

    #[test]
    fn an_empty_client_is_forgotten() {
        let mut clients = Clients::default();
        clients.entry(9, None);
        clients.settle(9);
        assert!(clients.by_port.is_empty() && clients.per_uid.is_empty());
    }
}

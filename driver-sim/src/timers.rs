//! The simulator's timer queue: work that happens later (flash steps,
//! link flaps, delayed answers) is an event with a deadline, run by the
//! event loop when due. Nothing sleeps.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

/// Something to do later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimerEvent {
    /// Advance flash `generation` of device `dev`.
    FlashStep { dev: u32, generation: u64 },
    /// Link-flap fault on a port: drop the carrier now (then `CarrierUp`).
    FlapDown { dev: u32, port: u32, generation: u64 },
    /// Restore a port's carrier (after a flap or a reset).
    CarrierUp { dev: u32, port: u32, generation: u64 },
    /// Send answers that an injected latency held back (to the client
    /// at `port`, whose uid was `uid`).
    Send { port: u32, uid: Option<u32>, datagrams: Vec<Vec<u8>> },
}

#[derive(Debug)]
struct Entry {
    deadline: Instant,
    order: u64,
    event: TimerEvent,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.deadline, self.order) == (other.deadline, other.order)
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    /// Earliest first (reversed for the max-heap); ties in insertion order.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.deadline, other.order).cmp(&(self.deadline, self.order))
    }
}

#[derive(Debug, Default)]
pub struct Timers {
    heap: BinaryHeap<Entry>,
    next_order: u64,
}

impl Timers {
    pub fn schedule(&mut self, after: Duration, event: TimerEvent) {
        self.schedule_at(Instant::now() + after, event);
    }

    pub fn schedule_at(&mut self, deadline: Instant, event: TimerEvent) {
        self.next_order += 1;
        self.heap.push(Entry { deadline, order: self.next_order, event });
    }

    /// When the earliest event is due.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.heap.peek().map(|e| e.deadline)
    }

    /// Removes and returns the earliest event if it is due at `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<(Instant, TimerEvent)> {
        if self.heap.peek()?.deadline > now {
            return None;
        }
        self.heap.pop().map(|e| (e.deadline, e.event))
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_come_out_in_deadline_then_insertion_order() {
        let mut timers = Timers::default();
        let now = Instant::now();
        let send = |port| TimerEvent::Send { port, uid: None, datagrams: vec![] };
        timers.schedule_at(now + Duration::from_millis(20), send(3));
        timers.schedule_at(now + Duration::from_millis(10), send(1));
        timers.schedule_at(now + Duration::from_millis(10), send(2));
        assert!(timers.pop_due(now).is_none());
        let later = now + Duration::from_millis(15);
        assert_eq!(timers.pop_due(later).unwrap().1, send(1));
        assert_eq!(timers.pop_due(later).unwrap().1, send(2));
        assert!(timers.pop_due(later).is_none());
        assert_eq!(timers.next_deadline(), Some(now + Duration::from_millis(20)));
    }
}

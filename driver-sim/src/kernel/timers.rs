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
    /// Simulated time since the simulator started.
    deadline: Duration,
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

/// What simulated time follows.
#[derive(Debug, Clone, Copy)]
enum Clock {
    /// The real clock, from the simulator's start.
    Real { start: Instant },
    /// Time that passes only when told to (`clock-advance`).
    Virtual { now: Duration },
}

#[derive(Debug)]
pub struct Timers {
    heap: BinaryHeap<Entry>,
    next_order: u64,
    clock: Clock,
}

impl Default for Timers {
    fn default() -> Self {
        Self::new(false)
    }
}

impl Timers {
    /// A queue on the real clock, or (`virtual_clock`) on simulated time
    /// that stands still until [`Timers::advance_step`] moves it.
    pub fn new(virtual_clock: bool) -> Self {
        let clock =
            if virtual_clock { Clock::Virtual { now: Duration::ZERO } } else { Clock::Real { start: Instant::now() } };
        Timers { heap: BinaryHeap::new(), next_order: 0, clock }
    }

    pub fn is_virtual(&self) -> bool {
        matches!(self.clock, Clock::Virtual { .. })
    }

    /// Simulated time since the simulator started.
    pub fn now(&self) -> Duration {
        match self.clock {
            Clock::Real { start } => start.elapsed(),
            Clock::Virtual { now } => now,
        }
    }

    pub fn schedule(&mut self, after: Duration, event: TimerEvent) {
        self.schedule_at(self.now() + after, event);
    }

    /// Schedules at a simulated time (a past one: due at once).
    pub fn schedule_at(&mut self, deadline: Duration, event: TimerEvent) {
        self.next_order += 1;
        self.heap.push(Entry { deadline, order: self.next_order, event });
    }

    /// When the event loop must wake up for the earliest event: on the
    /// real clock its deadline; on the virtual clock now if it is due, and
    /// never otherwise (nothing becomes due by itself).
    pub fn next_wakeup(&self) -> Option<Instant> {
        let deadline = self.heap.peek()?.deadline;
        match self.clock {
            Clock::Real { start } => Some(start + deadline),
            Clock::Virtual { now } => (deadline <= now).then(Instant::now),
        }
    }

    /// Removes and returns the earliest event if it is due now, with its deadline.
    pub fn pop_due(&mut self) -> Option<(Duration, TimerEvent)> {
        if self.heap.peek()?.deadline > self.now() {
            return None;
        }
        self.heap.pop().map(|e| (e.deadline, e.event))
    }

    /// Virtual clock: the next event due by `until`, with the clock moved to
    /// its deadline (events run in deadline order, each at its own time, and
    /// may schedule more within the span); `None` once none is, with the
    /// clock at `until`. On the real clock, only what is due now.
    pub fn advance_step(&mut self, until: Duration) -> Option<(Duration, TimerEvent)> {
        let Clock::Virtual { now } = &mut self.clock else { return self.pop_due() };
        match self.heap.peek() {
            Some(entry) if entry.deadline <= until => {
                *now = (*now).max(entry.deadline);
                self.heap.pop().map(|e| (e.deadline, e.event))
            }
            _ => {
                *now = (*now).max(until);
                None
            }
        }
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

    fn send(port: u32) -> TimerEvent {
        TimerEvent::Send { port, uid: None, datagrams: vec![] }
    }

    #[test]
    fn events_come_out_in_deadline_then_insertion_order() {
        let mut timers = Timers::new(true);
        let ms = Duration::from_millis;
        timers.schedule_at(ms(20), send(3));
        timers.schedule_at(ms(10), send(1));
        timers.schedule_at(ms(10), send(2));
        assert!(timers.pop_due().is_none(), "virtual time stands still");
        assert_eq!(timers.next_wakeup(), None, "nothing wakes the loop by itself");
        assert_eq!(timers.advance_step(ms(15)), Some((ms(10), send(1))));
        assert_eq!(timers.now(), ms(10), "the clock is at the event's time while it runs");
        assert_eq!(timers.advance_step(ms(15)), Some((ms(10), send(2))));
        assert_eq!(timers.advance_step(ms(15)), None);
        assert_eq!(timers.now(), ms(15));
        timers.schedule(ms(0), send(4));
        assert!(timers.next_wakeup().is_some(), "due now: the loop runs it");
        assert_eq!(timers.pop_due(), Some((ms(15), send(4))));
        assert_eq!(timers.pop_due(), None);
        assert_eq!(timers.advance_step(ms(20)), Some((ms(20), send(3))));
    }

    #[test]
    fn the_real_clock_runs_what_is_due() {
        let mut timers = Timers::new(false);
        timers.schedule(Duration::ZERO, send(1));
        timers.schedule(Duration::from_secs(3600), send(2));
        assert_eq!(timers.pop_due().map(|(_, e)| e), Some(send(1)));
        assert_eq!(timers.pop_due(), None);
        assert!(timers.next_wakeup().unwrap() > Instant::now());
    }
}

//! The discrete-event engine: a virtual clock and a queue of future events.
//!
//! Knows nothing about DHTs: it orders values of any event type `E` by `(time, insertion
//! sequence)`, so events scheduled for the same millisecond come out in the order they were
//! scheduled, and a run is a pure function of its inputs. The caller owns the loop:
//! `while let Some((now, ev)) = engine.pop() { ... engine.schedule(...) }`.

use crate::time::{SimDuration, SimTime};
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// A virtual clock with a priority queue of pending events.
///
/// The heap holds small fixed-size keys `(time, seq, slot)`; the events themselves wait in a slab
/// of reusable slots, so a sift moves 24 bytes however large the event type is.
#[derive(Debug)]
pub struct Engine<E> {
    now: SimTime,
    next_seq: u64,
    popped: u64,
    queue: BinaryHeap<Key>,
    slots: Vec<Option<E>>,
    free: Vec<u32>,
}

#[derive(Debug, PartialEq, Eq)]
struct Key {
    time: SimTime,
    seq: u64,
    slot: u32,
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    /// Reversed, so that the max-heap pops the earliest `(time, seq)` first. `seq` is unique, so
    /// `slot` never decides.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

impl<E> Default for Engine<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> Engine<E> {
    /// An engine at time zero with nothing scheduled.
    pub fn new() -> Self {
        Engine {
            now: SimTime::ZERO,
            next_seq: 0,
            popped: 0,
            queue: BinaryHeap::new(),
            slots: Vec::new(),
            free: Vec::new(),
        }
    }

    /// The current virtual time: the time of the event popped last.
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Schedules `event` at `time`, which must not be in the past.
    pub fn schedule_at(&mut self, time: SimTime, event: E) {
        assert!(time >= self.now, "event scheduled in the past: {time} < {}", self.now);
        let seq = self.next_seq;
        self.next_seq += 1;
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = Some(event);
                slot
            }
            None => {
                self.slots.push(Some(event));
                u32::try_from(self.slots.len() - 1).expect("more than 2^32 pending events")
            }
        };
        self.queue.push(Key { time, seq, slot });
    }

    /// Schedules `event` after `delay` from now.
    pub fn schedule_in(&mut self, delay: SimDuration, event: E) {
        self.schedule_at(self.now + delay, event);
    }

    /// Removes the earliest event, advances the clock to its time, and returns both.
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        let Key { time, slot, .. } = self.queue.pop()?;
        let event = self.slots[slot as usize].take().expect("a queued slot holds its event");
        self.free.push(slot);
        self.now = time;
        self.popped += 1;
        Some((time, event))
    }

    /// The time of the earliest pending event.
    pub fn peek_time(&self) -> Option<SimTime> {
        self.queue.peek().map(|k| k.time)
    }

    /// How many events are pending.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// How many events have been popped since the engine was created.
    pub fn events_processed(&self) -> u64 {
        self.popped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_time_then_insertion_order() {
        let mut e = Engine::new();
        e.schedule_at(SimTime(5), "c");
        e.schedule_at(SimTime(1), "a");
        e.schedule_at(SimTime(5), "d");
        e.schedule_at(SimTime(1), "b");
        let order: Vec<_> = std::iter::from_fn(|| e.pop()).collect();
        assert_eq!(
            order,
            vec![(SimTime(1), "a"), (SimTime(1), "b"), (SimTime(5), "c"), (SimTime(5), "d")]
        );
        assert_eq!(e.now(), SimTime(5));
        assert_eq!(e.events_processed(), 4);
    }

    #[test]
    fn schedule_in_is_relative_to_now() {
        let mut e = Engine::new();
        e.schedule_at(SimTime(10), 1);
        e.pop();
        e.schedule_in(SimDuration(3), 2);
        assert_eq!(e.peek_time(), Some(SimTime(13)));
    }

    #[test]
    fn slots_are_reused() {
        let mut e = Engine::new();
        for round in 0..3u64 {
            for i in 0..100 {
                e.schedule_in(SimDuration(i % 7), (round, i));
            }
            let mut last = (SimTime(0), 0);
            while let Some((t, (_, i))) = e.pop() {
                assert!((t, i) > last || last == (SimTime(0), 0) || t > last.0);
                last = (t, i);
            }
        }
        assert_eq!(e.slots.len(), 100, "slots of popped events are reused");
        assert_eq!(e.events_processed(), 300);
    }

    #[test]
    #[should_panic(expected = "in the past")]
    fn rejects_the_past() {
        let mut e = Engine::new();
        e.schedule_at(SimTime(10), ());
        e.pop();
        e.schedule_at(SimTime(9), ());
    }
}

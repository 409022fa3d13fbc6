//! The discrete-event engine: a virtual clock and a queue of future events.
//!
//! Knows nothing about DHTs: it orders values of any event type `E` by `(time, insertion
//! sequence)`, so events scheduled for the same millisecond come out in the order they were
//! scheduled, and a run is a pure function of its inputs. The caller owns the loop:
//! `while let Some((now, ev)) = engine.pop() { ... engine.schedule(...) }`.
//!
//! The queue is a timing wheel over integer time: one FIFO bucket per millisecond of the next
//! [`WHEEL_MS`] (about 65 s), found through a two-level bitmap, so scheduling and popping cost
//! O(1) however many events wait (message latencies, RPC timeouts and maintenance periods all
//! fall inside the window). Events further out wait in a binary heap and move into their bucket,
//! in `(time, seq)` order, the moment the window reaches them, before anything else can be
//! scheduled for that millisecond: so each bucket stays in insertion order and the engine pops
//! exactly what a heap ordered by `(time, seq)` would.

use crate::time::{SimDuration, SimTime};
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Milliseconds covered by the wheel (a power of two).
pub const WHEEL_MS: u64 = 1 << 16;
const MASK: u64 = WHEEL_MS - 1;
/// End of a bucket's list, or a slot that is free.
const NIL: u32 = u32::MAX;

/// A virtual clock with a queue of pending events.
///
/// Events wait in a slab of reusable slots, linked into per-millisecond buckets (or keyed by
/// `(time, seq, slot)` in the far-future heap), so nothing is allocated per event once the slab
/// has grown to the largest number of pending events.
#[derive(Debug)]
pub struct Engine<E> {
    now: SimTime,
    next_seq: u64,
    popped: u64,
    pending: usize,
    slots: Vec<Slot<E>>,
    free: Vec<u32>,
    /// First and last slot of each millisecond's bucket (`NIL` when empty), by `time % WHEEL_MS`.
    head: Vec<u32>,
    tail: Vec<u32>,
    /// One bit per bucket (set when non-empty), and one bit per non-zero word of `bits`.
    bits: Vec<u64>,
    summary: Vec<u64>,
    /// Events at `now + WHEEL_MS` or later.
    far: BinaryHeap<Key>,
}

/// A pending event (`None` when the slot is free), aligned to a cache line so that it spans as
/// few lines as its size allows (small events pay with a larger slab). The link to the next slot
/// of its bucket lives in the slot. Both choices were measured against the alternatives: see
/// "Event slots" in docs/performance.md.
#[derive(Debug)]
#[repr(align(64))]
struct Slot<E> {
    event: Option<E>,
    /// The next slot in the same bucket (`NIL` at the bucket's end).
    next: u32,
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
        let buckets = WHEEL_MS as usize;
        Engine {
            now: SimTime::ZERO,
            next_seq: 0,
            popped: 0,
            pending: 0,
            slots: Vec::new(),
            free: Vec::new(),
            head: vec![NIL; buckets],
            tail: vec![NIL; buckets],
            bits: vec![0; buckets / 64],
            summary: vec![0; buckets / 64 / 64],
            far: BinaryHeap::new(),
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
        self.pending += 1;
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = Slot { event: Some(event), next: NIL };
                slot
            }
            None => {
                self.slots.push(Slot { event: Some(event), next: NIL });
                u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 pending events")
            }
        };
        if time.as_ms() - self.now.as_ms() < WHEEL_MS {
            self.append(time, slot);
        } else {
            self.far.push(Key { time, seq, slot });
        }
    }

    /// Schedules `event` after `delay` from now.
    pub fn schedule_in(&mut self, delay: SimDuration, event: E) {
        self.schedule_at(self.now + delay, event);
    }

    /// Moves the clock forward to `time` without an event, for an input from outside that
    /// happens then (the swarm starting an overlay operation). No pending event may be earlier.
    pub fn advance_to(&mut self, time: SimTime) {
        if time <= self.now {
            return;
        }
        assert!(self.peek_time().is_none_or(|t| t >= time), "advancing past a pending event");
        self.now = time;
        while self.far.peek().is_some_and(|k| k.time.as_ms() - time.as_ms() < WHEEL_MS) {
            let Key { time, slot, .. } = self.far.pop().expect("peeked");
            self.append(time, slot);
        }
    }

    /// Removes the earliest event, advances the clock to its time, and returns both.
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        let time = self.peek_time()?;
        // The first pop of a millisecond: nothing of its bucket has been asked for yet.
        let fresh = time != self.now || self.popped == 0;
        if time != self.now {
            self.now = time;
            // The window now reaches further: bring in the far events it covers, in order.
            while self.far.peek().is_some_and(|k| k.time.as_ms() - time.as_ms() < WHEEL_MS) {
                let Key { time, slot, .. } = self.far.pop().expect("peeked");
                self.append(time, slot);
            }
        }
        let b = (time.as_ms() & MASK) as usize;
        let slot = self.head[b];
        let Slot { event, next } =
            std::mem::replace(&mut self.slots[slot as usize], Slot { event: None, next: NIL });
        self.head[b] = next;
        if next == NIL {
            self.tail[b] = NIL;
            self.clear_bit(b);
        } else {
            // The next pops are most likely this bucket's next events, in slots written long ago
            // (a timer, or a message sent 50 ms back): start loading them now, while the caller
            // handles this one, instead of stalling on them then. Three ahead, so that the caller
            // can look at the next two through `next_two_now` without waiting for them: each
            // slot is asked for three pops before its own (the two before it by the previous
            // pops, unless this one starts the bucket), and its link is read two pops after.
            if fresh {
                prefetch(&self.slots[next as usize]);
            }
            let after = self.slots[next as usize].next;
            if after != NIL {
                if fresh {
                    prefetch(&self.slots[after as usize]);
                }
                let third = self.slots[after as usize].next;
                if third != NIL {
                    prefetch(&self.slots[third as usize]);
                }
            }
        }
        self.free.push(slot);
        self.pending -= 1;
        self.popped += 1;
        Some((time, event.expect("a queued slot holds its event")))
    }

    /// The event the next [`Engine::pop`] returns, if it is due at the current time (`None`
    /// otherwise, even when events are pending). A hint for prefetching what it will touch: what
    /// is scheduled meanwhile for the current time comes after it, so it is still the next.
    pub fn next_now(&self) -> Option<&E> {
        match self.head[(self.now.as_ms() & MASK) as usize] {
            NIL => None,
            slot => self.slots[slot as usize].event.as_ref(),
        }
    }

    /// The events the next two [`Engine::pop`]s return, each if it is due at the current time
    /// (see [`Engine::next_now`]): a hint for prefetching two events ahead.
    pub fn next_two_now(&self) -> (Option<&E>, Option<&E>) {
        match self.head[(self.now.as_ms() & MASK) as usize] {
            NIL => (None, None),
            slot => {
                let first = &self.slots[slot as usize];
                let second = match first.next {
                    NIL => None,
                    next => self.slots[next as usize].event.as_ref(),
                };
                (first.event.as_ref(), second)
            }
        }
    }

    /// The time of the earliest pending event.
    pub fn peek_time(&self) -> Option<SimTime> {
        let start = (self.now.as_ms() & MASK) as usize;
        match self.first_set_from(start).or_else(|| self.first_set_from(0)) {
            Some(b) => Some(self.now + SimDuration((b as u64).wrapping_sub(start as u64) & MASK)),
            None => self.far.peek().map(|k| k.time),
        }
    }

    /// How many events are pending.
    pub fn pending(&self) -> usize {
        self.pending
    }

    /// How many events have been popped since the engine was created.
    pub fn events_processed(&self) -> u64 {
        self.popped
    }

    /// Appends `slot` to the bucket of `time` (inside the window).
    fn append(&mut self, time: SimTime, slot: u32) {
        let b = (time.as_ms() & MASK) as usize;
        match self.tail[b] {
            NIL => {
                self.head[b] = slot;
                self.bits[b / 64] |= 1 << (b % 64);
                self.summary[b / 4096] |= 1 << (b / 64 % 64);
            }
            last => self.slots[last as usize].next = slot,
        }
        self.tail[b] = slot;
    }

    fn clear_bit(&mut self, b: usize) {
        let w = b / 64;
        self.bits[w] &= !(1 << (b % 64));
        if self.bits[w] == 0 {
            self.summary[w / 64] &= !(1 << (w % 64));
        }
    }

    /// The first non-empty bucket at index `from` or after (no wrapping).
    fn first_set_from(&self, from: usize) -> Option<usize> {
        let w = from / 64;
        let here = self.bits[w] & (!0u64 << (from % 64));
        if here != 0 {
            return Some(w * 64 + here.trailing_zeros() as usize);
        }
        // The next non-zero word after `w`, through the summary.
        let next = w + 1;
        if next == self.bits.len() {
            return None;
        }
        let (mut s, mut mask) = (next / 64, !0u64 << (next % 64));
        while s < self.summary.len() {
            let m = self.summary[s] & mask;
            if m != 0 {
                let word = s * 64 + m.trailing_zeros() as usize;
                return Some(word * 64 + self.bits[word].trailing_zeros() as usize);
            }
            s += 1;
            mask = !0;
        }
        None
    }
}

/// Asks the CPU to start loading the cache lines that hold `value`: a hint, with no effect on
/// results, and none at all on targets without a prefetch instruction. For the engine's slots,
/// and for callers that know which state the next event will touch ([`Engine::next_now`]).
#[inline]
pub fn prefetch<T>(value: &T) {
    prefetch_bytes((value as *const T).cast::<u8>(), std::mem::size_of::<T>());
}

/// [`prefetch`] of the elements of a slice (of at most its first `max_lines` cache lines), for
/// state on the heap that the next event will read.
#[inline]
pub fn prefetch_slice<T>(values: &[T], max_lines: usize) {
    prefetch_bytes(values.as_ptr().cast::<u8>(), std::mem::size_of_val(values).min(max_lines * 64));
}

/// Asks the CPU to start loading the cache lines of the `size` bytes at `start`.
#[inline]
fn prefetch_bytes(start: *const u8, size: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        let start = start.cast::<i8>();
        let first_line = start.wrapping_sub(start as usize % 64);
        let lines = (start as usize % 64 + size).div_ceil(64);
        for line in 0..lines {
            // SAFETY: SSE is part of every x86_64 target, and a prefetch neither faults nor
            // changes memory, whatever the address.
            unsafe {
                std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                    first_line.wrapping_add(line * 64),
                )
            };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (start, size);
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
    fn next_now_is_the_next_pop_when_it_is_due_now() {
        let mut e = Engine::new();
        e.schedule_at(SimTime(1), 'a');
        e.schedule_at(SimTime(1), 'b');
        e.schedule_at(SimTime(2), 'c');
        assert_eq!(e.pop(), Some((SimTime(1), 'a')));
        e.schedule_at(SimTime(1), 'd'); // after b, though scheduled while b waits
        assert_eq!(e.next_now(), Some(&'b'));
        e.pop();
        assert_eq!(e.next_now(), Some(&'d'));
        e.pop();
        assert_eq!(e.next_now(), None, "c is pending, but not due now");
        assert_eq!(e.pop(), Some((SimTime(2), 'c')));
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

    /// The reference: a plain binary heap ordered by (time, seq).
    #[derive(Default)]
    struct Reference {
        heap: BinaryHeap<std::cmp::Reverse<(SimTime, u64, u32)>>,
        seq: u64,
    }

    proptest::proptest! {
        #[test]
        fn pops_exactly_what_a_time_seq_heap_pops(
            ops in proptest::collection::vec((0u8..4, 0u64..200_000, 0u64..3), 1..400),
        ) {
            let mut wheel = Engine::new();
            let mut reference = Reference::default();
            let mut now = SimTime::ZERO;
            let mut id = 0u32;
            for (kind, far, near) in ops {
                if kind == 0 {
                    let got = wheel.pop();
                    let want = reference.heap.pop().map(|std::cmp::Reverse((t, _, v))| (t, v));
                    proptest::prop_assert_eq!(got, want);
                    if let Some((t, _)) = got {
                        now = t;
                    }
                } else {
                    // Same millisecond, the next few, inside the window, or far beyond it.
                    let delay = match kind { 1 => near, 2 => far % 70_000, _ => far * 10 };
                    let t = now + SimDuration(delay);
                    wheel.schedule_at(t, id);
                    reference.heap.push(std::cmp::Reverse((t, reference.seq, id)));
                    reference.seq += 1;
                    id += 1;
                }
                proptest::prop_assert_eq!(wheel.pending(), reference.heap.len());
                proptest::prop_assert_eq!(
                    wheel.peek_time(),
                    reference.heap.peek().map(|r| (r.0).0)
                );
            }
            while let Some(got) = wheel.pop() {
                let want = reference.heap.pop().map(|std::cmp::Reverse((t, _, v))| (t, v));
                proptest::prop_assert_eq!(Some(got), want);
            }
            proptest::prop_assert!(reference.heap.is_empty());
        }
    }

    #[test]
    fn crosses_the_window_edge_in_order() {
        let mut e = Engine::new();
        let w = WHEEL_MS;
        e.schedule_at(SimTime(w + 5), "far a"); // beyond the window at time 0
        e.schedule_at(SimTime(10), "near");
        e.pop();
        e.schedule_at(SimTime(w + 5), "far b"); // inside the window at time 10
        e.schedule_at(SimTime(3 * w), "very far");
        let order: Vec<_> = std::iter::from_fn(|| e.pop()).map(|(t, v)| (t.as_ms(), v)).collect();
        assert_eq!(order, vec![(w + 5, "far a"), (w + 5, "far b"), (3 * w, "very far")]);
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

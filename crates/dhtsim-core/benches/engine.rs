//! Engine throughput in the classic "hold model": the queue always holds `pending` events; each
//! step pops the earliest one and schedules a replacement at `now + delay`, with a pseudo-random
//! delay. The same loop runs on `Engine<u64>` and on a bare `BinaryHeap` of `(time, seq, payload)`
//! so that the ratio of the two comes out of one run. Counts one item per event popped.
//!
//! `hold_engine_fat` repeats the engine loop with a 64-byte payload, the size of the simulator's
//! own event type, so that a queue entry is 80 bytes as in a real run instead of 24.
//!
//! Run with `cargo bench -p dhtsim-core --bench engine`.

use dhtsim_core::engine::Engine;
use dhtsim_core::time::{SimDuration, SimTime};
use divan::Bencher;
use divan::counter::ItemsCount;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

fn main() {
    divan::main();
}

/// Events popped (and rescheduled) per sample.
const EVENTS: u64 = 1_000_000;

/// Queue sizes held constant during the measurement.
const PENDING: &[usize] = &[10_000, 1_000_000];

/// Delays are uniform in `0 .. MAX_DELAY` ms.
const MAX_DELAY: u64 = 1024;

/// A tiny xorshift64 generator with a constant seed: cheap, deterministic, no dependency.
struct XorShift(u64);

impl XorShift {
    fn new() -> Self {
        XorShift(0x9E37_79B9_7F4A_7C15)
    }

    fn delay(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x % MAX_DELAY
    }
}

/// An engine holding `pending` events, and the generator positioned after filling it.
fn filled_engine(pending: usize) -> (Engine<u64>, XorShift) {
    let mut rng = XorShift::new();
    let mut engine = Engine::new();
    for i in 0..pending as u64 {
        engine.schedule_at(SimTime(rng.delay()), i);
    }
    (engine, rng)
}

/// The bare heap filled with the same events as [`filled_engine`].
type Bare = BinaryHeap<Reverse<(u64, u64, u64)>>;

fn filled_heap(pending: usize) -> (Bare, u64, XorShift) {
    let mut rng = XorShift::new();
    let mut heap = BinaryHeap::new();
    let mut seq = 0;
    for i in 0..pending as u64 {
        heap.push(Reverse((rng.delay(), seq, i)));
        seq += 1;
    }
    (heap, seq, rng)
}

#[divan::bench(args = PENDING, sample_count = 10, sample_size = 1)]
fn hold_engine(bencher: Bencher, pending: usize) {
    bencher
        .counter(ItemsCount::new(EVENTS))
        .with_inputs(|| filled_engine(pending))
        .bench_local_values(|(mut engine, mut rng)| {
            let mut sum = 0u64;
            for _ in 0..EVENTS {
                let (_, payload) = engine.pop().expect("the queue never empties");
                sum = sum.wrapping_add(payload);
                engine.schedule_in(SimDuration(rng.delay()), payload);
            }
            divan::black_box(sum);
            // Returned, so that freeing the queue is not timed.
            engine
        });
}

#[divan::bench(args = PENDING, sample_count = 10, sample_size = 1)]
fn hold_bare_heap(bencher: Bencher, pending: usize) {
    bencher
        .counter(ItemsCount::new(EVENTS))
        .with_inputs(|| filled_heap(pending))
        .bench_local_values(|(mut heap, mut seq, mut rng)| {
            let mut sum = 0u64;
            for _ in 0..EVENTS {
                let Reverse((now, _, payload)) = heap.pop().expect("the queue never empties");
                sum = sum.wrapping_add(payload);
                heap.push(Reverse((now + rng.delay(), seq, payload)));
                seq += 1;
            }
            divan::black_box(sum);
            heap
        });
}

/// A payload as large as the simulator's event (64 bytes).
type Fat = [u64; 8];

#[divan::bench(args = PENDING, sample_count = 10, sample_size = 1)]
fn hold_engine_fat(bencher: Bencher, pending: usize) {
    let fill = || {
        let mut rng = XorShift::new();
        let mut engine: Engine<Fat> = Engine::new();
        for i in 0..pending as u64 {
            engine.schedule_at(SimTime(rng.delay()), [i; 8]);
        }
        (engine, rng)
    };
    bencher.counter(ItemsCount::new(EVENTS)).with_inputs(fill).bench_local_values(
        |(mut engine, mut rng)| {
            let mut sum = 0u64;
            for _ in 0..EVENTS {
                let (_, payload) = engine.pop().expect("the queue never empties");
                sum = sum.wrapping_add(payload[0]);
                engine.schedule_in(SimDuration(rng.delay()), payload);
            }
            divan::black_box(sum);
            engine
        },
    );
}

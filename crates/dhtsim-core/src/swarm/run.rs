//! Drives a [`Swarm`] whose peers find each other through the tracker: the engine, a constant
//! one-way latency, the arrivals drawn in advance, the tracker's scripted outages, samples.
//!
//! Arrivals (times and capacity classes) come from their own stream, drawn before anything
//! runs, so two variants of a swarm (another discovery, another unchoke count) see the same
//! peers arrive with the same capacities; the swarm's own choices come from another stream.

use rand::RngExt;

use super::flow::Completion;
use super::{Addr, CapacityClass, Cmd, Msg, PeerRecord, Swarm, SwarmConfig, Timer};
use crate::engine::Engine;
use crate::rng::{Purpose, Rng, stream};
use crate::time::{SimDuration, SimTime};

/// A swarm run's settings besides the swarm's own.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSettings {
    /// One-way latency of every message.
    pub latency: SimDuration,
    /// End of the run (it ends earlier once every leecher has arrived and none is left).
    pub duration: SimTime,
    /// Sample interval of the swarm's population.
    pub sample: SimDuration,
}

/// The swarm's population at one instant (SPEC §5, `swarm.csv`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SwarmSample {
    /// When.
    pub t: SimTime,
    /// Live peers holding every piece.
    pub seeders: u64,
    /// Live peers missing some.
    pub leechers: u64,
    /// Whether the tracker answers.
    pub tracker_up: bool,
    /// Live copies of the rarest piece.
    pub rarest_piece_copies: u32,
}

/// What a swarm run measured.
#[derive(Clone, Debug, PartialEq)]
pub struct SwarmResult {
    /// Each peer, by swarm index (initial seeders first, then arrivals in order).
    pub peers: Vec<PeerRecord>,
    /// The population over time.
    pub samples: Vec<SwarmSample>,
    /// Announces the tracker received.
    pub tracker_requests: u64,
    /// Events processed.
    pub events: u64,
    /// When the run ended.
    pub end: SimTime,
}

enum Ev {
    Deliver { from: Addr, to: Addr, msg: Msg },
    Timer { peer: u32, timer: Timer },
    Done(Completion),
    Arrive(CapacityClass),
    Leave(u32),
    Tracker(bool),
    Sample,
}

/// The leechers' arrivals: (time, capacity class), in time order.
pub fn arrivals(cfg: &SwarmConfig, seed: u64) -> Vec<(SimTime, CapacityClass)> {
    let mut rng = stream(seed, Purpose::SwarmPeers);
    let mut times: Vec<SimTime> = vec![cfg.flash_at; cfg.flash_crowd as usize];
    if cfg.arrivals_per_s > 0.0 {
        let mean_ms = 1000.0 / cfg.arrivals_per_s;
        let mut t = 0.0f64;
        loop {
            let u: f64 = rng.random();
            t += -mean_ms * libm::log(1.0 - u);
            if t >= cfg.arrivals_until.as_ms() as f64 {
                break;
            }
            times.push(SimTime(t as u64));
        }
    }
    times.sort(); // stable: the flash crowd keeps its place among equal times
    let total: u64 = cfg.classes.iter().map(|c| u64::from(c.weight)).sum();
    times
        .into_iter()
        .map(|t| {
            let mut x = rng.random_range(0..total.max(1));
            let class = cfg
                .classes
                .iter()
                .find(|c| {
                    let hit = x < u64::from(c.weight);
                    x = x.saturating_sub(u64::from(c.weight));
                    hit
                })
                .copied()
                .unwrap_or(cfg.classes[0]);
            (t, class)
        })
        .collect()
}

/// Runs a tracker-discovered swarm with `seed`.
pub fn run(cfg: &SwarmConfig, settings: &RunSettings, seed: u64) -> SwarmResult {
    let mut d = Driver::new(cfg, settings, seed);
    let arrivals = arrivals(cfg, seed);
    let expected = arrivals.len();
    for (t, class) in arrivals {
        d.engine.schedule_at(t, Ev::Arrive(class));
    }
    for &(t, up) in &cfg.tracker_events {
        d.engine.schedule_at(t, Ev::Tracker(up));
    }
    d.engine.schedule_at(SimTime::ZERO, Ev::Sample);
    let mut end = settings.duration;
    while let Some(now) = d.step(settings.duration, &mut |_| {}) {
        // The swarm's work is done once every leecher has arrived and none is left.
        if d.arrived == expected && d.swarm.population().1 == 0 {
            end = now;
            break;
        }
    }
    SwarmResult {
        peers: d.swarm.records().cloned().collect(),
        samples: d.samples,
        tracker_requests: d.swarm.tracker().requests,
        events: d.engine.events_processed(),
        end,
    }
}

/// A swarm on the engine.
struct Driver {
    swarm: Swarm,
    engine: Engine<Ev>,
    rng: Rng,
    latency: SimDuration,
    sample: SimDuration,
    samples: Vec<SwarmSample>,
    arrived: usize,
}

impl Driver {
    /// The swarm with its initial seeders, nothing scheduled yet.
    fn new(cfg: &SwarmConfig, settings: &RunSettings, seed: u64) -> Self {
        let mut d = Driver {
            swarm: Swarm::new(cfg.clone()),
            engine: Engine::new(),
            rng: stream(seed, Purpose::Swarm),
            latency: settings.latency,
            sample: settings.sample,
            samples: Vec::new(),
            arrived: 0,
        };
        for _ in 0..cfg.seeders {
            let mut out = Vec::new();
            d.swarm.arrive(SimTime::ZERO, cfg.seeder, true, &mut out);
            d.apply(SimTime::ZERO, out);
        }
        d
    }

    /// Handles the next event if it comes before `until`; `inspect` sees each command it
    /// gives rise to. Returns the event's time.
    fn step(&mut self, until: SimTime, inspect: &mut dyn FnMut(&Cmd)) -> Option<SimTime> {
        if self.engine.peek_time()? >= until {
            return None;
        }
        let (now, ev) = self.engine.pop().expect("peeked");
        let mut out = Vec::new();
        let (swarm, rng) = (&mut self.swarm, &mut self.rng);
        match ev {
            Ev::Deliver { from, to, msg } => swarm.deliver(now, from, to, msg, rng, &mut out),
            Ev::Timer { peer, timer } => swarm.timer(peer, timer, rng, &mut out),
            Ev::Done(c) => swarm.transfer_done(now, c, rng, &mut out),
            Ev::Arrive(class) => {
                swarm.arrive(now, class, false, &mut out);
                self.arrived += 1;
            }
            Ev::Leave(peer) => swarm.depart(now, peer, true, &mut out),
            Ev::Tracker(up) => swarm.set_tracker_up(up),
            Ev::Sample => {
                let (seeders, leechers) = swarm.population();
                self.samples.push(SwarmSample {
                    t: now,
                    seeders,
                    leechers,
                    tracker_up: swarm.tracker().is_up(),
                    rarest_piece_copies: swarm.rarest_copies(),
                });
                self.engine.schedule_at(now + self.sample, Ev::Sample);
            }
        }
        out.iter().for_each(&mut *inspect);
        self.apply(now, out);
        Some(now)
    }

    fn apply(&mut self, now: SimTime, out: Vec<Cmd>) {
        for c in out {
            let (at, ev) = match c {
                Cmd::Send { from, to, msg } => (now + self.latency, Ev::Deliver { from, to, msg }),
                Cmd::Timer { peer, timer, after } => (now + after, Ev::Timer { peer, timer }),
                Cmd::Complete(c) => (c.at, Ev::Done(c)),
                Cmd::Leave { peer, after } => (now + after, Ev::Leave(peer)),
            };
            self.engine.schedule_at(at, ev);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(up: u64, down: u64) -> CapacityClass {
        CapacityClass { weight: 1, up_kbps: up, down_kbps: down }
    }

    fn config(pieces: u32, seeders: u32, leechers: u32) -> SwarmConfig {
        SwarmConfig {
            pieces,
            piece_kib: 256,
            seeders,
            seeder: class(1000, 1000),
            flash_crowd: leechers,
            flash_at: SimTime::ZERO,
            arrivals_per_s: 0.0,
            arrivals_until: SimTime::ZERO,
            classes: vec![class(1000, 1000)],
            seed_time: None,
            announce: SimDuration::from_ms(300_000),
            numwant: 50,
            max_peers: 50,
            unchoke_slots: 4,
            tracker_events: Vec::new(),
        }
    }

    fn settings() -> RunSettings {
        RunSettings {
            latency: SimDuration::from_ms(50),
            duration: SimTime(10_000_000),
            sample: SimDuration::from_ms(10_000),
        }
    }

    #[test]
    fn one_seeder_one_leecher_takes_pieces_times_piece_time_plus_seven_latencies() {
        let r = run(&config(10, 1, 1), &settings(), 1);
        let l = &r.peers[1];
        // Announce, tracker answer, hello, welcome, interested, unchoke, request: 7 × 50 ms;
        // then 10 pieces of 2,097,152 bits at 1,000 bits/ms, 2,098 ms each, back to back.
        assert_eq!(l.first_peer, Some(SimTime(100)));
        assert_eq!(l.first_piece, Some(SimTime(350 + 2098)));
        assert_eq!(l.complete, Some(SimTime(350 + 10 * 2098)));
        let bytes = 10 * 256 * 1024;
        assert_eq!((l.bytes_down, r.peers[0].bytes_up), (bytes, bytes));
        assert_eq!(l.discovery_messages, 2, "one announce, one answer");
        assert_eq!(r.tracker_requests, 2);
        assert_eq!(r.end, SimTime(350 + 10 * 2098), "no leecher left: the run ends");
    }

    #[test]
    fn a_flash_crowd_completes_holding_everything_and_bytes_balance() {
        let r = run(&config(40, 1, 30), &settings(), 7);
        assert_eq!(r.peers.len(), 31);
        for p in &r.peers[1..] {
            let done = p.complete.expect("every leecher completes");
            assert!(
                p.first_peer.unwrap() <= p.first_piece.unwrap() && p.first_piece.unwrap() <= done
            );
            assert_eq!(p.bytes_down, 40 * 256 * 1024);
        }
        let up: u64 = r.peers.iter().map(|p| p.bytes_up).sum();
        let down: u64 = r.peers.iter().map(|p| p.bytes_down).sum();
        assert_eq!(up, down);
        // Leechers trade among themselves: the seeder sent far less than everyone received.
        assert!(r.peers[0].bytes_up * 4 < down, "seeder {} of {down}", r.peers[0].bytes_up);
        let last = r.samples.last().unwrap();
        assert!(last.seeders >= 1 && last.rarest_piece_copies >= 1);
    }

    #[test]
    fn nobody_downloads_more_than_the_swarm_can_upload() {
        // Poisson arrivals, seeds that leave at once: every bit received was sent within some
        // peer's upload capacity while it was there. (A completion left scheduled by a stopped
        // transfer once ended the transfer that took its slot: 16 % more than capacity.)
        let mut cfg = config(100, 1, 0);
        cfg.classes = vec![class(1000, 8000)];
        cfg.arrivals_per_s = 0.05;
        cfg.arrivals_until = SimTime(6_000_000);
        cfg.seed_time = Some(SimDuration::ZERO);
        let mut s = settings();
        s.duration = SimTime(6_000_000);
        let r = run(&cfg, &s, 9);
        assert!(r.peers.len() > 100);
        let capacity: u64 = r
            .peers
            .iter()
            .map(|p| (p.leave.unwrap_or(r.end).as_ms() - p.arrive.as_ms()) * 1000)
            .sum();
        let received: u64 = r.peers.iter().map(|p| p.bytes_down * 8).sum();
        assert!(received <= capacity, "{received} bits received, {capacity} could be sent");
        // Measured: 0.90 of the capacity used (pieces a peer lacks are not always at hand).
        assert!(received * 10 > capacity * 8, "{received} of {capacity}: capacity left idle");
    }

    #[test]
    fn leechers_that_crash_mid_download_leave_the_others_to_finish() {
        // 20 leechers and a seeder; at 60 s, half the leechers crash (no goodbye to the
        // tracker). Their transfers stop, the pieces they were fetching are asked elsewhere,
        // and the rest complete.
        let cfg = config(30, 1, 20);
        let mut d = Driver::new(&cfg, &settings(), 4);
        for (t, class) in arrivals(&cfg, 4) {
            d.engine.schedule_at(t, Ev::Arrive(class));
        }
        while d.step(SimTime(60_000), &mut |_| {}).is_some() {}
        let in_flight = (1..=20).filter(|&p| !d.swarm.flows.downloads(p).is_empty()).count();
        assert!(in_flight > 5, "crashes hit transfers in progress: {in_flight}");
        for p in (2..=20).step_by(2) {
            let mut out = Vec::new();
            d.swarm.depart(SimTime(60_000), p, false, &mut out);
            d.apply(SimTime(60_000), out);
        }
        assert_eq!(d.swarm.population(), (1, 10));
        while d.step(SimTime(2_000_000), &mut |_| {}).is_some() {}
        let recs: Vec<&PeerRecord> = d.swarm.records().collect();
        for (i, p) in recs.iter().enumerate().skip(1) {
            if i % 2 == 0 {
                assert_eq!(p.leave, Some(SimTime(60_000)));
                assert!(p.complete.is_none());
            } else {
                assert!(p.complete.is_some(), "leecher {i} completes: {p:?}");
            }
        }
        // Every piece received was sent: bytes count only for pieces that arrived.
        let up: u64 = recs.iter().map(|p| p.bytes_up).sum();
        let down: u64 = recs.iter().map(|p| p.bytes_down).sum();
        assert_eq!(up, down);
        assert!((1..=20).all(|p| d.swarm.flows.downloads(p).is_empty()));
    }

    #[test]
    fn a_newcomer_gives_up_on_peers_the_tracker_names_after_they_crashed() {
        // Ten leechers crash at 5 s without telling the tracker, which names them to a
        // newcomer at 6 s, in random order with the seeder. With room for one neighbour, the
        // newcomer tries them one by one: each dead one costs it 3 s before the next.
        let mut cfg = config(10, 1, 10);
        cfg.max_peers = 1;
        let mut d = Driver::new(&cfg, &settings(), 6);
        for (t, class) in arrivals(&cfg, 6) {
            d.engine.schedule_at(t, Ev::Arrive(class));
        }
        while d.step(SimTime(5_000), &mut |_| {}).is_some() {}
        for p in 1..=10 {
            let mut out = Vec::new();
            d.swarm.depart(SimTime(5_000), p, false, &mut out);
            d.apply(SimTime(5_000), out);
        }
        while d.step(SimTime(6_000), &mut |_| {}).is_some() {}
        let mut out = Vec::new();
        let newcomer = d.swarm.arrive(SimTime(6_000), class(1000, 1000), false, &mut out);
        d.apply(SimTime(6_000), out);
        let mut tried = Vec::new();
        let mut watch = |c: &Cmd| {
            if let Cmd::Send { from: Addr::Peer(f), to: Addr::Peer(t), msg: Msg::Hello(_) } = c
                && *f == newcomer
            {
                tried.push(*t);
            }
        };
        while d.step(SimTime(200_000), &mut watch).is_some() {}
        let dead_first = tried.iter().take_while(|&&t| t != 0).count() as u64;
        assert!(dead_first >= 1 && tried.contains(&0), "tried {tried:?}");
        let rec = d.swarm.records().nth(newcomer as usize).unwrap().clone();
        // Tracker answer at 6.1 s; each dead peer 3 s; then hello, welcome, interested, unchoke,
        // request (5 latencies) and one piece (2,098 ms).
        let want = 6_100 + dead_first * 3_000 + 5 * 50 + 2_098;
        assert_eq!(rec.first_piece, Some(SimTime(want)), "{rec:?}");
        assert!(rec.complete.is_some(), "{rec:?}");
    }

    #[test]
    fn a_newcomer_asks_the_seeder_for_the_pieces_its_other_neighbour_lacks() {
        // A leecher downloads from the seeder alone for 30 s; a second one then arrives and
        // connects to both. After its random first piece, the pieces it gets from the seeder
        // are ones the first leecher lacked (rarest first), as long as such pieces are left:
        // checked for its first ten. A random choice would hit the first leecher's pieces
        // (about 15 of 40) with probability 1 - (25/40)^9, 98.5 %.
        let cfg = config(40, 1, 0);
        let mut d = Driver::new(&cfg, &settings(), 5);
        let mut out = Vec::new();
        d.swarm.arrive(SimTime::ZERO, class(1000, 1000), false, &mut out);
        d.apply(SimTime::ZERO, out);
        while d.step(SimTime(30_000), &mut |_| {}).is_some() {}
        let first = d.swarm.pieces_of(1).clone();
        assert!((5..30).contains(&first.count()), "{} pieces", first.count());
        let mut out = Vec::new();
        let b = d.swarm.arrive(SimTime(30_000), class(1000, 1000), false, &mut out);
        d.apply(SimTime(30_000), out);
        let mut from_seeder: Vec<u32> = Vec::new();
        while d.step(SimTime(200_000), &mut |_| {}).is_some() {
            for &id in d.swarm.flows.downloads(b) {
                let t = d.swarm.flows.get(id).unwrap();
                if t.up == 0 && !from_seeder.contains(&t.piece) {
                    from_seeder.push(t.piece);
                }
            }
        }
        assert!(d.swarm.pieces_of(b).is_full());
        assert!(from_seeder.len() > 10, "{from_seeder:?}");
        for p in &from_seeder[1..10] {
            assert!(!first.has(*p), "asked the seeder for {p}, which the other leecher had");
        }
    }

    #[test]
    fn without_a_tracker_newcomers_find_no_peer_until_it_is_back() {
        let mut cfg = config(10, 1, 5);
        cfg.flash_at = SimTime(20_000);
        cfg.announce = SimDuration::from_ms(30_000);
        cfg.tracker_events = vec![(SimTime(10_000), false), (SimTime(100_000), true)];
        let r = run(&cfg, &settings(), 2);
        for (i, p) in r.peers.iter().enumerate().skip(1) {
            // They announce at 20 s, 50 s and 80 s into a silent tracker, then at 110 s to one
            // that is back but has forgotten everybody, the seeder included (silent for more
            // than two periods): the first to announce is named nobody and learns of a peer
            // when the second, named it, connects (one latency later).
            let want = if i == 1 { 110_150 } else { 110_100 };
            assert_eq!(p.first_peer, Some(SimTime(want)), "{p:?}");
            assert!(p.discovery_messages > 4, "four announces, then an answer");
            assert!(p.complete.is_some());
        }
        assert!(r.samples.iter().any(|s| !s.tracker_up) && r.samples.last().unwrap().tracker_up);
    }

    #[test]
    fn a_swarm_run_is_a_function_of_its_seed() {
        let mut cfg = config(30, 2, 20);
        cfg.arrivals_per_s = 0.05;
        cfg.arrivals_until = SimTime(400_000);
        cfg.classes =
            vec![class(500, 2000), CapacityClass { weight: 3, up_kbps: 1000, down_kbps: 8000 }];
        cfg.seed_time = Some(SimDuration::from_ms(60_000));
        let a = run(&cfg, &settings(), 11);
        assert_eq!(a, run(&cfg, &settings(), 11));
        assert_ne!(a.peers, run(&cfg, &settings(), 12).peers);
        // Arrivals and capacities do not depend on anything but the seed and the arrival
        // settings: another unchoke count sees the same peers.
        let mut other = cfg.clone();
        other.unchoke_slots = 2;
        assert_eq!(arrivals(&cfg, 11), arrivals(&other, 11));
        let arrive = |r: &SwarmResult| r.peers.iter().map(|p| p.arrive).collect::<Vec<_>>();
        assert_eq!(arrive(&a), arrive(&run(&other, &settings(), 11)));
        // Seeds leave 60 s after completing.
        for p in a.peers.iter().filter(|p| !p.initial_seeder) {
            if let (Some(c), Some(l)) = (p.complete, p.leave) {
                assert_eq!(l, c + SimDuration::from_ms(60_000));
            }
        }
    }
}

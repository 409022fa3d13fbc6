//! Drives a [`Swarm`] on the engine: the messages' latencies, the arrivals drawn in advance,
//! aborts, seed times, the tracker's scripted outages, samples, and, when peers find each other
//! through the DHT, the overlay beside it.
//!
//! Arrivals (times, capacity classes, abort times) come from their own stream, drawn before
//! anything runs, so two variants of a swarm (another discovery, another unchoke count) see the
//! same peers arrive with the same capacities; the swarm's own choices come from another stream,
//! the latencies of its messages from a third.
//!
//! With DHT discovery ([`run_with_overlay`]) every swarm peer is also an overlay member: it joins
//! through a member on arrival (its ID and that member drawn from a stream of their own, so the
//! overlay's churn draws do not move), announces by storing (infohash, its ID) and finds peers
//! by looking the infohash up, both as measured operations of the overlay, and leaves the
//! overlay when it leaves the swarm. The overlay's churn reaches the swarm the other way: a
//! swarm peer whose overlay member departs leaves the swarm with it. The two models share one
//! clock: the earlier of their next events runs next, the overlay's first at equal times.

use std::collections::{BTreeMap, BTreeSet};

use rand::RngExt;

use super::flow::Completion;
use super::{Addr, CapacityClass, Cmd, Msg, PeerRecord, Swarm, SwarmConfig, Timer};
use crate::config::{Config, ConfigError, Latency, LookupStyle, ProtocolKind};
use crate::engine::Engine;
use crate::metrics::{LeaveKind, RunResult};
use crate::network::Network;
use crate::protocol::{PeerIdx, Protocol, Request};
use crate::ring::RingId;
use crate::rng::{Purpose, Rng, stream};
use crate::sim::{Notice, Simulation};
use crate::time::{SimDuration, SimTime};

/// A swarm run's settings besides the swarm's own.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSettings {
    /// Latency of the swarm's messages.
    pub latency: Latency,
    /// The share of peers behind a NAT (`network.unreachable`): a connection request sent to one
    /// is lost, so it connects only to peers it asks itself, and only reachable ones.
    pub unreachable: f64,
    /// End of the run (it ends earlier once every leecher has arrived and none is left).
    pub duration: SimTime,
    /// Sample interval of the swarm's population.
    pub sample: SimDuration,
}

/// The swarm's population at one instant (SPEC §5, `swarm.csv`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
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
    /// What a scrape of the tracker answers: the seeders and leechers it knows of (`None`
    /// while it is down, or in a swarm without a tracker).
    pub tracker_scrape: Option<(u64, u64)>,
}

/// What a swarm run measured.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SwarmResult {
    /// Each peer, by swarm index (initial seeders first, then arrivals in order).
    pub peers: Vec<PeerRecord>,
    /// The population over time.
    pub samples: Vec<SwarmSample>,
    /// Announces the tracker received.
    pub tracker_requests: u64,
    /// Events processed (the swarm's; the overlay counts its own).
    pub events: u64,
    /// When the run ended.
    pub end: SimTime,
}

/// A swarm run's statistics (`summary.csv`'s swarm columns).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SwarmSummary {
    /// Leechers that arrived (initial seeders not counted).
    pub leechers: u64,
    /// Leechers that completed.
    pub completed: u64,
    /// Leechers that left before completing.
    pub aborted: u64,
    /// Download times (arrival to completion) of those that completed: mean, p50, p95, ms.
    pub download_ms: Option<(f64, u64, u64)>,
    /// Mean time from arrival to the first peer known, over the leechers that found one, ms.
    pub first_peer_ms_mean: Option<f64>,
    /// Discovery messages of every peer.
    pub discovery_messages: u64,
    /// Announces the tracker received.
    pub tracker_requests: u64,
}

impl SwarmResult {
    /// Its statistics.
    pub fn summary(&self) -> SwarmSummary {
        let leechers: Vec<&PeerRecord> = self.peers.iter().filter(|p| !p.initial_seeder).collect();
        let mut times: Vec<u64> =
            leechers.iter().filter_map(|p| p.complete.map(|c| c.since(p.arrive).as_ms())).collect();
        times.sort_unstable();
        let rank = |q: u64| times[((q * times.len() as u64).div_ceil(100) as usize).max(1) - 1];
        let mean = |xs: &[u64]| xs.iter().sum::<u64>() as f64 / xs.len() as f64;
        let first: Vec<u64> = leechers
            .iter()
            .filter_map(|p| p.first_peer.map(|f| f.since(p.arrive).as_ms()))
            .collect();
        SwarmSummary {
            leechers: leechers.len() as u64,
            completed: times.len() as u64,
            aborted: leechers.iter().filter(|p| p.complete.is_none() && p.leave.is_some()).count()
                as u64,
            download_ms: (!times.is_empty()).then(|| (mean(&times), rank(50), rank(95))),
            first_peer_ms_mean: (!first.is_empty()).then(|| mean(&first)),
            discovery_messages: self.peers.iter().map(|p| p.discovery_messages).sum(),
            tracker_requests: self.tracker_requests,
        }
    }
}

/// One leecher's arrival.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Arrival {
    /// When.
    pub at: SimTime,
    /// Its capacities.
    pub class: CapacityClass,
    /// When it aborts, after arriving, unless complete by then, and whether it crashes (no
    /// goodbye) or leaves.
    pub abort: Option<(SimDuration, bool)>,
}

enum Ev {
    Deliver { from: Addr, to: Addr, msg: Msg },
    Have { peer: u32, piece: u32 },
    Timer { peer: u32, timer: Timer },
    Done(Completion),
    Arrive(Arrival),
    Abort { peer: u32, crash: bool },
    Leave(u32),
    Tracker(bool),
    Sample,
}

/// The leechers' arrivals, in time order.
pub fn arrivals(cfg: &SwarmConfig, seed: u64) -> Vec<Arrival> {
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
        .map(|at| {
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
            let abort = cfg.aborts.map(|(law, crash_fraction)| {
                let after = law.sample(&mut rng);
                (after, rng.random::<f64>() < crash_fraction)
            });
            Arrival { at, class, abort }
        })
        .collect()
}

/// Runs a tracker-discovered swarm alone (no overlay) with `seed`.
pub fn run(cfg: &SwarmConfig, settings: &RunSettings, seed: u64) -> SwarmResult {
    assert!(!cfg.discovery.dht(), "DHT discovery needs an overlay: run_with_overlay");
    let mut d = Driver::new(cfg, settings, seed, NoOverlay);
    d.schedule(seed);
    d.run(settings.duration)
}

/// Runs the scenario's swarm (`cfg.swarm`) beside its overlay: the swarm's results, and the
/// overlay's (its lookups and stores include the swarm's DHT announces and searches).
pub fn run_with_overlay<P: Protocol>(cfg: &Config, seed: u64) -> Result<RunResult, ConfigError> {
    let sc = cfg.swarm.as_ref().expect("a swarm scenario");
    let settings = RunSettings {
        latency: cfg.network.latency.clone(),
        unreachable: cfg.network.unreachable,
        duration: cfg.duration,
        sample: cfg.sample.unwrap_or(SimDuration::from_ms(10_000)),
    };
    let mut d = Driver::new(sc, &settings, seed, DhtLink::<P>::new(cfg, seed)?);
    d.schedule(seed);
    let swarm = d.run(settings.duration);
    let link = d.overlay;
    let (not_joined, rejoins) = (link.not_joined, link.rejoins);
    let mut result = link.sim.finish_embedded();
    result.end = result.end.max(swarm.end);
    if not_joined > 0 {
        result.warnings.push(format!(
            "{not_joined} swarm peers found no overlay member to join through (none, or none reachable among 1,000 drawn) and could not use the DHT"
        ));
    }
    if rejoins > 0 {
        result.warnings.push(format!(
            "{rejoins} overlay joins of swarm peers were still not complete an announce period later and were tried again"
        ));
    }
    result.swarm = Some(swarm);
    Ok(result)
}

/// What the swarm's driver needs of the overlay beside it, if any.
trait Overlay {
    /// When its next event is due.
    fn next_time(&self) -> Option<SimTime>;
    /// Runs its next event.
    fn step(&mut self, swarm: &mut Swarm, rng: &mut Rng, out: &mut Vec<Cmd>);
    /// Swarm peer `peer` arrived (or left, crashing or not).
    fn arrived(
        &mut self,
        now: SimTime,
        peer: u32,
        swarm: &mut Swarm,
        rng: &mut Rng,
        out: &mut Vec<Cmd>,
    );
    fn departed(
        &mut self,
        now: SimTime,
        peer: u32,
        crash: bool,
        swarm: &mut Swarm,
        rng: &mut Rng,
        out: &mut Vec<Cmd>,
    );
    /// Swarm peer `peer` announces in the DHT.
    fn announce(
        &mut self,
        now: SimTime,
        peer: u32,
        swarm: &mut Swarm,
        rng: &mut Rng,
        out: &mut Vec<Cmd>,
    );
    /// Whether swarm peer `peer` is behind a NAT, when the overlay numbers the hosts (with DHT
    /// discovery, each swarm peer runs on the host of its overlay member); `None`: the swarm's
    /// own numbering (peer q on host q) applies.
    fn unreachable(&mut self, _peer: u32) -> Option<bool> {
        None
    }
}

/// A swarm without an overlay (tracker discovery only).
struct NoOverlay;

impl Overlay for NoOverlay {
    fn next_time(&self) -> Option<SimTime> {
        None
    }
    fn step(&mut self, _: &mut Swarm, _: &mut Rng, _: &mut Vec<Cmd>) {}
    fn arrived(&mut self, _: SimTime, _: u32, _: &mut Swarm, _: &mut Rng, _: &mut Vec<Cmd>) {}
    fn departed(
        &mut self,
        _: SimTime,
        _: u32,
        _: bool,
        _: &mut Swarm,
        _: &mut Rng,
        _: &mut Vec<Cmd>,
    ) {
    }
    fn announce(&mut self, _: SimTime, _: u32, _: &mut Swarm, _: &mut Rng, _: &mut Vec<Cmd>) {}
}

/// The overlay beside the swarm, and who is who in both.
struct DhtLink<'c, P: Protocol> {
    sim: Simulation<'c, P>,
    /// The swarm peers' overlay IDs and the members they join through.
    rng: Rng,
    /// Whether swarm peers use the DHT (otherwise the overlay only runs beside the swarm).
    dht: bool,
    infohash: RingId,
    /// Whether a hop of the overlay's lookups is a request and an answer (iterative) or a
    /// forward (recursive), for the discovery messages counted per peer.
    iterative: bool,
    /// Each swarm peer's overlay member.
    node_of: Vec<Option<PeerIdx>>,
    /// Each swarm peer's host, in the overlay's numbering (with DHT discovery).
    host_of: Vec<u32>,
    /// Each overlay member's swarm peer.
    swarm_of: BTreeMap<PeerIdx, u32>,
    /// Swarm peers by overlay ID, to map the holders a lookup finds.
    by_id: BTreeMap<RingId, u32>,
    /// Swarm peers whose announce waits for their join.
    waiting: BTreeSet<u32>,
    notices: Vec<Notice>,
    /// Swarm peers that found no member to join through.
    not_joined: u64,
    /// Joins given up and tried again.
    rejoins: u64,
}

/// Tags of the two operations of an announce: the store, the lookup.
const STORE: u32 = 0;
const LOOKUP: u32 = 1;

impl<'c, P: Protocol> DhtLink<'c, P> {
    /// The overlay of `cfg` (with a swarm) for the run seeded with `seed`, no swarm peer in it
    /// yet.
    fn new(cfg: &'c Config, seed: u64) -> Result<Self, ConfigError> {
        let sc = cfg.swarm.as_ref().expect("a swarm scenario");
        let mut sim = Simulation::<P>::new(cfg, seed)?;
        sim.embed();
        let iterative = cfg.overlay.protocol == ProtocolKind::Kademlia
            || cfg.overlay.lookup == LookupStyle::Iterative;
        Ok(DhtLink {
            sim,
            rng: stream(seed, Purpose::SwarmOverlay),
            dht: sc.discovery.dht(),
            infohash: sc.infohash,
            iterative,
            node_of: Vec::new(),
            host_of: Vec::new(),
            swarm_of: BTreeMap::new(),
            by_id: BTreeMap::new(),
            waiting: BTreeSet::new(),
            notices: Vec::new(),
            not_joined: 0,
            rejoins: 0,
        })
    }

    /// Hands the overlay's notices to the swarm.
    fn handle_notices(&mut self, swarm: &mut Swarm, rng: &mut Rng, out: &mut Vec<Cmd>) {
        let now = self.sim.now();
        // Handling a notice may start operations, and so add notices: all are handled, until
        // none is left.
        while !self.notices.is_empty() {
            for n in &std::mem::take(&mut self.notices) {
                self.handle_notice(now, n, swarm, rng, out);
            }
        }
    }

    /// Hands one notice of the overlay to the swarm.
    fn handle_notice(
        &mut self,
        now: SimTime,
        n: &Notice,
        swarm: &mut Swarm,
        rng: &mut Rng,
        out: &mut Vec<Cmd>,
    ) {
        match n {
            Notice::Joined(idx) => {
                if let Some(&peer) = self.swarm_of.get(idx)
                    && self.waiting.remove(&peer)
                {
                    self.start_announce(now, peer);
                }
            }
            Notice::Departed(idx, kind) => {
                if let Some(&peer) = self.swarm_of.get(idx) {
                    swarm.depart(now, peer, *kind == LeaveKind::Leave, out);
                }
            }
            Notice::Ended(e) => {
                let (peer, what) = (e.tag / 2, e.tag % 2);
                let per_hop = if self.iterative { 2 } else { 1 };
                let answer = u64::from(!self.iterative);
                let messages = per_hop * u64::from(e.hops) + answer + u64::from(e.timeouts);
                if what == STORE {
                    swarm.count_discovery(peer, messages);
                } else {
                    let holders =
                        e.values.iter().filter_map(|id| self.by_id.get(id).copied()).collect();
                    swarm.dht_answer(now, peer, holders, messages, rng, out);
                }
            }
        }
    }

    /// Swarm peer `peer` joins the overlay as a new member; `false` when there is no member to
    /// join through.
    fn join(&mut self, now: SimTime, peer: u32) -> bool {
        let host = self.host_of[peer as usize];
        let Some(idx) = self.sim.add_member(now, host, &mut self.rng, &mut self.notices) else {
            return false;
        };
        self.node_of[peer as usize] = Some(idx);
        self.swarm_of.insert(idx, peer);
        self.by_id.insert(self.sim.id_of(idx), peer);
        true
    }

    /// Stores `peer`'s announce and looks the infohash up, from its overlay member.
    fn start_announce(&mut self, now: SimTime, peer: u32) {
        let Some(idx) = self.node_of[peer as usize] else { return };
        let (key, notices) = (self.infohash, &mut self.notices);
        let store = Request::Store { holder: self.sim.id_of(idx) };
        self.sim.start_tagged(now, idx, key, store, 2 * peer + STORE, notices);
        self.sim.start_tagged(now, idx, key, Request::Gather, 2 * peer + LOOKUP, notices);
    }
}

impl<P: Protocol> Overlay for DhtLink<'_, P> {
    fn next_time(&self) -> Option<SimTime> {
        self.sim.next_time()
    }

    fn step(&mut self, swarm: &mut Swarm, rng: &mut Rng, out: &mut Vec<Cmd>) {
        self.sim.step_embedded(&mut self.notices);
        self.handle_notices(swarm, rng, out);
    }

    fn arrived(
        &mut self,
        now: SimTime,
        peer: u32,
        swarm: &mut Swarm,
        rng: &mut Rng,
        out: &mut Vec<Cmd>,
    ) {
        if !self.dht {
            return;
        }
        debug_assert_eq!(self.node_of.len(), peer as usize);
        self.node_of.push(None);
        self.host_of.push(self.sim.new_host());
        if !self.join(now, peer) {
            self.not_joined += 1;
        }
        self.handle_notices(swarm, rng, out);
    }

    fn departed(
        &mut self,
        now: SimTime,
        peer: u32,
        crash: bool,
        swarm: &mut Swarm,
        rng: &mut Rng,
        out: &mut Vec<Cmd>,
    ) {
        let Some(Some(idx)) = self.node_of.get(peer as usize).copied() else { return };
        let kind = if crash { LeaveKind::Crash } else { LeaveKind::Leave };
        self.waiting.remove(&peer);
        self.sim.remove_member(now, idx, kind, &mut self.notices);
        self.handle_notices(swarm, rng, out);
    }

    fn announce(
        &mut self,
        now: SimTime,
        peer: u32,
        swarm: &mut Swarm,
        rng: &mut Rng,
        out: &mut Vec<Cmd>,
    ) {
        let Some(Some(idx)) = self.node_of.get(peer as usize).copied() else { return };
        if self.sim.is_member(idx) {
            self.start_announce(now, peer);
        } else if !self.waiting.insert(peer) {
            // Still not a member a whole announce period after the last try: its join failed
            // (the members it went through left). It gives up on that join and joins afresh,
            // as a client retries its bootstrap.
            self.sim.remove_member(now, idx, LeaveKind::Crash, &mut self.notices);
            self.swarm_of.remove(&idx);
            self.by_id.remove(&self.sim.id_of(idx));
            self.node_of[peer as usize] = None;
            self.rejoins += 1;
            self.join(now, peer);
        }
        self.handle_notices(swarm, rng, out);
    }

    fn unreachable(&mut self, peer: u32) -> Option<bool> {
        let &host = self.host_of.get(peer as usize)?;
        Some(self.sim.is_unreachable(host))
    }
}

/// A swarm on the engine, with the overlay `O` beside it.
struct Driver<O: Overlay> {
    swarm: Swarm,
    engine: Engine<Ev>,
    rng: Rng,
    network: Network,
    sample: SimDuration,
    samples: Vec<SwarmSample>,
    arrived: usize,
    expected: usize,
    overlay: O,
}

impl<O: Overlay> Driver<O> {
    /// The swarm with its initial seeders, its arrivals, outages and first sample scheduled.
    fn new(cfg: &SwarmConfig, settings: &RunSettings, seed: u64, overlay: O) -> Self {
        let mut d = Driver {
            swarm: Swarm::new(cfg.clone()),
            engine: Engine::new(),
            rng: stream(seed, Purpose::Swarm),
            network: Network::new(settings.latency.clone(), seed, Purpose::SwarmNetwork)
                .with_unreachable(settings.unreachable, seed),
            sample: settings.sample,
            samples: Vec::new(),
            arrived: 0,
            expected: 0,
            overlay,
        };
        for _ in 0..cfg.seeders {
            d.arrive(SimTime::ZERO, cfg.seeder, true);
        }
        d
    }

    /// Schedules the arrivals, the tracker's outages and the samples.
    fn schedule(&mut self, seed: u64) {
        let cfg = self.swarm.config().clone();
        let arrivals = arrivals(&cfg, seed);
        self.expected = arrivals.len();
        for a in arrivals {
            self.engine.schedule_at(a.at, Ev::Arrive(a));
        }
        for &(t, up) in &cfg.tracker_events {
            self.engine.schedule_at(t, Ev::Tracker(up));
        }
        self.engine.schedule_at(SimTime::ZERO, Ev::Sample);
    }

    /// Runs to `duration`, or until every leecher has arrived and none is left.
    fn run(&mut self, duration: SimTime) -> SwarmResult {
        let mut end = duration;
        while let Some(now) = self.step(duration, &mut |_| {}) {
            if self.arrived == self.expected && self.swarm.population().1 == 0 {
                end = now;
                break;
            }
        }
        SwarmResult {
            peers: self.swarm.records().cloned().collect(),
            samples: std::mem::take(&mut self.samples),
            tracker_requests: self.swarm.tracker().requests,
            events: self.engine.events_processed(),
            end,
        }
    }

    fn arrive(&mut self, now: SimTime, class: CapacityClass, seeder: bool) -> u32 {
        let mut out = Vec::new();
        let peer = self.swarm.arrive(now, class, seeder, &mut out);
        self.overlay.arrived(now, peer, &mut self.swarm, &mut self.rng, &mut out);
        self.apply(now, out);
        peer
    }

    /// Handles the next event (the swarm's or the overlay's) if it comes before `until`;
    /// `inspect` sees each command of the swarm's it gives rise to. Returns the event's time.
    fn step(&mut self, until: SimTime, inspect: &mut dyn FnMut(&Cmd)) -> Option<SimTime> {
        let mine = self.engine.peek_time();
        let theirs = self.overlay.next_time();
        let mut out = Vec::new();
        let now = match (mine, theirs) {
            (_, Some(t)) if t < until && mine.is_none_or(|m| t <= m) => {
                self.overlay.step(&mut self.swarm, &mut self.rng, &mut out);
                t
            }
            (Some(m), _) if m < until => {
                let (now, ev) = self.engine.pop().expect("peeked");
                self.handle(now, ev, &mut out);
                now
            }
            _ => return None,
        };
        out.iter().for_each(&mut *inspect);
        self.apply(now, out);
        Some(now)
    }

    fn handle(&mut self, now: SimTime, ev: Ev, out: &mut Vec<Cmd>) {
        let rng = &mut self.rng;

        match ev {
            Ev::Deliver { from, to, msg } => self.swarm.deliver(now, from, to, msg, rng, out),
            Ev::Have { peer, piece } => self.swarm.have_arrives(peer, piece, rng, out),
            Ev::Timer { peer, timer } => self.swarm.timer(peer, timer, rng, out),
            Ev::Done(c) => self.swarm.transfer_done(now, c, rng, out),
            Ev::Arrive(a) => {
                let peer = self.arrive(now, a.class, false);
                self.arrived += 1;
                if let Some((after, crash)) = a.abort {
                    self.engine.schedule_at(now + after, Ev::Abort { peer, crash });
                }
            }
            Ev::Abort { peer, crash } => {
                if !self.swarm.pieces_of(peer).is_full() {
                    self.depart(now, peer, crash, out);
                }
            }
            Ev::Leave(peer) => self.depart(now, peer, false, out),
            Ev::Tracker(up) => self.swarm.set_tracker_up(up),
            Ev::Sample => {
                let (seeders, leechers) = self.swarm.population();
                self.samples.push(SwarmSample {
                    t: now,
                    seeders,
                    leechers,
                    tracker_up: self.swarm.tracker().is_up(),
                    rarest_piece_copies: self.swarm.rarest_copies(),
                    tracker_scrape: if self.swarm.config().discovery.tracker() {
                        self.swarm.tracker().scrape(now)
                    } else {
                        None
                    },
                });
                self.engine.schedule_at(now + self.sample, Ev::Sample);
            }
        }
    }

    /// Whether swarm peer `q` is behind a NAT: by its overlay member's host with DHT
    /// discovery, by its own number otherwise.
    fn behind_nat(&mut self, q: u32) -> bool {
        self.overlay.unreachable(q).unwrap_or_else(|| self.network.is_unreachable(q))
    }

    /// `peer` leaves the swarm (and the overlay) now.
    fn depart(&mut self, now: SimTime, peer: u32, crash: bool, out: &mut Vec<Cmd>) {
        if !self.swarm.is_alive(peer) {
            return;
        }
        self.swarm.depart(now, peer, !crash, out);
        self.overlay.departed(now, peer, crash, &mut self.swarm, &mut self.rng, out);
    }

    fn apply(&mut self, now: SimTime, out: Vec<Cmd>) {
        for c in out {
            let (at, ev) = match c {
                Cmd::Send { to: Addr::Peer(q), msg: Msg::Hello { .. }, .. }
                    if self.network.has_unreachable() && self.behind_nat(q) =>
                {
                    // Behind a NAT: the connection request is lost, and its sender gives up on
                    // it when its connect timer fires.
                    continue;
                }
                Cmd::Send { from, to, msg } => {
                    let addr = |a: Addr| match a {
                        Addr::Peer(p) => PeerIdx(p),
                        Addr::Tracker => PeerIdx(u32::MAX),
                    };
                    let delay = self.network.delay(addr(from), addr(to), |p| p.0);
                    (now + delay, Ev::Deliver { from, to, msg })
                }
                Cmd::Have { peer, piece } => (now + self.network.draw(), Ev::Have { peer, piece }),
                Cmd::Timer { peer, timer, after } => (now + after, Ev::Timer { peer, timer }),
                Cmd::Complete(c) => (c.at, Ev::Done(c)),
                Cmd::Leave { peer, after } => (now + after, Ev::Leave(peer)),
                Cmd::DhtAnnounce { peer } => {
                    let mut more = Vec::new();
                    self.overlay.announce(now, peer, &mut self.swarm, &mut self.rng, &mut more);
                    self.apply(now, more);
                    continue;
                }
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
            discovery: super::super::Discovery::Tracker,
            infohash: RingId(0),
            aborts: None,
        }
    }

    fn settings() -> RunSettings {
        RunSettings {
            latency: Latency::Constant(SimDuration::from_ms(50)),
            unreachable: 0.0,
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
        assert_eq!(l.discovery_messages, 3, "one announce, one answer, one `completed`");
        assert_eq!(r.tracker_requests, 2, "the run ends before `completed` arrives");
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
        let mut d = Driver::new(&cfg, &settings(), 4, NoOverlay);
        for a in arrivals(&cfg, 4) {
            d.engine.schedule_at(a.at, Ev::Arrive(a));
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
    fn a_peer_behind_a_nat_connects_only_to_reachable_peers_it_asks_itself() {
        // Half the hosts are unreachable: a hello sent to one is lost, so every connection is
        // accepted (welcomed) by a reachable peer, and two peers behind NATs never connect;
        // the NATed leechers still complete through the reachable ones.
        let cfg = config(20, 1, 40);
        let settings = RunSettings { unreachable: 0.5, ..settings() };
        let topology = |seed| {
            crate::network::Topology::new(crate::config::Plane::POINT, seed).with_unreachable(0.5)
        };
        // A seed whose seeder (peer 0) is reachable.
        let seed = (1..).find(|&s| topology(s).place(0).reachable).expect("some seed");
        let mut hosts = topology(seed);
        let reachable: Vec<bool> = (0..41).map(|h| hosts.place(h).reachable).collect();
        let natted = reachable.iter().filter(|&&r| !r).count();
        assert!((10..31).contains(&natted) && reachable[0], "{reachable:?}");
        let mut d = Driver::new(&cfg, &settings, seed, NoOverlay);
        d.schedule(seed);
        let (mut welcomes, mut lost_hellos) = (0, 0);
        let mut watch = |c: &Cmd| match c {
            Cmd::Send { from: Addr::Peer(f), msg: Msg::Welcome { .. }, .. } => {
                assert!(reachable[*f as usize], "{f} is behind a NAT and accepted a connection");
                welcomes += 1;
            }
            Cmd::Send { to: Addr::Peer(t), msg: Msg::Hello { .. }, .. } => {
                lost_hellos += usize::from(!reachable[*t as usize]);
            }
            _ => {}
        };
        while d.step(SimTime(10_000_000), &mut watch).is_some() {}
        assert!(welcomes > 40 && lost_hellos > 0, "{welcomes} welcomes, {lost_hellos} lost");
        let done =
            d.swarm.records().enumerate().filter(|(i, p)| !reachable[*i] && p.complete.is_some());
        assert_eq!(done.count(), natted, "every leecher behind a NAT completes");
    }

    #[test]
    fn with_dht_discovery_a_swarm_peer_and_its_overlay_member_share_one_host() {
        // 30 overlay peers, then a seeder and 20 leechers who join the overlay to find each
        // other, half the hosts behind a NAT, in client mode: each swarm peer runs on its overlay
        // member's host, so the member is a client exactly when the swarm peer is behind a NAT,
        // and every connection is accepted by a reachable peer.
        let mut cfg = Config::builder(30).unreachable(0.5).client_mode(true).build().unwrap();
        cfg.swarm =
            Some(SwarmConfig { discovery: super::super::Discovery::Dht, ..config(20, 1, 20) });
        cfg.duration = SimTime(3_600_000);
        let settings = RunSettings { unreachable: 0.5, ..settings() };
        let sc = cfg.swarm.clone().unwrap();
        let link = DhtLink::<crate::chord::Peer>::new(&cfg, 4).unwrap();
        let mut d = Driver::new(&sc, &settings, 4, link);
        d.schedule(4);
        let mut welcomes = Vec::new();
        let mut watch = |c: &Cmd| {
            if let Cmd::Send { from: Addr::Peer(f), msg: Msg::Welcome { .. }, .. } = c {
                welcomes.push(*f);
            }
        };
        while d.step(SimTime(3_600_000), &mut watch).is_some() {}
        let link = &mut d.overlay;
        let mut natted = 0;
        for (q, &host) in link.host_of.clone().iter().enumerate() {
            let behind = link.sim.is_unreachable(host);
            natted += usize::from(behind);
            assert_eq!(link.unreachable(q as u32), Some(behind));
            let idx = link.node_of[q].expect("every swarm peer found a member to join through");
            assert_eq!(link.sim.host_and_client(idx), (host, behind), "swarm peer {q}");
        }
        assert!((3..18).contains(&natted), "{natted} of 21 behind a NAT");
        assert!(welcomes.len() > 20, "{welcomes:?}");
        for f in welcomes {
            assert_eq!(d.overlay.unreachable(f), Some(false), "{f} accepted a connection");
        }
        let done = d.swarm.records().skip(1).filter(|p| p.complete.is_some()).count();
        assert_eq!(done, 20, "every leecher completes through the reachable peers");
    }

    #[test]
    fn a_newcomer_gives_up_on_peers_the_tracker_names_after_they_crashed() {
        // Ten leechers crash at 5 s without telling the tracker, which names them to a
        // newcomer at 6 s, in random order with the seeder. With room for one neighbour, the
        // newcomer tries them one by one: each dead one costs it 3 s before the next.
        let mut cfg = config(10, 1, 10);
        cfg.max_peers = 1;
        let mut d = Driver::new(&cfg, &settings(), 6, NoOverlay);
        for a in arrivals(&cfg, 6) {
            d.engine.schedule_at(a.at, Ev::Arrive(a));
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
            if let Cmd::Send { from: Addr::Peer(f), to: Addr::Peer(t), msg: Msg::Hello { .. } } = c
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
        let mut d = Driver::new(&cfg, &settings(), 5, NoOverlay);
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
    fn connections_and_counts_stay_consistent_under_churn_and_reordering() {
        // Arrivals, aborts and crashes, seeds that leave, few connections (refusals), and
        // latencies drawn per message (messages overtake each other): after every event, what
        // each peer counts of its neighbours' pieces is recounted from scratch (Swarm::check).
        let mut cfg = config(24, 1, 12);
        cfg.max_peers = 3;
        cfg.arrivals_per_s = 0.2;
        cfg.arrivals_until = SimTime(120_000);
        cfg.seed_time = Some(SimDuration::from_ms(20_000));
        cfg.announce = SimDuration::from_ms(30_000);
        cfg.aborts = Some((crate::churn::SessionDist::Exponential { mean_ms: 150_000.0 }, 0.5));
        let mut s = settings();
        s.latency =
            Latency::Uniform { min: SimDuration::from_ms(5), max: SimDuration::from_ms(400) };
        let mut d = Driver::new(&cfg, &s, 3, NoOverlay);
        d.schedule(3);
        let mut steps = 0;
        while d.step(SimTime(600_000), &mut |_| {}).is_some() {
            steps += 1;
            if let Err(e) = d.swarm.check() {
                panic!("after {steps} events: {e}");
            }
        }
        assert!(steps > 5_000, "{steps} events");
        let recs: Vec<&PeerRecord> = d.swarm.records().collect();
        assert!(recs.iter().filter(|p| p.complete.is_some()).count() > 10);
        assert!(recs.iter().any(|p| p.complete.is_none() && p.leave.is_some()), "some abort");
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

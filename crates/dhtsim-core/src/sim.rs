//! One simulation run: bootstrap, the event loop, and the measurements it takes.
//!
//! This is where the pieces meet. The engine orders events; peers (`protocol`) decide what to
//! send; the network decides when it arrives; the workload and churn models decide what happens;
//! the oracle says what the right answer was. The simulation owns the closed set of event kinds
//! and applies the commands peers emit, recording hops, paths and outcomes as messages pass:
//! measurement happens here, beside the protocol, never inside it.
//!
//! A message to a peer that has departed is lost; its sender learns it as *undeliverable* one
//! RPC timeout after sending (the missing ack), which is how peers detect failures.

use crate::check::{self, Health};
use crate::churn::{Arrivals, ChurnModel, TraceKind, poisson_gap};
use crate::config::{Action, Bootstrap, Config, Population};
use crate::engine::Engine;
use crate::metrics::{
    LeaveKind, LookupRecord, LookupStats, Outcome, PeerRecord, RunResult, Sample,
};
use crate::network::Network;
use crate::oracle::Oracle;
use crate::protocol::{
    Answer, Command, Message, Op, OpId, Params, Peer, PeerIdx, PeerRef, Query, Reply, Timer,
};
use crate::ring::{IdSpace, RingId};
use crate::rng::{Purpose, Rng, stream};
use crate::time::{SimDuration, SimTime};
use crate::workload::{Target, Workload};
use rand::RngExt;
use std::collections::{BTreeSet, VecDeque};

/// Every kind of event a run processes.
#[derive(Debug)]
enum Event {
    /// A message from `from`, sent at `sent`, arrives at peer `to`.
    Deliver { to: PeerIdx, from: PeerRef, sent: SimTime, msg: Message },
    /// A message `sender` sent to `dead` was not acknowledged within the RPC timeout.
    Undeliverable { sender: PeerIdx, dead: PeerRef, msg: Message },
    /// A peer's periodic timer fires.
    Timer { peer: PeerIdx, timer: Timer },
    /// The workload starts its lookup number `i`.
    WorkloadLookup(u64),
    /// A member starts its periodic lookup (per-peer workload).
    PeerLookup(PeerIdx),
    /// Scripted event number `i` of the scenario happens.
    Scripted(usize),
    /// The churn model's peer departs.
    Depart(PeerIdx),
    /// The churn model adds a peer.
    Arrive,
    /// The Poisson churn model removes a random live peer.
    PoissonDepart,
    /// A fraction of the members crash at once.
    MassFailure,
    /// Trace event number `i` happens.
    Trace(usize),
    /// Take a time-series sample and check the ring.
    Sample,
    /// Take a snapshot of the overlay.
    Snapshot,
}

/// Bytes one pending event takes in the engine (its slot and its heap key), for
/// [`crate::footprint`].
pub(crate) const EVENT_BYTES: usize = std::mem::size_of::<Option<Event>>() + 24;

/// Bytes of the state kept per operation while the run lasts, for [`crate::footprint`].
pub(crate) const OP_BYTES: usize = std::mem::size_of::<OpState>();

/// What the simulation remembers about an operation while it is in flight. The slot is reused
/// once the operation has ended: an operation has one message in flight at a time (its query,
/// then its answer), so nothing refers to it after its end.
#[derive(Debug)]
struct OpState {
    kind: OpKind,
    /// For a lookup: its number, in start order from 0.
    lookup: u64,
    /// Ended (the slot is free).
    done: bool,
    start: SimTime,
    origin: RingId,
    key: RingId,
    hops: u32,
    timeouts: u32,
    path: Vec<RingId>,
    /// Set when an answer is sent: (who answered as owner, the true owner then, was the key
    /// stored then).
    answered_by: Option<(Option<RingId>, RingId, bool)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OpKind {
    Lookup,
    Store,
    Join(PeerIdx),
}

/// Counters of the current sample interval.
#[derive(Debug, Default)]
struct Interval {
    joins: u64,
    leaves: u64,
    crashes: u64,
    lookups: u64,
    hops_sum: u64,
    answered: u64,
    ok: u64,
    failed: u64,
    timeouts: u64,
}

/// How many recent events a run keeps to explain a stop on a failed property.
const TRACE_LEN: usize = 32;

/// A run in progress.
pub struct Simulation<'c> {
    cfg: &'c Config,
    seed: u64,
    params: Params,
    engine: Engine<Event>,
    peers: Vec<Peer>,
    alive: Vec<bool>,
    peer_records: Vec<PeerRecord>,
    /// The physical peer of each ring node (by address).
    hosts: Vec<u32>,
    /// The number the next new physical peer gets.
    next_host: u32,
    oracle: Oracle,
    network: Network,
    workload: Workload,
    id_rng: Rng,
    churn_rng: Rng,
    timer_rng: Rng,
    ops: Vec<OpState>,
    /// Slots of `ops` whose operation has ended, to reuse.
    free_ops: Vec<u32>,
    /// Lookups started so far.
    lookups_started: u64,
    /// Records of the lookups that ended (with `record_lookups`), in end order.
    records: Vec<LookupRecord>,
    stats: LookupStats,
    in_flight: u64,
    messages: u64,
    out: Vec<Command>,
    interval: Interval,
    samples: Vec<Sample>,
    recent: VecDeque<String>,
    stopped: Option<String>,
    warnings: Vec<String>,
    snapshots: Vec<crate::metrics::Snapshot>,
    /// Churn departures skipped to keep r + 1 members.
    skipped_departures: u64,
    /// Workload lookups that found no live peer to start from (said in a warning, never silent).
    lookups_not_made: u64,
    /// Entries per live physical peer, measured when the run ends.
    load: Vec<u32>,
}

/// Runs `cfg` with `seed` to the end and returns what it measured.
pub fn run(cfg: &Config, seed: u64) -> RunResult {
    Simulation::new(cfg, seed).run()
}

/// `n` distinct IDs drawn uniformly from `space`, in increasing order. `n <= 2^m`.
pub fn draw_ids(space: IdSpace, n: u64, rng: &mut Rng) -> Vec<RingId> {
    assert!(n as u128 <= space.size(), "{n} peers do not fit {} bits", space.bits());
    if n as u128 * 2 >= space.size() {
        // Dense: a partial Fisher-Yates shuffle of the whole (small) space.
        let size = space.size() as u64;
        let mut all: Vec<u64> = (0..size).collect();
        for i in 0..n {
            let j = rng.random_range(i..size);
            all.swap(i as usize, j as usize);
        }
        all.truncate(n as usize);
        all.sort_unstable();
        return all.into_iter().map(RingId).collect();
    }
    // Sparse: draw, sort, drop duplicates, draw again for the missing ones.
    let mut ids: Vec<RingId> = Vec::with_capacity(n as usize);
    while (ids.len() as u64) < n {
        for _ in ids.len() as u64..n {
            ids.push(space.wrap(rng.random::<u64>()));
        }
        ids.sort_unstable();
        ids.dedup();
    }
    ids
}

/// Shuffles `v` uniformly (Fisher-Yates, from the end) with draws from `rng`.
fn shuffle<T>(v: &mut [T], rng: &mut Rng) {
    for i in (1..v.len()).rev() {
        let j = rng.random_range(0..=i as u64) as usize;
        v.swap(i, j);
    }
}

impl<'c> Simulation<'c> {
    /// Bootstraps the network of `cfg` for the run seeded with `seed`: draws the peer IDs, gives
    /// every peer its true predecessor, successor list and fingers, publishes the workload's
    /// files, and schedules the scripted events, churn, samples and the first generated lookup.
    pub fn new(cfg: &'c Config, seed: u64) -> Self {
        let space = cfg.space;
        let mut id_rng = stream(seed, Purpose::PeerIds);
        let v = cfg.overlay.virtual_nodes.max(1) as u64;
        let mut ids = match &cfg.population {
            Population::Random(n) => draw_ids(space, *n * v, &mut id_rng),
            Population::Explicit(ids) => {
                assert!(v == 1, "virtual nodes need a random population");
                let mut ids = ids.clone();
                ids.sort_unstable();
                ids
            }
        };
        let forming = cfg.bootstrap == Bootstrap::Joins;
        if forming {
            // Peers come in a random order (peer i is the i-th to start): the first alone forms
            // the ring, each later one joins through one before it.
            assert!(v == 1, "a ring formed by joins has no virtual nodes");
            shuffle(&mut ids, &mut id_rng);
        }
        // Node i (in ID order) runs on physical peer hosts[i]: with virtual nodes, each peer's
        // v nodes are spread at random (a shuffle from the IDs stream).
        let mut hosts: Vec<u32> = (0..ids.len() as u64).map(|i| (i / v) as u32).collect();
        if v > 1 {
            shuffle(&mut hosts, &mut id_rng);
        }
        let next_host = (ids.len() as u64).div_ceil(v) as u32;
        assert!(!ids.is_empty(), "a validated config has at least one peer");
        let n = ids.len();
        let at = |i: usize| PeerRef { idx: PeerIdx(i as u32), id: ids[i] };
        let r = (cfg.overlay.successors as usize).clamp(1, n.saturating_sub(1).max(1));
        let mut peers: Vec<Peer> = (0..n)
            .map(|i| match forming {
                false => {
                    let succs = (1..=r).map(|k| at((i + k) % n)).collect();
                    Peer::new(at(i), Some(at((i + n - 1) % n)), succs)
                }
                true if i == 0 => Peer::new(at(0), Some(at(0)), vec![at(0)]),
                true => Peer::joining(at(i)),
            })
            .collect();
        if cfg.overlay.fingers && !forming {
            for (i, peer) in peers.iter_mut().enumerate() {
                let fingers = crate::ring::finger_indices(space, &ids, i).into_iter().map(at);
                peer.set_fingers(space, fingers);
            }
        }
        let peer_records = ids
            .iter()
            .zip(&hosts)
            .enumerate()
            .map(|(i, (&id, &host))| PeerRecord {
                id,
                join: (!forming || i == 0).then_some(SimTime::ZERO),
                leave: None,
                join_hops: None,
                join_path: Vec::new(),
                host,
                keys: None,
            })
            .collect();
        let all: Vec<(RingId, PeerIdx)> =
            ids.iter().enumerate().map(|(i, &id)| (id, PeerIdx(i as u32))).collect();
        let members = if forming { 1 } else { n };
        let oracle = if forming {
            Oracle::forming(all, vec![(ids[0], PeerIdx(0))])
        } else {
            Oracle::new(all)
        };
        let hop_limit = cfg
            .overlay
            .hop_limit
            .unwrap_or_else(|| u32::try_from(2 * n as u64 + 16).unwrap_or(u32::MAX));
        let workload = Workload::new(
            cfg.workload.clone(),
            space,
            cfg.warmup,
            cfg.duration,
            stream(seed, Purpose::Workload),
        );
        let mut sim = Simulation {
            cfg,
            seed,
            params: Params {
                space,
                hop_limit,
                cache_size: cfg.overlay.cache_size as usize,
                successors: cfg.overlay.successors as usize,
                route_via_successors: cfg.overlay.route_via_successors,
                reactive_stabilization: cfg.overlay.reactive_stabilization,
                fingers_at_join: cfg.overlay.fingers_at_join,
                fingers: cfg.overlay.fingers,
                replication: cfg.overlay.replication as usize,
                maintenance: cfg.overlay.maintenance,
            },
            engine: Engine::new(),
            alive: vec![true; n],
            peers,
            peer_records,
            hosts,
            next_host,
            oracle,
            network: Network::new(cfg.network.latency, stream(seed, Purpose::Network)),
            workload,
            id_rng,
            churn_rng: stream(seed, Purpose::Churn),
            timer_rng: stream(seed, Purpose::Maintenance),
            ops: Vec::new(),
            free_ops: Vec::new(),
            lookups_started: 0,
            records: Vec::new(),
            stats: LookupStats::default(),
            in_flight: 0,
            messages: 0,
            out: Vec::new(),
            interval: Interval::default(),
            samples: Vec::new(),
            recent: VecDeque::new(),
            stopped: None,
            warnings: Vec::new(),
            snapshots: Vec::new(),
            skipped_departures: 0,
            lookups_not_made: 0,
            load: Vec::new(),
        };
        sim.publish_files();
        if let Some(m) = cfg.overlay.maintenance {
            // Stagger the first firing of every timer uniformly over its period.
            for i in 0..members {
                let idx = PeerIdx(i as u32);
                let mut timers = vec![(Timer::Stabilize, m.stabilize)];
                timers.push((Timer::CheckPredecessor, m.check_predecessor));
                if cfg.overlay.fingers {
                    timers.push((Timer::FixFinger, m.fix_finger));
                }
                for (timer, period) in timers {
                    let phase = SimDuration(sim.timer_rng.random_range(0..period.as_ms().max(1)));
                    sim.engine
                        .schedule_at(SimTime::ZERO + phase, Event::Timer { peer: idx, timer });
                }
            }
        }
        for i in 0..members {
            sim.schedule_peer_lookups(SimTime::ZERO, PeerIdx(i as u32));
        }
        if forming {
            for k in 1..n {
                let via = PeerIdx(sim.id_rng.random_range(0..k as u64) as u32);
                sim.start_join(SimTime::ZERO, PeerIdx(k as u32), via);
            }
        }
        for (i, ev) in cfg.events.iter().enumerate() {
            sim.engine.schedule_at(ev.at, Event::Scripted(i));
        }
        sim.schedule_churn(n);
        if sim.workload.lookups() > 0 {
            sim.engine.schedule_at(sim.workload.start_time(0), Event::WorkloadLookup(0));
        }
        if let Some(dt) = cfg.sample {
            sim.engine.schedule_at(SimTime::ZERO + dt, Event::Sample);
        }
        for &t in &cfg.snapshots {
            sim.engine.schedule_at(t, Event::Snapshot);
        }
        sim
    }

    fn publish_files(&mut self) {
        for (key, holder) in self.workload.file_holders(&self.oracle) {
            let (_, owner) = self.oracle.owner(key);
            let mut at = owner;
            // The owner and its next replication - 1 successors hold the entry.
            for _ in 0..self.cfg.overlay.replication.max(1) {
                self.peers[at.0 as usize].store(key, holder);
                let next = self.peers[at.0 as usize].succ().expect("bootstrap member").idx;
                if next == owner {
                    break;
                }
                at = next;
            }
            self.oracle.note_stored(key);
        }
    }

    fn schedule_churn(&mut self, n: usize) {
        let churn = &self.cfg.churn;
        match &churn.model {
            ChurnModel::None => {}
            ChurnModel::Sessions { session, arrivals, .. } => {
                for i in 0..n {
                    let at = churn.start + session.sample(&mut self.churn_rng);
                    if at < churn.stop {
                        self.engine.schedule_at(at, Event::Depart(PeerIdx(i as u32)));
                    }
                }
                if let Arrivals::Poisson { rate_per_ms } = *arrivals {
                    let at = churn.start + poisson_gap(rate_per_ms, &mut self.churn_rng);
                    if at < churn.stop {
                        self.engine.schedule_at(at, Event::Arrive);
                    }
                }
            }
            ChurnModel::Poisson { join_rate_per_ms, leave_rate_per_ms, .. } => {
                let arrive = churn.start + poisson_gap(*join_rate_per_ms, &mut self.churn_rng);
                let depart = churn.start + poisson_gap(*leave_rate_per_ms, &mut self.churn_rng);
                if arrive < churn.stop {
                    self.engine.schedule_at(arrive, Event::Arrive);
                }
                if depart < churn.stop {
                    self.engine.schedule_at(depart, Event::PoissonDepart);
                }
            }
            ChurnModel::Trace(events) => {
                for (i, ev) in events.iter().enumerate() {
                    self.engine.schedule_at(ev.at, Event::Trace(i));
                }
            }
        }
        if let Some(m) = churn.mass_failure {
            self.engine.schedule_at(m.at, Event::MassFailure);
        }
    }

    /// Runs until nothing is left to do: the measured window is over and every operation
    /// started in it has ended (or a checked property failed, with `stop_on_violation`).
    pub fn run(mut self) -> RunResult {
        while self.step() {}
        self.finish()
    }

    /// Runs to the end like [`Simulation::run`], calling `progress(now, events)` every `every`
    /// events (for a progress display; it cannot influence the run).
    pub fn run_with_progress(
        mut self,
        every: u64,
        mut progress: impl FnMut(SimTime, u64),
    ) -> RunResult {
        let every = every.max(1);
        let mut n = 0u64;
        while self.step() {
            n += 1;
            if n.is_multiple_of(every) {
                progress(self.engine.now(), n);
            }
        }
        progress(self.engine.now(), n);
        self.finish()
    }

    /// Runs every event before `t` (and no later one); `false` if the run ended first.
    pub fn run_until(&mut self, t: SimTime) -> bool {
        while self.engine.peek_time().is_some_and(|next| next < t) {
            if !self.step() {
                return false;
            }
        }
        true
    }

    /// Processes one event; `false` when the run is over.
    pub fn step(&mut self) -> bool {
        if self.stopped.is_some() {
            return false;
        }
        match self.engine.peek_time() {
            None => return false,
            Some(t) if t >= self.cfg.duration && self.in_flight == 0 => return false,
            Some(_) => {}
        }
        let (now, event) = self.engine.pop().expect("peeked");
        if let Some(next) = self.engine.next_now() {
            self.prefetch_peer_of(next);
        }
        if self.cfg.stop_on_violation {
            if self.recent.len() == TRACE_LEN {
                self.recent.pop_front();
            }
            self.recent.push_back(format!("{now}: {}", describe(&event, &self.peers)));
        }
        match event {
            Event::Deliver { to, from, sent, msg } => self.deliver(now, to, from, sent, msg),
            Event::Undeliverable { sender, dead, msg } => {
                self.undeliverable(now, sender, dead, msg)
            }
            Event::Timer { peer, timer } => {
                if self.alive[peer.0 as usize] {
                    self.peers[peer.0 as usize].handle_timer(&self.params, timer, &mut self.out);
                    self.apply(now, peer);
                }
            }
            Event::WorkloadLookup(i) => {
                if self.oracle.alive_count() > 0 {
                    let start = self.workload.next_lookup(&self.oracle);
                    self.start_workload_lookup(now, start.origin, start.target);
                } else {
                    self.lookups_not_made += 1;
                }
                if i + 1 < self.workload.lookups() {
                    let next = self.workload.start_time(i + 1);
                    self.engine.schedule_at(next, Event::WorkloadLookup(i + 1));
                }
            }
            Event::PeerLookup(peer) => self.peer_lookup(now, peer),
            Event::Scripted(i) => self.scripted(now, self.cfg.events[i].action),
            Event::Depart(peer) => self.churn_depart(now, peer),
            Event::Arrive => self.churn_arrive(now),
            Event::PoissonDepart => self.poisson_depart(now),
            Event::MassFailure => self.mass_failure(now),
            Event::Trace(i) => self.trace(now, i),
            Event::Sample => self.sample(now),
            Event::Snapshot => {
                let snap = self.snapshot(now);
                self.snapshots.push(snap);
            }
        }
        true
    }

    /// Virtual time of the last event processed.
    pub fn now(&self) -> SimTime {
        self.engine.now()
    }

    /// The ring as the oracle sees it.
    pub fn oracle(&self) -> &Oracle {
        &self.oracle
    }

    /// The protocol state of a peer.
    pub fn peer(&self, idx: PeerIdx) -> &Peer {
        &self.peers[idx.0 as usize]
    }

    /// The protocol state of the live peer with ID `id` (member or joining).
    pub fn peer_by_id(&self, id: RingId) -> Option<&Peer> {
        self.peers.iter().zip(&self.alive).find(|(p, a)| **a && p.me().id == id).map(|(p, _)| p)
    }

    /// Mutable access to a peer's state, for tests that corrupt it on purpose.
    pub fn peer_mut(&mut self, idx: PeerIdx) -> &mut Peer {
        &mut self.peers[idx.0 as usize]
    }

    /// Checks the ring now.
    pub fn health(&self) -> Health {
        check::check(
            self.cfg.space,
            &self.peers,
            &self.alive,
            &self.oracle,
            self.cfg.overlay.fingers,
        )
    }

    // ----- operations -----

    /// Starts loading the state of the peer that `event` will touch, while this event is handled:
    /// with 10^5 peers and more, that state is rarely in cache. A hint; results do not change.
    fn prefetch_peer_of(&self, event: &Event) {
        let peer = match event {
            Event::Deliver { to, .. } => to,
            Event::Timer { peer, .. } | Event::PeerLookup(peer) => peer,
            _ => return,
        };
        if let Some(p) = self.peers.get(peer.0 as usize) {
            crate::engine::prefetch(p);
        }
    }

    /// Starts a lookup the workload generated. A finger target is resolved from the origin's own
    /// finger table; one that is the origin itself starts nothing, as in SimGrid's benchmark.
    fn start_workload_lookup(&mut self, now: SimTime, origin: PeerIdx, target: Target) {
        let key = match target {
            Target::Key(key) => key,
            Target::Finger(index) => {
                let peer = &self.peers[origin.0 as usize];
                let finger = peer.finger(self.params.space, index);
                if finger.idx == origin {
                    return;
                }
                finger.id
            }
        };
        self.start_op(now, origin, key, Op::Lookup);
    }

    fn start_op(&mut self, now: SimTime, origin: PeerIdx, key: RingId, kind: Op) {
        let op = self.new_op(
            now,
            origin,
            key,
            if kind == Op::Lookup { OpKind::Lookup } else { OpKind::Store },
        );
        let querier = self.peers[origin.0 as usize].me();
        let q = Query {
            op,
            kind,
            key,
            querier,
            hops: 0,
            timeouts: 0,
            expect_owner: false,
            jumped: false,
            lower: RingId(0),
        };
        self.peers[origin.0 as usize].start_query(&self.params, q, &mut self.out);
        self.apply(now, origin);
    }

    fn new_op(&mut self, now: SimTime, origin: PeerIdx, key: RingId, kind: OpKind) -> OpId {
        let origin_id = self.peers[origin.0 as usize].me().id;
        let path = if self.cfg.record_paths { vec![origin_id] } else { Vec::new() };
        let lookup = self.lookups_started;
        if kind == OpKind::Lookup {
            self.lookups_started += 1;
        }
        let state = OpState {
            kind,
            lookup,
            done: false,
            start: now,
            origin: origin_id,
            key,
            hops: 0,
            timeouts: 0,
            path,
            answered_by: None,
        };
        let op = match self.free_ops.pop() {
            Some(slot) => {
                self.ops[slot as usize] = state;
                OpId(slot)
            }
            None => {
                let op = OpId(u32::try_from(self.ops.len()).expect("fewer than 2^32 operations"));
                assert!(op != OpId::MAINTENANCE, "fewer than 2^32 - 1 operations in flight");
                self.ops.push(state);
                op
            }
        };
        self.in_flight += 1;
        op
    }

    fn deliver(&mut self, now: SimTime, to: PeerIdx, from: PeerRef, sent: SimTime, msg: Message) {
        if !self.alive[to.0 as usize] {
            // Lost: the sender notices when its RPC timeout expires.
            if let Message::Answer(a) = &msg
                && a.op != OpId::MAINTENANCE
            {
                // The querier left: the lookup is over all the same; record how it ended.
                self.finish_op(now, a.clone());
            }
            let dead = self.peers[to.0 as usize].me();
            let at = (sent + self.cfg.overlay.rpc_timeout).max(now);
            self.engine.schedule_at(at, Event::Undeliverable { sender: from.idx, dead, msg });
            return;
        }
        // Measure as the message arrives: a query reaching a live peer is a hop; an answer
        // reaching its querier ends the operation (after the querier has handled it).
        let answer = match &msg {
            Message::Query(q) if q.op != OpId::MAINTENANCE => {
                let op = &mut self.ops[q.op.0 as usize];
                op.hops += 1;
                if self.cfg.record_paths {
                    op.path.push(self.peers[to.0 as usize].me().id);
                }
                None
            }
            Message::Answer(a) if a.op != OpId::MAINTENANCE => Some(a.clone()),
            _ => None,
        };
        self.peers[to.0 as usize].handle_message(&self.params, from, msg, &mut self.out);
        self.apply(now, to);
        if let Some(a) = answer {
            self.finish_op(now, a);
        }
    }

    fn undeliverable(&mut self, now: SimTime, sender: PeerIdx, dead: PeerRef, msg: Message) {
        if let Message::Query(q) = &msg
            && q.op != OpId::MAINTENANCE
        {
            self.ops[q.op.0 as usize].timeouts += 1;
            if !self.alive[sender.0 as usize] {
                // The query died with the peer that held it.
                let a = Answer { op: q.op, kind: q.kind, from: dead, reply: Reply::Failed };
                self.note_answer(&a);
                self.finish_op(now, a);
                return;
            }
        }
        if self.alive[sender.0 as usize] {
            self.peers[sender.0 as usize].handle_undeliverable(
                &self.params,
                dead,
                msg,
                &mut self.out,
            );
            self.apply(now, sender);
        }
    }

    /// Carries out the commands peer `from` just emitted, measuring as they pass.
    fn apply(&mut self, now: SimTime, from: PeerIdx) {
        let mut out = std::mem::take(&mut self.out);
        let sender = self.peers[from.0 as usize].me();
        for cmd in out.drain(..) {
            match cmd {
                Command::Send { to, msg } => {
                    if let Message::Answer(a) = &msg
                        && a.op != OpId::MAINTENANCE
                    {
                        self.note_answer(a);
                    }
                    if from != to.idx {
                        self.messages += 1;
                    }
                    let delay = self.network.delay(from, to.idx);
                    self.engine.schedule_in(
                        delay,
                        Event::Deliver { to: to.idx, from: sender, sent: now, msg },
                    );
                }
                Command::SetTimer { after, timer } => {
                    let after = if self.cfg.overlay.timer_jitter {
                        let ms = after.as_ms();
                        SimDuration(self.timer_rng.random_range(ms / 2..=ms + ms / 2))
                    } else {
                        after
                    };
                    self.engine.schedule_in(after, Event::Timer { peer: from, timer });
                }
                Command::Joined => self.joined(now, from),
            }
        }
        self.out = out;
    }

    /// An answer leaves its sender: note who answered and who should have.
    fn note_answer(&mut self, a: &Answer) {
        let op = &mut self.ops[a.op.0 as usize];
        let (true_owner, _) =
            if self.oracle.is_empty() { (op.key, PeerIdx(0)) } else { self.oracle.owner(op.key) };
        let owner = match a.reply {
            Reply::Failed => None,
            _ => Some(a.from.id),
        };
        op.answered_by = Some((owner, true_owner, self.oracle.is_stored(op.key)));
        if a.reply == Reply::Stored {
            self.oracle.note_stored(op.key);
        }
    }

    fn finish_op(&mut self, now: SimTime, a: Answer) {
        let slot = a.op.0 as usize;
        if self.ops[slot].done {
            return;
        }
        let op = &mut self.ops[slot];
        op.done = true;
        let path = std::mem::take(&mut op.path);
        let op = &self.ops[slot];
        let (owner, true_owner, was_stored) = op.answered_by.expect("answered before delivered");
        let (outcome, values) = match a.reply {
            Reply::Failed => (Outcome::Failed, Vec::new()),
            Reply::Stored | Reply::Successor { .. } => (
                if owner == Some(true_owner) { Outcome::Ok } else { Outcome::WrongOwner },
                Vec::new(),
            ),
            Reply::Owner { values, .. } => {
                let outcome = if owner != Some(true_owner) {
                    Outcome::WrongOwner
                } else if was_stored && values.is_empty() {
                    Outcome::NotFound
                } else {
                    Outcome::Ok
                };
                (outcome, values)
            }
        };
        match op.kind {
            OpKind::Lookup => {
                let iv = &mut self.interval;
                iv.lookups += 1;
                iv.timeouts += op.timeouts as u64;
                match outcome {
                    Outcome::Failed => iv.failed += 1,
                    Outcome::Ok => iv.ok += 1,
                    _ => {}
                }
                if outcome != Outcome::Failed {
                    iv.answered += 1;
                    iv.hops_sum += op.hops as u64;
                }
                let latency = now - op.start;
                self.stats.add(op.hops, op.timeouts, latency, outcome);
                if self.cfg.record_lookups {
                    self.records.push(LookupRecord {
                        lookup: op.lookup,
                        start: op.start,
                        origin: op.origin,
                        key: op.key,
                        owner,
                        true_owner,
                        hops: op.hops,
                        timeouts: op.timeouts,
                        latency,
                        outcome,
                        values,
                        path,
                    });
                }
            }
            OpKind::Join(peer) => {
                let rec = &mut self.peer_records[peer.0 as usize];
                rec.join_hops = Some(op.hops);
                rec.join_path = path;
            }
            OpKind::Store => {}
        }
        self.free_ops.push(a.op.0);
        self.in_flight -= 1;
    }

    // ----- membership -----

    fn scripted(&mut self, now: SimTime, action: Action) {
        let find = |sim: &Self, id: RingId| {
            sim.peers
                .iter()
                .zip(&sim.alive)
                .position(|(p, a)| *a && p.me().id == id)
                .map(|i| PeerIdx(i as u32))
        };
        match action {
            Action::Lookup { from, key } | Action::Store { from, key } => {
                let Some(origin) = find(self, from) else {
                    self.warnings.push(format!(
                        "{now}: peer {from} is not alive; its scripted operation is skipped"
                    ));
                    return;
                };
                let kind = match action {
                    Action::Store { .. } => Op::Store { holder: from },
                    _ => Op::Lookup,
                };
                self.start_op(now, origin, key, kind);
            }
            Action::Join { peer, via } => {
                let Some(via) = find(self, via) else {
                    self.warnings.push(format!(
                        "{now}: well-known peer {via} is not alive; join of {peer} skipped"
                    ));
                    return;
                };
                if self.oracle.is_alive_id(peer) {
                    self.warnings.push(format!("{now}: ID {peer} is in use; join skipped"));
                    return;
                }
                self.spawn(now, peer, via);
            }
            Action::Leave { peer } | Action::Crash { peer } => {
                let Some(idx) = find(self, peer) else {
                    self.warnings
                        .push(format!("{now}: peer {peer} is not alive; its departure is skipped"));
                    return;
                };
                let kind = if matches!(action, Action::Leave { .. }) {
                    LeaveKind::Leave
                } else {
                    LeaveKind::Crash
                };
                self.depart(now, idx, kind);
            }
        }
    }

    /// Creates a peer with ID `id` that joins through `via`.
    fn spawn(&mut self, now: SimTime, id: RingId, via: PeerIdx) -> PeerIdx {
        let idx = PeerIdx(u32::try_from(self.peers.len()).expect("fewer than 2^32 peers"));
        let me = PeerRef { idx, id };
        self.peers.push(Peer::joining(me));
        self.alive.push(true);
        self.oracle.add_alive(id, idx);
        self.peer_records.push(PeerRecord {
            id,
            join: None,
            leave: None,
            join_hops: None,
            join_path: Vec::new(),
            host: self.next_host,
            keys: None,
        });
        self.hosts.push(self.next_host);
        self.next_host += 1;
        self.start_join(now, idx, via);
        idx
    }

    /// Peer `peer` (alive, not joined) sends its join query to `via`.
    fn start_join(&mut self, now: SimTime, peer: PeerIdx, via: PeerIdx) {
        let id = self.peers[peer.0 as usize].me().id;
        let op = self.new_op(now, peer, id, OpKind::Join(peer));
        let via_ref = self.peers[via.0 as usize].me();
        self.peers[peer.0 as usize].join(via_ref, op, &mut self.out);
        self.apply(now, peer);
    }

    fn joined(&mut self, now: SimTime, peer: PeerIdx) {
        let id = self.peers[peer.0 as usize].me().id;
        self.oracle.insert(id, peer);
        self.peer_records[peer.0 as usize].join = Some(now);
        self.interval.joins += 1;
        self.schedule_peer_lookups(now, peer);
    }

    /// With a per-peer workload: schedules the first lookup of `peer`, a member since `now`.
    fn schedule_peer_lookups(&mut self, now: SimTime, peer: PeerIdx) {
        if let Some(at) = self.workload.first_per_peer_lookup(now)
            && at < self.cfg.duration
        {
            self.engine.schedule_at(at, Event::PeerLookup(peer));
        }
    }

    /// A member's periodic lookup: a key from the workload stream, then the next one an interval
    /// later (while the peer is alive and the window lasts).
    fn peer_lookup(&mut self, now: SimTime, peer: PeerIdx) {
        if !self.alive[peer.0 as usize] {
            return;
        }
        if now >= self.cfg.warmup {
            let target = self.workload.next_target();
            self.start_workload_lookup(now, peer, target);
        }
        let every = self.workload.per_peer_interval().expect("per-peer workload");
        let next = now + every;
        if next < self.cfg.duration {
            self.engine.schedule_at(next, Event::PeerLookup(peer));
        }
    }

    fn depart(&mut self, now: SimTime, peer: PeerIdx, kind: LeaveKind) {
        if !self.alive[peer.0 as usize] {
            return;
        }
        if kind == LeaveKind::Leave {
            self.peers[peer.0 as usize].leave(&mut self.out);
            self.apply(now, peer);
            self.interval.leaves += 1;
        } else {
            self.interval.crashes += 1;
        }
        self.alive[peer.0 as usize] = false;
        let me = self.peers[peer.0 as usize].me();
        // Queries it held while joining die with it.
        for q in self.peers[peer.0 as usize].take_held() {
            let a = Answer { op: q.op, kind: q.kind, from: me, reply: Reply::Failed };
            self.note_answer(&a);
            self.finish_op(now, a);
        }
        let id = me.id;
        self.oracle.remove_alive(id);
        self.peer_records[peer.0 as usize].leave = Some((now, kind));
    }

    /// Keeps a network that churns at no fewer than r + 1 members, the least a successor list
    /// of length r can keep connected.
    fn can_lose_a_member(&self) -> bool {
        self.oracle.len() > self.params.successors + 1
    }

    fn churn_depart(&mut self, now: SimTime, peer: PeerIdx) {
        let ChurnModel::Sessions { arrivals, crash_fraction, .. } = self.cfg.churn.model else {
            return;
        };
        if !self.alive[peer.0 as usize] {
            return;
        }
        self.model_departure(now, peer, crash_fraction);
        if arrivals == Arrivals::Steady {
            self.churn_arrive_one(now);
        }
    }

    /// A churn model's departure of `peer`: a crash with probability `crash_fraction` (drawn
    /// whether or not it happens, so the churn stream never depends on the ring), skipped when
    /// the ring is down to r + 1 members.
    fn model_departure(&mut self, now: SimTime, peer: PeerIdx, crash_fraction: f64) {
        let crash = self.churn_rng.random::<f64>() < crash_fraction;
        if self.can_lose_a_member() {
            let kind = if crash { LeaveKind::Crash } else { LeaveKind::Leave };
            self.depart(now, peer, kind);
        } else {
            self.skipped_departures += 1;
        }
    }

    fn churn_arrive(&mut self, now: SimTime) {
        let rate_per_ms = match self.cfg.churn.model {
            ChurnModel::Sessions { arrivals: Arrivals::Poisson { rate_per_ms }, .. } => {
                self.churn_arrive_one(now);
                rate_per_ms
            }
            ChurnModel::Poisson { join_rate_per_ms, .. } => {
                self.churn_spawn(now);
                join_rate_per_ms
            }
            _ => return,
        };
        let at = now + poisson_gap(rate_per_ms, &mut self.churn_rng);
        if at < self.cfg.churn.stop {
            self.engine.schedule_at(at, Event::Arrive);
        }
    }

    /// A new peer with a fresh ID joins through a random member; its session is drawn.
    fn churn_arrive_one(&mut self, now: SimTime) {
        let ChurnModel::Sessions { session, .. } = self.cfg.churn.model else { return };
        let Some(peer) = self.churn_spawn(now) else { return };
        let at = now + session.sample(&mut self.churn_rng);
        if at < self.cfg.churn.stop {
            self.engine.schedule_at(at, Event::Depart(peer));
        }
    }

    /// A new peer with a fresh ID joins through a random member (none when the ring is empty).
    fn churn_spawn(&mut self, now: SimTime) -> Option<PeerIdx> {
        if self.oracle.is_empty() {
            return None;
        }
        let via = self.well_known_peer();
        let id = self.fresh_id();
        Some(self.spawn(now, id, via))
    }

    /// The Poisson model's departure: a uniformly chosen live peer leaves or crashes.
    fn poisson_depart(&mut self, now: SimTime) {
        let ChurnModel::Poisson { leave_rate_per_ms, crash_fraction, .. } = self.cfg.churn.model
        else {
            return;
        };
        if self.oracle.alive_count() > 0 {
            let (_, peer) = self.oracle.random_alive(&mut self.churn_rng);
            self.model_departure(now, peer, crash_fraction);
        }
        let at = now + poisson_gap(leave_rate_per_ms, &mut self.churn_rng);
        if at < self.cfg.churn.stop {
            self.engine.schedule_at(at, Event::PoissonDepart);
        }
    }

    /// Crashes the scenario's fraction of the physical peers that have members on the ring,
    /// chosen uniformly from the churn stream, all at this instant; at least one survives.
    fn mass_failure(&mut self, now: SimTime) {
        let Some(m) = self.cfg.churn.mass_failure else { return };
        let mut live_hosts: Vec<u32> =
            self.oracle.members().map(|(_, idx)| self.hosts[idx.0 as usize]).collect();
        live_hosts.sort_unstable();
        live_hosts.dedup();
        let n = live_hosts.len();
        let k = ((m.fraction * n as f64).round() as usize).min(n.saturating_sub(1));
        for i in 0..k {
            let j = self.churn_rng.random_range(i as u64..n as u64) as usize;
            live_hosts.swap(i, j);
        }
        let doomed: BTreeSet<u32> = live_hosts[..k].iter().copied().collect();
        for i in 0..self.peers.len() {
            if self.alive[i] && doomed.contains(&self.hosts[i]) {
                self.depart(now, PeerIdx(i as u32), LeaveKind::Crash);
            }
        }
    }

    /// The well-known peer a churn joiner contacts: a live peer drawn uniformly from the churn
    /// stream (a draw that does not depend on routing); if that one is still joining, the first
    /// member clockwise from it.
    fn well_known_peer(&mut self) -> PeerIdx {
        let (id, idx) = self.oracle.random_alive(&mut self.churn_rng);
        if self.oracle.find(id).is_some() { idx } else { self.oracle.owner(id).1 }
    }

    /// An ID no live peer has, from the IDs stream.
    fn fresh_id(&mut self) -> RingId {
        assert!(
            (self.oracle.alive_count() as u128) < self.cfg.space.size(),
            "the ID space is full"
        );
        loop {
            let id = self.cfg.space.wrap(self.id_rng.random::<u64>());
            if !self.oracle.is_alive_id(id) {
                return id;
            }
        }
    }

    fn trace(&mut self, now: SimTime, i: usize) {
        let ChurnModel::Trace(events) = &self.cfg.churn.model else { return };
        let ev = events[i];
        match ev.kind {
            TraceKind::Join => {
                if self.oracle.is_alive_id(ev.peer) || self.oracle.is_empty() {
                    self.warnings.push(format!(
                        "{now}: trace join of {} skipped (ID in use or empty ring)",
                        ev.peer
                    ));
                    return;
                }
                let via = self.well_known_peer();
                self.spawn(now, ev.peer, via);
            }
            TraceKind::Leave | TraceKind::Crash => {
                let kind = if ev.kind == TraceKind::Leave {
                    Action::Leave { peer: ev.peer }
                } else {
                    Action::Crash { peer: ev.peer }
                };
                self.scripted(now, kind);
            }
        }
    }

    // ----- sampling -----

    /// The overlay now: members with their pointers to other live members.
    pub fn snapshot(&self, now: SimTime) -> crate::metrics::Snapshot {
        let live = |idx: PeerIdx| self.alive[idx.0 as usize];
        let mut members = Vec::with_capacity(self.oracle.len());
        let mut edges = Vec::new();
        for (id, idx) in self.oracle.members() {
            let p = &self.peers[idx.0 as usize];
            members.push((id, p.pred().filter(|q| live(q.idx)).map(|q| q.id)));
            for (i, s) in p.successors().iter().enumerate().filter(|(_, s)| live(s.idx)) {
                edges.push((id, s.id, if i == 0 { "succ" } else { "list" }));
            }
            for f in p.fingers().iter().filter(|f| live(f.idx)) {
                edges.push((id, f.id, "finger"));
            }
        }
        crate::metrics::Snapshot { t: now, members, edges }
    }

    fn sample(&mut self, now: SimTime) {
        let health = self.health();
        let iv = std::mem::take(&mut self.interval);
        let violations = health.violations();
        self.samples.push(Sample {
            t: now,
            joins: iv.joins,
            leaves: iv.leaves,
            crashes: iv.crashes,
            lookups: iv.lookups,
            hops_sum: iv.hops_sum,
            answered: iv.answered,
            ok: iv.ok,
            failed: iv.failed,
            timeouts: iv.timeouts,
            health,
        });
        if self.cfg.stop_on_violation && !violations.is_empty() {
            let trace: Vec<String> = self.recent.iter().cloned().collect();
            self.stopped = Some(format!(
                "ring property failed at {now}: {}\nlast {} events:\n  {}",
                violations.join(", "),
                trace.len(),
                trace.join("\n  ")
            ));
            return;
        }
        if let Some(dt) = self.cfg.sample
            && (now < self.cfg.duration || self.in_flight > 0)
        {
            self.engine.schedule_in(dt, Event::Sample);
        }
    }

    /// The measurements of a finished run.
    fn finish(mut self) -> RunResult {
        if self.skipped_departures > 0 {
            self.warnings.push(format!(
                "{} churn departures were skipped to keep at least r + 1 = {} members \
                 (joins kept failing: the ring was broken)",
                self.skipped_departures,
                self.params.successors + 1
            ));
        }
        if self.lookups_not_made > 0 {
            self.warnings.push(format!(
                "{} of the workload's {} lookups were not made: no peer was live when they were due",
                self.lookups_not_made,
                self.workload.lookups()
            ));
        }
        let failed_joins =
            self.peer_records.iter().filter(|p| p.join.is_none() && p.leave.is_none()).count();
        if failed_joins > 0 {
            self.warnings.push(format!(
                "{failed_joins} peers never completed their join (it failed, or was still under way when the run ended)"
            ));
        }
        self.measure_load();
        debug_assert!(self.stopped.is_some() || self.in_flight == 0, "every operation ends");
        // In start order, numbered among those that ended (all of them unless the run stopped).
        let mut lookups = std::mem::take(&mut self.records);
        lookups.sort_unstable_by_key(|l| l.lookup);
        for (i, l) in lookups.iter_mut().enumerate() {
            l.lookup = i as u64;
        }
        RunResult {
            seed: self.seed,
            initial_peers: self.cfg.population.len(),
            lookups,
            lookup_stats: std::mem::take(&mut self.stats),
            peers: self.peer_records,
            messages: self.messages,
            events: self.engine.events_processed(),
            end: self.engine.now(),
            samples: self.samples,
            stopped: self.stopped,
            snapshots: self.snapshots,
            warnings: self.warnings,
            load: self.load,
        }
    }

    /// Counts, when anything was stored, the entries each member holds for its true range
    /// (pred, me] and sums them per physical peer.
    fn measure_load(&mut self) {
        if self.oracle.stored_keys().next().is_none() || self.oracle.is_empty() {
            return;
        }
        let (ids, idxs): (Vec<RingId>, Vec<PeerIdx>) = self.oracle.members().unzip();
        let mut per_host: std::collections::BTreeMap<u32, u64> = Default::default();
        for (i, (&id, &idx)) in ids.iter().zip(&idxs).enumerate() {
            let pred = ids[(i + ids.len() - 1) % ids.len()];
            let idx = idx.0 as usize;
            let keys = self.peers[idx].entries_in(self.cfg.space, pred, id);
            self.peer_records[idx].keys = Some(keys);
            *per_host.entry(self.hosts[idx]).or_default() += keys;
        }
        self.load = per_host.into_values().map(|k| u32::try_from(k).unwrap_or(u32::MAX)).collect();
    }
}

/// One line about an event, for the trace printed when a property fails.
fn describe(event: &Event, peers: &[Peer]) -> String {
    let id = |i: PeerIdx| peers[i.0 as usize].me().id;
    match event {
        Event::Deliver { to, from, msg, .. } => {
            format!("{} -> {}: {}", from.id, id(*to), msg_name(msg))
        }
        Event::Undeliverable { sender, dead, msg } => {
            format!("{} gave up on {}: {}", id(*sender), dead.id, msg_name(msg))
        }
        Event::Timer { peer, timer } => format!("{} timer {timer:?}", id(*peer)),
        Event::WorkloadLookup(i) => format!("workload lookup {i}"),
        Event::PeerLookup(p) => format!("{} starts its periodic lookup", id(*p)),
        Event::Scripted(i) => format!("scripted event {i}"),
        Event::Depart(p) => format!("{} departs", id(*p)),
        Event::Arrive => "a peer arrives".to_string(),
        Event::PoissonDepart => "a random peer departs".to_string(),
        Event::MassFailure => "mass failure".to_string(),
        Event::Trace(i) => format!("trace event {i}"),
        Event::Sample => "sample".to_string(),
        Event::Snapshot => "snapshot".to_string(),
    }
}

fn msg_name(msg: &Message) -> String {
    match msg {
        Message::Query(q) => format!("query {:?} for key {}", q.kind, q.key),
        Message::Answer(a) => format!("answer {:?} for {:?}", a.reply, a.kind),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::churn::{ChurnConfig, MassFailure};
    use crate::config::ScriptedEvent;

    fn config(peers: u64, files: u64) -> Config {
        let mut cfg = Config::static_ring(peers, 0);
        cfg.duration = SimTime(1000);
        cfg.overlay.fingers = true;
        cfg.overlay.successors = 4;
        cfg.workload.files = files;
        cfg
    }

    /// `peers` peers with 24-bit IDs forming their ring by joins at time 0 (SimGrid's setup).
    fn flash_crowd(peers: u64, duration_ms: u64) -> Config {
        let mut cfg = config(peers, 0);
        cfg.space = IdSpace::new(24).unwrap();
        cfg.bootstrap = Bootstrap::Joins;
        cfg.duration = SimTime(duration_ms);
        maintained(&mut cfg);
        cfg
    }

    fn maintained(cfg: &mut Config) {
        cfg.overlay.maintenance = Some(crate::protocol::Maintenance {
            stabilize: SimDuration(20_000),
            fix_finger: SimDuration(120_000),
            check_predecessor: SimDuration(120_000),
        });
    }

    #[test]
    fn lookups_due_on_an_empty_ring_are_counted_in_a_warning() {
        // The reader refuses a script that empties the ring; the core still never drops a
        // lookup silently.
        let mut cfg = config(0, 0);
        cfg.population = Population::Explicit(vec![RingId(3), RingId(9)]);
        cfg.space = IdSpace::new(4).unwrap();
        cfg.workload.lookups = 10;
        cfg.events = [3, 9]
            .map(|id| ScriptedEvent { at: SimTime(1), action: Action::Crash { peer: RingId(id) } })
            .to_vec();
        let result = run(&cfg, 1);
        let st = &result.lookup_stats;
        let lookups = st.ok + st.not_found + st.wrong_owner + st.failed;
        let warned = result.warnings.iter().find(|w| w.contains("lookups were not made"));
        let said = warned.expect("a warning").split(' ').next().unwrap().parse::<u64>().unwrap();
        assert_eq!(lookups + said, 10, "{:?}", result.warnings);
        assert!(said > 0);
    }

    #[test]
    fn a_ring_formed_by_joins_at_time_zero_becomes_the_true_ring() {
        let cfg = flash_crowd(40, 600_000);
        let mut sim = Simulation::new(&cfg, 4);
        sim.run_until(SimTime(599_000));
        let h = sim.health();
        assert_eq!(h.members, 40, "every peer joined");
        assert_eq!((h.succ_correct, h.pred_correct, h.sccs), (1.0, 1.0, 1));
        let result = sim.run();
        let first = result.peers.iter().filter(|p| p.join == Some(SimTime::ZERO)).count();
        assert_eq!(first, 1, "only the first peer starts on the ring");
        assert!(
            result
                .peers
                .iter()
                .all(|p| p.join.is_some()
                    && p.join_hops.is_some() != (p.join == Some(SimTime::ZERO)))
        );
    }

    #[test]
    fn reactive_stabilization_builds_a_flash_crowd_ring_within_a_minute() {
        let mut cfg = flash_crowd(200, 120_000);
        for (reactive, correct) in [(false, 0.0..0.5), (true, 1.0..1.01)] {
            cfg.overlay.reactive_stabilization = reactive;
            let mut sim = Simulation::new(&cfg, 5);
            sim.run_until(SimTime(60_000));
            let h = sim.health();
            assert_eq!(h.members, 200);
            assert!(correct.contains(&h.succ_correct), "reactive {reactive}: {h:?}");
        }
    }

    #[test]
    fn a_joiner_looks_up_its_whole_finger_table_with_fingers_at_join() {
        let mut cfg = config(300, 0);
        cfg.duration = SimTime(30_000);
        maintained(&mut cfg);
        let base = run(&cfg, 1);
        let ids: Vec<RingId> = base.peers.iter().map(|p| p.id).collect();
        let newcomer = RingId(ids[100].0 + 1);
        cfg.population = Population::Explicit(ids);
        cfg.events = vec![ScriptedEvent {
            at: SimTime(1_000),
            action: Action::Join { peer: newcomer, via: base.peers[0].id },
        }];
        for at_join in [false, true] {
            cfg.overlay.fingers_at_join = at_join;
            let mut sim = Simulation::new(&cfg, 1);
            // The join and its finger lookups are done within seconds; the first periodic
            // repair comes after 120 s.
            sim.run_until(SimTime(10_000));
            let all = sim.oracle().ids();
            let me = all.binary_search(&newcomer).unwrap();
            let want: Vec<RingId> = crate::ring::finger_indices(cfg.space, &all, me)
                .into_iter()
                .map(|i| all[i])
                .filter(|&id| id != newcomer)
                .fold(Vec::new(), |mut v, id| {
                    if v.last() != Some(&id) {
                        v.push(id);
                    }
                    v
                });
            let got: Vec<RingId> =
                sim.peer_by_id(newcomer).unwrap().fingers().iter().map(|f| f.id).collect();
            if at_join {
                assert_eq!(got, want);
            } else {
                assert!(got.is_empty(), "{got:?}");
            }
        }
    }

    #[test]
    fn a_join_through_a_peer_still_joining_waits_for_it() {
        let mut cfg = config(1, 0);
        cfg.population = Population::Explicit(vec![RingId(100)]);
        cfg.duration = SimTime(100_000);
        maintained(&mut cfg);
        let join = |at, peer, via| ScriptedEvent {
            at: SimTime(at),
            action: Action::Join { peer: RingId(peer), via: RingId(via) },
        };
        let lookup = |at, key| ScriptedEvent {
            at: SimTime(at),
            action: Action::Lookup { from: RingId(100), key: RingId(key) },
        };
        // 300 joins through 200 before 200's own join has been answered.
        cfg.events = vec![join(0, 200, 100), join(10, 300, 200), lookup(90_000, 150)];
        cfg.events.push(lookup(90_000, 250));
        let result = run(&cfg, 1);
        assert!(result.peers.iter().all(|p| p.join.is_some()), "{:?}", result.peers);
        // The lone first peer learned its successor from its predecessor.
        let outcomes: Vec<_> = result.lookups.iter().map(|l| (l.owner, l.outcome)).collect();
        assert_eq!(
            outcomes,
            vec![(Some(RingId(200)), Outcome::Ok), (Some(RingId(300)), Outcome::Ok)]
        );
    }

    #[test]
    fn per_peer_lookups_come_once_per_interval_from_every_member() {
        let mut cfg = config(20, 0);
        cfg.duration = SimTime(100_000);
        cfg.workload.per_peer_interval = Some(SimDuration(10_000));
        let result = run(&cfg, 2);
        assert_eq!(result.lookups.len(), 200);
        for p in &result.peers {
            let starts: Vec<u64> = result
                .lookups
                .iter()
                .filter(|l| l.origin == p.id)
                .map(|l| l.start.as_ms())
                .collect();
            assert_eq!(starts.len(), 10, "peer {}", p.id);
            assert!(starts[0] < 10_000 && starts.windows(2).all(|w| w[1] - w[0] == 10_000));
        }
    }

    #[test]
    fn own_finger_lookups_ask_for_a_true_finger_of_their_origin() {
        let mut cfg = config(20, 0);
        cfg.duration = SimTime(100_000);
        cfg.workload.per_peer_interval = Some(SimDuration(10_000));
        cfg.workload.keys = crate::config::KeyDist::OwnFingers;
        let result = run(&cfg, 2);
        let space = cfg.space;
        let mut ids: Vec<RingId> = result.peers.iter().map(|p| p.id).collect();
        ids.sort();
        let successor = |k: RingId| *ids.iter().find(|&&id| id >= k).unwrap_or(&ids[0]);
        // On an exact table a finger is the origin itself only when half the ring is empty.
        assert_eq!(result.lookups.len(), 200);
        for l in &result.lookups {
            let fingers: Vec<RingId> = (0..space.bits())
                .map(|i| successor(space.add(l.origin, 1 << i)))
                .filter(|&f| f != l.origin)
                .collect();
            assert!(fingers.contains(&l.key), "{l:?} asks for no finger of its origin");
            assert_eq!((l.outcome, l.true_owner), (Outcome::Ok, l.key));
        }
    }

    #[test]
    fn own_finger_draws_start_no_lookup_until_the_finger_is_set() {
        // A ring formed by joins, before the first finger repair (at 120 s): only finger 0, the
        // successor, is set, so about 1 draw in 24 starts a lookup.
        let mut cfg = flash_crowd(40, 100_000);
        cfg.workload.per_peer_interval = Some(SimDuration(10_000));
        cfg.workload.keys = crate::config::KeyDist::OwnFingers;
        let result = run(&cfg, 3);
        let n = result.lookups.len();
        assert!((4..50).contains(&n), "{n} lookups from about 400 draws");
    }

    #[test]
    fn statistics_are_the_same_with_or_without_lookup_records() {
        let mut cfg = config(200, 300);
        cfg.duration = SimTime(600_000);
        cfg.workload.lookups = 3000;
        cfg.workload.keys = crate::config::KeyDist::Stored;
        maintained(&mut cfg);
        cfg.churn = ChurnConfig {
            model: ChurnModel::Poisson {
                join_rate_per_ms: 0.2 / 1000.0,
                leave_rate_per_ms: 0.2 / 1000.0,
                crash_fraction: 0.5,
            },
            start: SimTime::ZERO,
            stop: cfg.duration,
            mass_failure: None,
        };
        let kept = run(&cfg, 9);
        cfg.record_lookups = false;
        let streamed = run(&cfg, 9);
        assert!(streamed.lookups.is_empty());
        assert_eq!(kept.lookup_stats, streamed.lookup_stats);
        assert_eq!(crate::metrics::Summary::of(&kept), crate::metrics::Summary::of(&streamed));
        // And the streamed statistics are those of the records.
        let mut hist = std::collections::BTreeMap::<u32, u64>::new();
        for l in kept.lookups.iter().filter(|l| l.outcome != Outcome::Failed) {
            *hist.entry(l.hops).or_default() += 1;
        }
        assert_eq!(kept.lookup_stats.hop_histogram(), hist.into_iter().collect::<Vec<_>>());
        let timeouts: u64 = kept.lookups.iter().map(|l| l.timeouts as u64).sum();
        assert_eq!(kept.lookup_stats.timeouts_sum(), timeouts);
        assert!(timeouts > 0 && kept.lookup_stats.failed + kept.lookup_stats.wrong_owner > 0);
        assert_eq!(kept.lookups.len() as u64, kept.lookup_stats.count());
        assert!(kept.lookups.iter().enumerate().all(|(i, l)| l.lookup == i as u64));
    }

    #[test]
    fn virtual_nodes_give_every_peer_v_nodes_and_sum_their_load() {
        let mut cfg = config(50, 2000);
        cfg.overlay.virtual_nodes = 4;
        let result = run(&cfg, 3);
        assert_eq!(result.peers.len(), 200);
        let mut per_host = [0u32; 50];
        for p in &result.peers {
            per_host[p.host as usize] += 1;
        }
        assert!(per_host.iter().all(|&n| n == 4));
        assert_eq!(result.load.len(), 50);
        assert_eq!(result.load.iter().map(|&k| k as u64).sum::<u64>(), 2000);
        let by_node: u64 = result.peers.iter().map(|p| p.keys.expect("member")).sum();
        assert_eq!(by_node, 2000);
        // The shuffle mixes hosts: neighbours on the ring are not all the same peer's nodes.
        assert!(result.peers.windows(2).filter(|w| w[0].host == w[1].host).count() < 20);
    }

    #[test]
    fn a_mass_failure_crashes_the_rounded_share_and_spares_one() {
        for (fraction, want) in [(0.0, 0), (0.333, 33), (0.995, 99)] {
            let mut cfg = config(100, 0);
            cfg.churn.mass_failure = Some(MassFailure { at: SimTime(10), fraction });
            let result = run(&cfg, 1);
            let crashed: Vec<_> = result.peers.iter().filter_map(|p| p.leave).collect();
            assert_eq!(crashed.len(), want, "fraction {fraction}");
            assert!(crashed.iter().all(|&(t, k)| t == SimTime(10) && k == LeaveKind::Crash));
        }
    }

    #[test]
    fn poisson_churn_joins_and_departs_at_its_rate() {
        let mut cfg = config(200, 0);
        cfg.duration = SimTime(2_000_000);
        cfg.overlay.maintenance = Some(crate::protocol::Maintenance {
            stabilize: SimDuration(30_000),
            fix_finger: SimDuration(30_000),
            check_predecessor: SimDuration(30_000),
        });
        cfg.churn = ChurnConfig {
            model: ChurnModel::Poisson {
                join_rate_per_ms: 0.5 / 1000.0,
                leave_rate_per_ms: 0.5 / 1000.0,
                crash_fraction: 0.5,
            },
            start: SimTime::ZERO,
            stop: cfg.duration,
            mass_failure: None,
        };
        let result = run(&cfg, 5);
        let joined = result.peers.len() - 200;
        let departed = result.peers.iter().filter(|p| p.leave.is_some()).count();
        let crashes =
            result.peers.iter().filter(|p| p.leave.is_some_and(|l| l.1 == LeaveKind::Crash));
        // 1,000 expected of each (Poisson, sd about 32).
        assert!((900..1100).contains(&joined), "{joined} joins");
        assert!((900..1100).contains(&departed), "{departed} departures");
        let crashes = crashes.count() as f64 / departed as f64;
        assert!((crashes - 0.5).abs() < 0.06, "{crashes} of departures crashed");
    }
}

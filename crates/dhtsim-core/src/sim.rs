//! One simulation run: bootstrap, the event loop, and the measurements it takes.
//!
//! This is where the pieces meet. The engine orders events; peers (`protocol.rs`) decide what to
//! send; the network decides when it arrives; the workload decides what is asked; the oracle
//! says what the right answer was. The simulation owns the closed set of event kinds and applies
//! the commands peers emit, recording hops, paths and outcomes as messages pass: measurement
//! happens here, beside the protocol, never inside it.

use crate::config::{Action, Config, Population};
use crate::engine::Engine;
use crate::metrics::{LookupRecord, Outcome, PeerRecord, RunResult};
use crate::network::Network;
use crate::oracle::Oracle;
use crate::protocol::{
    Answer, Command, Message, Op, OpId, Params, Peer, PeerIdx, PeerRef, Query, Reply,
};
use crate::ring::{IdSpace, RingId};
use crate::rng::{Purpose, Rng, stream};
use crate::time::SimTime;
use crate::workload::Workload;
use rand::RngExt;

/// Every kind of event a run processes.
#[derive(Debug)]
enum Event {
    /// A message arrives at peer `to`.
    Deliver { to: PeerIdx, msg: Message },
    /// The workload starts its lookup number `i`.
    WorkloadLookup(u64),
    /// Scripted event number `i` of the scenario happens.
    Scripted(usize),
}

/// What the simulation remembers about an operation while it is in flight.
#[derive(Debug)]
struct OpState {
    is_lookup: bool,
    start: SimTime,
    origin: RingId,
    key: RingId,
    hops: u32,
    path: Vec<RingId>,
    /// Set when an answer is sent: (who answered as owner, the true owner then, was the key
    /// stored then).
    answered_by: Option<(Option<RingId>, RingId, bool)>,
    end: Option<(SimTime, Outcome, Vec<RingId>)>,
}

/// A run in progress.
pub struct Simulation<'c> {
    cfg: &'c Config,
    seed: u64,
    params: Params,
    engine: Engine<Event>,
    peers: Vec<Peer>,
    peer_records: Vec<PeerRecord>,
    oracle: Oracle,
    network: Network,
    workload: Workload,
    ops: Vec<OpState>,
    in_flight: u64,
    messages: u64,
    out: Vec<Command>,
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

impl<'c> Simulation<'c> {
    /// Bootstraps the network of `cfg` for the run seeded with `seed`: draws the peer IDs, links
    /// every peer to its true predecessor and successor, publishes the workload's files, and
    /// schedules the scripted events and the first generated lookup.
    pub fn new(cfg: &'c Config, seed: u64) -> Self {
        let space = cfg.space;
        let ids = match &cfg.population {
            Population::Random(n) => draw_ids(space, *n, &mut stream(seed, Purpose::PeerIds)),
            Population::Explicit(ids) => {
                let mut ids = ids.clone();
                ids.sort_unstable();
                ids
            }
        };
        assert!(!ids.is_empty(), "a validated config has at least one peer");
        let n = ids.len();
        let at = |i: usize| PeerRef { idx: PeerIdx(i as u32), id: ids[i] };
        let r = (cfg.overlay.successors as usize).clamp(1, n.saturating_sub(1).max(1));
        let mut peers: Vec<Peer> = (0..n)
            .map(|i| {
                let succs = (1..=r).map(|k| at((i + k) % n)).collect();
                Peer::new(at(i), at((i + n - 1) % n), succs)
            })
            .collect();
        if cfg.overlay.fingers {
            for (i, peer) in peers.iter_mut().enumerate() {
                let fingers = (0..space.bits()).map(|b| {
                    let target = space.add(ids[i], 1u64 << b);
                    at(crate::ring::successor_index(&ids, target))
                });
                peer.set_fingers(space, fingers);
            }
        }
        let peer_records =
            ids.iter().map(|&id| PeerRecord { id, join: SimTime::ZERO, leave: None }).collect();
        let oracle =
            Oracle::new(ids.iter().enumerate().map(|(i, &id)| (id, PeerIdx(i as u32))).collect());
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
                route_via_successors: cfg.overlay.route_via_successors,
            },
            engine: Engine::new(),
            peers,
            peer_records,
            oracle,
            network: Network::new(cfg.network.latency, stream(seed, Purpose::Network)),
            workload,
            ops: Vec::new(),
            in_flight: 0,
            messages: 0,
            out: Vec::new(),
        };
        for (key, holder) in sim.workload.file_holders(&sim.oracle) {
            let (_, owner) = sim.oracle.owner(key);
            sim.peers[owner.0 as usize].store(key, holder);
            sim.oracle.note_stored(key);
        }
        for (i, ev) in cfg.events.iter().enumerate() {
            sim.engine.schedule_at(ev.at, Event::Scripted(i));
        }
        if sim.workload.lookups() > 0 {
            sim.engine.schedule_at(sim.workload.start_time(0), Event::WorkloadLookup(0));
        }
        sim
    }

    /// Runs until nothing is left to do: every scripted and generated operation has started and
    /// every one of them has been answered.
    pub fn run(mut self) -> RunResult {
        while self.step() {}
        self.finish()
    }

    /// Processes one event; `false` when the run is over.
    pub fn step(&mut self) -> bool {
        match self.engine.peek_time() {
            None => return false,
            Some(t) if t >= self.cfg.duration && self.in_flight == 0 => return false,
            Some(_) => {}
        }
        let (now, event) = self.engine.pop().expect("peeked");
        match event {
            Event::Deliver { to, msg } => self.deliver(now, to, msg),
            Event::WorkloadLookup(i) => {
                let start = self.workload.next_lookup(&self.oracle);
                self.start_op(now, start.origin, start.key, Op::Lookup);
                if i + 1 < self.workload.lookups() {
                    let next = self.workload.start_time(i + 1);
                    self.engine.schedule_at(next, Event::WorkloadLookup(i + 1));
                }
            }
            Event::Scripted(i) => {
                let (from, key, kind) = match self.cfg.events[i].action {
                    Action::Lookup { from, key } => (from, key, Op::Lookup),
                    Action::Store { from, key } => (from, key, Op::Store { holder: from }),
                };
                let origin = self.oracle.find(from).expect("validated: scripted peer exists");
                self.start_op(now, origin, key, kind);
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

    fn start_op(&mut self, now: SimTime, origin: PeerIdx, key: RingId, kind: Op) {
        let op = OpId(u32::try_from(self.ops.len()).expect("more than 2^32 operations in one run"));
        let querier = self.peers[origin.0 as usize].me();
        let path = if self.cfg.record_paths { vec![querier.id] } else { Vec::new() };
        self.ops.push(OpState {
            is_lookup: kind == Op::Lookup,
            start: now,
            origin: querier.id,
            key,
            hops: 0,
            path,
            answered_by: None,
            end: None,
        });
        self.in_flight += 1;
        let q = Query { op, kind, key, querier, hops: 0, expect_owner: false, jumped: false };
        self.peers[origin.0 as usize].handle_query(&self.params, q, &mut self.out);
        self.apply(origin);
    }

    fn deliver(&mut self, now: SimTime, to: PeerIdx, msg: Message) {
        match msg {
            Message::Query(q) => {
                self.peers[to.0 as usize].handle_query(&self.params, q, &mut self.out);
                self.apply(to);
            }
            Message::Answer(a) => {
                self.peers[to.0 as usize].handle_answer(&self.params, &a, &mut self.out);
                self.apply(to);
                self.finish_op(now, a);
            }
        }
    }

    /// Carries out the commands peer `from` just emitted, measuring as they pass.
    fn apply(&mut self, from: PeerIdx) {
        let mut out = std::mem::take(&mut self.out);
        for cmd in out.drain(..) {
            let Command::Send { to, msg } = cmd;
            match &msg {
                Message::Query(q) => {
                    let op = &mut self.ops[q.op.0 as usize];
                    op.hops += 1;
                    debug_assert_eq!(op.hops, q.hops);
                    if self.cfg.record_paths {
                        op.path.push(self.peers[to.0 as usize].me().id);
                    }
                }
                Message::Answer(a) => {
                    let op = &mut self.ops[a.op.0 as usize];
                    let (true_owner, _) = self.oracle.owner(op.key);
                    let owner = match a.reply {
                        Reply::HopLimit => None,
                        Reply::Owner { .. } | Reply::Stored => Some(a.from.id),
                    };
                    op.answered_by = Some((owner, true_owner, self.oracle.is_stored(op.key)));
                    if a.reply == Reply::Stored {
                        self.oracle.note_stored(op.key);
                    }
                }
            }
            if from != to {
                self.messages += 1;
            }
            let delay = self.network.delay(from, to);
            self.engine.schedule_in(delay, Event::Deliver { to, msg });
        }
        self.out = out;
    }

    fn finish_op(&mut self, now: SimTime, a: Answer) {
        let op = &mut self.ops[a.op.0 as usize];
        let (owner, true_owner, was_stored) = op.answered_by.expect("answered before delivered");
        let (outcome, values) = match a.reply {
            Reply::HopLimit => (Outcome::Failed, Vec::new()),
            Reply::Stored => (Outcome::Ok, Vec::new()),
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
        op.end = Some((now, outcome, values));
        self.in_flight -= 1;
    }

    /// The measurements of a finished run.
    fn finish(self) -> RunResult {
        let lookups = self
            .ops
            .into_iter()
            .filter(|op| op.is_lookup)
            .enumerate()
            .map(|(i, op)| {
                let (owner, true_owner, _) = op.answered_by.expect("every lookup ends");
                let (end, outcome, values) = op.end.expect("every lookup ends");
                LookupRecord {
                    lookup: i as u64,
                    start: op.start,
                    origin: op.origin,
                    key: op.key,
                    owner,
                    true_owner,
                    hops: op.hops,
                    timeouts: 0,
                    latency: end - op.start,
                    outcome,
                    values,
                    path: op.path,
                }
            })
            .collect();
        RunResult {
            seed: self.seed,
            initial_peers: self.cfg.population.len(),
            lookups,
            peers: self.peer_records,
            messages: self.messages,
            events: self.engine.events_processed(),
            end: self.engine.now(),
        }
    }
}

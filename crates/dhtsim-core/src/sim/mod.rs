//! One simulation run: the event loop that drives a protocol's peers, and what it measures.
//!
//! This is where the pieces meet. The engine orders events; peers (any [`Protocol`]) decide what
//! to send; the network decides when it arrives; the workload and churn models decide what
//! happens; the oracle says what the right answer was. The loop owns the closed set of event
//! kinds and applies the commands peers emit. Around it:
//!
//! - `bootstrap`: the IDs, the network at time zero, the files placed, the first events;
//! - `membership`: spawning, joining and departing peers, the churn drivers, scripted events
//!   and traces;
//! - `recorder`: everything measured, fed by the protocol's reports and the membership
//!   changes. Measurement never looks inside a message.
//!
//! A message to a peer that has departed is lost; its sender learns it as *undeliverable* one
//! RPC timeout after sending (the missing ack), which is how peers detect failures. A message
//! the network drops (`network.loss`) looks the same to its sender; a dropped reply is noticed
//! instead by the peer that awaited it, one RPC timeout after it was sent.

mod bootstrap;
mod embed;
pub mod explore;
mod membership;
mod peers;
mod recorder;
#[cfg(test)]
mod tests;

pub(crate) use bootstrap::builds_on_touch;
pub use bootstrap::{check_seed, draw_ids};
pub(crate) use embed::Notice;
pub(crate) use recorder::{OP_BYTES, OWNER_ANSWER_BYTES};

use crate::check::Health;
use crate::chord::Peer;
use crate::config::{Config, ConfigError, ProtocolKind};
use crate::engine::Engine;
use crate::kademlia::Node;
use crate::metrics::{RunResult, Snapshot};
use crate::network::Network;
use crate::oracle::Oracle;
use crate::protocol::{Command, CommandOf, PeerIdx, PeerRef, Protocol, Report, Request, Wire};
use crate::ring::RingId;
use crate::rng::Rng;
use crate::time::{SimDuration, SimTime};
use crate::workload::{Target, Workload};
use peers::PeerTable;
use rand::RngExt;
use recorder::{OpKind, Recorder};
use std::collections::VecDeque;

/// Every kind of event a run processes.
#[derive(Debug)]
enum Event<P: Protocol> {
    /// A message from `from`, sent at `sent`, arrives at peer `to`; its sender would send it
    /// `retries` more times (`overlay.rpc_attempts`) if `to` did not answer.
    Deliver { to: PeerIdx, from: PeerRef, sent: SimTime, retries: u8, msg: P::Message },
    /// A message `sender` sent to `dead` was not acknowledged within the RPC timeout.
    Undeliverable { sender: PeerIdx, dead: PeerRef, msg: P::Message },
    /// The network dropped reply `msg` from `replier` to `waiter`: the RPC timeout of the
    /// request it answered has expired.
    ReplyLost { waiter: PeerIdx, replier: PeerRef, msg: P::Message },
    /// A peer's periodic timer fires.
    Timer { peer: PeerIdx, timer: P::Timer },
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
pub(crate) const EVENT_BYTES: usize = std::mem::size_of::<Option<Event<Peer>>>() + 24;

/// How many recent events a run keeps to explain a stop on a failed property.
const TRACE_LEN: usize = 32;

/// A run in progress, of protocol `P` (Chord unless said otherwise).
pub struct Simulation<'c, P: Protocol = Peer> {
    cfg: &'c Config,
    seed: u64,
    params: P::Params,
    engine: Engine<Event<P>>,
    peers: PeerTable<P>,
    alive: Vec<bool>,
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
    out: Vec<CommandOf<P>>,
    recorder: Recorder,
    recent: VecDeque<String>,
    /// Whether the run keeps the recent events, to explain a failed property
    /// (`stop_on_violation` or `check_every_event`).
    tracing: bool,
    /// Properties found failing by the every-event check (each reported once).
    violated: Vec<&'static str>,
    stopped: Option<String>,
    warnings: Vec<String>,
    snapshots: Vec<Snapshot>,
    /// Churn departures skipped to keep r + 1 members.
    skipped_departures: u64,
    /// Workload lookups that found no live peer to start from (said in a warning, never silent).
    lookups_not_made: u64,
    /// Driven by another model (the swarm), which is told of joins, departures and the ends of
    /// the operations it started (`embed`).
    embedded: bool,
    notices: Vec<Notice>,
}

/// Runs `cfg` with `seed` to the end and returns what it measured, or the rule of
/// [`Config::validate`] that `cfg` breaks.
pub fn run(cfg: &Config, seed: u64) -> Result<RunResult, ConfigError> {
    if cfg.swarm.is_some() {
        return run_swarm(cfg, seed);
    }
    Ok(match cfg.overlay.protocol {
        ProtocolKind::Chord => Simulation::<Peer>::new(cfg, seed)?.run(),
        ProtocolKind::Kademlia => Simulation::<Node>::new(cfg, seed)?.run(),
    })
}

/// [`run`], calling `progress(now, events)` every `every` events (see
/// [`Simulation::run_with_progress`]).
///
/// Not generic on purpose: the simulation loop is then compiled inside this crate, where the
/// small functions it calls at every event (time arithmetic, the recorder, the network) are
/// inlined. A caller in another crate that drove `Simulation<P>` itself would get its own copy
/// of the loop with those calls left out of line (one of three causes of 6.6 % more
/// instructions on a successor ring, docs/performance.md).
pub fn run_with_progress(
    cfg: &Config,
    seed: u64,
    every: u64,
    progress: &mut dyn FnMut(SimTime, u64),
) -> Result<RunResult, ConfigError> {
    if cfg.swarm.is_some() {
        let r = run_swarm(cfg, seed)?;
        progress(r.end, r.events + r.swarm.as_ref().map_or(0, |s| s.events));
        return Ok(r);
    }
    Ok(match cfg.overlay.protocol {
        ProtocolKind::Chord => {
            Simulation::<Peer>::new(cfg, seed)?.run_with_progress(every, progress)
        }
        ProtocolKind::Kademlia => {
            Simulation::<Node>::new(cfg, seed)?.run_with_progress(every, progress)
        }
    })
}

/// A swarm scenario: the swarm beside its overlay.
fn run_swarm(cfg: &Config, seed: u64) -> Result<RunResult, ConfigError> {
    use crate::swarm::run::run_with_overlay;
    match cfg.overlay.protocol {
        ProtocolKind::Chord => run_with_overlay::<Peer>(cfg, seed),
        ProtocolKind::Kademlia => run_with_overlay::<Node>(cfg, seed),
    }
}

impl<'c, P: Protocol> Simulation<'c, P> {
    /// Runs until nothing is left to do: the measured window is over and every operation
    /// started in it has ended (or a checked property failed, with `stop_on_violation`).
    pub fn run(mut self) -> RunResult {
        if self.cfg.schedule.is_empty() {
            while self.step() {}
        } else {
            self.run_schedule();
        }
        self.finish()
    }

    /// Runs to the end like [`Simulation::run`], calling `progress(now, events)` every `every`
    /// events (for a progress display; it cannot influence the run).
    pub fn run_with_progress(
        mut self,
        every: u64,
        mut progress: impl FnMut(SimTime, u64),
    ) -> RunResult {
        if !self.cfg.schedule.is_empty() {
            self.run_schedule();
            progress(self.engine.now(), self.engine.events_processed());
            return self.finish();
        }
        let every = every.max(1);
        let (mut n, mut next) = (0u64, every);
        while self.step() {
            n += 1;
            // A comparison, not `n % every`: a division on every event costs more than the event's
            // own bookkeeping when `every` is not known at compile time.
            if n == next {
                progress(self.engine.now(), n);
                next += every;
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
        match self.engine.peek_time() {
            Some(t) if t >= self.cfg.duration && self.recorder.in_flight() == 0 => false,
            _ => self.process(),
        }
    }

    /// Processes the next event, whenever it is; `false` when there is none or the run stopped.
    fn process(&mut self) -> bool {
        if self.stopped.is_some() {
            return false;
        }
        let Some((now, event)) = self.engine.pop() else { return false };
        // A pipeline of hints, while this event is handled: the state of the peer the event
        // after next goes to (and whether it is alive), and what the next event's peer (whose
        // state was asked for while the previous event was handled) keeps on the heap.
        let (next, after) = self.engine.next_two_now();
        if let Some((after, _)) = after.and_then(peer_of) {
            self.peers.prefetch(after);
            if let Some(alive) = self.alive.get(after.0 as usize) {
                crate::engine::prefetch(alive);
            }
        }
        if let Some((next, delivered)) = next.and_then(peer_of) {
            self.peers.prefetch_state(next, delivered);
        }
        self.handle(now, event);
        true
    }

    /// Does what `event` does at `now`, and checks the ring after it when asked to.
    fn handle(&mut self, now: SimTime, event: Event<P>) {
        // One test per event when nothing is checked (the common case).
        let check_after = self.tracing && {
            let line = describe(&event, &self.peers, self.cfg);
            self.note(now, line);
            self.cfg.check_every_event && !matches!(event, Event::Sample)
        };
        match event {
            Event::Deliver { to, from, sent, retries, msg } => {
                self.deliver(now, to, from, (sent, retries), msg)
            }
            Event::Undeliverable { sender, dead, msg } => {
                self.undeliverable(now, sender, dead, msg)
            }
            Event::ReplyLost { waiter, replier, msg } => self.reply_lost(now, waiter, replier, msg),
            Event::Timer { peer, timer } => {
                if self.alive[peer.0 as usize] {
                    self.peers.get_mut(&self.params, peer).handle_timer(
                        &self.params,
                        timer,
                        &mut self.out,
                    );
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
        if check_after {
            let violations = self.health().violations();
            self.on_violations(now, &violations);
        }
    }

    /// Adds a line to the recent events (when tracing): an event, or what it did to the
    /// membership.
    pub(super) fn note(&mut self, now: SimTime, line: String) {
        if !self.tracing {
            return;
        }
        if self.recent.len() == TRACE_LEN {
            self.recent.pop_front();
        }
        self.recent.push_back(format!("{now}: {line}"));
    }

    /// The properties that fail now: each one's first failure is reported in a warning with the
    /// events that led to it; with `stop_on_violation` the run stops.
    fn on_violations(&mut self, now: SimTime, violations: &[&'static str]) {
        if violations.is_empty() {
            return;
        }
        if self.cfg.stop_on_violation {
            let what = format!("ring property failed at {now}: {}", violations.join(", "));
            self.stopped = Some(self.explain(what));
            return;
        }
        let fresh: Vec<&'static str> =
            violations.iter().copied().filter(|v| !self.violated.contains(v)).collect();
        if !fresh.is_empty() {
            self.violated.extend(&fresh);
            let what = format!("ring property first failed at {now}: {}", fresh.join(", "));
            let explained = self.explain(what);
            self.warnings.push(explained);
        }
    }

    /// `what` failed, followed by the recent events that led to it.
    pub(super) fn explain(&self, what: String) -> String {
        let trace: Vec<&str> = self.recent.iter().map(String::as_str).collect();
        format!("{what}\nlast {} events:\n  {}", trace.len(), trace.join("\n  "))
    }

    /// The settings every peer shares.
    pub fn params(&self) -> &P::Params {
        &self.params
    }

    /// Virtual time of the last event processed.
    pub fn now(&self) -> SimTime {
        self.engine.now()
    }

    /// The ring as the oracle sees it.
    pub fn oracle(&self) -> &Oracle {
        &self.oracle
    }

    /// The protocol state of a peer (built now if the run had not needed it yet).
    pub fn peer(&mut self, idx: PeerIdx) -> &P {
        let p = self.peers.get_mut(&self.params, idx);
        p.own_state(&self.params);
        p
    }

    /// The protocol state of the live peer with ID `id` (member or joining).
    pub fn peer_by_id(&mut self, id: RingId) -> Option<&P> {
        let idx = self.live_peer_with(id)?;
        Some(self.peer(idx))
    }

    /// The live peer (member or joining) with ID `id`.
    pub(super) fn live_peer_with(&self, id: RingId) -> Option<PeerIdx> {
        (0..self.peers.len())
            .map(|i| PeerIdx(i as u32))
            .find(|&i| self.alive[i.0 as usize] && self.peers.me(i).id == id)
    }

    /// Mutable access to a peer's state, for tests that corrupt it on purpose.
    #[cfg(any(test, feature = "test-support"))]
    pub fn peer_mut(&mut self, idx: PeerIdx) -> &mut P {
        self.peers.get_mut(&self.params, idx)
    }

    /// Peer states the run has built (all of them unless it builds them on first touch).
    pub fn peers_built(&self) -> usize {
        self.peers.built_count()
    }

    /// Checks the overlay now.
    pub fn health(&mut self) -> Health {
        P::health(&self.params, self.peers.all(&self.params), &self.alive, &self.oracle)
    }

    /// The overlay now: members with their links to other live members.
    pub fn snapshot(&mut self, now: SimTime) -> Snapshot {
        let peers: &[P] = self.peers.all(&self.params);
        let live = |idx: PeerIdx| self.alive[idx.0 as usize];
        let mut members = Vec::with_capacity(self.oracle.len());
        let mut edges = Vec::new();
        for (id, idx) in self.oracle.members() {
            let p = &peers[idx.0 as usize];
            members.push((id, p.predecessor().filter(|q| live(q.idx)).map(|q| q.id)));
            p.links(&mut |to, kind| {
                if live(to.idx) {
                    edges.push((id, to.id, kind));
                }
            });
        }
        Snapshot { t: now, members, edges }
    }

    // ----- operations and messages -----

    /// Starts a lookup the workload generated. A finger target is resolved from the origin's own
    /// finger table; one that is the origin itself starts nothing, as in SimGrid's benchmark.
    pub(super) fn start_workload_lookup(&mut self, now: SimTime, origin: PeerIdx, target: Target) {
        let key = match target {
            Target::Key(key) => key,
            Target::Finger(index) => {
                let peer = self.peers.get_mut(&self.params, origin);
                match peer.own_finger(&self.params, index) {
                    Some(finger) if finger.idx != origin => finger.id,
                    _ => return,
                }
            }
        };
        self.start_op(now, origin, key, Request::Lookup);
    }

    /// Starts a measured lookup or store at `origin`.
    pub(super) fn start_op(
        &mut self,
        now: SimTime,
        origin: PeerIdx,
        key: RingId,
        request: Request,
    ) {
        self.start_op_tagged(now, origin, key, request, None);
    }

    /// Starts a measured lookup or store at `origin`, whose end is kept with `tag` if given.
    pub(super) fn start_op_tagged(
        &mut self,
        now: SimTime,
        origin: PeerIdx,
        key: RingId,
        request: Request,
        tag: Option<u32>,
    ) {
        let kind = match request {
            Request::Lookup | Request::Gather => OpKind::Lookup,
            Request::Store { .. } => OpKind::Store,
        };
        let peer = self.peers.get_mut(&self.params, origin);
        let op = self.recorder.started(now, (peer.me().id, origin), key, kind);
        if let Some(tag) = tag {
            self.recorder.tag(op, tag);
        }
        peer.start(&self.params, op, key, request, &mut self.out);
        self.apply(now, origin);
    }

    fn deliver(
        &mut self,
        now: SimTime,
        to: PeerIdx,
        from: PeerRef,
        (sent, retries): (SimTime, u8),
        msg: P::Message,
    ) {
        if !self.alive[to.0 as usize] {
            let receiver = self.peers.me(to);
            // Lost: the sender notices when the RPC timeout of its last attempt expires, each
            // attempt one more message.
            P::lost(&msg, &mut self.out);
            self.apply_reports(now, receiver.id);
            for _ in 0..retries {
                self.recorder.message_sent(P::wire(&msg));
            }
            let waited = self.cfg.overlay.rpc_timeout.as_ms() * (retries as u64 + 1);
            let at = (sent + SimDuration(waited)).max(now);
            self.engine
                .schedule_at(at, Event::Undeliverable { sender: from.idx, dead: receiver, msg });
            return;
        }
        self.peers.get_mut(&self.params, to).handle_message(&self.params, from, msg, &mut self.out);
        self.apply(now, to);
    }

    fn undeliverable(&mut self, now: SimTime, sender: PeerIdx, dead: PeerRef, msg: P::Message) {
        if self.alive[sender.0 as usize] {
            self.peers.get_mut(&self.params, sender).handle_undeliverable(
                &self.params,
                dead,
                msg,
                &mut self.out,
            );
            self.apply(now, sender);
        } else {
            P::lost_with_sender(&msg, &mut self.out);
            self.apply_reports(now, dead.id);
        }
    }

    /// A reply the network dropped: the peer that awaited it times out, unless it has departed
    /// meanwhile (then the reply is lost with it, as one sent to a departed peer).
    fn reply_lost(&mut self, now: SimTime, waiter: PeerIdx, replier: PeerRef, msg: P::Message) {
        if self.alive[waiter.0 as usize] {
            self.peers.get_mut(&self.params, waiter).handle_reply_lost(
                &self.params,
                replier,
                msg,
                &mut self.out,
            );
            self.apply(now, waiter);
        } else {
            P::lost(&msg, &mut self.out);
            self.apply_reports(now, self.peers.me(waiter).id);
        }
    }

    /// Carries out the commands peer `from` just emitted.
    pub(super) fn apply(&mut self, now: SimTime, from: PeerIdx) {
        let mut out = std::mem::take(&mut self.out);
        let sender = self.peers.me(from);
        for cmd in out.drain(..) {
            match cmd {
                Command::Send { to, msg } => {
                    let (mut sent, mut retries) = (now, self.retries());
                    if from != to.idx {
                        let wire = P::wire(&msg);
                        let blocked = !wire.reply
                            && self.network.has_unreachable()
                            && self.unsolicited_blocked(from, to.idx);
                        match self.transmit(now, wire, blocked, (from, to.idx)) {
                            Ok(attempt) => (sent, retries) = attempt,
                            Err(last) => {
                                self.drop_message(last, sender, to, wire.reply, msg);
                                continue;
                            }
                        }
                    }
                    let hosts = &self.hosts;
                    let delay = self.network.delay(from, to.idx, |p| hosts[p.0 as usize]);
                    let at = SimDuration(sent.since(now).as_ms() + delay.as_ms());
                    self.engine.schedule_in(
                        at,
                        Event::Deliver { to: to.idx, from: sender, sent, retries, msg },
                    );
                }
                Command::SetTimer { after, timer } => {
                    let after = timer_interval(&self.cfg.overlay, after, &mut self.timer_rng);
                    self.engine.schedule_in(after, Event::Timer { peer: from, timer });
                }
                Command::Joined => self.joined(now, from),
                Command::Report(report) => self.report(now, sender.id, Some(from), report),
            }
        }
        self.restore_out(out);
    }

    /// Sends a message of kind `wire` between two peers at `now`, again each time the network
    /// drops it, up to `overlay.rpc_attempts` times in all, one RPC timeout apart: the time of
    /// the attempt that gets through and the retries left after it, or, if every attempt was
    /// dropped, the time of the last. Each attempt is a message; without loss this is one
    /// message and no draw. A message `blocked` (unsolicited, to an unreachable host) is
    /// dropped on every attempt, with no draw. `peers` are the sender and the receiver.
    #[inline]
    fn transmit(
        &mut self,
        now: SimTime,
        wire: Wire,
        blocked: bool,
        (from, to): (PeerIdx, PeerIdx),
    ) -> Result<(SimTime, u8), SimTime> {
        let (mut sent, mut retries) = (now, self.retries());
        self.recorder.message_sent(wire);
        let hosts = &self.hosts;
        while blocked || self.network.dropped(from, to, |p| hosts[p.0 as usize]) {
            self.recorder.message_dropped();
            if retries == 0 {
                return Err(sent);
            }
            retries -= 1;
            sent += self.cfg.overlay.rpc_timeout;
            self.recorder.message_sent(wire);
        }
        Ok((sent, retries))
    }

    /// Whether a request or one-way message from `from` to `to` is lost because `to`'s host
    /// is unreachable (`network.unreachable`; between two nodes of one host nothing is lost).
    #[cold]
    fn unsolicited_blocked(&mut self, from: PeerIdx, to: PeerIdx) -> bool {
        let (a, b) = (self.hosts[from.0 as usize], self.hosts[to.0 as usize]);
        a != b && self.network.is_unreachable(b)
    }

    /// How many times a sender sends a message again before it gives up on its receiver.
    #[inline]
    fn retries(&self) -> u8 {
        (self.cfg.overlay.rpc_attempts - 1) as u8
    }

    /// The network drops `msg` from `sender` to `to`: one RPC timeout later, the sender of a
    /// request (or one-way message) sees it undeliverable, as if `to` were gone; the peer a
    /// reply was meant for sees its request time out.
    #[cold]
    fn drop_message(
        &mut self,
        now: SimTime,
        sender: PeerRef,
        to: PeerRef,
        reply: bool,
        msg: P::Message,
    ) {
        let at = now + self.cfg.overlay.rpc_timeout;
        let event = if reply {
            Event::ReplyLost { waiter: to.idx, replier: sender, msg }
        } else {
            Event::Undeliverable { sender: sender.idx, dead: to, msg }
        };
        self.engine.schedule_at(at, event);
    }

    /// Puts the drained command buffer back in place of the empty one `take` left there.
    /// Dropping that placeholder was a call on every event (2 % of a successor ring's
    /// instructions); it owns no memory, so it is forgotten instead.
    fn restore_out(&mut self, out: Vec<CommandOf<P>>) {
        debug_assert!(self.out.is_empty() && self.out.capacity() == 0, "nothing pushed meanwhile");
        std::mem::forget(std::mem::replace(&mut self.out, out));
    }

    /// Carries out the reports emitted on behalf of a peer that is gone (anything else it
    /// would have done is lost with it).
    pub(super) fn apply_reports(&mut self, now: SimTime, at: RingId) {
        let mut out = std::mem::take(&mut self.out);
        for cmd in out.drain(..) {
            if let Command::Report(report) = cmd {
                self.report(now, at, None, report);
            }
        }
        self.restore_out(out);
    }

    /// Hands a protocol's report from peer `at` (at address `from`, if live) to the recorder.
    /// Inlined: out of line (as it went once `Resolved` made it longer) it cost 2.7 % of a
    /// successor ring's instructions.
    #[inline(always)]
    fn report(&mut self, now: SimTime, at: RingId, from: Option<PeerIdx>, report: Report) {
        match report {
            Report::Reached(op) => self.recorder.reached(op, at),
            Report::TimedOut(op) => self.recorder.timed_out(op),
            Report::Answered(op, answered) => {
                self.recorder.answered(op, at, from, answered, &mut self.oracle)
            }
            Report::Ended(op) => {
                let (network, hosts) = (&mut self.network, &self.hosts);
                self.recorder.ended(now, op, |a, b| {
                    network.round_trip(hosts[a.0 as usize], hosts[b.0 as usize])
                })
            }
            Report::Resolved { op, by, hops, answered } => {
                self.recorder.resolved(op, by, hops);
                self.recorder.answered(op, by, None, answered, &mut self.oracle)
            }
        }
    }

    // ----- sampling and the end -----

    fn sample(&mut self, now: SimTime) {
        let health = self.health();
        let violations = health.violations();
        self.recorder.sample(now, health);
        if self.cfg.stop_on_violation && !violations.is_empty() {
            self.on_violations(now, &violations);
            return;
        }
        if let Some(dt) = self.cfg.sample
            && (now < self.cfg.duration || self.recorder.in_flight() > 0)
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
                self.cfg.overlay.successors + 1
            ));
        }
        if self.lookups_not_made > 0 {
            self.warnings.push(format!(
                "{} of the workload's {} lookups were not made: no peer was live when they were due",
                self.lookups_not_made,
                self.workload.lookups()
            ));
        }
        let failed_joins = self.recorder.failed_joins();
        if failed_joins > 0 {
            self.warnings.push(format!(
                "{failed_joins} peers never completed their join (it failed, or was still under way when the run ended)"
            ));
        }
        let load = self.measure_load();
        debug_assert!(
            self.stopped.is_some() || self.recorder.in_flight() == 0,
            "every operation ends"
        );
        let recorded = self.recorder.finish(self.engine.now(), self.cfg.space.bits());
        RunResult {
            seed: self.seed,
            protocol: self.cfg.overlay.protocol,
            traffic: recorded.traffic,
            initial_peers: self.cfg.population.len(),
            lookups: recorded.lookups,
            lookup_stats: recorded.lookup_stats,
            peers: recorded.peers,
            messages: recorded.messages,
            events: self.engine.events_processed(),
            end: self.engine.now(),
            samples: recorded.samples,
            stopped: self.stopped,
            snapshots: self.snapshots,
            warnings: self.warnings,
            load,
            swarm: None,
        }
    }

    /// Counts, when anything was stored, the entries each member holds for its true range
    /// (pred, me] (in the peer records) and sums them per physical peer.
    fn measure_load(&mut self) -> Vec<u32> {
        if self.oracle.stored_keys().next().is_none() || self.oracle.is_empty() {
            return Vec::new();
        }
        let (ids, idxs): (Vec<RingId>, Vec<PeerIdx>) = self.oracle.members().unzip();
        let mut per_host: std::collections::BTreeMap<u32, u64> = Default::default();
        for (i, (&id, &idx)) in ids.iter().zip(&idxs).enumerate() {
            let pred = ids[(i + ids.len() - 1) % ids.len()];
            let idx = idx.0 as usize;
            // A peer the run never touched holds what bootstrap gave it: no entry, since
            // placing the files touched every peer they went to.
            let keys = (self.peers.get(PeerIdx(idx as u32)))
                .map_or(0, |p| p.store().count_in(self.cfg.space, pred, id));
            self.recorder.peers[idx].keys = Some(keys);
            *per_host.entry(self.hosts[idx]).or_default() += keys;
        }
        per_host.into_values().map(|k| u32::try_from(k).unwrap_or(u32::MAX)).collect()
    }
}

/// The interval until a timer set for `period` fires: exactly the period, uniform in
/// [0.5, 1.5] × period (`timer_jitter`), or exponential with the period as mean
/// (`timer_exponential`), drawn from the maintenance stream.
fn timer_interval(
    overlay: &crate::config::OverlayConfig,
    period: SimDuration,
    rng: &mut Rng,
) -> SimDuration {
    let ms = period.as_ms();
    if overlay.timer_exponential {
        // 1 - U is in (0, 1]: never the log of zero; at least 1 ms.
        let u = 1.0 - rng.random::<f64>();
        SimDuration(((-libm::log(u) * ms as f64).round() as u64).max(1))
    } else if overlay.timer_jitter {
        SimDuration(rng.random_range(ms / 2..=ms + ms / 2))
    } else {
        period
    }
}

/// The peer whose state `event` will touch, for prefetching it while earlier events are handled:
/// with 10^5 peers and more, that state is rarely in cache. A hint; results do not change.
/// With it, the message the event delivers to that peer, if it delivers one.
#[inline]
fn peer_of<P: Protocol>(event: &Event<P>) -> Option<(PeerIdx, Option<&P::Message>)> {
    match event {
        Event::Deliver { to, msg, .. } => Some((*to, Some(msg))),
        Event::Timer { peer, .. } | Event::PeerLookup(peer) | Event::Depart(peer) => {
            Some((*peer, None))
        }
        Event::Undeliverable { sender, .. } => Some((*sender, None)),
        Event::ReplyLost { waiter, .. } => Some((*waiter, None)),
        _ => None,
    }
}

/// One line about an event, for the trace printed when a property fails.
fn describe<P: Protocol>(event: &Event<P>, peers: &PeerTable<P>, cfg: &Config) -> String {
    let id = |i: PeerIdx| peers.me(i).id;
    match event {
        Event::Deliver { to, from, msg, .. } => {
            format!("{} -> {}: {}", from.id, id(*to), P::describe(msg))
        }
        Event::Undeliverable { sender, dead, msg } => {
            format!("{} gave up on {}: {}", id(*sender), dead.id, P::describe(msg))
        }
        Event::ReplyLost { waiter, replier, msg } => {
            format!("{} gave up waiting for {}: {}", id(*waiter), replier.id, P::describe(msg))
        }
        Event::Timer { peer, timer } => format!("{} timer {timer:?}", id(*peer)),
        Event::WorkloadLookup(i) => format!("workload lookup {i}"),
        Event::PeerLookup(p) => format!("{} starts its periodic lookup", id(*p)),
        Event::Scripted(i) => format!("scripted event {i}: {}", cfg.events[*i].action),
        Event::Depart(p) => format!("{} departs", id(*p)),
        Event::Arrive => "a peer arrives".to_string(),
        Event::PoissonDepart => "a random peer departs".to_string(),
        Event::MassFailure => "mass failure".to_string(),
        Event::Trace(i) => match &cfg.churn.model {
            crate::churn::ChurnModel::Trace(t) => {
                format!("trace event {i}: {:?} {}", t[*i].kind, t[*i].peer)
            }
            _ => format!("trace event {i}"),
        },
        Event::Sample => "sample".to_string(),
        Event::Snapshot => "snapshot".to_string(),
    }
}

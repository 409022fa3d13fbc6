//! Every event order in a small scope (`dhtsim explore`, SPEC §3): a breadth-first search over
//! the orders in which a network's pending events can happen, with the protocol's own state
//! machine as the transition function, checking the ring properties after every event.
//!
//! A state is every peer's protocol state, which peers are alive, the ring's members (the
//! oracle), the events pending and the scripted events done. The events that can happen next:
//! - any message in flight (delivered in any order, as a network without FIFO links may);
//! - any message that reached a peer gone and comes back to its sender as undeliverable;
//! - the armed timers (stabilize, fix finger, check predecessor) of each live peer whose
//!   exchanges are over: none of its messages in flight, no answer on its way to it, no timeout
//!   of its pending. A timer is a step taken at any such moment, not a clock; the condition
//!   stands for the periods (30 s) being far longer than an exchange (at most the RPC timeout,
//!   500 ms), and without it a timer could fire again and again with its messages in flight;
//! - the next scripted events: those at the earliest time among the ones not done (events at
//!   one time in any order, a later time only once every earlier one is done).
//!
//! Each step does what the simulation does with that event (`Simulation::deliver`,
//! `undeliverable`, a timer, `scripted`, `apply`): the test
//! `explorer_steps_are_the_simulations_own` drives both along one schedule and compares every
//! peer after each step. Time, latency and jitter do not exist here: every order the network
//! could produce is tried.
//!
//! Reduction: states are hashed in a canonical form (peers in address order, the pending events
//! as a sorted multiset of their hashes; 128 bits, two SipHash streams) and a state seen before
//! is not expanded again. Breadth-first, so the first violation found has a shortest trace. No
//! partial-order or symmetry reduction. Bounds on depth and states; the report says whether they
//! cut the search.

use super::{Event, Simulation};
use crate::config::{Action, Config, ConfigError, ScheduledStep};
use crate::oracle::Oracle;
use crate::protocol::{Command, CommandOf, OpId, PeerIdx, PeerRef, Protocol, Report, Request};
use crate::ring::RingId;
use std::collections::BTreeSet;
use std::hash::{DefaultHasher, Hash, Hasher};

/// One event of a schedule.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Step<M, T> {
    /// A message from `from` reaches `to` (alive or not).
    Deliver {
        /// Receiver.
        to: PeerIdx,
        /// Sender.
        from: PeerRef,
        /// The message.
        msg: M,
    },
    /// `sender` learns that its message to `dead` was not acknowledged.
    Undeliverable {
        /// The peer that sent it.
        sender: PeerIdx,
        /// The peer that was gone.
        dead: PeerRef,
        /// The message.
        msg: M,
    },
    /// A peer's timer fires.
    Timer {
        /// The peer.
        peer: PeerIdx,
        /// Which timer.
        timer: T,
    },
    /// Scripted event number i happens.
    Scripted(usize),
}

/// A step of protocol `P`.
pub type StepOf<P> = Step<<P as Protocol>::Message, <P as Protocol>::Timer>;

/// What the explorer needs of a protocol: states, messages and timers that can be hashed and
/// compared.
pub trait Explorable: Protocol + Clone + Hash
where
    Self::Message: Hash + Eq,
    Self::Timer: Hash + Eq,
{
}

impl<P> Explorable for P
where
    P: Protocol + Clone + Hash,
    P::Message: Hash + Eq,
    P::Timer: Hash + Eq,
{
}

/// One state of the network.
#[derive(Clone, Debug)]
pub struct World<P: Explorable>
where
    P::Message: Hash + Eq,
    P::Timer: Hash + Eq,
{
    peers: Vec<P>,
    alive: Vec<bool>,
    oracle: Oracle,
    /// Messages in flight, undeliverable notices and armed timers, in the order they arose.
    pending: Vec<StepOf<P>>,
    /// Scripted events done.
    done: Vec<bool>,
    /// Measured operations (scripted lookups, stores and joins) by id: whether each has ended.
    /// Ids are reused as the simulation's recorder reuses them: the last one freed first.
    ended: Vec<bool>,
    free_ops: Vec<u32>,
    /// While a lookup is checked (`lookups_fail`): each answer, by operation and answering
    /// peer. `None` in the search, and not part of the state.
    answers: Option<Vec<(OpId, RingId)>>,
}

impl<P: Explorable> World<P>
where
    P::Message: Hash + Eq,
    P::Timer: Hash + Eq,
{
    /// The state a run of `sim`'s configuration starts in: its bootstrapped peers, each member
    /// with its timers armed, and no scripted event done.
    pub fn initial(sim: &mut Simulation<'_, P>) -> Self {
        let timers = P::timers(&sim.params);
        let peers = sim.peers.all(&sim.params).to_vec();
        let mut pending = Vec::new();
        for (i, p) in peers.iter().enumerate() {
            if sim.alive[i] && sim.oracle.find(p.me().id).is_some() {
                pending.extend(
                    timers.iter().map(|&(timer, _)| Step::Timer { peer: PeerIdx(i as u32), timer }),
                );
            }
        }
        World {
            peers,
            alive: sim.alive.clone(),
            oracle: sim.oracle.clone(),
            pending,
            done: vec![false; sim.cfg.events.len()],
            ended: Vec::new(),
            free_ops: Vec::new(),
            answers: None,
        }
    }

    /// The protocol state of every peer, by address.
    pub fn peers(&self) -> &[P] {
        &self.peers
    }

    /// The properties that fail in this state.
    pub fn violations(&self, params: &P::Params) -> Vec<&'static str> {
        P::health(params, &self.peers, &self.alive, &self.oracle).violations()
    }

    /// The steps that can happen next, each once (two identical messages in flight lead to one
    /// and the same state), in the order they arose, then the scripted events.
    pub fn enabled(&self, cfg: &Config, failures: Failures, fifo: bool) -> Vec<StepOf<P>> {
        // Few events are pending: a vector of their hashes is the cheapest set.
        let mut seen: Vec<u64> = Vec::new();
        let mut steps: Vec<StepOf<P>> = Vec::new();
        // Peers with an exchange under way: a message of theirs in flight, an answer on its
        // way to them, or a timeout of theirs pending.
        let mut busy = vec![false; self.peers.len()];
        for s in &self.pending {
            match s {
                Step::Deliver { to, from, msg } => {
                    busy[from.idx.0 as usize] = true;
                    if P::wire(msg).reply {
                        busy[to.0 as usize] = true;
                    }
                }
                Step::Undeliverable { sender, .. } => busy[sender.0 as usize] = true,
                _ => {}
            }
        }
        for (i, s) in self.pending.iter().enumerate() {
            let enabled = match s {
                Step::Timer { peer, .. } => self.alive[peer.0 as usize] && !busy[peer.0 as usize],
                // With FIFO links, not while an older message on the same link is in flight.
                Step::Deliver { to, from, .. } if fifo => !self.pending[..i].iter().any(
                    |e| matches!(e, Step::Deliver { to: t, from: f, .. } if t == to && f.idx == from.idx),
                ),
                _ => true,
            };
            let h = hash_of(0, s);
            if enabled && !seen.contains(&h) {
                seen.push(h);
                steps.push(s.clone());
            }
        }
        let next_time =
            (0..self.done.len()).filter(|&i| !self.done[i]).map(|i| cfg.events[i].at).min();
        if let Some(t) = next_time {
            let allowed = |i: usize| match cfg.events[i].action {
                Action::Crash { peer } if failures == Failures::Assumed => self.can_fail(peer),
                _ => true,
            };
            steps.extend(
                (0..self.done.len())
                    .filter(|&i| !self.done[i] && cfg.events[i].at == t && allowed(i))
                    .map(Step::Scripted),
            );
        }
        steps
    }

    /// Whether the live peer with ID `id` may crash under Zave's fault assumption: every other
    /// live peer that has a successor list keeps a live entry in it besides `id`.
    fn can_fail(&self, id: RingId) -> bool {
        let Some(f) = self.find(id) else { return true };
        self.peers.iter().enumerate().all(|(i, p)| {
            if i == f.0 as usize || !self.alive[i] {
                return true;
            }
            let (mut listed, mut live) = (false, false);
            p.links(&mut |to, kind| {
                if kind == "succ" || kind == "list" {
                    listed = true;
                    live |= to.idx != f && self.alive[to.idx.0 as usize];
                }
            });
            !listed || live
        })
    }

    /// The state after `step`, which must be enabled.
    pub fn after(&self, cfg: &Config, params: &P::Params, step: &StepOf<P>) -> Self {
        let mut w = self.clone();
        w.take(step);
        let mut out = Vec::new();
        match step.clone() {
            Step::Deliver { to, from, msg } => {
                if w.alive[to.0 as usize] {
                    w.peers[to.0 as usize].handle_message(params, from, msg, &mut out);
                    w.apply(to, &mut out);
                } else {
                    // Lost: the sender's RPC timeout will notice (`Simulation::deliver`).
                    P::lost(&msg, &mut out);
                    w.reports(&mut out);
                    let dead = w.peers[to.0 as usize].me();
                    w.pending.push(Step::Undeliverable { sender: from.idx, dead, msg });
                }
            }
            Step::Undeliverable { sender, dead, msg } => {
                if w.alive[sender.0 as usize] {
                    w.peers[sender.0 as usize].handle_undeliverable(params, dead, msg, &mut out);
                    w.apply(sender, &mut out);
                } else {
                    P::lost_with_sender(&msg, &mut out);
                    w.reports(&mut out);
                }
            }
            Step::Timer { peer, timer } => {
                if w.alive[peer.0 as usize] {
                    w.peers[peer.0 as usize].handle_timer(params, timer, &mut out);
                    w.apply(peer, &mut out);
                }
            }
            Step::Scripted(i) => {
                w.done[i] = true;
                w.scripted(params, cfg.events[i].action, &mut out);
            }
        }
        w
    }

    /// Whether no message is in flight and no timeout pending.
    pub fn quiet(&self) -> bool {
        self.pending.iter().all(|s| matches!(s, Step::Timer { .. }))
    }

    /// The state once every message in flight has been delivered, oldest first, and every
    /// timeout noticed (no timer fires); `None` if that takes more than `limit` steps.
    fn drained(mut self, cfg: &Config, params: &P::Params, limit: usize) -> Option<Self> {
        for _ in 0..limit {
            let Some(step) = self.pending.iter().find(|s| !matches!(s, Step::Timer { .. })) else {
                return Some(self);
            };
            let step = step.clone();
            self = self.after(cfg, params, &step);
        }
        None
    }

    /// Whether the network has settled: nothing in flight, every scripted event done, and
    /// every live peer's timers, fired with their exchanges carried through, leave the state as
    /// it is. From a settled state nothing changes until something new happens.
    pub fn settled(&self, cfg: &Config, params: &P::Params) -> bool {
        if !self.quiet() || self.done.iter().any(|d| !d) {
            return false;
        }
        let key = self.key();
        let timers: Vec<StepOf<P>> = self
            .pending
            .iter()
            .filter(|s| matches!(s, Step::Timer { peer, .. } if self.alive[peer.0 as usize]))
            .cloned()
            .collect();
        timers.iter().all(|t| {
            self.after(cfg, params, t).drained(cfg, params, 10_000).is_some_and(|w| w.key() == key)
        })
    }

    /// The lookups that fail in this state: for every live member and every live member's ID,
    /// a lookup from the one for the other, carried through with no timer firing, must be
    /// answered by that member, the ID's owner. Returns (origin, key) of each that is not.
    pub fn lookups_fail(&self, cfg: &Config, params: &P::Params) -> Vec<(RingId, RingId)> {
        let members: Vec<PeerIdx> = self.oracle.members().map(|(_, idx)| idx).collect();
        let mut failed = Vec::new();
        for &origin in members.iter().filter(|m| self.alive[m.0 as usize]) {
            for &target in &members {
                let key = self.peers[target.0 as usize].me().id;
                let mut w = self.clone();
                w.answers = Some(Vec::new());
                let op = w.next_op();
                let mut out = Vec::new();
                w.peers[origin.0 as usize].start(params, op, key, Request::Lookup, &mut out);
                w.apply(origin, &mut out);
                let answered = w
                    .drained(cfg, params, 10_000)
                    .and_then(|w| w.answers)
                    .is_some_and(|a| a.iter().any(|&(o, by)| o == op && by == key));
                if !answered {
                    failed.push((self.peers[origin.0 as usize].me().id, key));
                }
            }
        }
        failed
    }

    /// Removes one pending instance of `step` (none for a scripted event).
    fn take(&mut self, step: &StepOf<P>) {
        if let Some(i) = self.pending.iter().position(|s| s == step) {
            self.pending.remove(i);
        }
    }

    /// The live peer with ID `id`.
    fn find(&self, id: RingId) -> Option<PeerIdx> {
        self.peers
            .iter()
            .zip(&self.alive)
            .position(|(p, a)| *a && p.me().id == id)
            .map(|i| PeerIdx(i as u32))
    }

    /// A scripted event, as `Simulation::scripted` does it (a skipped one does nothing).
    fn scripted(&mut self, params: &P::Params, action: Action, out: &mut Vec<CommandOf<P>>) {
        match action {
            Action::Lookup { from, key } | Action::Store { from, key } => {
                let Some(origin) = self.find(from) else { return };
                let request = match action {
                    Action::Store { .. } => Request::Store { holder: from },
                    _ => Request::Lookup,
                };
                let op = self.next_op();
                self.peers[origin.0 as usize].start(params, op, key, request, out);
                self.apply(origin, out);
            }
            Action::Join { peer, via } => {
                let Some(via) = self.find(via) else { return };
                if self.oracle.is_alive_id(peer) {
                    return;
                }
                let idx = PeerIdx(self.peers.len() as u32);
                self.peers.push(P::joining(PeerRef::new(idx, peer)));
                self.alive.push(true);
                self.oracle.add_alive(peer, idx);
                let op = self.next_op();
                let via = self.peers[via.0 as usize].me();
                self.peers[idx.0 as usize].join(params, via, op, out);
                self.apply(idx, out);
            }
            Action::Leave { peer } | Action::Crash { peer } => {
                let Some(idx) = self.find(peer) else { return };
                if matches!(action, Action::Leave { .. }) {
                    self.peers[idx.0 as usize].leave(params, out);
                    self.apply(idx, out);
                }
                self.alive[idx.0 as usize] = false;
                self.peers[idx.0 as usize].departed(out);
                self.reports(out);
                self.oracle.remove_alive(peer);
                // Its timers would fire to no effect.
                self.pending.retain(|s| !matches!(s, Step::Timer { peer: p, .. } if *p == idx));
            }
        }
    }

    /// Peer `by` answered operation `op` (kept only while a lookup is checked).
    fn answered(&mut self, op: OpId, by: RingId, answered: &crate::protocol::Answered) {
        if let Some(a) = &mut self.answers
            && !matches!(answered, crate::protocol::Answered::Failed)
        {
            a.push((op, by));
        }
    }

    /// A new operation's id, as `Recorder::started` picks it.
    fn next_op(&mut self) -> OpId {
        match self.free_ops.pop() {
            Some(slot) => {
                self.ended[slot as usize] = false;
                OpId(slot)
            }
            None => {
                self.ended.push(false);
                OpId(self.ended.len() as u32 - 1)
            }
        }
    }

    /// The reports among `out` (all of it is taken): an operation that ends frees its id, as
    /// `Recorder::ended` does.
    fn reports(&mut self, out: &mut Vec<CommandOf<P>>) {
        for cmd in out.drain(..) {
            if let Command::Report(Report::Ended(op)) = cmd {
                self.end(op);
            }
        }
    }

    fn end(&mut self, op: OpId) {
        let slot = op.0 as usize;
        if op.is_measured() && slot < self.ended.len() && !self.ended[slot] {
            self.ended[slot] = true;
            self.free_ops.push(op.0);
        }
    }

    /// Carries out the commands peer `from` emitted, as `Simulation::apply` does.
    fn apply(&mut self, from: PeerIdx, out: &mut Vec<CommandOf<P>>) {
        let sender = self.peers[from.0 as usize].me();
        for cmd in out.drain(..) {
            match cmd {
                Command::Send { to, msg } => {
                    self.pending.push(Step::Deliver { to: to.idx, from: sender, msg })
                }
                Command::SetTimer { timer, .. } => {
                    self.pending.push(Step::Timer { peer: from, timer })
                }
                Command::Joined => self.oracle.insert(sender.id, from),
                Command::Report(Report::Ended(op)) => self.end(op),
                Command::Report(Report::Answered(op, answered)) => {
                    self.answered(op, sender.id, &answered)
                }
                Command::Report(Report::Resolved { op, by, answered, .. }) => {
                    self.answered(op, by, &answered)
                }
                Command::Report(_) => {}
            }
        }
    }

    /// The state's canonical form, hashed: peers by address, the pending events as a multiset,
    /// the scripted events done.
    pub fn key(&self) -> u128 {
        let half = |salt: u64| {
            let mut h = DefaultHasher::new();
            salt.hash(&mut h);
            self.peers.hash(&mut h);
            self.alive.hash(&mut h);
            for m in self.oracle.members() {
                m.hash(&mut h);
            }
            let mut pending: Vec<u64> = self.pending.iter().map(|s| hash_of(salt, s)).collect();
            pending.sort_unstable();
            pending.hash(&mut h);
            self.done.hash(&mut h);
            self.ended.hash(&mut h);
            self.free_ops.hash(&mut h);
            h.finish()
        };
        (u128::from(half(1)) << 64) | u128::from(half(2))
    }
}

impl<P: Protocol> Simulation<'_, P> {
    /// Takes exactly the steps of `cfg.schedule`, whatever their times, checking the ring after
    /// each: stops at the first property that fails, or at a step that is not pending.
    pub(super) fn run_schedule(&mut self) {
        let mut pool: Vec<Event<P>> = Vec::new();
        while let Some((_, e)) = self.engine.pop() {
            pool.push(e);
        }
        let schedule = &self.cfg.schedule;
        for (k, step) in schedule.iter().enumerate() {
            let Some(i) = pool.iter().position(|e| self.matches(step, e)) else {
                self.stopped = Some(format!(
                    "schedule step {} of {} is not pending: {}",
                    k + 1,
                    schedule.len(),
                    describe_step(step)
                ));
                return;
            };
            let event = pool.remove(i);
            let now = self.engine.now();
            self.note(now, format!("schedule step {} of {}:", k + 1, schedule.len()));
            self.handle(now, event);
            let violations = self.health().violations();
            if !violations.is_empty() {
                let what = format!(
                    "ring property failed after schedule step {} of {}: {}",
                    k + 1,
                    schedule.len(),
                    violations.join(", ")
                );
                self.stopped = Some(self.explain(what));
                return;
            }
            while let Some((_, e)) = self.engine.pop() {
                pool.push(e);
            }
        }
    }

    /// Whether pending `event` is schedule step `step`.
    fn matches(&self, step: &ScheduledStep, event: &Event<P>) -> bool {
        let id = |i: PeerIdx| self.peers.me(i).id;
        match (step, event) {
            (
                ScheduledStep::Deliver { from, to, message },
                Event::Deliver { to: t, from: f, msg, .. },
            ) => f.id == *from && id(*t) == *to && format!("{msg:?}") == *message,
            (
                ScheduledStep::Undeliverable { from, to, message },
                Event::Undeliverable { sender, dead, msg },
            ) => id(*sender) == *from && dead.id == *to && format!("{msg:?}") == *message,
            (ScheduledStep::Timer { peer, timer }, Event::Timer { peer: p, timer: t }) => {
                self.alive[p.0 as usize] && id(*p) == *peer && format!("{t:?}") == *timer
            }
            (ScheduledStep::Event { index }, Event::Scripted(i)) => index == i,
            _ => false,
        }
    }
}

/// One line about a schedule step.
pub fn describe_step(step: &ScheduledStep) -> String {
    match step {
        ScheduledStep::Deliver { from, to, message } => format!("{from} -> {to}: {message}"),
        ScheduledStep::Undeliverable { from, to, message } => {
            format!("{from} gave up on {to}: {message}")
        }
        ScheduledStep::Timer { peer, timer } => format!("{peer} timer {timer}"),
        ScheduledStep::Event { index } => format!("scripted event {index}"),
    }
}

impl<P: Explorable> World<P>
where
    P::Message: Hash + Eq,
    P::Timer: Hash + Eq,
{
    /// `step`, taken in this state, as a schedule step (peers by ID).
    pub fn scheduled(&self, step: &StepOf<P>) -> ScheduledStep {
        let id = |i: PeerIdx| self.peers[i.0 as usize].me().id;
        match step {
            Step::Deliver { to, from, msg } => {
                ScheduledStep::Deliver { from: from.id, to: id(*to), message: format!("{msg:?}") }
            }
            Step::Undeliverable { sender, dead, msg } => ScheduledStep::Undeliverable {
                from: id(*sender),
                to: dead.id,
                message: format!("{msg:?}"),
            },
            Step::Timer { peer, timer } => {
                ScheduledStep::Timer { peer: id(*peer), timer: format!("{timer:?}") }
            }
            Step::Scripted(i) => ScheduledStep::Event { index: *i },
        }
    }
}

/// The most peers (bootstrap and joining) `explore` takes: past a handful the orders of events
/// outnumber any bound, and Zave's counterexamples need three to five.
pub const MAX_PEERS: usize = 12;

/// What keeps `cfg` from being explored, as one message that says what `explore` needs; `None`
/// when it can be.
pub fn unexplorable(cfg: &Config) -> Option<String> {
    use crate::config::{Bootstrap, Population, ProtocolKind};
    let mut why = Vec::new();
    match &cfg.population {
        Population::Random(n) => why.push(format!("{n} random peers (`population.peers`)")),
        Population::Explicit(ids) => {
            let joins =
                cfg.events.iter().filter(|e| matches!(e.action, Action::Join { .. })).count();
            if ids.len() + joins > MAX_PEERS {
                why.push(format!("{} peers with the joiners", ids.len() + joins));
            }
        }
    }
    if cfg.overlay.protocol == ProtocolKind::Kademlia && cfg.overlay.maintenance.is_some() {
        why.push(
            "Kademlia with maintenance (each bucket refresh draws a new ID, so states never \
             repeat: set `overlay.maintenance = false`)"
                .into(),
        );
    }
    if cfg.bootstrap == Bootstrap::Joins {
        why.push("`bootstrap = \"joins\"`".into());
    }
    if cfg.churn.is_active() {
        why.push("a churn model or mass failure".into());
    }
    if cfg.workload.lookups > 0 || cfg.workload.per_peer_interval.is_some() {
        why.push("generated lookups (`[workload]`)".into());
    }
    if cfg.swarm.is_some() {
        why.push("a swarm".into());
    }
    if cfg.overlay.virtual_nodes > 1 {
        why.push("virtual nodes".into());
    }
    if !cfg.schedule.is_empty() {
        why.push("a `[[schedule]]` (a pinned order is replayed with `dhtsim run`)".into());
    }
    if why.is_empty() {
        return None;
    }
    Some(format!(
        "explore needs a small scope that it can enumerate: explicit `population.ids` (at most \
         {MAX_PEERS} peers, joiners included), `bootstrap = \"ring\"`, and joins, \
         leaves, crashes, lookups and stores as [[events]] only; this scenario has {}",
        why.join(", ")
    ))
}

impl<P: Explorable> World<P>
where
    P::Message: Hash + Eq,
    P::Timer: Hash + Eq,
{
    /// One line about `step`, taken in this state.
    pub fn describe(&self, cfg: &Config, step: &StepOf<P>) -> String {
        let id = |i: PeerIdx| self.peers[i.0 as usize].me().id;
        match step {
            Step::Deliver { to, from, msg } => {
                let gone = if self.alive[to.0 as usize] { "" } else { " (gone)" };
                format!("{} -> {}{gone}: {}", from.id, id(*to), P::describe(msg))
            }
            Step::Undeliverable { sender, dead, msg } => {
                format!("{} gives up on {}: {}", id(*sender), dead.id, P::describe(msg))
            }
            Step::Timer { peer, timer } => format!("{} timer {timer:?}", id(*peer)),
            Step::Scripted(i) => format!("scripted event {i}: {}", cfg.events[*i].action),
        }
    }
}

fn hash_of<T: Hash>(salt: u64, value: &T) -> u64 {
    let mut h = DefaultHasher::new();
    salt.hash(&mut h);
    value.hash(&mut h);
    h.finish()
}

/// Limits of a search, and the failures it allows.
#[derive(Clone, Copy, Debug)]
pub struct Bounds {
    /// Longest schedule tried.
    pub depth: u32,
    /// Most distinct states visited.
    pub max_states: u64,
    /// Which scripted crashes may happen.
    pub failures: Failures,
    /// Links deliver in order: of the messages in flight from one peer to another, only the
    /// oldest can arrive next.
    pub fifo: bool,
}

/// Which scripted crashes a search lets happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failures {
    /// A crash only when it leaves every other member a live entry in its successor list:
    /// Zave's fault assumption ("a member cannot fail if it would leave another member with no
    /// live successor", TSE 2017 §VII-A; CCR 2012 §2), which the correctness of her protocol
    /// rests on. A crash due while it would break that waits until it no longer does.
    Assumed,
    /// Any crash, as soon as it is due.
    Any,
}

/// What a search found.
#[derive(Clone, Debug)]
pub struct Outcome<P: Explorable>
where
    P::Message: Hash + Eq,
    P::Timer: Hash + Eq,
{
    /// Distinct states visited (the initial one included).
    pub states: u64,
    /// Steps taken from an expanded state (to a new state or not).
    pub transitions: u64,
    /// Depth of the deepest state visited.
    pub depth: u32,
    /// Settled states visited, where every lookup was checked.
    pub settled: u64,
    /// Whether the search stopped at a bound with states left to expand (`false`: every state
    /// reachable within the bounds was visited, or a violation ended the search).
    pub cut: bool,
    /// The shortest schedule to a violation, the properties that fail after it, and whether
    /// the violation persists in every continuation within the remaining depth.
    pub violation: Option<Violation<P>>,
}

/// A schedule that breaks a property.
#[derive(Clone, Debug)]
pub struct Violation<P: Explorable>
where
    P::Message: Hash + Eq,
    P::Timer: Hash + Eq,
{
    /// The steps, from the initial state.
    pub trace: Vec<StepOf<P>>,
    /// Properties that fail at its end, with their modality: `Always(OneLiveSuccessor)`,
    /// `Eventually(LookupsFindOwners)`.
    pub properties: Vec<String>,
    /// For `Eventually(LookupsFindOwners)`: the (origin, key) of each lookup that fails.
    pub lookups: Vec<(RingId, RingId)>,
    /// Whether some continuation repairs it.
    pub repair: Repair,
}

/// Whether a violation lasts: found by a second search from the state it leaves, within the
/// same bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Repair {
    /// Some continuation of this many steps reaches a state where every property holds again
    /// (the shortest such continuation).
    After(u32),
    /// No continuation within the bounds repairs it; `complete` when the search visited every
    /// state reachable from it (then no continuation ever does).
    Never {
        /// The search was not cut by a bound.
        complete: bool,
    },
}

/// Explores every order of the events of `cfg` (seed `seed` only matters for what the
/// simulation draws at bootstrap, which explicit IDs do not need) within `bounds`.
pub fn explore<P: Explorable>(
    cfg: &Config,
    seed: u64,
    bounds: Bounds,
) -> Result<Outcome<P>, ConfigError>
where
    P::Message: Hash + Eq,
    P::Timer: Hash + Eq,
{
    if cfg.network.loss > 0.0 {
        // Every order of events is explored, but each message is delivered: a lost message
        // would be one more branch per message, which the explorer does not take.
        let msg = "the explorer delivers every message: leave it at 0 for `dhtsim explore`";
        return Err(ConfigError::new("network.loss", msg));
    }
    if cfg.network.unreachable > 0.0 {
        let msg = "the explorer delivers every message: leave it at 0 for `dhtsim explore`";
        return Err(ConfigError::new("network.unreachable", msg));
    }
    if cfg.network.has_loss() {
        let msg = "the explorer delivers every message: no class of access links may lose one \
                   for `dhtsim explore`";
        return Err(ConfigError::new("network.links", msg));
    }
    let mut sim = Simulation::<P>::new(cfg, seed)?;
    let start = World::initial(&mut sim);
    let params = &sim.params;
    // Parent and step of every state visited, for the trace; the worlds of the frontier only.
    let mut tree: Vec<(u32, Option<StepOf<P>>)> = vec![(u32::MAX, None)];
    let mut seen: BTreeSet<u128> = BTreeSet::new();
    seen.insert(start.key());
    let trace_to = |tree: &[(u32, Option<StepOf<P>>)], mut node: u32| {
        let mut steps = Vec::new();
        while let (parent, Some(step)) = &tree[node as usize] {
            steps.push(step.clone());
            node = *parent;
        }
        steps.reverse();
        steps
    };
    let mut outcome =
        Outcome { states: 1, transitions: 0, depth: 0, settled: 0, cut: false, violation: None };
    if let Some(v) = check(cfg, params, &start, bounds, &mut outcome) {
        outcome.violation = Some(Violation { trace: Vec::new(), ..v });
        return Ok(outcome);
    }
    let mut frontier = vec![(0u32, start)];
    for depth in 1..=bounds.depth {
        let mut next = Vec::new();
        for (node, world) in &frontier {
            for step in world.enabled(cfg, bounds.failures, bounds.fifo) {
                outcome.transitions += 1;
                let after = world.after(cfg, params, &step);
                if !seen.insert(after.key()) {
                    continue;
                }
                if outcome.states >= bounds.max_states {
                    outcome.cut = true;
                    return Ok(outcome);
                }
                outcome.states += 1;
                outcome.depth = depth;
                tree.push((*node, Some(step)));
                let id = (tree.len() - 1) as u32;
                if let Some(v) = check(cfg, params, &after, bounds, &mut outcome) {
                    outcome.violation = Some(Violation { trace: trace_to(&tree, id), ..v });
                    return Ok(outcome);
                }
                next.push((id, after));
            }
        }
        if next.is_empty() {
            return Ok(outcome);
        }
        frontier = next;
    }
    outcome.cut = true;
    Ok(outcome)
}

/// The properties that fail in `w` (without its trace): Zave's invariants, as `Always`; and
/// once the network has settled, `Eventually(LookupsFindOwners)`: a settled state never
/// changes again, so a lookup that fails there fails for good.
fn check<P: Explorable>(
    cfg: &Config,
    params: &P::Params,
    w: &World<P>,
    bounds: Bounds,
    outcome: &mut Outcome<P>,
) -> Option<Violation<P>>
where
    P::Message: Hash + Eq,
    P::Timer: Hash + Eq,
{
    let broken = w.violations(params);
    if !broken.is_empty() {
        let properties = broken.iter().map(|p| format!("Always({p})")).collect();
        let repair = repair(cfg, params, w, bounds);
        return Some(Violation { trace: Vec::new(), properties, lookups: Vec::new(), repair });
    }
    if !w.settled(cfg, params) {
        return None;
    }
    outcome.settled += 1;
    let failed = w.lookups_fail(cfg, params);
    (!failed.is_empty()).then(|| Violation {
        trace: Vec::new(),
        properties: vec!["Eventually(LookupsFindOwners)".to_string()],
        lookups: failed,
        repair: Repair::Never { complete: true },
    })
}

/// Searches the continuations of `broken` (a state where a property fails), breadth-first
/// within `bounds`, for a state where every property holds.
fn repair<P: Explorable>(
    cfg: &Config,
    params: &P::Params,
    broken: &World<P>,
    bounds: Bounds,
) -> Repair
where
    P::Message: Hash + Eq,
    P::Timer: Hash + Eq,
{
    let mut seen: BTreeSet<u128> = BTreeSet::new();
    seen.insert(broken.key());
    let mut frontier = vec![broken.clone()];
    let mut states = 1u64;
    for depth in 1..=bounds.depth {
        let mut next = Vec::new();
        for world in &frontier {
            for step in world.enabled(cfg, bounds.failures, bounds.fifo) {
                let after = world.after(cfg, params, &step);
                if !seen.insert(after.key()) {
                    continue;
                }
                if after.violations(params).is_empty() {
                    return Repair::After(depth);
                }
                states += 1;
                if states >= bounds.max_states {
                    return Repair::Never { complete: false };
                }
                next.push(after);
            }
        }
        if next.is_empty() {
            return Repair::Never { complete: true };
        }
        frontier = next;
    }
    Repair::Never { complete: false }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chord::Peer;
    use crate::config::defaults::MAINTENANCE;
    use crate::config::{ChordVariant, Population, ScriptedEvent};
    use crate::ring::IdSpace;
    use crate::time::SimTime;

    /// Peers `ids` on a 6-bit ring, successor lists of `r`, maintenance on, `events` scripted.
    fn small(ids: &[u64], r: u32, variant: ChordVariant, events: &[(u64, Action)]) -> Config {
        let mut b = Config::builder(ids.len() as u64)
            .space(IdSpace::new(6).unwrap())
            .population(Population::Explicit(ids.iter().map(|&i| RingId(i)).collect()))
            .successors(r)
            .chord_variant(variant)
            .maintenance(MAINTENANCE)
            .lookups(0);
        for &(at, action) in events {
            b = b.event(ScriptedEvent { at: SimTime(at), action });
        }
        b.build().expect("valid")
    }

    /// Ring 10, 20, 30 (r = 2); 25 joins via 10, then 30 crashes: Zave's joiner whose
    /// successor fails before it has stabilized.
    fn join_then_crash(variant: ChordVariant) -> Config {
        let join = Action::Join { peer: RingId(25), via: RingId(10) };
        let crash = Action::Crash { peer: RingId(30) };
        small(&[10, 20, 30], 2, variant, &[(0, join), (1, crash)])
    }

    const BOUNDS: Bounds =
        Bounds { depth: 12, max_states: 200_000, failures: Failures::Any, fifo: false };

    #[test]
    fn original_chord_loses_a_joiner_to_one_failure_and_the_trace_replays() {
        let cfg = join_then_crash(ChordVariant::Sigcomm2001);
        let o = explore::<Peer>(&cfg, 1, BOUNDS).unwrap();
        let v = o.violation.expect("a violation");
        // The joiner takes its successor's ID but not its list (SIGCOMM 2001), so when that
        // successor crashes it knows no live one: the shortest trace is the join's four
        // messages between the two scripted events.
        assert_eq!(v.properties, ["Always(ConnectedAppendages)", "Always(OneLiveSuccessor)"]);
        assert_eq!(v.trace.len(), 6, "{:?}", v.trace);
        assert_eq!(
            (v.trace[0].clone(), v.trace[5].clone()),
            (Step::Scripted(0), Step::Scripted(1))
        );
        // Replayed by the simulation, the schedule stops at the same step, on the same failure.
        let mut replay = cfg.clone();
        replay.schedule = schedule_of(&cfg, &v.trace);
        let run = crate::sim::run(&replay, 1).unwrap();
        let stopped = run.stopped.expect("the replay stops");
        assert!(
            stopped.starts_with("ring property failed after schedule step 6 of 6: ConnectedAppendages, OneLiveSuccessor"),
            "{stopped}"
        );
    }

    #[test]
    fn corrected_chord_keeps_its_properties_within_the_same_bounds_and_counts_the_same() {
        let cfg = join_then_crash(ChordVariant::Zave);
        let a = explore::<Peer>(&cfg, 1, BOUNDS).unwrap();
        assert!(a.violation.is_none(), "{:?}", a.violation);
        assert!(a.states > 10_000 && a.depth == 12 && a.cut, "{a:?}");
        let b = explore::<Peer>(&cfg, 1, BOUNDS).unwrap();
        assert_eq!((a.states, a.transitions), (b.states, b.transitions));
    }

    #[test]
    fn fifo_links_keep_the_published_failure_and_cut_the_orders() {
        let fifo = Bounds { fifo: true, ..BOUNDS };
        let published = explore::<Peer>(&join_then_crash(ChordVariant::Sigcomm2001), 1, fifo);
        assert_eq!(published.unwrap().violation.expect("a violation").trace.len(), 6);
        let corrected = join_then_crash(ChordVariant::Zave);
        let any = explore::<Peer>(&corrected, 1, BOUNDS).unwrap();
        let ordered = explore::<Peer>(&corrected, 1, fifo).unwrap();
        assert!(ordered.violation.is_none());
        assert!(ordered.states < any.states, "{} >= {}", ordered.states, any.states);
    }

    #[test]
    fn a_static_ring_has_finitely_many_states_and_no_violation() {
        let cfg = small(&[10, 20, 30], 2, ChordVariant::Zave, &[]);
        let o = explore::<Peer>(
            &cfg,
            1,
            Bounds { depth: 100, max_states: 100_000, failures: Failures::Any, fifo: false },
        )
        .unwrap();
        assert!(o.violation.is_none() && !o.cut, "{o:?}");
        assert!(o.states < 10_000, "{o:?}");
    }

    #[test]
    fn a_converged_ring_is_settled_and_answers_every_lookup_and_a_skipped_member_does_not() {
        let cfg = small(&[10, 20, 30], 2, ChordVariant::Zave, &[]);
        let mut sim = Simulation::<Peer>::new(&cfg, 1).unwrap();
        let w = World::initial(&mut sim);
        assert!(w.quiet() && w.settled(&cfg, &sim.params));
        assert_eq!(w.lookups_fail(&cfg, &sim.params), []);
        // 10's successor skips 20: the ring 10 -> 30 -> 10 is ordered and 20 hangs off it, so
        // every Always property holds; 20's stabilization will repair it, so it has not
        // settled. Lookups still find 20 (30 knows 20 precedes it and sends the query back).
        let mut skipped = w.clone();
        let p = |i: u32, id: u64| PeerRef::new(PeerIdx(i), RingId(id));
        skipped.peers[0] = Peer::new(p(0, 10), Some(p(2, 30)), vec![p(2, 30)]);
        assert!(skipped.violations(&sim.params).is_empty());
        assert!(!skipped.settled(&cfg, &sim.params));
        assert_eq!(skipped.lookups_fail(&cfg, &sim.params), []);
        // A member the lookups cannot reach (gone, but still counted a member): every lookup
        // for its ID fails, from each live member.
        let mut gone = w.clone();
        gone.alive[1] = false;
        let failed = gone.lookups_fail(&cfg, &sim.params);
        let to_20: Vec<_> = failed.iter().filter(|(_, key)| *key == RingId(20)).collect();
        assert_eq!(to_20.len(), 2, "{failed:?}");
    }

    /// The schedule of `trace` from the initial state of `cfg`.
    fn schedule_of(cfg: &Config, trace: &[StepOf<Peer>]) -> Vec<ScheduledStep> {
        let mut sim = Simulation::<Peer>::new(cfg, 1).unwrap();
        let mut w = World::initial(&mut sim);
        let mut steps = Vec::new();
        for s in trace {
            steps.push(w.scheduled(s));
            w = w.after(cfg, &sim.params, s);
        }
        steps
    }

    #[test]
    fn explorer_steps_are_the_simulations_own() {
        // A walk of 80 steps drawn among the enabled ones (avoiding states that break a
        // property, where a replay would stop), with a join, a lookup, a store and a crash.
        let events = [
            (0, Action::Join { peer: RingId(25), via: RingId(10) }),
            (1, Action::Store { from: RingId(20), key: RingId(42) }),
            (2, Action::Lookup { from: RingId(10), key: RingId(27) }),
            (3, Action::Crash { peer: RingId(30) }),
            (4, Action::Join { peer: RingId(50), via: RingId(20) }),
        ];
        let cfg = small(&[10, 20, 30, 40], 2, ChordVariant::Zave, &events);
        let mut sim = Simulation::<Peer>::new(&cfg, 1).unwrap();
        let mut w = World::initial(&mut sim);
        let (mut trace, mut worlds) = (Vec::new(), Vec::new());
        let mut x: u64 = 7;
        for _ in 0..80 {
            let mut options = w.enabled(&cfg, Failures::Any, false);
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let k = (x >> 33) as usize % options.len().max(1);
            options.rotate_left(k);
            let Some((step, next)) = options.into_iter().find_map(|s| {
                let next = w.after(&cfg, &sim.params, &s);
                next.violations(&sim.params).is_empty().then_some((s, next))
            }) else {
                break;
            };
            trace.push(step);
            worlds.push(next.clone());
            w = next;
        }
        assert!(trace.len() == 80, "the walk went {} steps", trace.len());
        let kinds = |f: fn(&StepOf<Peer>) -> bool| trace.iter().filter(|s| f(s)).count();
        assert!(kinds(|s| matches!(s, Step::Scripted(_))) == 5);
        assert!(kinds(|s| matches!(s, Step::Timer { .. })) > 10);
        assert!(kinds(|s| matches!(s, Step::Undeliverable { .. })) > 0);
        let schedule = schedule_of(&cfg, &trace);
        for k in 1..=trace.len() {
            let mut prefix = cfg.clone();
            prefix.schedule = schedule[..k].to_vec();
            let mut run = Simulation::<Peer>::new(&prefix, 1).unwrap();
            run.run_schedule();
            assert_eq!(run.stopped, None, "step {k}");
            let explored = &worlds[k - 1];
            assert_eq!(run.peers.len(), explored.peers.len(), "step {k}");
            for (a, b) in run.peers.all(&run.params).iter().zip(&explored.peers) {
                assert_eq!(format!("{a:?}"), format!("{b:?}"), "step {k}: {:?}", trace[k - 1]);
            }
            assert_eq!(run.alive, explored.alive, "step {k}");
        }
    }
}

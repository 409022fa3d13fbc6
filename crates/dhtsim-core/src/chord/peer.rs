//! One peer: routing (SPEC §2) and ring maintenance (Chord, with Pamela Zave's corrections:
//! adopt a successor only after it has answered, copy the successor's list, replace the
//! predecessor only by a closer notifier or when it is found dead). Two options go beyond the
//! published protocol: reactive stabilization (answer a rejected notify with the predecessor,
//! tell a replaced predecessor about its replacement) and a finger table looked up on joining.
//!
//! Routing at peer p with predecessor q and successor s:
//! 1. key ∈ (q, p]: p owns it and answers the querier (with no known predecessor, p owns the key
//!    when the sender expected it to);
//! 2. the sender expected p to own it but it does not (stale view): back to q;
//! 3. key ∈ (p, s]: forward to s, which should own it;
//! 4. a cached peer c answered for a range (pred_c, c] holding the key, and this query has not
//!    jumped yet: jump straight to c (at most one such jump per query);
//! 5. else forward to the known peer (s, fingers, cached peers, and the rest of the successor list
//!    when `route_via_successors`) that most closely precedes the key, or to s if none does.

use super::cache::ShortcutCache;
use super::fingers::{FingerTable, StaticRing};
mod iterative;

use super::{
    Answer, Command, Entries, Message, Op, Params, Query, Reply, SuccList, Timer, Welcome,
};
use crate::protocol::{OpId, PeerIdx, PeerRef, Report};
use crate::ring::{IdSpace, RingId};
use crate::storage::{Store, new_replicas};

/// Where a query goes next from a peer.
enum Next {
    /// The peer owns the key.
    Own,
    /// No route (hop limit, or no live peer left to try).
    Fail,
    /// On to this peer.
    To(PeerRef),
}

/// One peer's protocol state.
#[derive(Clone, Debug, Hash)]
pub struct Peer {
    me: PeerRef,
    pred: Option<PeerRef>,
    /// Successor list, nearest first, at most r long. Before joining: empty, then the peers the
    /// join answer named, nearest first, while the first is checked (see `check_join_candidate`).
    /// Inline up to four entries: nearly every event reads it, and on the heap it was a cache
    /// miss of its own (and a TLB miss) behind the miss on the peer.
    succs: Succs,
    fingers: FingerTable,
    cache: ShortcutCache,
    entries: Store,
    joined: bool,
    /// A notifier farther than the current predecessor, adopted if that one turns out dead.
    pred_candidate: Option<PeerRef>,
    /// A ping of the predecessor is under way: another reason to check it (a farther notifier,
    /// the periodic check) waits for that answer instead of sending a ping of its own.
    checking_pred: bool,
    /// Queries that reached this peer before it joined (another joiner took it for its
    /// well-known peer): routed once it has joined, failed if its own join fails.
    held: Vec<Query>,
    /// The well-known peer its join went to (`None` for a bootstrap member): asked again if
    /// every successor a join answer named proves dead, or if this peer ever knows no other.
    via: Option<PeerRef>,
}

/// A successor list, inline up to r = 4 (a longer one spills to the heap).
type Succs = smallvec::SmallVec<[PeerRef; 4]>;

/// How many times a joiner sends its join to its well-known peer before it gives up, when the
/// network may drop messages.
pub const JOIN_ATTEMPTS: u32 = 4;

impl Peer {
    /// A member of the bootstrap ring that knows its predecessor and its successor list, nearest
    /// first (itself, for both, when alone).
    pub fn new(me: PeerRef, pred: Option<PeerRef>, succs: Vec<PeerRef>) -> Self {
        assert!(!succs.is_empty(), "a ring member always has a successor");
        Peer { succs: Succs::from_vec(succs), pred, joined: true, ..Peer::joining(me) }
    }

    /// A peer that is not part of the ring yet: call [`Peer::join`].
    pub fn joining(me: PeerRef) -> Self {
        Peer {
            me,
            pred: None,
            succs: Succs::new(),
            fingers: FingerTable::default(),
            cache: ShortcutCache::default(),
            entries: Store::default(),
            joined: false,
            pred_candidate: None,
            checking_pred: false,
            held: Vec::new(),
            via: None,
        }
    }

    /// Starts loading what this peer keeps on the heap and its next event will read (that
    /// event delivers `delivered`, or is a timer or a failure notice when `None`): the finger
    /// table, unless the message is one of maintenance that never reads it, and the successor
    /// list if it is too long to be inline. Each is a cache miss of its own, behind the miss on
    /// the peer itself.
    #[inline]
    pub(super) fn prefetch_state(&self, delivered: Option<&Message>) {
        if self.succs.spilled() {
            crate::engine::prefetch_slice(&self.succs, 1);
        }
        let maintenance = matches!(
            delivered,
            Some(
                Message::StabilizeReq
                    | Message::StabilizeResp { .. }
                    | Message::Notify
                    | Message::Ping
                    | Message::Pong
                    | Message::Entries(_)
                    | Message::FetchRange { .. }
            )
        );
        let fingers = self.fingers.entries();
        if !maintenance && !fingers.is_empty() {
            crate::engine::prefetch_slice(fingers, 8);
        }
    }

    // ----- inspection (for the simulation's checks and for tests) -----

    /// This peer.
    pub fn me(&self) -> PeerRef {
        self.me
    }

    /// Its current predecessor, if it knows one.
    pub fn pred(&self) -> Option<PeerRef> {
        self.pred
    }

    /// Its current successor (`None` before it has joined).
    pub fn succ(&self) -> Option<PeerRef> {
        self.succs.first().copied()
    }

    /// Its successor list, nearest first.
    pub fn successors(&self) -> &[PeerRef] {
        &self.succs
    }

    /// The distinct finger-table entries, nearest first (none while the table is derived: see
    /// [`Peer::own_fingers`]).
    pub fn fingers(&self) -> &[PeerRef] {
        debug_assert!(!self.fingers.is_derived(), "a derived table is read through the ring");
        self.fingers.entries()
    }

    /// Finger `index` as this peer knows it, the way SimGrid's Chord keeps its table: finger 0 is
    /// the successor; finger i > 0 is itself until it has been set (at bootstrap, or repaired
    /// once), then the nearest finger-table entry at or after me + 2^i (the peer the last repair
    /// found, unless a later repair or a death replaced it). On an exact table this is the
    /// successor of me + 2^i.
    pub fn finger(&self, space: IdSpace, index: u8) -> PeerRef {
        if index == 0 {
            return self.succ().unwrap_or(self.me);
        }
        self.fingers.finger(space, self.me, index)
    }

    /// [`Peer::finger`], also of a derived table.
    pub(super) fn finger_of(&self, params: &Params, index: u8) -> PeerRef {
        match &params.ring {
            Some(ring) if index > 0 && self.fingers.is_derived() => {
                FingerTable::derived_finger(ring, params.space, self.me, index)
            }
            _ => self.finger(params.space, index),
        }
    }

    /// The peers in the learned shortcut cache, in insertion order.
    pub fn shortcuts(&self) -> impl Iterator<Item = PeerRef> + '_ {
        self.cache.peers()
    }

    /// Whether it has joined the ring.
    pub fn is_joined(&self) -> bool {
        self.joined
    }

    /// The entries stored here (owned or replicated).
    pub fn entries(&self) -> &Store {
        &self.entries
    }

    /// The entries stored here, to place files at bootstrap.
    pub(super) fn entries_mut(&mut self) -> &mut Store {
        &mut self.entries
    }

    /// Whether this peer believes it owns `key`: key ∈ (pred, me].
    pub fn owns(&self, space: IdSpace, key: RingId) -> bool {
        self.pred.is_some_and(|p| space.in_open_closed(key, p.id, self.me.id))
    }

    // ----- setup -----

    /// Sets the finger table: finger i is the successor of me + 2^i, for i = 0..m-1. Entries equal
    /// to this peer or to the previous finger are dropped; `fingers` must be in finger order.
    pub fn set_fingers(&mut self, space: IdSpace, fingers: impl IntoIterator<Item = PeerRef>) {
        self.fingers.set_all(space, self.me, fingers);
    }

    /// Makes the finger table that of the static `ring`, found there when read (`fingers`).
    pub(super) fn derive_fingers(&mut self, space: IdSpace, ring: &StaticRing) {
        self.fingers.derive(space, self.me, ring);
    }

    /// Stores a derived finger table, before the peer changes it or lends out its entries.
    pub fn own_fingers(&mut self, params: &Params) {
        self.fingers.own(params.space, self.me, params.ring.as_ref());
    }

    /// Overwrites the successor list. Only for tests that break a ring on purpose to see the
    /// checker catch it.
    #[cfg(any(test, feature = "test-support"))]
    pub fn corrupt_successors(&mut self, succs: Vec<PeerRef>) {
        self.succs = Succs::from_vec(succs);
    }

    /// Arms the periodic timers (for a bootstrap member; a joiner arms them when it joins).
    pub fn start_timers(&self, params: &Params, out: &mut Vec<Command>) {
        if let Some(m) = params.maintenance {
            out.push(Command::SetTimer { after: m.stabilize, timer: Timer::Stabilize });
            out.push(Command::SetTimer {
                after: m.check_predecessor,
                timer: Timer::CheckPredecessor,
            });
            if params.fingers {
                out.push(Command::SetTimer { after: m.fix_finger, timer: Timer::FixFinger });
            }
        }
    }

    // ----- inputs -----

    /// Starts a query at this peer (the querier), as if it had arrived here.
    pub fn start_query(&mut self, params: &Params, q: Query, out: &mut Vec<Command>) {
        if params.iterative && matches!(q.kind, Op::Lookup | Op::Store { .. }) {
            self.step_from_here(params, q, Vec::new(), out);
        } else {
            self.route(params, q, out);
        }
    }

    /// A joining peer sends its join query to the well-known peer `via`; `op` tags it for
    /// measurement.
    pub fn join(&mut self, via: PeerRef, op: OpId, out: &mut Vec<Command>) {
        self.via = Some(via);
        let q = Query {
            op,
            kind: Op::Join,
            key: self.me.id,
            querier: self.me,
            hops: 1,
            timeouts: 0,
            expect_owner: false,
            jumped: false,
            lower: RingId(0),
        };
        out.push(Command::Send { to: via, msg: Message::Query(q) });
    }

    /// Leaves gracefully: the successor gets the owned entries and the predecessor; the
    /// predecessor gets the successor list. The simulation removes the peer afterwards.
    pub fn leave(&mut self, out: &mut Vec<Command>) {
        if !self.joined || self.me.client {
            return; // nobody knows it (yet, or ever: a client is on nobody's ring)
        }
        let succ = self.succ().filter(|s| s.idx != self.me.idx);
        let pred = self.pred.filter(|p| p.idx != self.me.idx);
        if let Some(s) = succ {
            // Without a known predecessor the leaver cannot tell which keys are its own: it hands
            // over everything it holds.
            let entries = match self.pred {
                Some(_) => self.owned_entries(),
                None => self.entries.all(),
            };
            let msg = Message::Leaving { pred: self.pred, succs: Vec::new(), entries };
            out.push(Command::Send { to: s, msg });
        }
        if let Some(p) = pred {
            let msg =
                Message::Leaving { pred: None, succs: self.succs.to_vec(), entries: Vec::new() };
            out.push(Command::Send { to: p, msg });
        }
    }

    /// Handles a message from `from`, reporting a measured query's hop and a measured answer's
    /// arrival.
    pub fn handle_message(
        &mut self,
        params: &Params,
        from: PeerRef,
        msg: Message,
        out: &mut Vec<Command>,
    ) {
        match msg {
            // A measured query reaching a live peer is a hop, reported before anything else.
            Message::Query(q) => {
                if q.op.is_measured() {
                    out.push(Command::Report(Report::Reached(q.op)));
                }
                if self.joined {
                    self.route(params, q, out);
                } else {
                    // Not part of the ring yet, so nowhere to route: wait until it is (SimGrid's
                    // mailbox semantics; the joiner that sent it waits meanwhile).
                    self.held.push(q);
                }
            }
            Message::Ask { hop, again } => {
                if hop.q.op.is_measured() && !again {
                    out.push(Command::Report(Report::Reached(hop.q.op)));
                }
                self.on_ask(params, hop, out);
            }
            Message::Next(hop) => self.on_next(hop, out),
            // An answer reaching its querier ends the operation once the querier has handled it.
            Message::Answer(a) => {
                let op = a.op;
                self.handle_answer(params, a, out);
                if op.is_measured() {
                    out.push(Command::Report(Report::Ended(op)));
                }
            }
            Message::StabilizeReq => {
                out.push(Command::Send { to: from, msg: self.stabilize_resp() })
            }
            Message::StabilizeResp { pred, succs } => {
                self.on_stabilize_resp(params, from, pred, succs, out)
            }
            Message::Notify => self.on_notify(params, from, out),
            Message::Ping => out.push(Command::Send { to: from, msg: Message::Pong }),
            Message::Pong => {
                if self.pred.is_some_and(|p| p.idx == from.idx) {
                    self.pred_candidate = None;
                    self.checking_pred = false;
                }
            }
            Message::Leaving { pred, succs, entries } => {
                self.on_leaving(params, from, pred, succs, entries, out)
            }
            Message::Entries(entries) => self.entries.insert_all(entries),
            Message::FetchRange { start } => {
                let space = params.space;
                let entries = self.entries.select(|k| space.in_open_closed(k, start, from.id));
                if !entries.is_empty() {
                    out.push(Command::Send { to: from, msg: Message::Entries(entries) });
                }
            }
        }
    }

    /// Handles a periodic timer and re-arms it.
    pub fn handle_timer(&mut self, params: &Params, timer: Timer, out: &mut Vec<Command>) {
        let Some(m) = params.maintenance else { return };
        match timer {
            Timer::Stabilize => {
                self.ensure_successor();
                self.when_lost(out);
                // Chord asks its successor for that peer's predecessor. A peer that is its own
                // successor holds that answer itself, so it asks that predecessor, to adopt it
                // only once it has answered.
                if let Some(s) = self.known_successor() {
                    out.push(Command::Send { to: s, msg: Message::StabilizeReq });
                }
                out.push(Command::SetTimer { after: m.stabilize, timer });
            }
            Timer::CheckPredecessor => {
                self.check_pred(out);
                out.push(Command::SetTimer { after: m.check_predecessor, timer });
            }
            Timer::FixFinger => {
                self.fix_next_finger(params, out);
                out.push(Command::SetTimer { after: m.fix_finger, timer });
            }
        }
    }

    /// A message this peer sent to `to` could not be delivered: `to` is gone. Forget it, then
    /// retry or repair.
    pub fn handle_undeliverable(
        &mut self,
        params: &Params,
        to: PeerRef,
        msg: Message,
        out: &mut Vec<Command>,
    ) {
        // A measured query's forward (or iterative request) that timed out is reported before
        // anything else.
        if let Some(q) = msg.query().filter(|q| q.op.is_measured()) {
            out.push(Command::Report(Report::TimedOut(q.op)));
        }
        // What follows may forget the dead peer or read every entry.
        self.own_fingers(params);
        if !params.learn_from_timeouts
            && let Message::Ask { hop, again } = msg
        {
            // The querier leaves the dead peer out of this lookup only (ToN's Table II).
            return self.on_ask_timeout(params, hop, again, out);
        }
        let had_pred = self.pred;
        let had_succ = self.succ();
        let replicas_before = Succs::from_slice(self.replicas(params));
        self.forget(to.idx, out);
        if had_pred != self.pred {
            self.push_replicas(params, out);
        } else {
            self.refresh_replicas(params, &replicas_before, out);
        }
        // Whatever message showed it, a dead successor is replaced by the next one at once:
        // ask that one for its list now, not at the next period (meanwhile the predecessor
        // would copy this peer's shortened list, and a list of one spreads backwards).
        let promoted = self.succ().filter(|s| s.idx != self.me.idx);
        if self.joined
            && params.maintenance.is_some()
            && had_succ.is_some_and(|s| s.idx == to.idx)
            && let Some(s) = promoted
        {
            out.push(Command::Send { to: s, msg: Message::StabilizeReq });
        }
        match msg {
            Message::Query(mut q)
                if !self.joined && q.kind == Op::Join && q.querier.idx == self.me.idx =>
            {
                // A joiner's request to its well-known peer, the one peer it knows: on a lossy
                // network it asks that one again a few times (the request may have been lost)
                // before it gives up; on a lossless one the peer is dead, and it gives up now.
                q.timeouts += 1;
                if q.timeouts < params.join_attempts {
                    self.via = Some(to);
                    out.push(Command::Send { to, msg: Message::Query(q) });
                } else {
                    self.answer(&q, Reply::Failed, out);
                }
            }
            Message::Query(mut q) => {
                q.hops -= 1;
                q.timeouts += 1;
                let limit = match q.kind {
                    Op::Lookup | Op::Store { .. } => params.retries,
                    Op::FindFinger { .. } => params.repair_retries,
                    Op::Join => u32::MAX,
                };
                if q.timeouts > limit {
                    self.answer(&q, Reply::Failed, out);
                    return;
                }
                // A query sent back to the predecessor (SPEC §2) whose predecessor proved dead:
                // this peer's range now reaches back past it, so the key, known to lie in
                // (lower, me], is still expected here and this peer answers for it (route's
                // first step), rather than sending it on round the ring.
                // (A forward to the successor expecting it to own the key carries lower = me.)
                let back_to_pred = q.expect_owner
                    && q.lower != self.me.id
                    && had_pred.is_some_and(|p| p.idx == to.idx);
                q.expect_owner &= back_to_pred;
                self.route(params, q, out);
            }
            Message::Ask { hop, again } => self.on_ask_timeout(params, hop, again, out),
            Message::StabilizeReq if !self.joined => {
                // A successor named by the join answer is dead: check the next one, or ask to
                // join again when none is left.
                self.check_join_candidate(out);
            }
            Message::StabilizeReq if had_succ.is_some_and(|s| s.idx != to.idx) => {
                // A closer successor candidate proved dead: the successor kept gets the notify
                // that stabilization held back for the candidate (`on_stabilize_resp`).
                if let Some(s) = self.succ().filter(|s| s.idx != self.me.idx) {
                    self.notify(s, out);
                }
            }
            _ => {}
        }
    }

    /// The network dropped `reply`, which `replier` sent: the request it answered timed out
    /// here. A peer this one asked directly (a stabilization, a ping, an iterative step) counts
    /// as not answering, as in [`Peer::handle_undeliverable`]; a querier that lost the answer
    /// to its query asks again from the start (it never learned who the owner was), or gives up
    /// when out of retries.
    pub fn handle_reply_lost(
        &mut self,
        params: &Params,
        replier: PeerRef,
        reply: Message,
        out: &mut Vec<Command>,
    ) {
        match reply {
            Message::Answer(a) => self.on_answer_lost(params, a, out),
            Message::Next(mut hop) => {
                // The querier never learned the step `replier` named: it did not happen, and
                // `replier` is as good as dead to it. With no one left to ask again, it takes
                // the next step from its own tables.
                hop.q.hops -= 1;
                let msg = Message::Ask { hop, again: true };
                self.handle_undeliverable(params, replier, msg, out)
            }
            Message::StabilizeResp { .. } => {
                self.handle_undeliverable(params, replier, Message::StabilizeReq, out)
            }
            Message::Pong => self.handle_undeliverable(params, replier, Message::Ping, out),
            _ => {}
        }
    }

    /// The answer to a query this peer started was lost on its way here.
    fn on_answer_lost(&mut self, params: &Params, a: Answer, out: &mut Vec<Command>) {
        if a.op.is_measured() {
            out.push(Command::Report(Report::TimedOut(a.op)));
        }
        let key = match (a.kind, &a.reply) {
            // A failure lost is the failure received: the operation ends as it would have.
            (_, Reply::Failed) => {
                let q = self.new_query(a.op, a.kind, self.me.id, a.timeouts);
                return self.answer(&q, Reply::Failed, out);
            }
            (Op::Join, _) => {
                if self.joined && !self.is_lost() {
                    return; // joined meanwhile (an earlier answer arrived)
                }
                return match self.via {
                    Some(via) => self.join(via, a.op, out),
                    None => self.fail_held(out),
                };
            }
            (Op::FindFinger { index }, _) => return self.fix_finger(params, index, out),
            (_, Reply::Owner { key, .. } | Reply::Stored { key }) => *key,
            (_, Reply::Successor { .. }) => unreachable!("only joins and repairs find successors"),
        };
        let timeouts = a.timeouts + 1;
        let q = self.new_query(a.op, a.kind, key, timeouts);
        let limit = match a.kind {
            Op::Lookup | Op::Store { .. } => params.retries,
            _ => u32::MAX,
        };
        if timeouts > limit {
            return self.answer(&q, Reply::Failed, out);
        }
        self.start_query(params, q, out);
    }

    /// A query of operation `op` from this peer, about to start (again, after `timeouts`).
    pub(crate) fn new_query(&self, op: OpId, kind: Op, key: RingId, timeouts: u32) -> Query {
        Query {
            op,
            kind,
            key,
            querier: self.me,
            hops: 0,
            timeouts,
            expect_owner: false,
            jumped: false,
            lower: RingId(0),
        }
    }

    /// The successor as far as this peer knows: its first successor other than itself; failing
    /// that, its predecessor (a joined peer that is its own successor but has been notified by
    /// another, because it started the ring alone or lost every successor, knows only that one).
    fn known_successor(&self) -> Option<PeerRef> {
        let other = |p: &PeerRef| p.idx != self.me.idx;
        self.succ().filter(other).or(self.pred.filter(|p| other(p) && self.joined))
    }

    /// A joiner checks that the first successor its join answer named is alive before adopting
    /// it: it asks for that peer's predecessor and list, and joins when the answer comes
    /// ([`Peer::on_stabilize_resp`]). With no candidate left (all found dead), it sends its join
    /// to the well-known peer again.
    fn check_join_candidate(&mut self, out: &mut Vec<Command>) {
        match self.succ() {
            Some(s) => out.push(Command::Send { to: s, msg: Message::StabilizeReq }),
            None => match self.via {
                Some(via) => self.join(via, OpId::MAINTENANCE, out),
                None => self.fail_held(out),
            },
        }
    }

    /// The joiner's chosen successor has answered: it becomes a member, notifies it, arms its
    /// timers, looks up its fingers if asked, and routes the queries it held.
    fn complete_join(&mut self, params: &Params, out: &mut Vec<Command>) {
        self.joined = true;
        out.push(Command::Joined);
        self.start_timers(params, out);
        if params.fingers && params.fingers_at_join {
            for index in 0..params.space.bits() {
                self.fix_finger(params, index as u8, out);
            }
        }
        for q in self.take_held() {
            self.route(params, q, out);
        }
    }

    /// This peer will not join (its own join failed): the queries it held cannot be routed.
    fn fail_held(&mut self, out: &mut Vec<Command>) {
        for q in self.take_held() {
            self.answer(&q, Reply::Failed, out);
        }
    }

    /// Takes the queries held by a peer that has not joined (the simulation ends them when the
    /// peer departs).
    pub fn take_held(&mut self) -> Vec<Query> {
        std::mem::take(&mut self.held)
    }

    // ----- routing -----

    /// Recursive routing: answers the query as its owner, or forwards it on.
    fn route(&mut self, params: &Params, mut q: Query, out: &mut Vec<Command>) {
        match self.next_step(params, &mut q, &[]) {
            Next::Own => self.answer_query(params, q, out),
            Next::Fail => self.answer(&q, Reply::Failed, out),
            Next::To(next) => out.push(Command::Send { to: next, msg: Message::Query(q) }),
        }
    }

    /// Where query `q` goes from this peer, by SPEC §2's rules, leaving out the peers in `avoid`
    /// (an iterative querier found them dead; this peer has not learned it). On a step to
    /// another peer, `q` is updated as that peer must receive it (hops, expectation, bounds).
    #[inline(always)] // so that recursive routing, with nothing to avoid, pays nothing for it
    fn next_step(&mut self, params: &Params, q: &mut Query, avoid: &[PeerRef]) -> Next {
        let space = params.space;
        let avoided = |p: &PeerRef| avoid.iter().any(|a| a.idx == p.idx);
        let pred = match avoid {
            [] => self.pred,
            _ => self.pred.filter(|p| !avoided(p)),
        };
        // Without a predecessor a peer cannot tell where its range starts: it accepts a key it
        // was expected to own only if the key is known to lie in (lower, me].
        let owner = match pred {
            Some(p) => space.in_open_closed(q.key, p.id, self.me.id),
            None => {
                q.expect_owner && space.in_open_closed(q.key, q.lower, self.me.id)
                    || self.succs.is_empty() && self.joined && !self.me.client
            }
        };
        if owner {
            return Next::Own;
        }
        // The key, not in (pred, me], is in (me, succ] for the successor this peer knows (its
        // predecessor, when it is its own successor). Knowing no other peer (a lone peer owns
        // everything and answered above), there is nowhere to go.
        let succ = match avoid {
            [] => self.known_successor(),
            _ => {
                let usable = |p: &PeerRef| p.idx != self.me.idx && !avoided(p);
                let joined_pred = pred.filter(|p| usable(p) && self.joined);
                self.succs.iter().copied().find(usable).or(joined_pred)
            }
        };
        let Some(succ) = succ else { return Next::Fail };
        let (next, expect_owner) = if q.expect_owner {
            // Sent back to a peer that cannot go back further: no route.
            let Some(pred) = pred else { return Next::Fail };
            (pred, true)
        } else if space.in_open_closed(q.key, self.me.id, succ.id) {
            q.lower = self.me.id;
            (succ, true)
        } else if let Some((c, from)) = (!q.jumped && params.cache_size > 0)
            .then(|| self.cache.covering(space, q.key))
            .flatten()
            .filter(|(c, _)| !avoided(c))
        {
            q.jumped = true;
            q.lower = from;
            (c, true)
        } else {
            // With only the successor known, it is the answer either way: skip the search.
            let only_succ = self.fingers.is_empty()
                && self.cache.is_empty()
                && (!params.route_via_successors || self.succs.len() == 1);
            let next = if only_succ {
                succ
            } else if avoid.is_empty() {
                self.closest_preceding(params, q.key).unwrap_or(succ)
            } else {
                self.own_fingers(params);
                self.closest_preceding_avoiding(params, q.key, avoid).unwrap_or(succ)
            };
            self.cache.mark_used(next.idx);
            (next, false)
        };
        if q.hops + q.timeouts >= params.hop_limit {
            return Next::Fail;
        }
        q.hops += 1;
        q.expect_owner = expect_owner;
        Next::To(next)
    }

    /// [`Peer::closest_preceding`] among the known peers not in `avoid` (every table scanned:
    /// only iterative lookups that met a dead peer come here).
    fn closest_preceding_avoiding(
        &self,
        params: &Params,
        key: RingId,
        avoid: &[PeerRef],
    ) -> Option<PeerRef> {
        let space = params.space;
        let limit = space.dist(self.me.id, key);
        let n_succs = if params.route_via_successors { self.succs.len() } else { 1 };
        let succs = self.succs[..n_succs.min(self.succs.len())].iter().copied();
        succs
            .chain(self.fingers.entries().iter().copied())
            .chain(self.cache.peers())
            .filter(|c| {
                let d = space.dist(self.me.id, c.id);
                d != 0 && d < limit && !avoid.iter().any(|a| a.idx == c.idx)
            })
            .max_by_key(|c| space.dist(self.me.id, c.id))
    }

    /// The known peer that most closely precedes `key`: the largest clockwise step from here that
    /// stays inside (me, key).
    fn closest_preceding(&self, params: &Params, key: RingId) -> Option<PeerRef> {
        let space = params.space;
        let limit = space.dist(self.me.id, key);
        let step = |c: &PeerRef| space.dist(self.me.id, c.id);
        let inside = |c: &PeerRef| {
            let d = step(c);
            d != 0 && d < limit
        };
        // Fingers are sorted by distance: the last one inside (me, key) is the best finger.
        let finger = match &params.ring {
            Some(ring) if self.fingers.is_derived() => {
                FingerTable::derived_last_before(ring, space, self.me, limit)
            }
            _ => self.fingers.last_before(space, self.me.id, limit),
        };
        let finger = finger.filter(inside);
        let n_succs = if params.route_via_successors { self.succs.len() } else { 1 };
        let best = self.succs[..n_succs.min(self.succs.len())]
            .iter()
            .copied()
            .chain(finger)
            .filter(inside)
            .max_by_key(step);
        if self.cache.is_empty() {
            return best;
        }
        best.into_iter().chain(self.cache.peers().filter(inside)).max_by_key(step)
    }

    fn answer_query(&mut self, params: &Params, q: Query, out: &mut Vec<Command>) {
        let reply = match q.kind {
            Op::Lookup => Reply::Owner {
                key: q.key,
                values: self.entries.values(q.key).to_vec(),
                // Without a predecessor, report only what is known: the key lies after `lower`.
                range_start: match self.pred {
                    Some(p) => p.id,
                    None if q.expect_owner => q.lower,
                    None => self.me.id,
                },
            },
            Op::Store { holder } => {
                self.entries.insert(q.key, holder);
                let entry = vec![(q.key, vec![holder])];
                for &r in self.replicas(params) {
                    out.push(Command::Send { to: r, msg: Message::Entries(entry.clone()) });
                }
                Reply::Stored { key: q.key }
            }
            Op::Join => {
                let mut succs = vec![self.me];
                let other = |s: &&PeerRef| s.idx != q.querier.idx && s.idx != self.me.idx;
                succs.extend(self.succs.iter().filter(other).copied());
                // Copies of the keys the joiner is about to own: (pred, joiner].
                let joiner = q.querier.id;
                let space = params.space;
                let entries = match self.pred {
                    _ if q.querier.client => Vec::new(), // a client owns nothing
                    Some(p) if p.idx != self.me.idx => {
                        self.entries.select(|k| space.in_open_closed(k, p.id, joiner))
                    }
                    _ => self.entries.select(|k| !space.in_open_closed(k, joiner, self.me.id)),
                };
                let hints = match params.fingers && params.finger_hints {
                    true => self.finger_hints(params, q.querier),
                    false => Vec::new(),
                };
                Reply::Successor { succs, welcome: Some(Box::new(Welcome { entries, hints })) }
            }
            Op::FindFinger { .. } => Reply::Successor { succs: vec![self.me], welcome: None },
        };
        self.answer(&q, reply, out);
    }

    /// What this peer, answering the join of `joiner`, offers as its finger table
    /// (`finger_hints`): its fingers other than the joiner. A derived table is stored first.
    fn finger_hints(&mut self, params: &Params, joiner: PeerRef) -> Vec<PeerRef> {
        self.own_fingers(params);
        self.fingers.entries().iter().copied().filter(|f| f.idx != joiner.idx).collect()
    }

    /// Sends `reply` to `q`'s querier; a measured operation's answer is reported as it leaves.
    fn answer(&self, q: &Query, reply: Reply, out: &mut Vec<Command>) {
        if q.op.is_measured() {
            out.push(Command::Report(Report::Answered(q.op, reply.answered())));
        }
        let (op, kind, timeouts) = (q.op, q.kind, q.timeouts);
        let msg = Message::Answer(Answer { op, timeouts, kind, from: self.me, reply });
        out.push(Command::Send { to: q.querier, msg });
    }

    fn handle_answer(&mut self, params: &Params, a: Answer, out: &mut Vec<Command>) {
        let from = a.from;
        match (a.kind, a.reply) {
            // (x, x] would claim the whole ring: only a lone peer owns that, and it needs no cache.
            (Op::Lookup, Reply::Owner { range_start, .. })
                if a.from.idx != self.me.idx && range_start != a.from.id =>
            {
                self.cache.remember(a.from, range_start, params.cache_size);
            }
            // A joiner, or a lost member that joined again.
            (Op::Join, Reply::Successor { succs, welcome }) if !self.joined || self.is_lost() => {
                let Welcome { entries, hints } = *welcome.unwrap_or_default();
                let found: Vec<PeerRef> =
                    succs.into_iter().filter(|s| s.idx != self.me.idx).collect();
                if self.joined && found.is_empty() {
                    return; // the answer named only this peer: it stays lost, and asks again
                }
                self.entries.insert_all(entries);
                if params.fingers && params.finger_hints {
                    // The owner itself (it sent its table without itself: it is `succs[0]`).
                    // The hints replace the whole table: a derived one need not be stored.
                    let table = std::iter::once(from).chain(hints);
                    self.fingers.take_hints(params.space, self.me, table);
                }
                // The successor the answer names, then its successors: candidates, nearest
                // first, until one has answered (Zave: never adopt a successor unchecked; it
                // may have died since it answered).
                self.succs = Succs::from_vec(found);
                if params.original && !self.joined {
                    // As published: the successor found is adopted at once, alone; the list
                    // fills at the next stabilization.
                    self.succs.truncate(1);
                    match self.succ() {
                        Some(s) => {
                            self.notify(s, out);
                            self.complete_join(params, out);
                        }
                        None => self.fail_held(out),
                    }
                    return;
                }
                self.check_join_candidate(out);
            }
            (Op::Join, Reply::Failed) if !self.joined => self.fail_held(out),
            (Op::FindFinger { index }, Reply::Successor { succs, .. }) => {
                if let Some(&f) = succs.first() {
                    self.own_fingers(params);
                    self.fingers.update(params.space, self.me, index, f);
                }
            }
            _ => {}
        }
    }

    // ----- maintenance -----

    /// This peer's answer to a stabilization request: its predecessor and successor list.
    fn stabilize_resp(&self) -> Message {
        Message::StabilizeResp { pred: self.pred, succs: SuccList::from_slice(&self.succs) }
    }

    fn on_stabilize_resp(
        &mut self,
        params: &Params,
        from: PeerRef,
        their_pred: Option<PeerRef>,
        their_succs: SuccList,
        out: &mut Vec<Command>,
    ) {
        let space = params.space;
        let accept = match self.succ() {
            None => true,
            Some(s) if s.idx == from.idx => true,
            // A closer successor that has just proved it is alive (Zave: never adopt unchecked).
            Some(s) => space.in_open(from.id, self.me.id, s.id),
        };
        if !accept {
            return;
        }
        // A peer between us: `from`'s predecessor, as in Chord; or one `from` lists, which
        // happens when `from` is not my successor at all (having lost every successor I fell
        // back on my predecessor, whose list names me and then my true successors). The
        // closest one is checked, to be adopted once it answers.
        let inside = |x: &PeerRef| x.idx != self.me.idx && space.in_open(x.id, self.me.id, from.id);
        let closest = their_pred
            .into_iter()
            .chain(their_succs.iter().copied())
            .filter(inside)
            .min_by_key(|x| space.dist(self.me.id, x.id));
        let old_replicas = Succs::from_slice(self.replicas(params));
        // Rebuilt in place: every stabilization round comes here, so no allocation.
        let mut succs = std::mem::take(&mut self.succs);
        succs.clear();
        succs.push(from);
        // Their list up to me: what follows me in it has wrapped round the ring and lies
        // behind me (in a ring of at most r + 1 members, or past a member it does not know
        // is dead); kept, it would put the list out of ring order (OrderedSuccessorLists,
        // found by `dhtsim explore`).
        for &s in their_succs.iter().take_while(|s| s.idx != self.me.idx) {
            // Never past r: a fifth entry would move an inline list to the heap for a moment.
            if succs.len() >= params.successors {
                break;
            }
            if !succs.iter().any(|x| x.idx == s.idx) {
                succs.push(s);
            }
        }
        succs.truncate(params.successors);
        if succs.spilled() {
            succs.shrink_to_fit(); // back inline once a join's longer candidate list is gone
        }
        self.succs = succs;
        self.refresh_replicas(params, &old_replicas, out);
        if let Some(x) = closest {
            if params.original && their_pred.is_some_and(|p| p.idx == x.idx) {
                // As published: `successor = x` unchecked, and x is the one notified.
                self.succs.truncate(params.successors - 1);
                self.succs.insert(0, x);
                self.notify(x, out);
                if !self.joined {
                    self.complete_join(params, out);
                }
                return;
            }
            // x is notified once it has answered and been adopted; `from`, which x is about
            // to replace, is not notified as well (Zave's stabilize notifies the successor it
            // ends with; a notify to `from` would be rejected, at the cost of a ping of its
            // predecessor). Should x prove dead, `from` stays the successor and is notified
            // then (`handle_undeliverable`).
            if their_pred.is_some_and(|p| p.idx == x.idx) {
                out.push(Command::Send { to: x, msg: Message::StabilizeReq });
            } else {
                // x comes from the list past this peer: having fallen back on its predecessor,
                // this peer learns its true successors only from that list, which it does not
                // keep (see above), and which its predecessor will soon overwrite with this
                // peer's one-entry list. Check every one, nearest first, so that a dead x does
                // not lose the others (seen under crash churn with the published join).
                for &c in their_succs.iter().filter(|c| inside(c)) {
                    out.push(Command::Send { to: c, msg: Message::StabilizeReq });
                }
            }
        } else {
            self.notify(from, out);
        }
        if !self.joined {
            self.complete_join(params, out);
        }
    }

    /// Tells `to` that this peer may be its predecessor, unless this peer is a client, which is
    /// nobody's predecessor (`overlay.client_mode`).
    fn notify(&self, to: PeerRef, out: &mut Vec<Command>) {
        if !self.me.client {
            out.push(Command::Send { to, msg: Message::Notify });
        }
    }

    fn on_notify(&mut self, params: &Params, from: PeerRef, out: &mut Vec<Command>) {
        // A client is no peer's predecessor: it serves nobody.
        if from.idx == self.me.idx || from.client {
            return;
        }
        match self.pred {
            Some(p) if p.idx == from.idx => {}
            // As published: only a closer notifier replaces a known predecessor.
            Some(p) if params.original && !params.space.in_open(from.id, p.id, self.me.id) => {
                if params.reactive_stabilization && p.idx != self.me.idx {
                    out.push(Command::Send { to: from, msg: self.stabilize_resp() });
                }
            }
            Some(p) if !params.space.in_open(from.id, p.id, self.me.id) => {
                // Not closer: keep the predecessor unless it turns out dead, and keep the
                // closest such notifier to replace it.
                let closer = |c: PeerRef| params.space.in_open(from.id, c.id, self.me.id);
                if self.pred_candidate.is_none_or(closer) {
                    self.pred_candidate = Some(from);
                }
                if p.idx != self.me.idx {
                    self.check_pred(out);
                    if params.reactive_stabilization {
                        // The notifier's successor pointer skips p: show it p now.
                        out.push(Command::Send { to: from, msg: self.stabilize_resp() });
                    }
                }
            }
            old => {
                self.set_pred(Some(from));
                self.pred_candidate = None;
                if params.reactive_stabilization
                    && let Some(o) = old.filter(|o| o.idx != self.me.idx && o.idx != from.idx)
                {
                    // The old predecessor's successor is now `from`: tell it at once.
                    out.push(Command::Send { to: o, msg: self.stabilize_resp() });
                }
                self.hand_off(params, old, from, out);
                if old.is_none() {
                    // First predecessor (a joiner, or after losing it): this peer owns (pred, me]
                    // from now on. With no predecessor it owned nothing it knew of, so nothing was
                    // copied to its replicas; a predecessor found dead before a stand-in had
                    // notified leaves exactly that, and a crash of this peer would then lose the
                    // keys it took over. Copy them now.
                    self.push_replicas(params, out);
                    if let Some(s) = self.succ().filter(|s| s.idx != self.me.idx) {
                        // And make sure we hold every key of (pred, me], whatever our successor
                        // believed when we joined.
                        out.push(Command::Send {
                            to: s,
                            msg: Message::FetchRange { start: from.id },
                        });
                    }
                }
            }
        }
    }

    /// `new` became this peer's predecessor (replacing `old`): give it the entries it now owns.
    fn hand_off(
        &mut self,
        params: &Params,
        old: Option<PeerRef>,
        new: PeerRef,
        out: &mut Vec<Command>,
    ) {
        let space = params.space;
        let moving: Vec<RingId> = self
            .entries
            .keys()
            .filter(|&k| match old {
                Some(o) if o.idx != self.me.idx => space.in_open_closed(k, o.id, new.id),
                _ => !space.in_open_closed(k, new.id, self.me.id),
            })
            .collect();
        if moving.is_empty() {
            return;
        }
        let entries: Entries = if params.replication <= 1 {
            self.entries.remove(&moving)
        } else {
            moving.iter().map(|&k| (k, self.entries.values(k).to_vec())).collect()
        };
        out.push(Command::Send { to: new, msg: Message::Entries(entries) });
    }

    fn on_leaving(
        &mut self,
        params: &Params,
        from: PeerRef,
        their_pred: Option<PeerRef>,
        their_succs: Vec<PeerRef>,
        entries: Entries,
        out: &mut Vec<Command>,
    ) {
        let replicas_before = Succs::from_slice(self.replicas(params));
        if let Some(i) = self.succs.iter().position(|s| s.idx == from.idx) {
            let mut succs = Succs::from_slice(&self.succs[..i]);
            for s in their_succs.into_iter().chain(self.succs[i + 1..].iter().copied()) {
                if s.idx != self.me.idx
                    && s.idx != from.idx
                    && !succs.iter().any(|x| x.idx == s.idx)
                {
                    succs.push(s);
                }
            }
            succs.truncate(params.successors);
            self.succs = succs;
        }
        let was_pred = self.pred.is_some_and(|p| p.idx == from.idx);
        if was_pred {
            self.set_pred(their_pred.filter(|p| p.idx != from.idx));
        } else if let Some(p) = self.pred.filter(|p| p.idx != from.idx && p.idx != self.me.idx)
            && !entries.is_empty()
        {
            // A peer joined between the leaver and us: it is the keys' new owner.
            out.push(Command::Send { to: p, msg: Message::Entries(entries.clone()) });
        }
        self.entries.insert_all(entries);
        self.forget(from.idx, out);
        if was_pred {
            self.push_replicas(params, out);
        } else {
            self.refresh_replicas(params, &replicas_before, out);
        }
    }

    fn fix_next_finger(&mut self, params: &Params, out: &mut Vec<Command>) {
        if !params.fingers || !self.joined {
            return;
        }
        if params.fix_all_fingers {
            for index in 0..params.space.bits() {
                self.fix_finger(params, index as u8, out);
            }
            return;
        }
        let index = self.fingers.next_to_fix(params.space);
        self.fix_finger(params, index, out);
    }

    /// Repairs finger `index`: at once when its target lies before the successor, else by a
    /// query for the target's owner.
    fn fix_finger(&mut self, params: &Params, index: u8, out: &mut Vec<Command>) {
        self.own_fingers(params);
        let space = params.space;
        let target = space.add(self.me.id, 1u64 << index);
        match self.succ() {
            Some(s) if space.in_open_closed(target, self.me.id, s.id) => {
                self.fingers.update(space, self.me, index, s)
            }
            _ => {
                let q = Query {
                    op: OpId::MAINTENANCE,
                    kind: Op::FindFinger { index },
                    key: target,
                    querier: self.me,
                    hops: 0,
                    timeouts: 0,
                    expect_owner: false,
                    jumped: true, // repairs follow fingers, not remembered answers
                    lower: RingId(0),
                };
                if params.iterative_repairs {
                    self.step_from_here(params, q, Vec::new(), out);
                } else {
                    self.route(params, q, out);
                }
            }
        }
    }

    /// Pings the predecessor, unless a ping of it is under way already.
    fn check_pred(&mut self, out: &mut Vec<Command>) {
        if let Some(p) = self.pred.filter(|p| p.idx != self.me.idx)
            && !self.checking_pred
        {
            self.checking_pred = true;
            out.push(Command::Send { to: p, msg: Message::Ping });
        }
    }

    /// Replaces the predecessor; a check of the one replaced no longer matters.
    fn set_pred(&mut self, pred: Option<PeerRef>) {
        self.pred = pred;
        self.checking_pred = false;
    }

    /// Drops every reference to a peer found dead.
    fn forget(&mut self, dead: PeerIdx, out: &mut Vec<Command>) {
        self.succs.retain(|s| s.idx != dead);
        if self.via.is_some_and(|v| v.idx == dead) {
            self.via = None;
        }
        self.fingers.forget(dead);
        self.cache.remove(dead);
        if self.pred_candidate.is_some_and(|c| c.idx == dead) {
            self.pred_candidate = None;
        }
        if self.pred.is_some_and(|p| p.idx == dead) {
            let candidate = self.pred_candidate.take();
            self.set_pred(candidate);
        }
        self.ensure_successor();
        self.when_lost(out);
    }

    /// Whether this member knows no other peer: its only successor is itself and it has no
    /// predecessor.
    fn is_lost(&self) -> bool {
        self.joined && self.pred.is_none() && self.succs.iter().all(|s| s.idx == self.me.idx)
    }

    /// A member that knows no other peer cannot tell being alone from being lost (say, a joiner
    /// whose only successor died before it stabilized). With a well-known peer to ask, it joins
    /// again through it and answers for nothing meanwhile; with none (a bootstrap member, or
    /// its well-known peer is dead too) it is alone on the ring: it owns every key, like the
    /// first peer of a ring (SPEC §2, "a single live peer owns every key"), and a joiner's
    /// notify makes it a ring of two. A client is never alone on the ring, since it owns
    /// nothing: it stays lost, its lookups failing, until it joins again.
    fn when_lost(&mut self, out: &mut Vec<Command>) {
        if !self.is_lost() {
            return;
        }
        match self.via.filter(|v| v.idx != self.me.idx) {
            Some(via) => self.join(via, OpId::MAINTENANCE, out),
            None if self.me.client => {}
            None => self.set_pred(Some(self.me)),
        }
    }

    /// The peer this one joins through again should it lose every successor (a client at
    /// bootstrap: its first successor at time zero).
    pub(super) fn set_via(&mut self, via: PeerRef) {
        self.via = Some(via);
    }

    /// With every successor gone, fall back on the nearest peer still known (a finger or a
    /// cached peer), so the ring can heal through stabilization.
    fn ensure_successor(&mut self) {
        if !self.succs.is_empty() || !self.joined {
            return;
        }
        // Failing those, the predecessor: its stabilization answer lists this peer and then
        // this peer's true successors, which `on_stabilize_resp` checks and adopts.
        let me = self.me;
        let nearest = self
            .fingers
            .first()
            .or_else(|| self.cache.peers().next())
            .or(self.pred.filter(|p| p.idx != me.idx))
            .or(self.pred_candidate);
        self.succs.push(nearest.unwrap_or(me));
    }

    /// Sends everything this peer owns to its replicas (after its range grew: a predecessor
    /// died or left, so keys it only held as a copy are now its own and need new copies).
    fn push_replicas(&self, params: &Params, out: &mut Vec<Command>) {
        let replicas = self.replicas(params);
        if replicas.is_empty() {
            return;
        }
        let owned = self.owned_entries();
        if owned.is_empty() {
            return;
        }
        for &r in replicas {
            out.push(Command::Send { to: r, msg: Message::Entries(owned.clone()) });
        }
    }

    /// After the successor list changed: sends the owned entries to every replica that was not
    /// one before (a successor vanished, so the next one now keeps a copy).
    fn refresh_replicas(&self, params: &Params, before: &[PeerRef], out: &mut Vec<Command>) {
        let fresh = new_replicas(self.replicas(params), before);
        if fresh.is_empty() {
            return;
        }
        let owned = self.owned_entries();
        if owned.is_empty() {
            return;
        }
        for r in fresh {
            out.push(Command::Send { to: r, msg: Message::Entries(owned.clone()) });
        }
    }

    /// The peers that hold copies of this peer's entries: its first `replication - 1` successors.
    fn replicas(&self, params: &Params) -> &[PeerRef] {
        let n = params.replication.saturating_sub(1).min(self.succs.len());
        let list = &self.succs[..n];
        if list.iter().any(|s| s.idx == self.me.idx) { &[] } else { list }
    }

    /// The entries of keys this peer owns: (pred, me].
    fn owned_entries(&self) -> Entries {
        let Some(p) = self.pred else { return Vec::new() };
        let space_all = p.idx == self.me.idx;
        self.entries.select(|k| space_all || in_range(k, p.id, self.me.id))
    }
}

/// `x ∈ (a, b]` on a ring of any size (used where the space is not at hand: a key and two peer
/// IDs of one ring).
fn in_range(x: RingId, a: RingId, b: RingId) -> bool {
    if a < b { a < x && x <= b } else { x > a || x <= b }
}

//! A peer's protocol: the state machine that routes queries and stores DHT entries.
//!
//! Sans-IO: a peer never sees the clock, the network, a random generator or the oracle. The
//! simulation hands it one input at a time (`handle_query`, `handle_answer`) and it appends what it
//! wants done (`Command::Send`) to an output buffer, which the simulation applies. Everything a
//! peer decides comes from its own view: its ID, its predecessor and its successor, and the
//! entries it stores. This module deliberately owns no measurement: hop counts, outcomes and
//! paths are recorded by the simulation from the commands peers emit.
//!
//! Routing follows SPEC §2 (recursive; the owner answers the querier directly):
//! 1. key ∈ (pred, me]: I own it, answer the querier;
//! 2. the sender expected me to own it but I do not (stale view): send it back to my predecessor;
//! 3. key ∈ (me, succ]: forward to my successor, which should own it;
//! 4. a cached peer c answered for a range (pred_c, c] holding the key, and this query has not
//!    jumped yet: jump straight to c (at most one such jump per query, so a stale entry can
//!    overshoot only once);
//! 5. else forward to the known peer (successor, fingers, cached peers, and the rest of the
//!    successor list when `route_via_successors`) that most closely precedes the key, or to the
//!    successor if none does.

use crate::ring::{IdSpace, RingId};
use std::collections::BTreeMap;

/// A peer's address in the simulation: its index in the peer table. Never reused within a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PeerIdx(pub u32);

/// What one peer knows about another: where to send, and the ring position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerRef {
    /// Address.
    pub idx: PeerIdx,
    /// Ring identifier.
    pub id: RingId,
}

/// Identifies one lookup or store operation of a run, from its start to its answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpId(pub u32);

/// What a query asks of the key's owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Return the values stored under the key.
    Lookup,
    /// Store the entry (key, holder).
    Store {
        /// The peer that holds the file.
        holder: RingId,
    },
}

/// A query travelling towards the owner of `key`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Query {
    /// The operation it belongs to.
    pub op: OpId,
    /// What to do at the owner.
    pub kind: Op,
    /// The key sought.
    pub key: RingId,
    /// Who asked, and gets the answer.
    pub querier: PeerRef,
    /// Forwards so far (a TTL carried in the message).
    pub hops: u32,
    /// The sender expected the receiver to own the key (routing steps 2 and 3 of SPEC §2).
    pub expect_owner: bool,
    /// An earlier step of this query jumped to a cached peer (SPEC §2 step 3).
    pub jumped: bool,
}

/// The owner's (or a failing peer's) answer, sent straight to the querier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The operation answered.
    pub op: OpId,
    /// Who answers.
    pub from: PeerRef,
    /// What happened.
    pub reply: Reply,
}

/// The content of an answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// `from` owns the key range (range_start, from]; these are the holders stored under the key
    /// (possibly none).
    Owner {
        /// Holders of the file with this key, in the order they were stored.
        values: Vec<RingId>,
        /// The owner's predecessor: where the range it owns starts (exclusive).
        range_start: RingId,
    },
    /// `from` owns the key and stored the entry.
    Stored,
    /// The query reached its hop limit at `from` and was dropped.
    HopLimit,
}

/// A message on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A query being routed.
    Query(Query),
    /// An answer to a querier.
    Answer(Answer),
}

/// What a peer asks the simulation to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Send `msg` to peer `to`.
    Send {
        /// Destination.
        to: PeerIdx,
        /// Payload.
        msg: Message,
    },
}

/// Settings every peer shares.
#[derive(Clone, Copy, Debug)]
pub struct Params {
    /// The identifier space.
    pub space: IdSpace,
    /// Most forwards a query may take.
    pub hop_limit: u32,
    /// Learned shortcuts a peer keeps (0 = no cache).
    pub cache_size: usize,
    /// Whether the whole successor list (not only the first successor) is used for routing.
    pub route_via_successors: bool,
}

/// A learned shortcut: a peer that answered as owner of the range (from, peer].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Shortcut {
    peer: PeerRef,
    from: RingId,
    /// Value of the cache's use counter when this entry was last stored or used.
    used: u64,
}

/// The learned shortcut cache: at most `cache_size` entries, least recently used evicted.
/// A plain vector: caches are small, and a scan in insertion order is deterministic.
#[derive(Clone, Debug, Default)]
struct ShortcutCache {
    entries: Vec<Shortcut>,
    uses: u64,
}

impl ShortcutCache {
    fn tick(&mut self) -> u64 {
        self.uses += 1;
        self.uses
    }

    /// Remembers that `peer` owns (from, peer], evicting the least recently used entry if full.
    fn remember(&mut self, peer: PeerRef, from: RingId, capacity: usize) {
        let used = self.tick();
        if let Some(e) = self.entries.iter_mut().find(|e| e.peer.idx == peer.idx) {
            *e = Shortcut { peer, from, used };
            return;
        }
        if self.entries.len() >= capacity {
            let Some(lru) = self.entries.iter().enumerate().min_by_key(|(_, e)| e.used) else {
                return;
            };
            let i = lru.0;
            self.entries.swap_remove(i);
        }
        self.entries.push(Shortcut { peer, from, used });
    }

    /// The cached peer whose remembered range holds `key` (the one closest clockwise from the key
    /// if stale entries overlap), marked as used.
    fn covering(&mut self, space: IdSpace, key: RingId) -> Option<PeerRef> {
        let i = self
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| space.in_open_closed(key, e.from, e.peer.id))
            .min_by_key(|(_, e)| space.dist(key, e.peer.id))?
            .0;
        let used = self.tick();
        self.entries[i].used = used;
        Some(self.entries[i].peer)
    }

    fn mark_used(&mut self, idx: PeerIdx) {
        let used = self.tick();
        if let Some(e) = self.entries.iter_mut().find(|e| e.peer.idx == idx) {
            e.used = used;
        }
    }
}

/// One peer's protocol state.
#[derive(Clone, Debug)]
pub struct Peer {
    me: PeerRef,
    pred: PeerRef,
    /// Successor list, nearest first; never empty (a lone peer is its own successor).
    succs: Vec<PeerRef>,
    /// Distinct finger-table entries other than this peer, in increasing clockwise distance.
    fingers: Vec<PeerRef>,
    cache: ShortcutCache,
    entries: BTreeMap<RingId, Vec<RingId>>,
}

impl Peer {
    /// A peer that knows its predecessor and its successor list, nearest first (itself, for
    /// both, when alone).
    pub fn new(me: PeerRef, pred: PeerRef, succs: Vec<PeerRef>) -> Self {
        assert!(!succs.is_empty(), "a peer always has a successor");
        Peer {
            me,
            pred,
            succs,
            fingers: Vec::new(),
            cache: ShortcutCache::default(),
            entries: BTreeMap::new(),
        }
    }

    /// Sets the finger table: finger i is the successor of me + 2^i, for i = 0..m-1. Entries equal
    /// to this peer or to the previous finger are dropped; `fingers` must be in finger order.
    pub fn set_fingers(&mut self, space: IdSpace, fingers: impl IntoIterator<Item = PeerRef>) {
        self.fingers.clear();
        for f in fingers {
            if f.idx != self.me.idx && self.fingers.last().is_none_or(|l| l.idx != f.idx) {
                self.fingers.push(f);
            }
        }
        debug_assert!(
            self.fingers
                .windows(2)
                .all(|w| { space.dist(self.me.id, w[0].id) < space.dist(self.me.id, w[1].id) })
        );
    }

    /// The distinct finger-table entries, nearest first.
    pub fn fingers(&self) -> &[PeerRef] {
        &self.fingers
    }

    /// The peers in the learned shortcut cache, in insertion order.
    pub fn shortcuts(&self) -> impl Iterator<Item = PeerRef> + '_ {
        self.cache.entries.iter().map(|e| e.peer)
    }

    /// This peer.
    pub fn me(&self) -> PeerRef {
        self.me
    }

    /// Its current predecessor.
    pub fn pred(&self) -> PeerRef {
        self.pred
    }

    /// Its current successor.
    pub fn succ(&self) -> PeerRef {
        self.succs[0]
    }

    /// Its successor list, nearest first.
    pub fn successors(&self) -> &[PeerRef] {
        &self.succs
    }

    /// The holders stored here under `key`.
    pub fn values(&self, key: RingId) -> &[RingId] {
        self.entries.get(&key).map_or(&[], Vec::as_slice)
    }

    /// Stores the entry (key, holder) here, once.
    pub fn store(&mut self, key: RingId, holder: RingId) {
        let holders = self.entries.entry(key).or_default();
        if !holders.contains(&holder) {
            holders.push(holder);
        }
    }

    /// Number of keys stored here.
    pub fn stored_keys(&self) -> usize {
        self.entries.len()
    }

    /// Whether this peer believes it owns `key`: key ∈ (pred, me].
    pub fn owns(&self, space: IdSpace, key: RingId) -> bool {
        space.in_open_closed(key, self.pred.id, self.me.id)
    }

    /// Handles a query that arrived here, or one this peer starts (with `hops = 0`).
    pub fn handle_query(&mut self, params: &Params, mut q: Query, out: &mut Vec<Command>) {
        let space = params.space;
        if self.owns(space, q.key) {
            let reply = match q.kind {
                Op::Lookup => {
                    Reply::Owner { values: self.values(q.key).to_vec(), range_start: self.pred.id }
                }
                Op::Store { holder } => {
                    self.store(q.key, holder);
                    Reply::Stored
                }
            };
            self.answer(q.querier, q.op, reply, out);
            return;
        }
        let succ = self.succ();
        let (next, expect_owner) = if q.expect_owner {
            (self.pred, true)
        } else if space.in_open_closed(q.key, self.me.id, succ.id) {
            (succ, true)
        } else if let Some(c) = (!q.jumped && params.cache_size > 0)
            .then(|| self.cache.covering(space, q.key))
            .flatten()
        {
            q.jumped = true;
            (c, true)
        } else {
            let next = self.closest_preceding(params, q.key).unwrap_or(succ);
            self.cache.mark_used(next.idx);
            (next, false)
        };
        if q.hops >= params.hop_limit {
            self.answer(q.querier, q.op, Reply::HopLimit, out);
            return;
        }
        q.hops += 1;
        q.expect_owner = expect_owner;
        out.push(Command::Send { to: next.idx, msg: Message::Query(q) });
    }

    /// Handles an answer to a query this peer started: with a cache, remember the owner and the
    /// range it reported (SPEC §2, learned shortcuts).
    pub fn handle_answer(&mut self, params: &Params, a: &Answer, _out: &mut Vec<Command>) {
        if let Reply::Owner { range_start, .. } = a.reply
            && params.cache_size > 0
            && a.from.idx != self.me.idx
        {
            self.cache.remember(a.from, range_start, params.cache_size);
        }
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
        let below = self.fingers.partition_point(|f| step(f) < limit);
        let finger = self.fingers[..below].last().copied().filter(inside);
        let succs: &[PeerRef] =
            if params.route_via_successors { &self.succs } else { &self.succs[..1] };
        succs
            .iter()
            .copied()
            .chain(finger)
            .chain(self.cache.entries.iter().map(|e| e.peer))
            .filter(inside)
            .max_by_key(step)
    }

    fn answer(&self, querier: PeerRef, op: OpId, reply: Reply, out: &mut Vec<Command>) {
        let msg = Message::Answer(Answer { op, from: self.me, reply });
        out.push(Command::Send { to: querier.idx, msg });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(idx: u32, id: u64) -> PeerRef {
        PeerRef { idx: PeerIdx(idx), id: RingId(id) }
    }

    fn params() -> Params {
        Params {
            space: IdSpace::new(6).unwrap(),
            hop_limit: 100,
            cache_size: 0,
            route_via_successors: false,
        }
    }

    fn query(key: u64, hops: u32) -> Query {
        Query {
            op: OpId(0),
            kind: Op::Lookup,
            key: RingId(key),
            querier: r(9, 13),
            hops,
            expect_owner: false,
            jumped: false,
        }
    }

    /// Peer 25 in the lecture ring, between 13 and 32.
    fn peer25() -> Peer {
        Peer::new(r(3, 25), r(2, 13), vec![r(4, 32), r(5, 40)])
    }

    #[test]
    fn owner_answers_the_querier_directly() {
        let mut p = peer25();
        p.store(RingId(20), RingId(1));
        let mut out = Vec::new();
        p.handle_query(&params(), query(20, 3), &mut out);
        let want = Message::Answer(Answer {
            op: OpId(0),
            from: r(3, 25),
            reply: Reply::Owner { values: vec![RingId(1)], range_start: RingId(13) },
        });
        assert_eq!(out, vec![Command::Send { to: PeerIdx(9), msg: want }]);
    }

    #[test]
    fn forwards_to_successor_and_counts_the_hop() {
        let mut p = peer25();
        let mut out = Vec::new();
        p.handle_query(&params(), query(45, 1), &mut out);
        let Command::Send { to, msg: Message::Query(q) } = &out[0] else { panic!("{out:?}") };
        assert_eq!(*to, PeerIdx(4));
        assert_eq!(q.hops, 2);
        assert!(!q.expect_owner, "45 is beyond the successor 32");
        out.clear();
        p.handle_query(&params(), query(30, 1), &mut out);
        let Command::Send { msg: Message::Query(q), .. } = &out[0] else { panic!() };
        assert!(q.expect_owner, "30 ∈ (25, 32]: the successor should own it");
    }

    #[test]
    fn stale_sender_gets_sent_back_to_predecessor() {
        let mut p = peer25();
        let mut q = query(10, 1);
        q.expect_owner = true;
        let mut out = Vec::new();
        p.handle_query(&params(), q, &mut out);
        assert!(matches!(&out[0], Command::Send { to: PeerIdx(2), .. }));
    }

    #[test]
    fn hop_limit_ends_the_query() {
        let mut p = peer25();
        let mut out = Vec::new();
        p.handle_query(&params(), query(45, 100), &mut out);
        let Command::Send { to, msg: Message::Answer(a) } = &out[0] else { panic!() };
        assert_eq!((*to, &a.reply), (PeerIdx(9), &Reply::HopLimit));
    }

    #[test]
    fn store_is_idempotent_per_holder() {
        let mut p = peer25();
        p.store(RingId(20), RingId(1));
        p.store(RingId(20), RingId(1));
        p.store(RingId(20), RingId(7));
        assert_eq!(p.values(RingId(20)), &[RingId(1), RingId(7)]);
        assert_eq!(p.stored_keys(), 1);
    }

    /// Peer 13 of the lecture ring with fingers: successors of 13 + 2^i for i = 0..5
    /// (14, 15, 17, 21, 29, 45) are 25, 25, 25, 25, 32, 48.
    fn peer13_with_fingers() -> Peer {
        let s = IdSpace::new(6).unwrap();
        let mut p = Peer::new(r(2, 13), r(1, 12), vec![r(3, 25)]);
        p.set_fingers(s, [r(3, 25), r(3, 25), r(3, 25), r(3, 25), r(4, 32), r(6, 48)]);
        p
    }

    fn next_hop(p: &mut Peer, params: &Params, q: Query) -> (PeerIdx, Query) {
        let mut out = Vec::new();
        p.handle_query(params, q, &mut out);
        match out.pop() {
            Some(Command::Send { to, msg: Message::Query(q) }) => (to, q),
            other => panic!("expected a forward, got {other:?}"),
        }
    }

    #[test]
    fn fingers_are_deduplicated_and_route_to_the_closest_preceding() {
        let mut p = peer13_with_fingers();
        assert_eq!(p.fingers().iter().map(|f| f.id.0).collect::<Vec<_>>(), vec![25, 32, 48]);
        // 45: the closest finger preceding it is 32 (48 would overshoot).
        assert_eq!(next_hop(&mut p, &params(), query(45, 0)).0, PeerIdx(4));
        // 50: 48 precedes it.
        assert_eq!(next_hop(&mut p, &params(), query(50, 0)).0, PeerIdx(6));
        // 5 (wrapping): 48 is the farthest known peer before it.
        assert_eq!(next_hop(&mut p, &params(), query(5, 0)).0, PeerIdx(6));
    }

    #[test]
    fn cache_jumps_once_straight_to_the_remembered_owner() {
        let params = Params { cache_size: 2, ..params() };
        let mut p = Peer::new(r(2, 13), r(1, 12), vec![r(3, 25)]);
        let from48 = Answer {
            op: OpId(0),
            from: r(6, 48),
            reply: Reply::Owner { values: vec![], range_start: RingId(40) },
        };
        p.handle_answer(&params, &from48, &mut Vec::new());
        let (to, q) = next_hop(&mut p, &params, query(45, 0));
        assert_eq!(to, PeerIdx(6), "straight to 48, which owns (40, 48]");
        assert!(q.jumped && q.expect_owner);
        // A query that already jumped does not jump again: it goes the ring way, but may still
        // use 48 as a routing candidate if it precedes the key.
        let mut again = query(45, 1);
        again.jumped = true;
        assert_eq!(next_hop(&mut p, &params, again).0, PeerIdx(3));
        let mut past = query(50, 1);
        past.jumped = true;
        assert_eq!(next_hop(&mut p, &params, past).0, PeerIdx(6), "48 precedes 50");
    }

    #[test]
    fn cache_evicts_the_least_recently_used() {
        let params = Params { cache_size: 2, ..params() };
        let mut p = Peer::new(r(2, 13), r(1, 12), vec![r(3, 25)]);
        let owner = |idx, id, from| Answer {
            op: OpId(0),
            from: r(idx, id),
            reply: Reply::Owner { values: vec![], range_start: RingId(from) },
        };
        p.handle_answer(&params, &owner(4, 32, 25), &mut Vec::new());
        p.handle_answer(&params, &owner(5, 40, 32), &mut Vec::new());
        // Use 32 (a jump for key 30), so 40 becomes the least recently used.
        assert_eq!(next_hop(&mut p, &params, query(30, 0)).0, PeerIdx(4), "jump to 32: (25, 32]");
        p.handle_answer(&params, &owner(6, 48, 40), &mut Vec::new());
        let ids: Vec<u64> = p.shortcuts().map(|c| c.id.0).collect();
        assert_eq!(ids, vec![32, 48], "40 was evicted");
        // Nothing is cached without a cache.
        let mut plain = Peer::new(r(2, 13), r(1, 12), vec![r(3, 25)]);
        plain.handle_answer(&super::tests::params(), &owner(4, 32, 25), &mut Vec::new());
        assert_eq!(plain.shortcuts().count(), 0);
    }

    #[test]
    fn successor_list_routes_only_when_enabled() {
        let mut p = peer25();
        // 45 from 25: succs are 32 and 40; 40 precedes 45.
        assert_eq!(next_hop(&mut p, &params(), query(45, 0)).0, PeerIdx(4));
        let via = Params { route_via_successors: true, ..params() };
        assert_eq!(next_hop(&mut p, &via, query(45, 0)).0, PeerIdx(5));
    }
}

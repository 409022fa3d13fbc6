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
//! 4. else forward to the known peer that most closely precedes the key (only my successor is
//!    known for now), or to my successor if none does.

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
    /// `from` owns the key; these are the holders stored under it (possibly none).
    Owner {
        /// Holders of the file with this key, in the order they were stored.
        values: Vec<RingId>,
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
}

/// One peer's protocol state.
#[derive(Clone, Debug)]
pub struct Peer {
    me: PeerRef,
    pred: PeerRef,
    succ: PeerRef,
    entries: BTreeMap<RingId, Vec<RingId>>,
}

impl Peer {
    /// A peer that knows its predecessor and successor (itself, for both, when alone).
    pub fn new(me: PeerRef, pred: PeerRef, succ: PeerRef) -> Self {
        Peer { me, pred, succ, entries: BTreeMap::new() }
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
        self.succ
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
                Op::Lookup => Reply::Owner { values: self.values(q.key).to_vec() },
                Op::Store { holder } => {
                    self.store(q.key, holder);
                    Reply::Stored
                }
            };
            self.answer(q.querier, q.op, reply, out);
            return;
        }
        let (next, expect_owner) = if q.expect_owner {
            (self.pred, true)
        } else if space.in_open_closed(q.key, self.me.id, self.succ.id) {
            (self.succ, true)
        } else {
            (self.closest_preceding(space, q.key).unwrap_or(self.succ), false)
        };
        if q.hops >= params.hop_limit {
            self.answer(q.querier, q.op, Reply::HopLimit, out);
            return;
        }
        q.hops += 1;
        q.expect_owner = expect_owner;
        out.push(Command::Send { to: next.idx, msg: Message::Query(q) });
    }

    /// Handles an answer to a query this peer started. Nothing to learn yet: the learned
    /// shortcut cache will remember the answering owner here.
    pub fn handle_answer(&mut self, _params: &Params, _a: &Answer, _out: &mut Vec<Command>) {}

    /// The known peer that most closely precedes `key`: the largest clockwise step from here that
    /// stays inside (me, key).
    fn closest_preceding(&self, space: IdSpace, key: RingId) -> Option<PeerRef> {
        [self.succ]
            .into_iter()
            .filter(|c| space.in_open(c.id, self.me.id, key))
            .max_by_key(|c| space.dist(self.me.id, c.id))
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
        Params { space: IdSpace::new(6).unwrap(), hop_limit: 100 }
    }

    fn query(key: u64, hops: u32) -> Query {
        Query {
            op: OpId(0),
            kind: Op::Lookup,
            key: RingId(key),
            querier: r(9, 13),
            hops,
            expect_owner: false,
        }
    }

    /// Peer 25 in the lecture ring, between 13 and 32.
    fn peer25() -> Peer {
        Peer::new(r(3, 25), r(2, 13), r(4, 32))
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
            reply: Reply::Owner { values: vec![RingId(1)] },
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
}

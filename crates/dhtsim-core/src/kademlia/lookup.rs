//! One iterative Kademlia lookup at its querier (SPEC §2b): the shortlist of the k closest
//! contacts heard of, which of them were asked and answered, the requests in flight, and the
//! hop at which each contact was learned.
//!
//! Pure bookkeeping: the peer (`node.rs`) sends the requests this module picks and feeds it the
//! answers and timeouts.

use crate::protocol::{OpId, PeerIdx, PeerRef};
use crate::ring::RingId;
use crate::xor::distance;

/// Where a contact on the shortlist stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// Not asked yet.
    Fresh,
    /// A request is in flight.
    Asked,
    /// It answered.
    Answered,
}

/// A contact on the shortlist.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Candidate {
    /// The contact.
    pub peer: PeerRef,
    /// Its hop: 1 from the querier's own table, h + 1 when learned from an answer at hop h.
    pub hop: u32,
    /// Asked, answered or not yet.
    pub state: State,
}

/// What the lookup is for, and what happens when it ends.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Goal {
    /// A measured lookup of the values under the key: ends early when a value arrives.
    Value,
    /// A measured lookup that gathers the values of every peer it reaches (BEP 5's
    /// `get_peers`): a peer that answers with values is answered, and the lookup goes on to the
    /// k closest.
    Gather {
        /// The values found so far: the querier's own, then each answer's, kept sorted and
        /// distinct from the first answer on.
        found: Vec<RingId>,
    },
    /// A measured store of (key, holder) at the `replication` closest peers found.
    Store {
        /// The holder stored under the key.
        holder: RingId,
    },
    /// The joiner's lookup of its own ID.
    Join,
    /// A bucket refresh: a lookup of a random ID in the bucket's range, for the contacts it
    /// meets.
    Refresh,
    /// Republishing an entry this peer stores at the `replication` closest peers found.
    Republish {
        /// The holders stored under the key.
        holders: Vec<RingId>,
    },
}

/// A lookup in progress.
#[derive(Clone, Debug, Hash)]
pub struct Lookup {
    /// Its number at the querier (never reused), carried by its requests and their answers.
    pub id: u64,
    /// The measured operation, or [`OpId::MAINTENANCE`].
    pub op: OpId,
    /// The key or ID sought.
    pub target: RingId,
    /// What it is for.
    pub goal: Goal,
    /// Every contact heard of and not failed, closest first: the k closest of them are the
    /// shortlist, and the rest move up when one of those times out (SPEC §2b: the k closest
    /// contacts it has heard of).
    pub short: Vec<Candidate>,
    /// Contacts that did not answer: never taken back on the list.
    pub failed: Vec<RingId>,
    /// Requests in flight.
    pub in_flight: u32,
    /// Requests that timed out.
    pub timeouts: u32,
}

impl Lookup {
    /// A lookup of `target` starting from the querier's closest contacts `from_table` (hop 1).
    pub fn new(id: u64, op: OpId, target: RingId, goal: Goal, from_table: &[PeerRef]) -> Self {
        let short = from_table
            .iter()
            .map(|&peer| Candidate { peer, hop: 1, state: State::Fresh })
            .collect();
        Lookup { id, op, target, goal, short, failed: Vec::new(), in_flight: 0, timeouts: 0 }
    }

    /// The next contact to ask, marked asked: the closest fresh one among the k closest, or
    /// with a `round_trip` from the querier (proximity route selection), of the fresh ones among
    /// the k closest whose distance to the target has the same highest bit as the closest's,
    /// the one with the shortest round trip (the closer to the target on a tie).
    pub fn next_to_ask(
        &mut self,
        k: usize,
        round_trip: Option<&dyn Fn(PeerIdx) -> u64>,
    ) -> Option<PeerRef> {
        let target = self.target;
        let mut fresh = self.short.iter_mut().take(k).filter(|c| c.state == State::Fresh);
        let c = match round_trip {
            None => fresh.next()?,
            Some(rt) => {
                // Those that make the same progress as the closest: their distance to the
                // target has the same highest bit.
                let first = fresh.next()?;
                let bits = distance(first.peer.id, target).leading_zeros();
                let same =
                    fresh.take_while(|c| distance(c.peer.id, target).leading_zeros() == bits);
                // `min_by_key` keeps the first of equal keys: the closer to the target.
                std::iter::once(first).chain(same).min_by_key(|c| rt(c.peer.idx))?
            }
        };
        c.state = State::Asked;
        self.in_flight += 1;
        Some(c.peer)
    }

    /// `from` answered with `contacts`; returns its hop. Contacts not yet known and not failed
    /// join the list at `from`'s hop + 1.
    pub fn answered(&mut self, me: RingId, from: RingId, contacts: &[PeerRef]) -> u32 {
        self.in_flight = self.in_flight.saturating_sub(1);
        let hop = match self.short.iter_mut().find(|c| c.peer.id == from) {
            Some(c) => {
                c.state = State::Answered;
                c.hop
            }
            // Not on the list (the querier did not ask it): an answer cannot come from nowhere.
            None => return 0,
        };
        let target = self.target;
        for &peer in contacts {
            if peer.id == me {
                continue;
            }
            let d = distance(peer.id, target);
            match self.short.binary_search_by_key(&d, |c| distance(c.peer.id, target)) {
                Ok(_) => {} // known
                Err(_) if self.failed.contains(&peer.id) => {}
                Err(at) => {
                    self.short.insert(at, Candidate { peer, hop: hop + 1, state: State::Fresh })
                }
            }
        }
        hop
    }

    /// `to` did not answer: it leaves the list for good.
    pub fn timed_out(&mut self, to: RingId) {
        self.in_flight = self.in_flight.saturating_sub(1);
        self.timeouts += 1;
        self.short.retain(|c| c.peer.id != to);
        if !self.failed.contains(&to) {
            self.failed.push(to);
        }
    }

    /// The lookup is over: nothing in flight, and the k closest have all answered.
    pub fn is_done(&self, k: usize) -> bool {
        self.in_flight == 0 && self.short.iter().take(k).all(|c| c.state == State::Answered)
    }

    /// The contacts that answered, closest first.
    pub fn answered_peers(&self) -> impl Iterator<Item = &Candidate> {
        self.short.iter().filter(|c| c.state == State::Answered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::PeerIdx;

    fn p(id: u64) -> PeerRef {
        PeerRef::new(PeerIdx(id as u32), RingId(id))
    }

    #[test]
    fn hops_grow_by_one_per_answer_and_contacts_beyond_the_k_closest_move_up_on_a_timeout() {
        // Target 0, k = 2: distance = ID.
        let mut l = Lookup::new(1, OpId(0), RingId(0), Goal::Value, &[p(40), p(50)]);
        assert_eq!(l.next_to_ask(2, None), Some(p(40)));
        assert_eq!(l.next_to_ask(2, None), Some(p(50)));
        assert_eq!(l.next_to_ask(2, None), None);
        assert_eq!(l.answered(RingId(99), RingId(40), &[p(20), p(10), p(99)]), 1);
        // 10 and 20 (hop 2) are the two closest; the querier itself (99) is left out.
        let ids: Vec<u64> = l.short.iter().map(|c| c.peer.id.0).collect();
        assert_eq!(ids, vec![10, 20, 40, 50]);
        assert_eq!(l.short[0].hop, 2);
        assert!(!l.is_done(2));
        l.timed_out(RingId(50));
        assert_eq!(l.next_to_ask(2, None), Some(p(10)));
        assert_eq!(l.answered(RingId(99), RingId(10), &[p(5), p(50)]), 2);
        // 50 failed and is never taken back; 5 enters at hop 3; 20 and 40 stay behind it.
        let ids: Vec<u64> = l.short.iter().map(|c| c.peer.id.0).collect();
        assert_eq!(ids, vec![5, 10, 20, 40]);
        assert_eq!(l.short[0].hop, 3);
        assert_eq!(l.next_to_ask(2, None), Some(p(5)));
        // 5 times out: 20, heard of but beyond the two closest until now, is asked.
        l.timed_out(RingId(5));
        assert_eq!(l.next_to_ask(2, None), Some(p(20)));
        l.answered(RingId(99), RingId(20), &[]);
        assert!(l.is_done(2));
        assert_eq!(l.answered_peers().next().unwrap().peer, p(10));
        assert_eq!(l.timeouts, 2);
    }

    #[test]
    fn with_round_trips_the_nearest_of_equal_progress_is_asked_first() {
        // Target 0, k = 4: distance = ID. 4 has highest bit 2; 8, 9, 10 and 12 bit 3.
        let rt = |i: PeerIdx| match i.0 {
            4 => 50,
            8 => 40,
            9 => 10,
            10 => 20,
            _ => 5,
        };
        let rt: &dyn Fn(PeerIdx) -> u64 = &rt;
        let short = [p(4), p(8), p(9), p(10), p(12)];
        let mut l = Lookup::new(1, OpId(0), RingId(0), Goal::Value, &short);
        // 4 makes more progress than any other, so it goes first although it is the farthest.
        assert_eq!(l.next_to_ask(4, Some(rt)), Some(p(4)));
        // Then 8, 9 and 10, nearest first; 12 (5 ms) is beyond the 4 closest.
        assert_eq!(l.next_to_ask(4, Some(rt)), Some(p(9)));
        assert_eq!(l.next_to_ask(4, Some(rt)), Some(p(10)));
        assert_eq!(l.next_to_ask(4, Some(rt)), Some(p(8)));
        assert_eq!(l.next_to_ask(4, Some(rt)), None);
        // A tie goes to the closer to the target, as without round trips.
        let tie = |_: PeerIdx| 7;
        let mut l = Lookup::new(2, OpId(0), RingId(0), Goal::Value, &short[1..]);
        assert_eq!(l.next_to_ask(4, Some(&tie)), Some(p(8)));
        assert_eq!(l.next_to_ask(4, None), Some(p(9)));
    }
}

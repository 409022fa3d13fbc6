//! The recorder: everything a run measures, fed by a few named calls.
//!
//! The loop tells it that an operation started, that its query reached a peer or timed out,
//! that a peer answered it and that it ended (from the protocol's [`Report`]s), that a peer
//! joined or departed, and when to take a sample. It keeps the operations in flight (in reused
//! slots), the lookup statistics, the lookup and peer records, the time series, and the key,
//! start and owner of the answered lookups from which [`Consistency`] is counted as they end
//! (records or not: 24 bytes for each lookup of about one window). (The load,
//! which needs every peer's store, is measured by the loop at the end, into the peer records.)
//! It never sees a protocol's messages or state: the oracle is the only other thing it reads,
//! to say who should have answered.
//!
//! [`Report`]: crate::protocol::Report
//! [`Consistency`]: crate::metrics::Consistency

use crate::check::Health;
use crate::metrics::{
    ConsistencyCounter, LeaveKind, LookupRecord, LookupStats, Outcome, OwnerAnswer, PeerRecord,
    Sample, TrafficStats,
};
use crate::oracle::Oracle;
use crate::protocol::{Answered, OpId, PeerIdx, Wire};
use crate::ring::RingId;
use crate::time::{SimDuration, SimTime};

/// What an operation is, for the recorder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum OpKind {
    Lookup,
    Store,
    /// The join of this peer.
    Join(PeerIdx),
}

/// An answer as it left the peer that sent it.
#[derive(Debug)]
struct AnswerSeen {
    /// Who answered as owner (`None`: the operation failed).
    owner: Option<RingId>,
    /// The true owner of the key then.
    true_owner: RingId,
    /// Its address, when the ring had a member.
    true_owner_idx: Option<PeerIdx>,
    /// Whether the key had been stored by then.
    was_stored: bool,
    answered: Answered,
}

/// What the recorder remembers about an operation while it is in flight. The slot is reused
/// once the operation has ended: an operation has one message in flight at a time (its query,
/// then its answer), so nothing refers to it after its end.
#[derive(Debug)]
pub(super) struct OpState {
    kind: OpKind,
    /// For a lookup: its number, in start order from 0.
    lookup: u64,
    /// Ended (the slot is free).
    done: bool,
    start: SimTime,
    origin: RingId,
    /// The querier's address.
    origin_idx: PeerIdx,
    key: RingId,
    hops: u32,
    timeouts: u32,
    path: Vec<RingId>,
    answer: Option<AnswerSeen>,
    /// The caller's tag of an operation started from outside the simulation (the swarm's
    /// discovery), whose end is handed back as an [`Ended`].
    tag: Option<u32>,
}

/// A tagged operation that ended, for the caller that started it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Ended {
    /// The tag it was started with.
    pub(crate) tag: u32,
    /// The holders it found (a lookup answered with values), else none.
    pub(crate) values: Vec<RingId>,
    /// Its hops and timed-out requests.
    pub(crate) hops: u32,
    pub(crate) timeouts: u32,
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
    messages: [u64; 5],
}

/// Everything measured so far in a run.
#[derive(Debug)]
pub(super) struct Recorder {
    record_lookups: bool,
    record_paths: bool,
    ops: Vec<OpState>,
    /// Slots of `ops` whose operation has ended, to reuse.
    free_ops: Vec<u32>,
    /// Operations started and not ended.
    in_flight: u64,
    /// Lookups started so far.
    lookups_started: u64,
    /// Records of the lookups that ended (with `record_lookups`), in end order.
    records: Vec<LookupRecord>,
    /// The consistency of the lookups answered by an owner, counted as they end.
    consistency: ConsistencyCounter,
    stats: LookupStats,
    /// Messages sent from one peer to another, by kind, and the live peers' time (bytes are
    /// computed at the end from `carried`).
    traffic: TrafficStats,
    /// IDs and contacts the messages of each kind carried: their bytes follow at the end, so
    /// that a message costs additions only (the traffic count was 4 % of a successor ring's
    /// instructions when each message's bytes were computed as it was sent).
    carried: [(u64, u64); 5],
    /// Peers alive now, and since when (for `traffic.peer_ms`).
    alive: (u64, SimTime),
    interval: Interval,
    samples: Vec<Sample>,
    /// One record per peer that ever existed, by address.
    pub(super) peers: Vec<PeerRecord>,
    /// Tagged operations that ended and were not taken yet.
    pub(super) ended_tagged: Vec<Ended>,
}

/// What a finished run measured, for [`crate::metrics::RunResult`].
pub(super) struct Recorded {
    pub(super) lookups: Vec<LookupRecord>,
    pub(super) lookup_stats: LookupStats,
    pub(super) peers: Vec<PeerRecord>,
    pub(super) messages: u64,
    pub(super) traffic: TrafficStats,
    pub(super) samples: Vec<Sample>,
}

impl Recorder {
    /// A recorder for a network starting with `peers`.
    /// Lookups for one key started at most `consistency_window` apart are compared.
    pub(super) fn new(
        record_lookups: bool,
        record_paths: bool,
        consistency_window: SimDuration,
        peers: Vec<PeerRecord>,
    ) -> Self {
        Recorder {
            record_lookups,
            record_paths,
            ops: Vec::new(),
            free_ops: Vec::new(),
            in_flight: 0,
            lookups_started: 0,
            records: Vec::new(),
            consistency: ConsistencyCounter::new(consistency_window),
            stats: LookupStats::default(),
            traffic: TrafficStats::default(),
            carried: [(0, 0); 5],
            alive: (0, SimTime::ZERO),
            interval: Interval::default(),
            samples: Vec::new(),
            peers,
            ended_tagged: Vec::new(),
        }
    }

    /// Operations started and not ended yet.
    pub(super) fn in_flight(&self) -> u64 {
        self.in_flight
    }

    /// A message of `wire`'s weight left one peer for another.
    #[inline]
    pub(super) fn message_sent(&mut self, wire: Wire) {
        let k = wire.traffic as usize;
        self.traffic.messages[k] += 1;
        self.carried[k].0 += wire.ids as u64;
        self.carried[k].1 += wire.contacts as u64;
        self.traffic.replies += wire.reply as u64;
        self.interval.messages[k] += 1;
    }

    /// The message last counted by [`Recorder::message_sent`] was dropped by the network.
    pub(super) fn message_dropped(&mut self) {
        self.traffic.dropped += 1;
    }

    /// `count` peers are alive from `now` on.
    pub(super) fn alive_changed(&mut self, now: SimTime, count: u64) {
        let (before, since) = self.alive;
        self.traffic.peer_ms += before as u128 * now.since(since).as_ms() as u128;
        self.alive = (count, now);
    }

    /// An operation starts at `origin` for `key`; returns its id.
    pub(super) fn started(
        &mut self,
        now: SimTime,
        (origin, origin_idx): (RingId, PeerIdx),
        key: RingId,
        kind: OpKind,
    ) -> OpId {
        let path = if self.record_paths { vec![origin] } else { Vec::new() };
        let lookup = self.lookups_started;
        if kind == OpKind::Lookup {
            self.lookups_started += 1;
        }
        let state = OpState {
            kind,
            lookup,
            done: false,
            start: now,
            origin,
            origin_idx,
            key,
            hops: 0,
            timeouts: 0,
            path,
            answer: None,
            tag: None,
        };
        let op = match self.free_ops.pop() {
            Some(slot) => {
                self.ops[slot as usize] = state;
                OpId(slot)
            }
            None => {
                let op = OpId(u32::try_from(self.ops.len()).expect("fewer than 2^32 operations"));
                assert!(op.is_measured(), "fewer than 2^32 - 1 operations in flight");
                self.ops.push(state);
                op
            }
        };
        self.in_flight += 1;
        op
    }

    /// Tags operation `op`: its end is kept for the caller ([`Ended`]).
    pub(super) fn tag(&mut self, op: OpId, tag: u32) {
        self.ops[op.0 as usize].tag = Some(tag);
    }

    /// The operation's query reached the live peer `at`: one hop.
    pub(super) fn reached(&mut self, op: OpId, at: RingId) {
        let op = &mut self.ops[op.0 as usize];
        op.hops += 1;
        if self.record_paths {
            op.path.push(at);
        }
    }

    /// An iterative querier concluded the operation at `by`, `hops` hops away.
    pub(super) fn resolved(&mut self, op: OpId, by: RingId, hops: u32) {
        let op = &mut self.ops[op.0 as usize];
        op.hops = hops;
        if self.record_paths {
            op.path.push(by);
        }
    }

    /// A message of the operation timed out.
    pub(super) fn timed_out(&mut self, op: OpId) {
        self.ops[op.0 as usize].timeouts += 1;
    }

    /// Peer `by` (at address `by_idx`, if known) answered the operation: note who answered and
    /// who should have.
    pub(super) fn answered(
        &mut self,
        op: OpId,
        by: RingId,
        by_idx: Option<PeerIdx>,
        answered: Answered,
        oracle: &mut Oracle,
    ) {
        let op = &mut self.ops[op.0 as usize];
        // A key that is a member's ID is that member's, in both protocols' sense. SimGrid's
        // lookups ask for a finger's ID and are nearly all answered by that finger, so this skips
        // the search of the ring (6 % of that benchmark at 10^6 peers, cache misses in the
        // oracle's blocks) for nearly every lookup.
        let (true_owner, true_owner_idx) = match by_idx {
            Some(i) if by == op.key && oracle.is_member(i) => (by, Some(i)),
            _ if oracle.is_empty() => (op.key, None),
            _ => {
                let (id, idx) = oracle.owner(op.key);
                (id, Some(idx))
            }
        };
        let owner = (answered != Answered::Failed).then_some(by);
        let was_stored = oracle.is_stored(op.key);
        if answered == Answered::Stored {
            oracle.note_stored(op.key);
        }
        op.answer = Some(AnswerSeen { owner, true_owner, true_owner_idx, was_stored, answered });
    }

    /// The operation is over: its answer reached the querier or was lost with it.
    /// `round_trip` gives the round trip between two peers' hosts when the network has a
    /// topology.
    pub(super) fn ended(
        &mut self,
        now: SimTime,
        op_id: OpId,
        round_trip: impl FnOnce(PeerIdx, PeerIdx) -> Option<SimDuration>,
    ) {
        let slot = op_id.0 as usize;
        if self.ops[slot].done {
            return;
        }
        let op = &mut self.ops[slot];
        op.done = true;
        let path = std::mem::take(&mut op.path);
        let AnswerSeen { owner, true_owner, true_owner_idx, was_stored, answered } =
            op.answer.take().expect("answered before it ended");
        let (outcome, values) = match answered {
            Answered::Failed => (Outcome::Failed, Vec::new()),
            Answered::Stored | Answered::Owner { values: None } => (
                if owner == Some(true_owner) { Outcome::Ok } else { Outcome::WrongOwner },
                Vec::new(),
            ),
            Answered::Value { values } => (Outcome::Ok, values),
            Answered::Owner { values: Some(values) } => {
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
        let op = &self.ops[slot];
        if let Some(tag) = op.tag {
            let values = if outcome == Outcome::Failed { Vec::new() } else { values.clone() };
            self.ended_tagged.push(Ended { tag, values, hops: op.hops, timeouts: op.timeouts });
        }
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
                let round_trip = true_owner_idx.and_then(|owner| round_trip(op.origin_idx, owner));
                if let Some(rtt) = round_trip
                    && outcome != Outcome::Failed
                {
                    self.stats.add_stretch(latency, rtt);
                }
                if let Some(owner) = owner {
                    let answer = OwnerAnswer { key: op.key, start: op.start, owner };
                    let ops = &self.ops;
                    self.consistency.push(answer, || earliest_in_flight(ops).unwrap_or(now));
                }
                if self.record_lookups {
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
                        round_trip,
                        outcome,
                        values,
                        path,
                    });
                }
            }
            OpKind::Join(peer) => {
                let rec = &mut self.peers[peer.0 as usize];
                rec.join_hops = Some(op.hops);
                rec.join_path = path;
            }
            OpKind::Store => {}
        }
        self.free_ops.push(op_id.0);
        self.in_flight -= 1;
    }

    /// A new peer exists (it has not joined yet).
    pub(super) fn spawned(&mut self, record: PeerRecord) {
        self.peers.push(record);
    }

    /// Peer `peer` became a member at `now`.
    pub(super) fn joined(&mut self, now: SimTime, peer: PeerIdx) {
        self.peers[peer.0 as usize].join = Some(now);
        self.interval.joins += 1;
    }

    /// Peer `peer` left or crashed at `now`.
    pub(super) fn departed(&mut self, now: SimTime, peer: PeerIdx, kind: LeaveKind) {
        match kind {
            LeaveKind::Leave => self.interval.leaves += 1,
            LeaveKind::Crash => self.interval.crashes += 1,
        }
        self.peers[peer.0 as usize].leave = Some((now, kind));
    }

    /// Closes the current interval with the ring's `health` now.
    pub(super) fn sample(&mut self, now: SimTime, health: Health) {
        let iv = std::mem::take(&mut self.interval);
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
            messages: iv.messages,
            health,
        });
    }

    /// Peers that never completed their join.
    pub(super) fn failed_joins(&self) -> usize {
        self.peers.iter().filter(|p| p.join.is_none() && p.leave.is_none()).count()
    }

    /// What was measured, the lookup records in start order and numbered among those that
    /// ended (all of them unless the run stopped), and the bytes of the traffic in a space of
    /// `bits`-bit IDs ([`Wire::bytes`], summed).
    pub(super) fn finish(mut self, end: SimTime, bits: u32) -> Recorded {
        for (k, &(ids, contacts)) in self.carried.iter().enumerate() {
            self.traffic.bytes[k] =
                Wire::total_bytes(bits, self.traffic.messages[k], ids, contacts);
        }
        self.alive_changed(end, 0);
        self.stats.consistency = self.consistency.finish();
        let mut lookups = std::mem::take(&mut self.records);
        lookups.sort_unstable_by_key(|l| l.lookup);
        for (i, l) in lookups.iter_mut().enumerate() {
            l.lookup = i as u64;
        }
        Recorded {
            lookups,
            lookup_stats: self.stats,
            peers: self.peers,
            messages: self.traffic.messages.iter().sum(),
            traffic: self.traffic,
            samples: self.samples,
        }
    }
}

/// Bytes of the state kept per operation while the run lasts, for [`crate::footprint`].
pub(crate) const OP_BYTES: usize = std::mem::size_of::<OpState>();

/// The earliest start among the lookups in flight (a scan of the slots: asked once per batch of
/// answers counted for consistency).
fn earliest_in_flight(ops: &[OpState]) -> Option<SimTime> {
    ops.iter().filter(|o| !o.done && o.kind == OpKind::Lookup).map(|o| o.start).min()
}

/// Bytes held per answered lookup for the consistency count, for [`crate::footprint`].
pub(crate) const OWNER_ANSWER_BYTES: usize = std::mem::size_of::<OwnerAnswer>();

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Consistency;

    fn oracle() -> Oracle {
        Oracle::new(vec![(RingId(10), PeerIdx(0)), (RingId(20), PeerIdx(1))])
    }

    #[test]
    fn a_lookup_is_measured_from_its_reports_alone() {
        let mut oracle = oracle();
        let mut rec = Recorder::new(true, true, SimDuration(1000), Vec::new());
        let op = rec.started(SimTime(5), (RingId(10), PeerIdx(0)), RingId(15), OpKind::Lookup);
        rec.reached(op, RingId(10));
        rec.timed_out(op);
        rec.reached(op, RingId(20));
        rec.answered(op, RingId(20), None, Answered::Owner { values: Some(vec![]) }, &mut oracle);
        assert_eq!(rec.in_flight(), 1);
        rec.ended(SimTime(105), op, |_, _| None);
        rec.ended(SimTime(205), op, |_, _| None); // a second end is ignored
        assert_eq!(rec.in_flight(), 0);
        let done = rec.finish(SimTime::ZERO, 32);
        let l = &done.lookups[0];
        assert_eq!((l.hops, l.timeouts, l.latency.as_ms()), (2, 1, 100));
        assert_eq!((l.owner, l.true_owner, l.outcome), (Some(RingId(20)), RingId(20), Outcome::Ok));
        assert_eq!(l.path, vec![RingId(10), RingId(10), RingId(20)]);
        assert_eq!((done.lookup_stats.ok, done.lookup_stats.count()), (1, 1));
    }

    #[test]
    fn a_wrong_owner_a_missing_value_and_a_failure_are_told_apart() {
        let mut oracle = oracle();
        let mut rec = Recorder::new(true, false, SimDuration(1000), Vec::new());
        let store = rec.started(SimTime(0), (RingId(10), PeerIdx(0)), RingId(15), OpKind::Store);
        rec.answered(store, RingId(20), None, Answered::Stored, &mut oracle);
        rec.ended(SimTime(1), store, |_, _| None);
        assert!(oracle.is_stored(RingId(15)), "a store reported as stored is noted");
        let mut outcome = |by: u64, answered: Answered| {
            let op = rec.started(SimTime(2), (RingId(10), PeerIdx(0)), RingId(15), OpKind::Lookup);
            rec.answered(op, RingId(by), None, answered, &mut oracle);
            rec.ended(SimTime(3), op, |_, _| None);
        };
        outcome(10, Answered::Owner { values: Some(vec![RingId(7)]) });
        outcome(20, Answered::Owner { values: Some(vec![]) });
        outcome(20, Answered::Failed);
        let done = rec.finish(SimTime::ZERO, 32);
        let got: Vec<Outcome> = done.lookups.iter().map(|l| l.outcome).collect();
        assert_eq!(got, vec![Outcome::WrongOwner, Outcome::NotFound, Outcome::Failed]);
        // The two lookups that named an owner (10, then 20) pair; the failed one does not.
        assert_eq!(done.lookup_stats.consistency, Consistency { pairs: 1, differing: 1 });
    }

    #[test]
    fn consistency_needs_no_records() {
        let mut oracle = oracle();
        let mut rec = Recorder::new(false, false, SimDuration(1000), Vec::new());
        for (start, by) in [(0, 20), (400, 20), (900, 10), (2000, 20)] {
            let op =
                rec.started(SimTime(start), (RingId(10), PeerIdx(0)), RingId(15), OpKind::Lookup);
            rec.answered(op, RingId(by), None, Answered::Owner { values: None }, &mut oracle);
            rec.ended(SimTime(start + 50), op, |_, _| None);
        }
        let done = rec.finish(SimTime::ZERO, 32);
        assert!(done.lookups.is_empty());
        // Within 1 s: (0, 400) same, (0, 900) and (400, 900) differ; 2000 is alone.
        assert_eq!(done.lookup_stats.consistency, Consistency { pairs: 3, differing: 2 });
    }
}

//! Unit tests of one peer's routing and maintenance, message by message.

use super::*;
use crate::protocol::{Answered, Protocol};
use crate::ring::{IdSpace, RingId};
use crate::time::SimDuration;

fn r(idx: u32, id: u64) -> PeerRef {
    PeerRef::new(PeerIdx(idx), RingId(id))
}

fn params() -> Params {
    Params {
        space: IdSpace::new(6).unwrap(),
        hop_limit: 100,
        retries: u32::MAX,
        cache_size: 0,
        successors: 2,
        route_via_successors: false,
        reactive_stabilization: false,
        fingers_at_join: false,
        finger_hints: false,
        iterative_repairs: false,
        repair_retries: u32::MAX,
        join_attempts: 1,
        fix_all_fingers: false,
        fingers: false,
        iterative: false,
        original: false,
        learn_from_timeouts: true,
        replication: 1,
        proximity: 0,
        maintenance: None,
        ring: None,
    }
}

fn query(key: u64, hops: u32) -> Query {
    Query {
        op: OpId(0),
        kind: Op::Lookup,
        key: RingId(key),
        querier: r(9, 13),
        hops,
        timeouts: 0,
        expect_owner: false,
        jumped: false,
        lower: RingId(0),
    }
}

/// Peer 25 in the lecture ring, between 13 and 32.
fn peer25() -> Peer {
    Peer::new(r(3, 25), Some(r(2, 13)), vec![r(4, 32), r(5, 40)])
}

#[test]
fn owner_answers_the_querier_directly() {
    let mut p = peer25();
    p.entries_mut().insert(RingId(20), RingId(1));
    let mut out = Vec::new();
    p.start_query(&params(), query(20, 3), &mut out);
    let want = Message::Answer(Answer {
        op: OpId(0),
        timeouts: 0,
        kind: Op::Lookup,
        from: r(3, 25),
        reply: Reply::Owner { key: RingId(20), values: vec![RingId(1)], range_start: RingId(13) },
    });
    let reported = Answered::Owner { values: Some(vec![RingId(1)]) };
    assert_eq!(
        out,
        vec![
            Command::Report(Report::Answered(OpId(0), reported)),
            Command::Send { to: r(9, 13), msg: want }
        ],
        "the answer is reported as it leaves"
    );
}

#[test]
fn forwards_to_successor_and_counts_the_hop() {
    let mut p = peer25();
    let mut out = Vec::new();
    p.start_query(&params(), query(45, 1), &mut out);
    let Command::Send { to, msg: Message::Query(q) } = &out[0] else { panic!("{out:?}") };
    assert_eq!(to.idx, PeerIdx(4));
    assert_eq!(q.hops, 2);
    assert!(!q.expect_owner, "45 is beyond the successor 32");
    out.clear();
    p.start_query(&params(), query(30, 1), &mut out);
    let Command::Send { msg: Message::Query(q), .. } = &out[0] else { panic!() };
    assert!(q.expect_owner, "30 ∈ (25, 32]: the successor should own it");
}

#[test]
fn stale_sender_gets_sent_back_to_predecessor() {
    let mut p = peer25();
    let mut q = query(10, 1);
    q.expect_owner = true;
    let mut out = Vec::new();
    p.start_query(&params(), q, &mut out);
    assert!(matches!(&out[0], Command::Send { to, .. } if to.idx == PeerIdx(2)));
}

#[test]
fn hop_limit_ends_the_query() {
    let mut p = peer25();
    let mut out = Vec::new();
    p.start_query(&params(), query(45, 100), &mut out);
    assert_eq!(out[0], Command::Report(Report::Answered(OpId(0), Answered::Failed)));
    let Command::Send { to, msg: Message::Answer(a) } = &out[1] else { panic!() };
    assert_eq!((to.idx, &a.reply), (PeerIdx(9), &Reply::Failed));
}

#[test]
fn store_is_idempotent_per_holder() {
    let mut p = peer25();
    p.entries_mut().insert(RingId(20), RingId(1));
    p.entries_mut().insert(RingId(20), RingId(1));
    p.entries_mut().insert(RingId(20), RingId(7));
    assert_eq!(p.entries().values(RingId(20)), &[RingId(1), RingId(7)]);
    assert_eq!(p.entries().len(), 1);
}

/// Peer 13 of the lecture ring with fingers: successors of 13 + 2^i for i = 0..5
/// (14, 15, 17, 21, 29, 45) are 25, 25, 25, 25, 32, 48.
fn peer13_with_fingers() -> Peer {
    let s = IdSpace::new(6).unwrap();
    let mut p = Peer::new(r(2, 13), Some(r(1, 12)), vec![r(3, 25)]);
    p.set_fingers(s, [r(3, 25), r(3, 25), r(3, 25), r(3, 25), r(4, 32), r(6, 48)]);
    p
}

fn next_hop(p: &mut Peer, params: &Params, q: Query) -> (PeerIdx, Query) {
    let mut out = Vec::new();
    p.start_query(params, q, &mut out);
    match out.pop() {
        Some(Command::Send { to, msg: Message::Query(q) }) => (to.idx, q),
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
fn simgrid_fingers_are_the_successor_then_only_those_set() {
    let s = IdSpace::new(6).unwrap();
    // An exact table: finger i is the successor of 13 + 2^i.
    let p = peer13_with_fingers();
    let got: Vec<u64> = (0..6).map(|i| p.finger(s, i).id.0).collect();
    assert_eq!(got, vec![25, 25, 25, 25, 32, 48]);
    // A peer that knows only its successor: finger 0 is the successor, the others itself until
    // repaired (SimGrid's table starts as the peer's own ID).
    let params = Params { fingers: true, ..maint() };
    let mut q = Peer::new(r(2, 13), Some(r(1, 12)), vec![r(3, 25)]);
    assert_eq!(q.finger(s, 0), r(3, 25));
    assert_eq!(q.finger(s, 1), r(2, 13));
    // Fingers 0 and 1 (targets 14 and 15, before the successor) are repaired without a query.
    let mut out = Vec::new();
    q.handle_timer(&params, Timer::FixFinger, &mut out);
    q.handle_timer(&params, Timer::FixFinger, &mut out);
    assert!(sends(&out).is_empty(), "{out:?}");
    assert_eq!(q.finger(s, 1), r(3, 25));
    assert_eq!(q.finger(s, 2), r(2, 13));
}

#[test]
fn cache_jumps_once_straight_to_the_remembered_owner() {
    let params = Params { cache_size: 2, ..params() };
    let mut p = Peer::new(r(2, 13), Some(r(1, 12)), vec![r(3, 25)]);
    let from48 = Answer {
        op: OpId(0),
        timeouts: 0,
        kind: Op::Lookup,
        from: r(6, 48),
        reply: Reply::Owner { key: RingId(45), values: vec![], range_start: RingId(40) },
    };
    p.handle_message(&params, r(6, 48), Message::Answer(from48), &mut Vec::new());
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
    let mut p = Peer::new(r(2, 13), Some(r(1, 12)), vec![r(3, 25)]);
    let owner = |idx, id, from| Answer {
        op: OpId(0),
        timeouts: 0,
        kind: Op::Lookup,
        from: r(idx, id),
        reply: Reply::Owner { key: RingId(id), values: vec![], range_start: RingId(from) },
    };
    p.handle_message(&params, r(4, 32), Message::Answer(owner(4, 32, 25)), &mut Vec::new());
    p.handle_message(&params, r(5, 40), Message::Answer(owner(5, 40, 32)), &mut Vec::new());
    // Use 32 (a jump for key 30), so 40 becomes the least recently used.
    assert_eq!(next_hop(&mut p, &params, query(30, 0)).0, PeerIdx(4), "jump to 32: (25, 32]");
    p.handle_message(&params, r(6, 48), Message::Answer(owner(6, 48, 40)), &mut Vec::new());
    let ids: Vec<u64> = p.shortcuts().map(|c| c.id.0).collect();
    assert_eq!(ids, vec![32, 48], "40 was evicted");
    // Nothing is cached without a cache.
    let params_plain = super::tests::params();
    let mut plain = Peer::new(r(2, 13), Some(r(1, 12)), vec![r(3, 25)]);
    plain.handle_message(
        &params_plain,
        r(4, 32),
        Message::Answer(owner(4, 32, 25)),
        &mut Vec::new(),
    );
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

fn maint() -> Params {
    let m = Maintenance {
        stabilize: SimDuration(1000),
        fix_finger: SimDuration(1000),
        check_predecessor: SimDuration(1000),
    };
    Params { maintenance: Some(m), replication: 2, ..params() }
}

fn sends(out: &[Command]) -> Vec<(u64, Message)> {
    out.iter()
        .filter_map(|c| match c {
            Command::Send { to, msg } => Some((to.id.0, msg.clone())),
            _ => None,
        })
        .collect()
}

/// The lecture's crash story at peer 13: its successor 25 crashed. Stabilize times out, 32 is
/// promoted and asked for its list; 32 still names 25 as predecessor, which 13 checks before
/// believing; 13 then notifies 32.
#[test]
fn crash_of_successor_promotes_the_next_one() {
    let params = maint();
    let mut p13 = Peer::new(r(2, 13), Some(r(1, 12)), vec![r(3, 25), r(4, 32)]);
    let mut out = Vec::new();
    p13.handle_timer(&params, Timer::Stabilize, &mut out);
    assert_eq!(sends(&out), vec![(25, Message::StabilizeReq)]);
    out.clear();
    p13.handle_undeliverable(&params, r(3, 25), Message::StabilizeReq, &mut out);
    assert_eq!(p13.successors(), &[r(4, 32)], "next successor promoted");
    assert_eq!(sends(&out), vec![(32, Message::StabilizeReq)], "and asked for its list");
    out.clear();
    let resp = Message::StabilizeResp {
        pred: Some(r(3, 25)),
        succs: SuccList::from_slice(&[r(5, 40), r(6, 48)]),
    };
    p13.handle_message(&params, r(4, 32), resp, &mut out);
    assert_eq!(p13.successors(), &[r(4, 32), r(5, 40)], "copies its successor's list");
    assert_eq!(
        sends(&out),
        vec![(25, Message::StabilizeReq)],
        "25 is checked before being adopted, and notified once adopted, not 32 meanwhile"
    );
    out.clear();
    // 25 is dead indeed: 32 stays the successor and gets the notify held back.
    p13.handle_undeliverable(&params, r(3, 25), Message::StabilizeReq, &mut out);
    assert_eq!(p13.successors(), &[r(4, 32), r(5, 40)]);
    assert_eq!(sends(&out), vec![(32, Message::Notify)]);
}

/// A peer that fell back on its predecessor learns its true successors from that predecessor's
/// list, past itself; it checks every one at once, so a dead first one loses none of the others.
#[test]
fn a_peer_fallen_back_on_its_predecessor_checks_every_successor_listed_past_it() {
    let params = maint();
    // 25 lost its successors and fell back on its predecessor 13, whose list is 25, 32, 40.
    let mut p25 = Peer::new(r(3, 25), Some(r(2, 13)), vec![r(2, 13)]);
    let mut out = Vec::new();
    let resp = Message::StabilizeResp {
        pred: Some(r(1, 12)),
        succs: SuccList::from_slice(&[r(3, 25), r(4, 32), r(5, 40)]),
    };
    p25.handle_message(&params, r(2, 13), resp, &mut out);
    assert_eq!(p25.successors(), &[r(2, 13)], "the list stops at 25 itself");
    assert_eq!(sends(&out), vec![(32, Message::StabilizeReq), (40, Message::StabilizeReq)]);
    out.clear();
    // 32 is dead; 40 answers and is adopted.
    p25.handle_undeliverable(&params, r(4, 32), Message::StabilizeReq, &mut out);
    out.clear();
    let resp =
        Message::StabilizeResp { pred: Some(r(3, 25)), succs: SuccList::from_slice(&[r(6, 48)]) };
    p25.handle_message(&params, r(5, 40), resp, &mut out);
    assert_eq!(p25.successors(), &[r(5, 40), r(6, 48)]);
    assert_eq!(sends(&out), vec![(40, Message::Notify)]);
}

/// Farther notifiers while a ping of the predecessor is under way: one ping, and the closest
/// notifier kept to replace a dead predecessor.
#[test]
fn one_ping_at_a_time_checks_the_predecessor_for_every_farther_notifier() {
    let params = maint();
    let mut p40 = Peer::new(r(5, 40), Some(r(4, 32)), vec![r(6, 48)]);
    let mut out = Vec::new();
    p40.handle_message(&params, r(2, 13), Message::Notify, &mut out);
    p40.handle_message(&params, r(3, 25), Message::Notify, &mut out);
    p40.handle_message(&params, r(1, 12), Message::Notify, &mut out);
    p40.handle_timer(&params, Timer::CheckPredecessor, &mut out);
    let pings: Vec<_> = sends(&out).into_iter().filter(|(_, m)| *m == Message::Ping).collect();
    assert_eq!(pings, vec![(32, Message::Ping)]);
    out.clear();
    p40.handle_undeliverable(&params, r(4, 32), Message::Ping, &mut out);
    assert_eq!(p40.pred(), Some(r(3, 25)), "the closest of the notifiers");
    out.clear();
    // A new predecessor, a new check.
    p40.handle_timer(&params, Timer::CheckPredecessor, &mut out);
    assert!(sends(&out).contains(&(25, Message::Ping)));
}

/// 32's predecessor 25 crashed; 13 notifies. 13 is not closer than 25, so 32 pings 25 first and
/// adopts 13 only when 25 is found dead.
#[test]
fn predecessor_replaced_only_when_dead_or_by_a_closer_notifier() {
    let params = maint();
    let mut p32 = Peer::new(r(4, 32), Some(r(3, 25)), vec![r(5, 40), r(6, 48)]);
    let mut out = Vec::new();
    p32.handle_message(&params, r(2, 13), Message::Notify, &mut out);
    assert_eq!(p32.pred(), Some(r(3, 25)));
    assert_eq!(sends(&out), vec![(25, Message::Ping)]);
    out.clear();
    p32.handle_undeliverable(&params, r(3, 25), Message::Ping, &mut out);
    assert_eq!(p32.pred(), Some(r(2, 13)), "the dead predecessor is replaced by the notifier");
    // A closer notifier (a joiner, 28) replaces 13 at once and receives the keys in (13, 28].
    for k in [14, 20, 28, 30] {
        p32.entries_mut().insert(RingId(k), RingId(1));
    }
    p32.handle_message(&params, r(9, 28), Message::Notify, &mut out);
    assert_eq!(p32.pred(), Some(r(9, 28)));
    let handed: Vec<u64> = sends(&out)
        .into_iter()
        .flat_map(|(to, m)| match m {
            Message::Entries(e) if to == 28 => e.into_iter().map(|(k, _)| k.0).collect(),
            _ => Vec::new(),
        })
        .collect();
    assert_eq!(handed, vec![14, 20, 28]);
    assert_eq!(p32.entries().len(), 4, "with replication 2, 32 keeps copies as 28's successor");
}

#[test]
fn a_joiner_adopts_the_owner_once_it_has_answered_and_notifies_it() {
    let params = maint();
    let mut j = Peer::joining(r(9, 28));
    let mut out = Vec::new();
    j.join(r(7, 60), OpId(3), &mut out);
    let Command::Send { to, msg: Message::Query(q) } = &out[0] else { panic!("{out:?}") };
    assert_eq!((to.id.0, q.kind, q.key), (60, Op::Join, RingId(28)));
    out.clear();
    let accept = Answer {
        op: OpId(3),
        timeouts: 0,
        kind: Op::Join,
        from: r(4, 32),
        reply: Reply::Successor {
            succs: vec![r(4, 32), r(5, 40), r(6, 48)],
            welcome: Some(Box::new(Welcome {
                entries: vec![(RingId(20), vec![RingId(1)])],
                hints: Vec::new(),
            })),
        },
    };
    j.handle_message(&params, r(4, 32), Message::Answer(accept), &mut out);
    assert_eq!(
        j.entries().values(RingId(20)),
        &[RingId(1)],
        "the keys of its range come with the answer"
    );
    // Not adopted unchecked (Zave): first 32 must show it is alive.
    assert!(!j.is_joined());
    assert_eq!(sends(&out), vec![(32, Message::StabilizeReq)]);
    out.clear();
    let resp = Message::StabilizeResp {
        pred: Some(r(3, 25)),
        succs: SuccList::from_slice(&[r(5, 40), r(6, 48)]),
    };
    j.handle_message(&params, r(4, 32), resp, &mut out);
    assert!(j.is_joined());
    assert_eq!(j.successors(), &[r(4, 32), r(5, 40)], "32's list, truncated to r = 2");
    assert!(out.contains(&Command::Joined));
    assert_eq!(sends(&out), vec![(32, Message::Notify)]);
    assert!(out.iter().any(|c| matches!(c, Command::SetTimer { timer: Timer::Stabilize, .. })));
}

/// The answer to a join: `succs[0]` owns the joiner's ID and lists its successors after it.
fn join_answer(op: OpId, succs: Vec<PeerRef>) -> Message {
    let reply = Reply::Successor { succs: succs.clone(), welcome: Some(Box::default()) };
    Message::Answer(Answer { op, timeouts: 0, kind: Op::Join, from: succs[0], reply })
}

#[test]
fn a_joiner_passes_over_dead_candidates_and_asks_again_when_none_is_left() {
    let params = maint();
    let mut j = Peer::joining(r(9, 28));
    let mut out = Vec::new();
    j.join(r(7, 60), OpId(3), &mut out);
    out.clear();
    let answer = join_answer(OpId(3), vec![r(4, 32), r(5, 40)]);
    j.handle_message(&params, r(4, 32), answer, &mut out);
    out.clear();
    // 32 died after answering: check 40 next.
    j.handle_undeliverable(&params, r(4, 32), Message::StabilizeReq, &mut out);
    assert_eq!(sends(&out), vec![(40, Message::StabilizeReq)]);
    assert!(!j.is_joined());
    out.clear();
    // 40 is gone too: the join goes to the well-known peer again.
    j.handle_undeliverable(&params, r(5, 40), Message::StabilizeReq, &mut out);
    let Command::Send { to, msg: Message::Query(q) } = &out[0] else { panic!("{out:?}") };
    assert_eq!((to.id.0, q.kind, q.key, q.op), (60, Op::Join, RingId(28), OpId::MAINTENANCE));
    assert!(!j.is_joined());
}

#[test]
fn as_published_stabilization_adopts_the_successors_predecessor_unchecked() {
    // 25's successor 40 reports predecessor 32: the corrected protocol asks 32 first; the
    // published one makes 32 its successor at once and notifies it.
    let resp = || Message::StabilizeResp {
        pred: Some(r(4, 32)),
        succs: SuccList::from_slice(&[r(6, 48)]),
    };
    let mut out = Vec::new();
    let mut p = Peer::new(r(3, 25), Some(r(2, 13)), vec![r(5, 40), r(6, 48)]);
    p.handle_message(&maint(), r(5, 40), resp(), &mut out);
    assert_eq!(p.successors(), &[r(5, 40), r(6, 48)]);
    assert_eq!(sends(&out), vec![(32, Message::StabilizeReq)]);
    out.clear();
    let original = Params { original: true, ..maint() };
    let mut p = Peer::new(r(3, 25), Some(r(2, 13)), vec![r(5, 40), r(6, 48)]);
    p.handle_message(&original, r(5, 40), resp(), &mut out);
    assert_eq!(p.successors(), &[r(4, 32), r(5, 40)]);
    assert_eq!(sends(&out), vec![(32, Message::Notify)]);
}

#[test]
fn as_published_a_notifier_that_is_not_closer_is_ignored() {
    let mut p = Peer::new(r(5, 40), Some(r(4, 32)), vec![r(6, 48)]);
    let mut out = Vec::new();
    p.handle_message(&maint(), r(2, 13), Message::Notify, &mut out);
    assert_eq!(sends(&out), vec![(32, Message::Ping)], "corrected: is 32 still alive?");
    out.clear();
    let mut p = Peer::new(r(5, 40), Some(r(4, 32)), vec![r(6, 48)]);
    p.handle_message(&Params { original: true, ..maint() }, r(2, 13), Message::Notify, &mut out);
    assert!(out.is_empty(), "{out:?}");
}

#[test]
fn a_member_that_fell_back_on_its_predecessor_checks_the_successor_that_peer_lists() {
    // 25 lost every successor and fell back on its predecessor 13; 13's list shows 25 and then
    // 25's true successors: 32 is checked, to be adopted once it answers.
    let mut p = Peer::new(r(3, 25), Some(r(2, 13)), vec![r(2, 13)]);
    let mut out = Vec::new();
    let resp = Message::StabilizeResp {
        pred: Some(r(1, 12)),
        succs: SuccList::from_slice(&[r(3, 25), r(4, 32)]),
    };
    p.handle_message(&maint(), r(2, 13), resp, &mut out);
    assert!(sends(&out).contains(&(32, Message::StabilizeReq)), "{out:?}");
    out.clear();
    let resp =
        Message::StabilizeResp { pred: Some(r(3, 25)), succs: SuccList::from_slice(&[r(5, 40)]) };
    p.handle_message(&maint(), r(4, 32), resp, &mut out);
    assert_eq!(p.successors(), &[r(4, 32), r(5, 40)]);
}

#[test]
fn a_successor_found_dead_by_any_message_makes_the_peer_ask_the_next_one_at_once() {
    let mut p = Peer::new(r(3, 25), Some(r(2, 13)), vec![r(4, 32), r(5, 40)]);
    let mut out = Vec::new();
    p.handle_undeliverable(&maint(), r(4, 32), Message::Notify, &mut out);
    assert_eq!(p.successors(), &[r(5, 40)]);
    assert_eq!(sends(&out), vec![(40, Message::StabilizeReq)]);
    // Without maintenance (a static network under failures) nothing is asked.
    let mut p = Peer::new(r(3, 25), Some(r(2, 13)), vec![r(4, 32), r(5, 40)]);
    out.clear();
    p.handle_undeliverable(&params(), r(4, 32), Message::Notify, &mut out);
    assert!(out.is_empty(), "{out:?}");
}

#[test]
fn a_joined_peer_that_knows_no_one_joins_again_through_its_well_known_peer() {
    let params = maint();
    let mut j = Peer::joining(r(9, 28));
    let mut out = Vec::new();
    j.join(r(7, 60), OpId(3), &mut out);
    j.handle_message(&params, r(4, 32), join_answer(OpId(3), vec![r(4, 32)]), &mut out);
    let resp = Message::StabilizeResp { pred: Some(r(3, 25)), succs: SuccList::new() };
    j.handle_message(&params, r(4, 32), resp, &mut out);
    assert!(j.is_joined());
    out.clear();
    // Its only successor dies before anyone else learns of it: not alone, lost.
    j.handle_undeliverable(&params, r(4, 32), Message::StabilizeReq, &mut out);
    let Some(Command::Send { to, msg: Message::Query(q) }) = out.last() else { panic!("{out:?}") };
    assert_eq!((to.id.0, q.kind, q.key), (60, Op::Join, RingId(28)));
    assert_eq!(j.pred(), None, "it does not answer for every key meanwhile");
    out.clear();
    let answer = join_answer(OpId::MAINTENANCE, vec![r(5, 40), r(6, 48)]);
    j.handle_message(&params, r(5, 40), answer, &mut out);
    assert_eq!(sends(&out), vec![(40, Message::StabilizeReq)], "checked before adopted");
}

#[test]
fn graceful_leave_hands_keys_to_the_successor_and_the_list_to_the_predecessor() {
    let params = maint();
    let mut p40 = Peer::new(r(5, 40), Some(r(4, 32)), vec![r(6, 48), r(7, 60)]);
    p40.entries_mut().insert(RingId(35), RingId(1));
    p40.entries_mut().insert(RingId(30), RingId(1)); // a replica, not owned: stays behind
    let mut out = Vec::new();
    p40.leave(&mut out);
    let msgs = sends(&out);
    assert_eq!(msgs.len(), 2);
    let Message::Leaving { pred, entries, .. } = &msgs[0].1 else { panic!() };
    assert_eq!(
        (msgs[0].0, *pred, entries.clone()),
        (48, Some(r(4, 32)), vec![(RingId(35), vec![RingId(1)])])
    );
    // The successor takes the keys and the new predecessor; the predecessor splices the list.
    let mut p48 = Peer::new(r(6, 48), Some(r(5, 40)), vec![r(7, 60), r(0, 1)]);
    p48.handle_message(&params, r(5, 40), msgs[0].1.clone(), &mut Vec::new());
    assert_eq!((p48.pred(), p48.entries().values(RingId(35))), (Some(r(4, 32)), &[RingId(1)][..]));
    let mut p32 = Peer::new(r(4, 32), Some(r(3, 25)), vec![r(5, 40), r(6, 48)]);
    p32.handle_message(&params, r(5, 40), msgs[1].1.clone(), &mut Vec::new());
    assert_eq!(p32.successors(), &[r(6, 48), r(7, 60)]);
}

#[test]
fn a_timed_out_forward_is_retried_with_the_next_candidate() {
    let params = maint();
    let mut p = peer25();
    let mut out = Vec::new();
    p.start_query(&params, query(45, 0), &mut out);
    let Some(Command::Send { to, msg }) = out.pop() else { panic!() };
    assert_eq!(to.id.0, 32);
    p.handle_undeliverable(&params, to, msg, &mut out);
    let Some(Command::Send { to, msg: Message::Query(q) }) = out.pop() else { panic!("{out:?}") };
    assert_eq!((to.id.0, q.hops, q.timeouts), (40, 1, 1), "32 forgotten; 40 is next");
}

#[test]
fn without_retries_a_timed_out_forward_fails_the_lookup() {
    let params = Params { retries: 0, ..maint() };
    let mut p = peer25();
    let mut out = Vec::new();
    p.start_query(&params, query(45, 0), &mut out);
    let Some(Command::Send { to, msg }) = out.pop() else { panic!() };
    p.handle_undeliverable(&params, to, msg, &mut out);
    let Some(Command::Send { to, msg: Message::Answer(a) }) = out.pop() else { panic!("{out:?}") };
    assert_eq!((to.id.0, a.reply), (13, Reply::Failed), "the querier learns it failed");
    assert!(out.contains(&Command::Report(Report::Answered(OpId(0), Answered::Failed))));
}

#[test]
fn entries_in_counts_holders_over_a_wrapping_range() {
    let space = IdSpace::new(6).expect("valid");
    let me = PeerRef::new(PeerIdx(0), RingId(5));
    let mut p = Peer::new(me, Some(me), vec![me]);
    for (k, h) in [(1, 10), (1, 11), (5, 10), (6, 10), (40, 10), (63, 10)] {
        p.entries_mut().insert(RingId(k), RingId(h));
    }
    assert_eq!(p.entries().count_in(space, RingId(40), RingId(5)), 4, "(40, 5]: 63, 1 twice, 5");
    assert_eq!(p.entries().count_in(space, RingId(5), RingId(40)), 2, "(5, 40]: 6 and 40");
    assert_eq!(p.entries().count_in(space, RingId(9), RingId(9)), 6, "the whole ring");
}

/// The reports of a peer driven through the `Protocol` interface, as the simulation drives it.
fn reports(out: &[Command]) -> Vec<Report> {
    out.iter()
        .filter_map(|c| match c {
            Command::Report(r) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_measured_query_reaching_a_peer_is_reported_as_a_hop_before_anything_else() {
    let mut p = peer25();
    let mut out = Vec::new();
    let msg = Message::Query(query(45, 1));
    <Peer as Protocol>::handle_message(&mut p, &params(), r(2, 13), msg, &mut out);
    assert_eq!(out[0], Command::Report(Report::Reached(OpId(0))));
    assert_eq!(reports(&out), vec![Report::Reached(OpId(0))], "forwarded, not answered");
    let mut q = query(45, 1);
    q.op = OpId::MAINTENANCE;
    out.clear();
    <Peer as Protocol>::handle_message(&mut p, &params(), r(2, 13), Message::Query(q), &mut out);
    assert!(reports(&out).is_empty(), "upkeep is not measured");
}

#[test]
fn the_owner_reports_its_answer_and_the_querier_reports_the_end() {
    let mut owner = peer25();
    owner.entries_mut().insert(RingId(20), RingId(1));
    let mut out = Vec::new();
    <Peer as Protocol>::handle_message(
        &mut owner,
        &params(),
        r(2, 13),
        Message::Query(query(20, 1)),
        &mut out,
    );
    let answered = Answered::Owner { values: Some(vec![RingId(1)]) };
    assert_eq!(reports(&out), vec![Report::Reached(OpId(0)), Report::Answered(OpId(0), answered)]);
    let Some(Command::Send { to, msg }) = out.pop() else { panic!("{out:?}") };
    assert_eq!(to, r(9, 13));
    let mut querier = Peer::new(r(9, 13), Some(r(3, 25)), vec![r(4, 32)]);
    out.clear();
    <Peer as Protocol>::handle_message(&mut querier, &params(), r(3, 25), msg, &mut out);
    assert_eq!(out.last(), Some(&Command::Report(Report::Ended(OpId(0)))));
}

#[test]
fn a_timeout_is_reported_and_a_lost_message_ends_what_it_carried() {
    let params = maint();
    let mut p = peer25();
    let mut out = Vec::new();
    p.start_query(&params, query(45, 0), &mut out);
    let Some(Command::Send { to, msg }) = out.pop() else { panic!() };
    <Peer as Protocol>::handle_undeliverable(&mut p, &params, to, msg.clone(), &mut out);
    assert_eq!(out[0], Command::Report(Report::TimedOut(OpId(0))));
    // The same query, had its sender departed: it times out and fails with nobody to retry.
    out.clear();
    <Peer as Protocol>::lost_with_sender(&msg, &mut out);
    assert_eq!(
        reports(&out),
        vec![
            Report::TimedOut(OpId(0)),
            Report::Answered(OpId(0), Answered::Failed),
            Report::Ended(OpId(0))
        ]
    );
    // An answer that reaches a querier that has departed ends the operation all the same.
    let answer = Message::Answer(Answer {
        op: OpId(3),
        timeouts: 0,
        kind: Op::Lookup,
        from: r(4, 32),
        reply: Reply::Failed,
    });
    out.clear();
    <Peer as Protocol>::lost(&answer, &mut out);
    assert_eq!(reports(&out), vec![Report::Ended(OpId(3))]);
    out.clear();
    <Peer as Protocol>::lost(&msg, &mut out);
    assert!(reports(&out).is_empty(), "a query lost at a dead peer times out at its sender");
}

#[test]
fn queries_held_by_a_joiner_fail_when_it_departs() {
    let mut joiner = Peer::joining(r(7, 50));
    let mut out = Vec::new();
    <Peer as Protocol>::handle_message(
        &mut joiner,
        &params(),
        r(2, 13),
        Message::Query(query(45, 1)),
        &mut out,
    );
    assert_eq!(reports(&out), vec![Report::Reached(OpId(0))], "held, not routed");
    out.clear();
    <Peer as Protocol>::departed(&mut joiner, &mut out);
    assert_eq!(
        reports(&out),
        vec![Report::Answered(OpId(0), Answered::Failed), Report::Ended(OpId(0))]
    );
}

fn finger_query(index: u8, key: u64) -> Query {
    Query { op: OpId::MAINTENANCE, kind: Op::FindFinger { index }, ..query(key, 0) }
}

#[test]
fn finger_repairs_follow_their_own_retry_limit() {
    // `retries = 0` is for lookups and stores; a repair gives up only past `repair_retries`.
    for (repair_retries, fails) in [(u32::MAX, false), (0, true)] {
        let params = Params { retries: 0, repair_retries, ..maint() };
        let mut p = peer25();
        let mut out = Vec::new();
        p.start_query(&params, finger_query(4, 45), &mut out);
        let Some(Command::Send { to, msg }) = out.pop() else { panic!() };
        assert_eq!(to.id.0, 32);
        p.handle_undeliverable(&params, to, msg, &mut out);
        match out.pop() {
            Some(Command::Send { to, msg: Message::Answer(a) }) if fails => {
                assert_eq!((to.id.0, a.reply), (13, Reply::Failed));
            }
            Some(Command::Send { to, msg: Message::Query(q) }) if !fails => {
                assert_eq!((to.id.0, q.timeouts), (40, 1), "retried through the next peer");
            }
            other => panic!("repair_retries {repair_retries}: {other:?}"),
        }
    }
}

#[test]
fn repairs_can_be_iterative_and_repair_every_finger_at_once() {
    // Peer 13's fingers 0..3 (targets 14, 15, 17, 21) lie before its successor 25 and are set at
    // once; fingers 4 and 5 (targets 29, 45) need a query each.
    for iterative_repairs in [false, true] {
        let params = Params { fingers: true, fix_all_fingers: true, iterative_repairs, ..maint() };
        let mut p = peer13_with_fingers();
        let mut out = Vec::new();
        p.handle_timer(&params, Timer::FixFinger, &mut out);
        let asked: Vec<(u64, u64)> = sends(&out)
            .into_iter()
            .map(|(to, msg)| match msg {
                Message::Query(q) if !iterative_repairs => (to, q.key.0),
                Message::Ask { hop, again: false } if iterative_repairs => (to, hop.q.key.0),
                other => panic!("iterative {iterative_repairs}: {other:?}"),
            })
            .collect();
        // Each goes to the closest preceding finger: 25 for 29, 32 for 45.
        assert_eq!(asked, vec![(25, 29), (32, 45)], "iterative {iterative_repairs}");
    }
}

#[test]
fn a_querier_that_lost_its_answer_asks_again_until_out_of_retries() {
    // Peer 25 asked for key 45 (owned by 48, past its successor 32); 48's answer was dropped.
    let lost = |timeouts| Answer {
        op: OpId(1),
        timeouts,
        kind: Op::Lookup,
        from: r(6, 48),
        reply: Reply::Owner { key: RingId(45), values: vec![], range_start: RingId(40) },
    };
    let mut p = peer25();
    let mut out = Vec::new();
    p.handle_reply_lost(&params(), r(6, 48), Message::Answer(lost(2)), &mut out);
    assert_eq!(reports(&out), vec![Report::TimedOut(OpId(1))]);
    // It sends the query again from the start, its timeouts carried on; it forgets nobody (it
    // never learned who the owner was).
    let [(32, Message::Query(q))] = &sends(&out)[..] else { panic!("{out:?}") };
    assert_eq!((q.key, q.querier, q.timeouts, q.hops), (RingId(45), r(3, 25), 3, 1));
    assert_eq!(p.successors().len(), 2);
    // With no retries left, it ends the lookup as failed: an answer to itself.
    let strict = Params { retries: 2, ..params() };
    out.clear();
    p.handle_reply_lost(&strict, r(6, 48), Message::Answer(lost(2)), &mut out);
    let failed = Report::Answered(OpId(1), Answered::Failed);
    assert_eq!(reports(&out), vec![Report::TimedOut(OpId(1)), failed]);
    let [(25, Message::Answer(a))] = &sends(&out)[..] else { panic!("{out:?}") };
    assert_eq!(a.reply, Reply::Failed);
}

#[test]
fn a_lost_stabilization_answer_or_pong_is_a_successor_or_predecessor_that_did_not_answer() {
    let mut p = peer25();
    let mut out = Vec::new();
    let resp = Message::StabilizeResp { pred: Some(r(3, 25)), succs: SuccList::new() };
    p.handle_reply_lost(&params(), r(4, 32), resp, &mut out);
    assert_eq!(p.succ(), Some(r(5, 40)), "32 is taken for dead; 40 promoted");
    out.clear();
    p.handle_reply_lost(&params(), r(2, 13), Message::Pong, &mut out);
    assert_eq!(p.pred(), None, "13 is taken for dead");
}

/// A client (`overlay.client_mode`) is nobody's predecessor: its notify is ignored where a
/// server's at the same place is acted on; it leaves without a word; the successor answering its
/// join hands it no keys.
#[test]
fn a_client_is_nobodys_predecessor_owns_nothing_and_leaves_silently() {
    let params = maint();
    let client = PeerRef { client: true, ..r(7, 30) };
    let mut p32 = Peer::new(r(4, 32), Some(r(3, 25)), vec![r(5, 40)]);
    p32.entries_mut().insert(RingId(28), RingId(1));
    let mut out = Vec::new();
    p32.handle_message(&params, client, Message::Notify, &mut out);
    assert_eq!((p32.pred(), out.len()), (Some(r(3, 25)), 0), "ignored");
    p32.handle_message(&params, r(7, 30), Message::Notify, &mut out);
    assert!(p32.pred() == Some(r(7, 30)) || !out.is_empty(), "a server's notify is acted on");

    let join_entries = |querier: PeerRef| {
        let mut p32 = Peer::new(r(4, 32), Some(r(3, 25)), vec![r(5, 40)]);
        p32.entries_mut().insert(RingId(28), RingId(1));
        let mut out = Vec::new();
        let q = Query { kind: Op::Join, key: querier.id, querier, ..query(30, 1) };
        p32.handle_message(&params, querier, Message::Query(q), &mut out);
        match &sends(&out)[..] {
            [(30, Message::Answer(Answer { reply: Reply::Successor { welcome, .. }, .. }))] => {
                welcome.as_ref().expect("a join's answer").entries.len()
            }
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(join_entries(r(7, 30)), 1, "a server joining gets the keys of (25, 30]");
    assert_eq!(join_entries(client), 0, "a client gets none");

    for (me, words) in [(client, 0), (r(7, 30), 1)] {
        let mut p = Peer::new(me, None, vec![r(4, 32), r(5, 40)]);
        let mut out = Vec::new();
        p.leave(&mut out);
        assert_eq!(sends(&out).len(), words, "{me:?} leaving");
    }
}

/// A converged ring with clients: the servers' ring skips them; a client knows the servers
/// after it and the fingers of its ID among them, and has no predecessor.
#[test]
fn a_converged_ring_with_clients_is_the_servers_ring() {
    let params = Params { fingers: true, ..params() };
    // The lecture ring's IDs; 13 and 40 are clients.
    let ids: Vec<RingId> = [1, 8, 13, 25, 32, 40, 52].into_iter().map(RingId).collect();
    let clients = [false, false, true, false, false, true, false];
    let start = Start { clients: &clients, ..Start::converged() };
    let peers = <Peer as Protocol>::bootstrap(&params, &ids, start);
    let at = |i: usize| PeerRef { client: clients[i], ..r(i as u32, ids[i].0) };
    for (i, p) in peers.iter().enumerate() {
        assert_eq!(p.me(), at(i));
        let linked: Vec<u64> = p.successors().iter().chain(p.fingers()).map(|s| s.id.0).collect();
        assert!(!linked.contains(&13) && !linked.contains(&40), "{i}: {linked:?}");
    }
    assert_eq!(peers[1].successors(), &[at(3), at(4)], "8's successors skip 13");
    assert_eq!(peers[6].pred(), Some(at(4)), "52's predecessor skips 40");
    assert_eq!((peers[2].pred(), peers[2].successors()), (None, &[at(3), at(4)][..]));
    // 40's fingers: successors of 41, 42, 44, 48, 56 and 8 (mod 64) among the servers.
    let fingers: Vec<u64> = peers[5].fingers().iter().map(|f| f.id.0).collect();
    assert_eq!(fingers, vec![52, 1, 8]);
}

/// Proximity selection at bootstrap: finger b is the nearest of the first `proximity` peers of
/// its interval [me + 2^b, me + 2^(b+1)), the earliest among equals; with an empty interval,
/// the first peer past it, as without selection.
#[test]
fn a_proximity_finger_is_the_nearest_of_the_first_peers_of_its_interval() {
    let params = Params { fingers: true, proximity: 3, ..params() };
    let ids: Vec<RingId> = [1, 8, 13, 25, 32, 40, 52, 56, 60].into_iter().map(RingId).collect();
    // Round trips: by the distance between the two positions' squares mod 7 (any fixed
    // function of the two addresses will do).
    let mut rtt = |i: usize, j: usize| ((i * i + j * j) % 7) as u64;
    let start = Start { round_trip: Some(&mut rtt), ..Start::converged() };
    let peers = <Peer as Protocol>::bootstrap(&params, &ids, start);
    let rtt = |i: usize, j: usize| ((i * i + j * j) % 7) as u64;
    let space = params.space;
    for (i, p) in peers.iter().enumerate() {
        let mut want = Vec::new();
        for b in 0..space.bits() {
            let inside = |j: &usize| {
                let d = space.dist(ids[i], ids[*j]) as u128;
                d >= 1 << b && d < 2 << b
            };
            let first = crate::ring::successor_index(&ids, space.add(ids[i], 1 << b));
            let candidates: Vec<usize> =
                (0..3).map(|k| (first + k) % ids.len()).take_while(inside).collect();
            let pick = candidates.iter().copied().min_by_key(|&j| rtt(i, j)).unwrap_or(first);
            if pick != i && want.last() != Some(&ids[pick].0) {
                want.push(ids[pick].0);
            }
        }
        let got: Vec<u64> = p.fingers().iter().map(|f| f.id.0).collect();
        assert_eq!(got, want, "peer {}", ids[i].0);
    }
    // Peer 1's finger 5 (interval [33, 65)): 40, 52 and 56 are the candidates (60 is 4th),
    // at round trips 4, 1 and 0: 56, where the exact finger is 40.
    let f = |j: usize| rtt(0, j);
    assert_eq!((f(5), f(6), f(7)), (4, 1, 0));
    assert_eq!(peers[0].fingers().last().map(|x| x.id.0), Some(56));
    assert!(!peers[0].fingers().iter().any(|x| x.id.0 == 40));
}

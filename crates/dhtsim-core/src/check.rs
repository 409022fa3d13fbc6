//! Ring health: the invariants of Pamela Zave's "Reasoning about identifier spaces: how to make
//! Chord correct" (IEEE TSE 2017), checked on a snapshot of every live member's state against
//! the oracle, plus the fractions of correct pointers and the keys lost.
//!
//! A checker lives beside the protocol and only reads it. Zave's properties are over each
//! member's *best successor* (the first live entry of its successor list):
//! - AtLeastOneRing: some cycle exists;
//! - AtMostOneRing: at most one cycle exists;
//! - OrderedRing: the cycle visits identifiers in ring order, going round exactly once;
//! - ConnectedAppendages: every member reaches the cycle;
//! - OrderedSuccessorLists: each successor list is in ring order from its owner;
//! - OneLiveSuccessor: each successor list holds at least one live member (half of the
//!   invariant of Zave's TSE 2017 paper, §IV, from which she proves the others; without it a
//!   member that believes it is linked into the ring has no live way on).

use crate::chord::Peer;
use crate::oracle::Oracle;
use crate::overlay_graph::OverlayGraph;
use crate::protocol::PeerIdx;
use crate::ring::{IdSpace, RingId, finger_indices_while};

/// What one check found.
#[derive(Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Health {
    /// Live ring members.
    pub members: u64,
    /// AtLeastOneRing.
    pub at_least_one_ring: bool,
    /// AtMostOneRing.
    pub at_most_one_ring: bool,
    /// OrderedRing.
    pub ordered_ring: bool,
    /// ConnectedAppendages.
    pub connected_appendages: bool,
    /// OrderedSuccessorLists.
    pub ordered_successor_lists: bool,
    /// OneLiveSuccessor.
    pub one_live_successor: bool,
    /// Fraction of members whose best successor is the true successor.
    pub succ_correct: f64,
    /// Fraction of members whose predecessor is the true predecessor.
    pub pred_correct: f64,
    /// Fraction of members whose finger table is exactly the true one (1 without fingers).
    pub fingers_correct: f64,
    /// Stored keys that no live peer holds any more.
    pub lost_keys: u64,
    /// Strongly connected components of the successor + finger graph over members.
    pub sccs: u64,
}

impl Health {
    /// The names of the properties that fail, empty when all hold.
    pub fn violations(&self) -> Vec<&'static str> {
        let props = [
            ("AtLeastOneRing", self.at_least_one_ring),
            ("AtMostOneRing", self.at_most_one_ring),
            ("OrderedRing", self.ordered_ring),
            ("ConnectedAppendages", self.connected_appendages),
            ("OrderedSuccessorLists", self.ordered_successor_lists),
            ("OneLiveSuccessor", self.one_live_successor),
        ];
        props.iter().filter(|(_, ok)| !ok).map(|(name, _)| *name).collect()
    }

    /// Whether every property holds and every pointer is right.
    pub fn is_perfect(&self) -> bool {
        self.violations().is_empty()
            && self.succ_correct == 1.0
            && self.pred_correct == 1.0
            && self.fingers_correct == 1.0
    }
}

/// Checks the members listed by `oracle`; `alive[i]` tells whether peer i is alive; `fingers`
/// whether finger tables are kept; `stored` are the keys ever stored.
pub fn check(
    space: IdSpace,
    peers: &[Peer],
    alive: &[bool],
    oracle: &Oracle,
    fingers: bool,
) -> Health {
    let (ids, members): (Vec<RingId>, Vec<PeerIdx>) = oracle.members().unzip();
    let ids = ids.as_slice();
    let n = ids.len();
    if n == 0 {
        return Health::default();
    }
    // Position of each member in the oracle's order, by address.
    let mut pos = vec![usize::MAX; peers.len()];
    for (i, m) in members.iter().enumerate() {
        pos[m.0 as usize] = i;
    }
    let is_member = |idx: PeerIdx| pos[idx.0 as usize] != usize::MAX;
    let best = |p: &Peer| {
        p.successors().iter().find(|s| alive[s.idx.0 as usize] && is_member(s.idx)).copied()
    };
    // Best-successor functional graph over member positions (usize::MAX = none).
    let next: Vec<usize> = members
        .iter()
        .map(|m| best(&peers[m.0 as usize]).map_or(usize::MAX, |s| pos[s.idx.0 as usize]))
        .collect();

    // Cycles of a functional graph: walk from each unvisited node, colouring the path.
    let mut state = vec![0u8; n]; // 0 new, 1 on the current path, 2 done
    let mut on_cycle = vec![false; n];
    let mut cycles: Vec<usize> = Vec::new(); // one node of each cycle
    for start in 0..n {
        let mut path = Vec::new();
        let mut v = start;
        while v != usize::MAX && state[v] == 0 {
            state[v] = 1;
            path.push(v);
            v = next[v];
        }
        if v != usize::MAX && state[v] == 1 {
            cycles.push(v);
            let mut u = v;
            loop {
                on_cycle[u] = true;
                u = next[u];
                if u == v {
                    break;
                }
            }
        }
        for p in path {
            state[p] = 2;
        }
    }
    let ordered_ring = cycles.len() == 1 && {
        let start = cycles[0];
        let (mut u, mut total) = (start, 0u128);
        loop {
            let v = next[u];
            let d = space.dist(ids[u], ids[v]) as u128;
            total += if d == 0 { space.size() } else { d };
            u = v;
            if u == start {
                break;
            }
        }
        total == space.size()
    };
    // Every member reaches a cycle unless its walk hits a dead end. Each member is walked
    // once: 0 not yet known, 1 on the current walk, 2 reaches a cycle, 3 does not.
    let mut reach: Vec<u8> = on_cycle.iter().map(|&c| if c { 2 } else { 0 }).collect();
    let mut connected = true;
    let mut path = Vec::new();
    for start in 0..n {
        let mut v = start;
        while v != usize::MAX && reach[v] == 0 {
            reach[v] = 1;
            path.push(v);
            v = next[v];
        }
        // Every cycle is marked, so a walk cannot close on itself.
        let ok = v != usize::MAX && reach[v] == 2;
        connected &= ok;
        for p in path.drain(..) {
            reach[p] = if ok { 2 } else { 3 };
        }
    }
    let ordered_lists = members.iter().all(|m| {
        let p = &peers[m.0 as usize];
        let d: Vec<u64> = p.successors().iter().map(|s| space.dist(p.me().id, s.id)).collect();
        d.windows(2).all(|w| w[0] < w[1]) && d.iter().all(|&x| x != 0 || n == 1)
    });

    let mut succ_ok = 0u64;
    let mut pred_ok = 0u64;
    let mut fingers_ok = 0u64;
    for (i, m) in members.iter().enumerate() {
        let p = &peers[m.0 as usize];
        if best(p).map(|s| s.idx) == Some(members[(i + 1) % n]) {
            succ_ok += 1;
        }
        if p.pred().map(|q| q.idx) == Some(members[(i + n - 1) % n]) {
            pred_ok += 1;
        }
        if !fingers || true_fingers_match(space, ids, &members, i, p) {
            fingers_ok += 1;
        }
    }

    // Keys some member still holds, sorted, against the (sorted) keys ever stored.
    let mut held: Vec<RingId> =
        members.iter().flat_map(|m| peers[m.0 as usize].entries().keys()).collect();
    held.sort_unstable();
    held.dedup();
    let lost = oracle.stored_keys().filter(|k| held.binary_search(k).is_err()).count() as u64;

    Health {
        members: n as u64,
        at_least_one_ring: !cycles.is_empty(),
        at_most_one_ring: cycles.len() <= 1,
        ordered_ring,
        connected_appendages: connected,
        ordered_successor_lists: ordered_lists,
        one_live_successor: next.iter().all(|&s| s != usize::MAX),
        succ_correct: succ_ok as f64 / n as f64,
        pred_correct: pred_ok as f64 / n as f64,
        fingers_correct: fingers_ok as f64 / n as f64,
        lost_keys: lost,
        sccs: scc_count(peers, &members, &pos, alive),
    }
}

/// Whether the (deduplicated) finger list of `p`, member number `i`, is exactly the true one.
/// The true fingers are found as bootstrap finds them (`finger_indices`: the near ones by
/// galloping from the previous one), since a sample checks every member: a binary search per
/// finger was most of a sample's time at 10^6 peers. They are compared as they are found, and
/// the search stops at the first difference: while a ring forms, most tables differ at once.
fn true_fingers_match(
    space: IdSpace,
    ids: &[crate::ring::RingId],
    members: &[PeerIdx],
    i: usize,
    p: &Peer,
) -> bool {
    let me = p.me();
    let mut have = p.fingers().iter().map(|f| f.idx);
    let (mut last, mut same) = (None, true);
    finger_indices_while(space, ids, i, |j| {
        let f = members[j];
        if f != me.idx && last != Some(f) {
            last = Some(f);
            same = have.next() == Some(f);
        }
        same
    });
    same && have.next().is_none()
}

/// Strongly connected components of the overlay (successor-list and finger edges between live
/// members).
fn scc_count(peers: &[Peer], members: &[PeerIdx], pos: &[usize], alive: &[bool]) -> u64 {
    OverlayGraph::build(members.len(), |i, push| {
        let p = &peers[members[i].0 as usize];
        for t in p.successors().iter().chain(p.fingers()) {
            let j = pos[t.idx.0 as usize];
            if alive[t.idx.0 as usize] && j != usize::MAX {
                push(j);
            }
        }
    })
    .scc_count()
}

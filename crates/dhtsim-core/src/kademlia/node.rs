//! A Kademlia peer: what it does with each message, timer and timeout (SPEC §2b), the state a
//! converged network gives it at bootstrap, and the checks measurement makes of all peers.
//!
//! Every message received makes its sender a contact (`Table::seen`). Lookups are iterative and
//! held at the querier (`lookup.rs`): it asks the closest fresh contacts on its shortlist,
//! `alpha` at a time, merges each answer, and ends when the k closest have answered or a value
//! arrives. A contact that does not answer within the RPC timeout leaves both the lookup's
//! shortlist and the querier's table.

use super::lookup::{Goal, Lookup};
use super::table::{Seen, Table};
use super::{Message, Params, Timer};
use crate::check::Health;
use crate::oracle::Oracle;
use crate::protocol::{Answered, OpId, PeerIdx, PeerRef, Report, Request, Start, Traffic};
use crate::ring::RingId;
use crate::storage::Store;
use crate::xor::{self, SplitMix, bucket_range, distance};
use std::collections::BTreeSet;

/// The commands of a Kademlia peer.
pub type Command = crate::protocol::Command<Message, Timer>;

/// One Kademlia peer.
#[derive(Clone, Debug, Hash)]
pub struct Node {
    me: PeerRef,
    joined: bool,
    table: Table,
    store: Store,
    /// Lookups this peer runs, in the order started.
    lookups: Vec<Lookup>,
    /// The number of the next lookup it starts.
    next_lookup: u64,
    /// Keys another peer republished here since this peer's last republish: it skips them (the
    /// paper's optimisation, so that one republish per key and period suffices).
    fresh: BTreeSet<RingId>,
    /// For the IDs bucket refreshes look up.
    rng: SplitMix,
}

impl Node {
    fn new(me: PeerRef, joined: bool, table: Table) -> Self {
        Node {
            me,
            joined,
            table,
            store: Store::default(),
            lookups: Vec::new(),
            next_lookup: 0,
            fresh: BTreeSet::new(),
            rng: SplitMix::new(me.id.0 ^ 0x6B61_6465_6D6C_6961),
        }
    }

    /// A peer about to join: it knows nobody yet.
    pub fn joining(me: PeerRef) -> Self {
        Node::new(me, false, Table::new(me.id))
    }

    /// This peer.
    pub fn me(&self) -> PeerRef {
        self.me
    }

    /// Whether it has joined (its own lookup is done).
    pub fn is_joined(&self) -> bool {
        self.joined
    }

    /// Its routing table.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// The entries stored here.
    pub fn entries(&self) -> &Store {
        &self.store
    }

    /// The entries stored here, to place files at bootstrap.
    pub fn entries_mut(&mut self) -> &mut Store {
        &mut self.store
    }

    // ----- operations -----

    /// Starts measured operation `op` on `key`.
    pub fn start(
        &mut self,
        params: &Params,
        op: OpId,
        key: RingId,
        request: Request,
        out: &mut Vec<Command>,
    ) {
        match request {
            Request::Lookup => {
                let values = self.store.values(key);
                if !values.is_empty() {
                    // The querier holds the entry: found at once, 0 hops.
                    let answered = Answered::Value { values: values.to_vec() };
                    out.push(resolved(op, self.me.id, 0, answered));
                    out.push(Command::Report(Report::Ended(op)));
                    return;
                }
                self.begin(params, op, key, Goal::Value, out);
            }
            Request::Store { holder } => self.begin(params, op, key, Goal::Store { holder }, out),
            Request::Gather => {
                let found = self.store.values(key).to_vec();
                self.begin(params, op, key, Goal::Gather { found }, out);
            }
        }
    }

    /// Joins through `via`: looks up its own ID, starting from `via` alone.
    pub fn join(&mut self, params: &Params, via: PeerRef, op: OpId, out: &mut Vec<Command>) {
        self.table.seen(via, params.k);
        self.begin(params, op, self.me.id, Goal::Join, out);
    }

    /// Starts a lookup of `target` from the closest contacts of the table.
    fn begin(
        &mut self,
        params: &Params,
        op: OpId,
        target: RingId,
        goal: Goal,
        out: &mut Vec<Command>,
    ) {
        // A refresh does not count as use: the bucket's next period starts now.
        if goal != Goal::Refresh {
            self.table.mark_used(target);
        }
        let mut from = Vec::with_capacity(params.k);
        self.table.closest(target, params.k, &mut from);
        let id = self.next_lookup;
        self.next_lookup += 1;
        self.lookups.push(Lookup::new(id, op, target, goal, &from));
        self.drive(params, self.lookups.len() - 1, out);
    }

    /// Keeps up to alpha requests of lookup `i` in flight; ends it when it is done.
    fn drive(&mut self, params: &Params, i: usize, out: &mut Vec<Command>) {
        let l = &mut self.lookups[i];
        let me = self.me.idx;
        let round_trip = params.round_trips.as_deref().map(|r| move |p: PeerIdx| r.get(me, p));
        while l.in_flight < params.alpha {
            let nearest = round_trip.as_ref().map(|f| f as &dyn Fn(PeerIdx) -> u64);
            let Some(to) = l.next_to_ask(params.k, nearest) else { break };
            let msg = match l.goal {
                Goal::Value | Goal::Gather { .. } => {
                    Message::FindValue { lookup: l.id, key: l.target }
                }
                ref goal => {
                    let traffic = match goal {
                        Goal::Join => Traffic::Join,
                        Goal::Refresh => Traffic::Maintenance,
                        _ => Traffic::Store,
                    };
                    Message::FindNode { lookup: l.id, target: l.target, traffic }
                }
            };
            out.push(Command::Send { to, msg });
        }
        if l.is_done(params.k) {
            let l = self.take_lookup(i);
            self.finish(params, l, out);
        }
    }

    /// Lookup `l` is over without a value: it ends at the closest peer that answered (or at the
    /// querier, when it is closer, or knew nobody).
    fn finish(&mut self, params: &Params, l: Lookup, out: &mut Vec<Command>) {
        let me = self.me;
        let closest = l.answered_peers().next().copied();
        let (by, hops) = match closest {
            // A client owns nothing: it ends at the closest server that answered.
            Some(c) if me.client || distance(c.peer.id, l.target) < distance(me.id, l.target) => {
                (c.peer, c.hop)
            }
            Some(_) => (me, 0),
            // A client owns nothing, even knowing nobody.
            None if l.timeouts == 0 && !me.client => (me, 0),
            None => {
                // Every contact it tried was gone.
                self.fail(&l, out);
                return;
            }
        };
        let report = |answered| resolved(l.op, by.id, hops, answered);
        match l.goal {
            Goal::Value => {
                let values =
                    if by == me { self.store.values(l.target).to_vec() } else { Vec::new() };
                out.push(report(Answered::Owner { values: Some(values) }));
            }
            Goal::Gather { ref found } => {
                // The querier's own values came first, unsorted.
                let mut values = found.clone();
                values.sort_unstable();
                values.dedup();
                out.push(report(Answered::Owner { values: Some(values) }));
            }
            Goal::Store { holder } => {
                self.store_at_closest(params, &l, vec![holder], out);
                out.push(report(Answered::Stored));
            }
            Goal::Republish { ref holders } => {
                self.store_at_closest(params, &l, holders.clone(), out);
            }
            Goal::Join => {
                self.joined = true;
                out.push(Command::Joined);
                out.push(report(Answered::Owner { values: None }));
                for (timer, after) in <Node as crate::protocol::Protocol>::timers(params) {
                    out.push(Command::SetTimer { after, timer });
                }
                // The paper's join: refresh every bucket farther than the closest neighbour's.
                if let Some(low) = self.table.lowest_bucket() {
                    for b in low + 1..params.space.bits() {
                        self.refresh_bucket(params, b, out);
                    }
                }
            }
            Goal::Refresh => {}
        }
        if l.op.is_measured() {
            out.push(Command::Report(Report::Ended(l.op)));
        }
    }

    /// Stores `holders` under the lookup's target at the `replication` closest among the peers
    /// that answered and this one.
    fn store_at_closest(
        &mut self,
        params: &Params,
        l: &Lookup,
        holders: Vec<RingId>,
        out: &mut Vec<Command>,
    ) {
        let key = l.target;
        let mut at: Vec<PeerRef> = l.answered_peers().map(|c| c.peer).collect();
        if !self.me.client {
            let mine = at.partition_point(|p| distance(p.id, key) < distance(self.me.id, key));
            at.insert(mine, self.me);
        }
        at.truncate(params.replication);
        for p in at {
            if p == self.me {
                for &h in &holders {
                    self.store.insert(key, h);
                }
            } else {
                out.push(Command::Send {
                    to: p,
                    msg: Message::Store { key, holders: holders.clone() },
                });
            }
        }
    }

    /// Ends lookup `l` as failed (measured ones are reported).
    fn fail(&mut self, l: &Lookup, out: &mut Vec<Command>) {
        if l.op.is_measured() {
            out.push(Command::Report(Report::Answered(l.op, Answered::Failed)));
            out.push(Command::Report(Report::Ended(l.op)));
        }
    }

    /// Looks up a random ID in bucket `b`'s range, for the contacts the lookup meets.
    fn refresh_bucket(&mut self, params: &Params, b: u32, out: &mut Vec<Command>) {
        let (lo, hi) = bucket_range(self.me.id, b);
        let target = RingId(lo.0 | (self.rng.next_u64() & (hi.0 - lo.0)));
        self.begin(params, OpId::MAINTENANCE, target, Goal::Refresh, out);
    }

    /// The lookup with number `id`, if it is still under way.
    fn find(&self, id: u64) -> Option<usize> {
        self.lookups.iter().position(|l| l.id == id)
    }

    // ----- inputs -----

    /// Handles a message from `from`, which becomes a contact.
    pub fn handle_message(
        &mut self,
        params: &Params,
        from: PeerRef,
        msg: Message,
        out: &mut Vec<Command>,
    ) {
        if from.client {
            // A client serves nobody: it is never a contact (its answers, Pong included, are
            // for its own requests).
        } else if matches!(msg, Message::Ping | Message::Pong) {
            if msg == Message::Pong {
                self.table.ping_answered(from.id);
            }
            self.table.pinged_by(from, params.k);
        } else if let Seen::Ping(oldest) = self.table.seen(from, params.k) {
            out.push(Command::Send { to: oldest, msg: Message::Ping });
        }
        match msg {
            Message::FindNode { lookup, target, traffic } => {
                let mut contacts = Vec::with_capacity(params.k);
                self.table.closest(target, params.k, &mut contacts);
                let msg = Message::Nodes { lookup, contacts, traffic };
                out.push(Command::Send { to: from, msg });
            }
            Message::FindValue { lookup, key } => {
                let values = self.store.values(key);
                let msg = if values.is_empty() {
                    let mut contacts = Vec::with_capacity(params.k);
                    self.table.closest(key, params.k, &mut contacts);
                    Message::Nodes { lookup, contacts, traffic: Traffic::Lookup }
                } else {
                    Message::Value { lookup, values: values.to_vec() }
                };
                out.push(Command::Send { to: from, msg });
            }
            Message::Nodes { lookup, contacts, .. } => {
                if let Some(i) = self.find(lookup) {
                    self.lookups[i].answered(self.me.id, from.id, &contacts);
                    self.drive(params, i, out);
                }
            }
            Message::Value { lookup, values } => {
                if let Some(i) = self.find(lookup)
                    && let Goal::Gather { found } = &mut self.lookups[i].goal
                {
                    // Kept distinct as answers come: each of the k closest may name every
                    // holder, and a flash crowd's thousands of lookups in flight at once held
                    // k copies of the swarm each (210 MB of 263 MB with 1,000 leechers).
                    found.extend(values);
                    found.sort_unstable();
                    found.dedup();
                    self.lookups[i].answered(self.me.id, from.id, &[]);
                    self.drive(params, i, out);
                } else if let Some(i) = self.find(lookup) {
                    let mut l = self.take_lookup(i);
                    let hops = l.answered(self.me.id, from.id, &[]);
                    out.push(resolved(l.op, from.id, hops, Answered::Value { values }));
                    out.push(Command::Report(Report::Ended(l.op)));
                }
            }
            Message::Store { key, holders } => {
                for h in holders {
                    self.store.insert(key, h);
                }
                self.fresh.insert(key);
            }
            Message::Ping => out.push(Command::Send { to: from, msg: Message::Pong }),
            Message::Pong => {}
        }
    }

    /// A message to `to` was not acknowledged: `to` is gone. It leaves the table; a request of a
    /// lookup is a timeout, and the lookup goes on without it.
    pub fn handle_undeliverable(
        &mut self,
        params: &Params,
        to: PeerRef,
        msg: Message,
        out: &mut Vec<Command>,
    ) {
        let lookup = match msg {
            Message::FindNode { lookup, .. } | Message::FindValue { lookup, .. } => Some(lookup),
            _ => None,
        };
        self.timed_out(params, to, lookup, out)
    }

    /// The network dropped a reply from `replier`: the request it answered (of `lookup`, for
    /// `Nodes` and `Value`) times out as if `replier` had not answered. A lost `Pong` is a ping
    /// that failed.
    pub fn handle_reply_lost(
        &mut self,
        params: &Params,
        replier: PeerRef,
        reply: Message,
        out: &mut Vec<Command>,
    ) {
        let lookup = match reply {
            Message::Nodes { lookup, .. } | Message::Value { lookup, .. } => Some(lookup),
            _ => None,
        };
        self.timed_out(params, replier, lookup, out)
    }

    /// A request to `to` (of `lookup`, if any) went unanswered: `to` leaves the table, and the
    /// lookup goes on without it, or fails when out of retries.
    fn timed_out(
        &mut self,
        params: &Params,
        to: PeerRef,
        lookup: Option<u64>,
        out: &mut Vec<Command>,
    ) {
        self.table.remove(to.id);
        let Some(lookup) = lookup else { return };
        let Some(i) = self.find(lookup) else { return };
        let l = &mut self.lookups[i];
        l.timed_out(to.id);
        if l.op.is_measured() {
            out.push(Command::Report(Report::TimedOut(l.op)));
            if l.timeouts > params.retries {
                let l = self.take_lookup(i);
                self.fail(&l, out);
                return;
            }
        }
        self.drive(params, i, out);
    }

    /// A periodic timer: refresh the buckets no lookup used, or republish the entries no other
    /// peer republished here; then re-arm.
    pub fn handle_timer(&mut self, params: &Params, timer: Timer, out: &mut Vec<Command>) {
        match timer {
            Timer::Refresh => {
                for b in self.table.take_unused(params.space.bits()) {
                    self.refresh_bucket(params, b, out);
                }
                // A contact not heard from for a whole period is pinged; if it is gone, the
                // timeout removes it (BEP 5's "questionable" nodes). Without this a departed
                // contact would stay until a lookup happened to ask it.
                for to in self.table.take_unheard() {
                    out.push(Command::Send { to, msg: Message::Ping });
                }
                if let Some(after) = params.refresh {
                    out.push(Command::SetTimer { after, timer });
                }
            }
            Timer::Republish => {
                let due: Vec<RingId> =
                    self.store.keys().filter(|k| !self.fresh.contains(k)).collect();
                self.fresh.clear();
                for key in due {
                    let holders = self.store.values(key).to_vec();
                    self.begin(params, OpId::MAINTENANCE, key, Goal::Republish { holders }, out);
                }
                if let Some(after) = params.republish {
                    out.push(Command::SetTimer { after, timer });
                }
            }
        }
    }

    /// The peer is gone: its measured lookups end, failed, and its table is freed (nothing
    /// reads a departed peer's contacts; its entries stay, as Chord's do).
    pub fn departed(&mut self, out: &mut Vec<Command>) {
        for l in std::mem::take(&mut self.lookups) {
            self.fail(&l, out);
        }
        self.table = Table::new(self.me.id);
        self.fresh = BTreeSet::new();
    }

    /// Removes lookup `i`, which has ended. The list is freed when it empties: a joiner's
    /// refreshes run a lookup per bucket at once, and the room they took would otherwise stay
    /// with the peer for good.
    fn take_lookup(&mut self, i: usize) -> Lookup {
        let l = self.lookups.swap_remove(i);
        if self.lookups.is_empty() {
            self.lookups = Vec::new();
        }
        l
    }
}

/// The querier's report that `op` ended at `by`, `hops` hops away, with `answered`.
fn resolved(op: OpId, by: RingId, hops: u32, answered: Answered) -> Command {
    Command::Report(Report::Resolved { op, by, hops, answered })
}

/// The peers of a network at time zero. Converged (not `start.forming`): each peer's bucket i
/// holds every peer in its range when there are at most k, and otherwise k of them chosen
/// uniformly at random by a generator seeded with the peer's ID and i (deterministic, and
/// independent of every other choice of the run), as a network whose buckets had filled long
/// ago from random traffic would; with proximity selection, the k nearest of `proximity` chosen
/// so. Peers in client mode (`start.clients`) are in no table; each has a table of the others
/// filled the same way. Forming: peer 0 alone is a member; the others are about to join.
pub fn bootstrap(params: &Params, ids: &[RingId], start: Start<'_>) -> Vec<Node> {
    let at = |i: usize| PeerRef::new(PeerIdx(i as u32), ids[i]);
    if start.forming {
        return (0..ids.len()).map(|i| Node::new(at(i), i == 0, Table::new(ids[i]))).collect();
    }
    // Reused from peer to peer: a million tables are built.
    let mut buf = (Vec::with_capacity(params.k), Vec::new());
    let Start { clients, mut round_trip, .. } = start;
    if clients.iter().any(|&c| c) || round_trip.is_some() {
        let is_client = |i: usize| clients.get(i).copied().unwrap_or(false);
        let servers: Vec<usize> = (0..ids.len()).filter(|&i| !is_client(i)).collect();
        let server_ids: Vec<RingId> = servers.iter().map(|&i| ids[i]).collect();
        let servers = &servers[..];
        let server = |j: usize| at(servers[j]);
        let mut nodes = Vec::with_capacity(ids.len());
        for (i, &id) in ids.iter().enumerate() {
            let j = server_ids.partition_point(|&x| x < id);
            let me = PeerRef { client: is_client(i), ..at(i) };
            // A server is at j; a client's ID falls between j - 1 and j.
            let right = if me.client { j } else { j + 1 };
            let mut near = round_trip.as_mut().map(|rtt| move |s: usize| rtt(i, servers[s]));
            let near = near.as_mut().map(|f| f as &mut dyn FnMut(usize) -> u64);
            let bounds = (j, right);
            let table = converged_table(params, &server_ids, server, id, bounds, near, &mut buf);
            nodes.push(Node::new(me, true, table));
        }
        return nodes;
    }
    (0..ids.len())
        .map(|i| {
            let table = converged_table(params, ids, at, ids[i], (i, i + 1), None, &mut buf);
            Node::new(at(i), true, table)
        })
        .collect()
}

/// The table a converged network gives the peer with ID `me` among the peers of the ascending
/// `ids` (addressed by `at`), where `ids[..left]` are below `me` and `ids[right..]` above it;
/// `near` is its round trip to `ids[j]`, for proximity selection; `(chosen, contacts)` are
/// scratch space.
fn converged_table(
    params: &Params,
    ids: &[RingId],
    at: impl Fn(usize) -> PeerRef,
    me: RingId,
    (mut left, mut right): (usize, usize),
    mut near: Option<&mut dyn FnMut(usize) -> u64>,
    (chosen, contacts): &mut (Vec<usize>, Vec<PeerRef>),
) -> Table {
    let k = params.k;
    // Candidates per bucket: k, or more to pick the nearest k from.
    let drawn = if near.is_some() { params.proximity.max(k) } else { k };
    contacts.clear();
    // Bucket b's IDs are the aligned block of 2^(b+1) IDs around `me` less the block of 2^b:
    // one side of it. Both block edges move outward as b grows, so each is found by galloping
    // from the last (a few probes near `me`, not a search of every ID).
    for b in 0..params.space.bits() {
        let (lo, hi) = bucket_range(me, b);
        let (a, z) = if lo > me {
            let z = gallop_up(ids, right, |x| x <= hi);
            (std::mem::replace(&mut right, z), z)
        } else {
            let a = gallop_down(ids, left, |x| x >= lo);
            (a, std::mem::replace(&mut left, a))
        };
        let count = z - a;
        if count <= k {
            contacts.extend((a..z).map(&at));
            continue;
        }
        chosen.clear();
        if count <= drawn {
            chosen.extend(0..count);
        } else {
            // Floyd's sampling of `drawn` distinct positions out of `count`; beyond k (proximity,
            // up to 1,024) a set answers which are taken, where a scan would be quadratic.
            let mut rng = SplitMix::new(me.0.rotate_left(7) ^ u64::from(b) ^ 0x7461_626C_6573);
            let mut taken = BTreeSet::new();
            for j in count - drawn..count {
                let t = rng.below(j as u64 + 1) as usize;
                let seen = if drawn > k { taken.contains(&t) } else { chosen.contains(&t) };
                let pick = if seen { j } else { t };
                if drawn > k {
                    taken.insert(pick);
                }
                chosen.push(pick);
            }
        }
        if let Some(rtt) = near.as_mut() {
            // The k nearest, the earlier drawn first among equals; then in ID order.
            chosen.sort_by_cached_key(|&j| rtt(a + j));
            chosen.truncate(k);
        }
        chosen.sort_unstable();
        contacts.extend(chosen.iter().map(|&j| at(a + j)));
    }
    Table::with(me, contacts)
}

/// The end of the run of `ids[from..]` (sorted) that satisfies `below` (true up to some point,
/// then false), found by doubling steps from `from`, then a binary search.
fn gallop_up(ids: &[RingId], from: usize, below: impl Fn(RingId) -> bool) -> usize {
    let (mut lo, mut step) = (from, 1);
    while lo + step <= ids.len() && below(ids[lo + step - 1]) {
        lo += step;
        step *= 2;
    }
    let hi = (lo + step).min(ids.len());
    lo + ids[lo..hi].partition_point(|&x| below(x))
}

/// The start of the run of `ids[..from]` (sorted) that satisfies `above` (false up to some
/// point, then true), found by doubling steps down from `from`, then a binary search.
fn gallop_down(ids: &[RingId], from: usize, above: impl Fn(RingId) -> bool) -> usize {
    let (mut hi, mut step) = (from, 1);
    while step <= hi && above(ids[hi - step]) {
        hi -= step;
        step *= 2;
    }
    let lo = hi.saturating_sub(step);
    lo + ids[lo..hi].partition_point(|&x| !above(x))
}

/// What the checker can say of a Kademlia network. Chord's ring properties do not apply and are
/// reported as holding; `succ_correct` is the share of members whose table holds their closest
/// live member by XOR (Kademlia's counterpart of a correct successor), `fingers_correct` the share
/// whose tables hold no departed peer, `pred_correct` is 1; lost keys and the strongly connected
/// components of the contact graph are as for Chord.
pub fn health(params: &Params, peers: &[Node], alive: &[bool], oracle: &Oracle) -> Health {
    let members: Vec<(RingId, PeerIdx)> = oracle.members().collect();
    let n = members.len();
    if n == 0 {
        return Health { at_least_one_ring: true, ..vacuous() };
    }
    let ids: Vec<RingId> = members.iter().map(|m| m.0).collect();
    let (mut closest_ok, mut live_ok) = (0u64, 0u64);
    let mut near = Vec::with_capacity(2);
    for &(id, idx) in &members {
        let p = &peers[idx.0 as usize];
        near.clear();
        xor::closest(ids.as_slice(), params.space.bits(), id, 2, &mut near);
        if near.get(1).is_none_or(|c| p.table.contains(*c)) {
            closest_ok += 1;
        }
        if p.table.contacts().all(|c| alive[c.idx.0 as usize]) {
            live_ok += 1;
        }
    }
    let mut held: Vec<RingId> =
        members.iter().flat_map(|m| peers[m.1.0 as usize].store.keys()).collect();
    held.sort_unstable();
    held.dedup();
    let lost = oracle.stored_keys().filter(|k| held.binary_search(k).is_err()).count() as u64;
    Health {
        members: n as u64,
        succ_correct: closest_ok as f64 / n as f64,
        fingers_correct: live_ok as f64 / n as f64,
        lost_keys: lost,
        sccs: scc_count(peers, &members, alive),
        ..vacuous()
    }
}

/// Chord's ring properties, held vacuously, and every pointer right.
fn vacuous() -> Health {
    Health {
        members: 0,
        at_least_one_ring: true,
        at_most_one_ring: true,
        ordered_ring: true,
        connected_appendages: true,
        ordered_successor_lists: true,
        one_live_successor: true,
        succ_correct: 1.0,
        pred_correct: 1.0,
        fingers_correct: 1.0,
        lost_keys: 0,
        sccs: 1,
    }
}

/// Strongly connected components of the contact graph over live members.
fn scc_count(peers: &[Node], members: &[(RingId, PeerIdx)], alive: &[bool]) -> u64 {
    let mut pos = vec![usize::MAX; peers.len()];
    for (i, m) in members.iter().enumerate() {
        pos[m.1.0 as usize] = i;
    }
    crate::overlay_graph::OverlayGraph::build(members.len(), |i, push| {
        for c in peers[members[i].1.0 as usize].table.contacts() {
            let j = pos[c.idx.0 as usize];
            if alive[c.idx.0 as usize] && j != usize::MAX {
                push(j);
            }
        }
    })
    .scc_count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ring::IdSpace;

    fn params() -> Params {
        let space = IdSpace::new(6).unwrap();
        let (refresh, republish) = (None, None);
        Params {
            space,
            k: 2,
            alpha: 1,
            replication: 1,
            retries: 0,
            refresh,
            republish,
            proximity: 0,
            round_trips: None,
        }
    }

    fn p(idx: u32, id: u64) -> PeerRef {
        PeerRef::new(PeerIdx(idx), RingId(id))
    }

    /// A request makes its sender a contact, unless it is a client (`overlay.client_mode`);
    /// either way it is answered.
    #[test]
    fn a_client_is_answered_but_never_becomes_a_contact() {
        for client in [true, false] {
            let mut node = Node::new(p(0, 0), true, Table::new(RingId(0)));
            let from = PeerRef { client, ..p(1, 9) };
            let mut out = Vec::new();
            let find = Message::FindNode { lookup: 0, target: RingId(9), traffic: Traffic::Lookup };
            node.handle_message(&params(), from, find, &mut out);
            node.handle_message(&params(), from, Message::Ping, &mut out);
            assert_eq!(node.table().len(), usize::from(!client), "client: {client}");
            assert_eq!(out.len(), 2, "a Nodes answer and a Pong");
        }
    }

    /// A converged network with clients: no table holds a client; a client's table holds the
    /// servers a server at its place would hold.
    #[test]
    fn a_converged_network_with_clients_is_the_servers_network() {
        let ids: Vec<RingId> = [1, 8, 13, 25, 32, 40, 52].into_iter().map(RingId).collect();
        let clients = [false, false, true, false, false, true, false];
        let nodes = bootstrap(&params(), &ids, Start { clients: &clients, ..Start::converged() });
        let servers: Vec<RingId> = [1, 8, 25, 32, 52].into_iter().map(RingId).collect();
        let alone = bootstrap(&params(), &servers, Start::converged());
        for (i, node) in nodes.iter().enumerate() {
            assert_eq!(node.me().client, clients[i]);
            let mut known = Vec::new();
            node.table().closest(RingId(0), 64, &mut known);
            assert!(known.iter().all(|c| !c.client && c.id != RingId(13) && c.id != RingId(40)));
            if let Ok(j) = servers.binary_search(&ids[i]) {
                let mut want = Vec::new();
                alone[j].table().closest(RingId(0), 64, &mut want);
                let of = |v: &[PeerRef]| v.iter().map(|c| c.id).collect::<Vec<_>>();
                assert_eq!(of(&known), of(&want), "server {}", ids[i].0);
            }
        }
    }
}

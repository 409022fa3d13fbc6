//! Chord (SPEC §2), the first protocol: a ring of peers that each know their predecessor, a
//! successor list, optionally a finger table, and a cache of learned shortcuts. Routing and
//! maintenance are in `peer`; this module holds the messages, timers and settings, and
//! implements [`Protocol`] for [`Peer`].
//!
//! A peer reports to the recorder through [`Report`] commands: a measured query that reaches it
//! (`Reached`), an answer it sends (`Answered`), a forward that timed out (`TimedOut`), an
//! answer that reached its querier (`Ended`). Its messages keep their own hop count as a TTL
//! (`Query::hops`, checked against the hop limit); what is measured is what is reported.

mod cache;
mod fingers;
mod peer;

pub use fingers::StaticRing;
pub use peer::Peer;

use crate::check::{self, Health};
use crate::config::{ChordVariant, Config, LookupStyle};
use crate::oracle::Oracle;
pub use crate::protocol::Maintenance;
use crate::protocol::{
    Answered, OpId, PeerIdx, PeerRef, Protocol, Report, Request, Start, Traffic, Wire,
};
use crate::ring::{IdSpace, RingId};
pub use crate::storage::Entries;
use crate::storage::Store;
use crate::time::SimDuration;

/// What a query asks of the key's owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// Return the values stored under the key.
    Lookup,
    /// Store the entry (key, holder).
    Store {
        /// The peer that holds the file.
        holder: RingId,
    },
    /// A joining peer looks for its successor (the owner of its own ID).
    Join,
    /// A peer repairs finger `index` (the owner of me + 2^index).
    FindFinger {
        /// Which finger.
        index: u8,
    },
}

/// A query travelling towards the owner of `key`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Query {
    /// The operation it belongs to.
    pub op: OpId,
    /// What to do at the owner.
    pub kind: Op,
    /// The key sought.
    pub key: RingId,
    /// Who asked, and gets the answer.
    pub querier: PeerRef,
    /// Forwards so far: the protocol's own TTL against the hop limit (measurement counts hops
    /// from `Report::Reached`, not from this).
    pub hops: u32,
    /// Forwards that timed out so far.
    pub timeouts: u32,
    /// The sender expected the receiver to own the key (routing steps 2 and 3 of SPEC §2).
    pub expect_owner: bool,
    /// An earlier step of this query jumped to a cached peer (SPEC §2 step 3).
    pub jumped: bool,
    /// When `expect_owner` is set: a point the key is known to lie after, i.e. the key is in
    /// (lower, receiver]. A forward sender sets it to itself (or to a cached range's start); a
    /// step back to a predecessor keeps it. It lets a peer that does not know its predecessor
    /// accept only keys it can be sure are its own.
    pub lower: RingId,
}

/// The owner's (or a failing peer's) answer, sent straight to the querier.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Answer {
    /// The operation answered.
    pub op: OpId,
    /// Forwards of the query that timed out before it was answered: a querier that lost this
    /// answer and asks again goes on counting from here against its retries.
    pub timeouts: u32,
    /// What the query asked.
    pub kind: Op,
    /// Who answers.
    pub from: PeerRef,
    /// What happened.
    pub reply: Reply,
}

/// The successor list a stabilization answer carries (one per peer per round): up to three
/// peers inline, so that with r <= 3 it allocates nothing (a copy of the list on the heap was
/// 8.5 % of SimGrid's benchmark at 10^6 peers in `malloc` alone); a longer list spills to the
/// heap. Inline, it keeps `Message` at its size (88 bytes) and an event at one 128-byte slot;
/// answers and leave notices, which carry entries too, would grow it, and are rarer.
pub type SuccList = smallvec::SmallVec<[PeerRef; 3]>;

/// The content of an answer.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Reply {
    /// `from` owns the key range (range_start, from]; these are the holders stored under the key
    /// (possibly none).
    Owner {
        /// The key looked up.
        key: RingId,
        /// Holders of the file with this key, in the order they were stored.
        values: Vec<RingId>,
        /// The owner's predecessor: where the range it owns starts (exclusive).
        range_start: RingId,
    },
    /// `from` owns the key and stored the entry.
    Stored {
        /// The key stored under.
        key: RingId,
    },
    /// `from` owns the key (a joiner's ID, or a finger target); here is its successor list,
    /// `from` first.
    Successor {
        /// `from` followed by its successors.
        succs: Vec<PeerRef>,
        /// For a join, what the joiner takes over (boxed: every event would grow with it).
        welcome: Option<Box<Welcome>>,
    },
    /// The query could not be routed further (hop limit, or no live peer left to try).
    Failed,
}

/// What the owner of a joiner's ID hands the joiner with its answer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Welcome {
    /// The entries the owner holds in the joiner's new range, so the joiner can answer for its
    /// keys the moment it joins.
    pub entries: Entries,
    /// With `finger_hints`: the owner's finger table without the joiner, nearest first (empty
    /// otherwise); the owner itself is `succs[0]`.
    pub hints: Vec<PeerRef>,
}

/// One step of an iterative lookup: the query as the peer named next must receive it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Hop {
    /// The query, updated for `next` (hops, expectation, bounds).
    pub q: Query,
    /// Peers the querier found dead during this lookup: left out of every answer.
    pub avoid: Vec<PeerRef>,
    /// The peer that named `next` (the querier, for its own steps): asked again, leaving
    /// `next` out, if `next` proves dead.
    pub named_by: PeerRef,
    /// The peer to ask next.
    pub next: PeerRef,
    /// `next` is `named_by`'s predecessor and the query was sent back to it (SPEC §2).
    pub back: bool,
}

/// A message on the wire. The sender's identity travels with it (see `Peer::handle_message`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Message {
    /// A query being routed.
    Query(Query),
    /// An iterative querier asks a peer for its next step towards the key (`hop.next`, or
    /// `hop.named_by` when `again`: asked a second time after the peer it named proved dead).
    Ask {
        /// The step (boxed: it would make every event larger).
        hop: Box<Hop>,
        /// A repeated request, not a hop.
        again: bool,
    },
    /// The asked peer's reply to the querier: ask `hop.next`.
    Next(Box<Hop>),
    /// An answer to a querier.
    Answer(Answer),
    /// Stabilization: "who is your predecessor, and what is your successor list?"
    StabilizeReq,
    /// The answer to `StabilizeReq`.
    StabilizeResp {
        /// The sender's predecessor.
        pred: Option<PeerRef>,
        /// The sender's successor list.
        succs: SuccList,
    },
    /// "I believe I am your predecessor."
    Notify,
    /// Liveness check of a predecessor.
    Ping,
    /// Answer to `Ping`.
    Pong,
    /// A graceful leave, sent to the predecessor and the successor.
    Leaving {
        /// The leaver's predecessor (for its successor).
        pred: Option<PeerRef>,
        /// The leaver's successor list (for its predecessor).
        succs: Vec<PeerRef>,
        /// The entries the leaver owned (for its successor).
        entries: Entries,
    },
    /// Entries to store: a handoff to a new owner, or replicas.
    Entries(Entries),
    /// "Send me the entries you hold in (start, me]": a peer that has just learned its
    /// predecessor asks its successor, whose own view of that range may have been stale.
    FetchRange {
        /// Start of the range (exclusive): the asker's predecessor.
        start: RingId,
    },
}

impl Message {
    /// The query a routing message carries: a recursive forward, or an iterative request.
    pub fn query(&self) -> Option<&Query> {
        match self {
            Message::Query(q) => Some(q),
            Message::Ask { hop, .. } => Some(&hop.q),
            _ => None,
        }
    }
}

/// The periodic timers of a peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Timer {
    /// Ask the successor for its predecessor and list; notify it.
    Stabilize,
    /// Repair the next finger.
    FixFinger,
    /// Ping the predecessor.
    CheckPredecessor,
}

/// IDs as `[a, b, c]`.
fn ids(ids: &[RingId]) -> String {
    let shown: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
    format!("[{}]", shown.join(", "))
}

/// Chord's commands.
pub type Command = crate::protocol::Command<Message, Timer>;

/// Settings every peer shares.
#[derive(Clone, Debug)]
pub struct Params {
    /// The identifier space.
    pub space: IdSpace,
    /// Most forwards plus timeouts a query may take.
    pub hop_limit: u32,
    /// Timeouts a lookup or store may meet and go on (`u32::MAX`: no limit).
    pub retries: u32,
    /// Learned shortcuts a peer keeps (0 = no cache).
    pub cache_size: usize,
    /// Length r of the successor list.
    pub successors: usize,
    /// Whether the whole successor list (not only the first successor) is used for routing.
    pub route_via_successors: bool,
    /// Answer a rejected notify with the predecessor, and tell a replaced predecessor about its
    /// replacement (see `OverlayConfig::reactive_stabilization`).
    pub reactive_stabilization: bool,
    /// Look up the whole finger table on joining (see `OverlayConfig::fingers_at_join`).
    pub fingers_at_join: bool,
    /// A joiner starts from its successor's finger table (see `OverlayConfig::finger_hints`).
    pub finger_hints: bool,
    /// Finger repairs are iterative (see `OverlayConfig::iterative_repairs`).
    pub iterative_repairs: bool,
    /// Timeouts a finger repair may meet and go on (`u32::MAX`: no limit).
    pub repair_retries: u32,
    /// How many times a joiner sends its join to its well-known peer before it gives up: once
    /// on a lossless network, where a timeout proves the peer dead; 4 (`JOIN_ATTEMPTS`)
    /// when the network drops messages (`network.loss`).
    pub join_attempts: u32,
    /// Each finger-repair timer repairs every finger (see `OverlayConfig::fix_all_fingers`).
    pub fix_all_fingers: bool,
    /// Whether finger tables are kept.
    pub fingers: bool,
    /// Lookups and stores are iterative (the querier contacts each peer itself).
    pub iterative: bool,
    /// The published maintenance (SIGCOMM 2001), without Zave's corrections.
    pub original: bool,
    /// An iterative querier drops a peer it found dead from its own tables.
    pub learn_from_timeouts: bool,
    /// Copies of each entry: the owner and its next `replication - 1` successors.
    pub replication: usize,
    /// Proximity neighbour selection at bootstrap: finger i is the nearest of the first
    /// `proximity` peers of its interval (`overlay.proximity`; 0 or 1: the first).
    pub proximity: usize,
    /// Periodic maintenance, or `None` for a static network.
    pub maintenance: Option<Maintenance>,
    /// The ring at time zero, when the simulation builds its peers on first touch: their finger
    /// tables are found there until changed (see `fingers`).
    pub ring: Option<StaticRing>,
}

impl Reply {
    /// What measurement needs of this answer.
    fn answered(&self) -> Answered {
        match self {
            Reply::Owner { values, .. } => Answered::Owner { values: Some(values.clone()) },
            Reply::Successor { .. } => Answered::Owner { values: None },
            Reply::Stored { .. } => Answered::Stored,
            Reply::Failed => Answered::Failed,
        }
    }
}

impl Protocol for Peer {
    type Message = Message;
    type Timer = Timer;
    type Params = Params;

    fn params(cfg: &Config, nodes: usize) -> Params {
        let overlay = &cfg.overlay;
        Params {
            space: cfg.space,
            // Default: enough for a query to walk the whole ring twice.
            hop_limit: overlay
                .hop_limit
                .unwrap_or_else(|| u32::try_from(2 * nodes as u64 + 16).unwrap_or(u32::MAX)),
            retries: overlay.retries.unwrap_or(u32::MAX),
            cache_size: overlay.cache_size as usize,
            successors: overlay.successors as usize,
            route_via_successors: overlay.route_via_successors,
            reactive_stabilization: overlay.reactive_stabilization,
            fingers_at_join: overlay.fingers_at_join,
            finger_hints: overlay.finger_hints,
            iterative_repairs: overlay.iterative_repairs,
            repair_retries: overlay.repair_retries.unwrap_or(u32::MAX),
            join_attempts: if cfg.network.has_loss() { peer::JOIN_ATTEMPTS } else { 1 },
            fix_all_fingers: overlay.fix_all_fingers,
            fingers: overlay.fingers,
            iterative: overlay.lookup == LookupStyle::Iterative,
            original: overlay.chord_variant == ChordVariant::Sigcomm2001,
            learn_from_timeouts: overlay.learn_from_timeouts,
            replication: overlay.replication as usize,
            proximity: overlay.proximity as usize,
            maintenance: overlay.maintenance,
            ring: None,
        }
    }

    /// The true ring: every peer knows its predecessor, its r successors and (with fingers) its
    /// exact finger table. Forming: the first peer is a ring of one, the others start joining.
    /// Peers in client mode (`start.clients`) are on no other peer's ring: each knows its r
    /// successors and the fingers of its ID among the others, and has no predecessor. With
    /// proximity selection each finger is the nearest of its candidates.
    fn bootstrap(params: &Params, ids: &[RingId], start: Start<'_>) -> Vec<Peer> {
        let at = |i: usize| PeerRef::new(PeerIdx(i as u32), ids[i]);
        if start.forming {
            return (0..ids.len())
                .map(|i| match i {
                    0 => Peer::new(at(0), Some(at(0)), vec![at(0)]),
                    _ => Peer::joining(at(i)),
                })
                .collect();
        }
        if start.clients.iter().any(|&c| c) || start.round_trip.is_some() {
            return bootstrap_selected(params, ids, start.clients, start.round_trip);
        }
        (0..ids.len()).map(|i| Peer::derive(params, ids, i)).collect()
    }

    fn share_ring(params: &mut Params, ring: &std::sync::Arc<[RingId]>) -> bool {
        params.ring = Some(StaticRing(ring.clone()));
        true
    }

    fn own_state(&mut self, params: &Params) {
        self.own_fingers(params);
    }

    fn derive(params: &Params, ids: &[RingId], i: usize) -> Peer {
        let n = ids.len();
        let at = |i: usize| PeerRef::new(PeerIdx(i as u32), ids[i]);
        let r = params.successors.clamp(1, n.saturating_sub(1).max(1));
        let succs = (1..=r).map(|k| at((i + k) % n)).collect();
        let mut peer = Peer::new(at(i), Some(at((i + n - 1) % n)), succs);
        match &params.ring {
            Some(ring) if params.fingers => peer.derive_fingers(params.space, ring),
            _ if params.fingers => {
                let fingers = crate::ring::finger_indices(params.space, ids, i).into_iter();
                peer.set_fingers(params.space, fingers.map(at));
            }
            _ => {}
        }
        peer
    }

    #[inline]
    fn prefetch_state(&self, delivered: Option<&Message>) {
        Peer::prefetch_state(self, delivered)
    }

    fn joining(me: PeerRef) -> Peer {
        Peer::joining(me)
    }

    fn timers(params: &Params) -> Vec<(Timer, SimDuration)> {
        let Some(m) = params.maintenance else { return Vec::new() };
        let mut timers = vec![(Timer::Stabilize, m.stabilize)];
        timers.push((Timer::CheckPredecessor, m.check_predecessor));
        if params.fingers {
            timers.push((Timer::FixFinger, m.fix_finger));
        }
        timers
    }

    #[inline]
    fn me(&self) -> PeerRef {
        Peer::me(self)
    }

    fn store(&self) -> &Store {
        self.entries()
    }

    fn store_mut(&mut self) -> &mut Store {
        self.entries_mut()
    }

    fn start(
        &mut self,
        params: &Params,
        op: OpId,
        key: RingId,
        request: Request,
        out: &mut Vec<Command>,
    ) {
        let kind = match request {
            Request::Lookup | Request::Gather => Op::Lookup,
            Request::Store { holder } => Op::Store { holder },
        };
        let q = self.new_query(op, kind, key, 0);
        self.start_query(params, q, out);
    }

    fn join(&mut self, _: &Params, via: PeerRef, op: OpId, out: &mut Vec<Command>) {
        Peer::join(self, via, op, out)
    }

    fn leave(&mut self, _: &Params, out: &mut Vec<Command>) {
        Peer::leave(self, out)
    }

    /// Queries it held while joining die with it.
    fn departed(&mut self, out: &mut Vec<Command>) {
        for q in self.take_held().into_iter().filter(|q| q.op.is_measured()) {
            out.push(Command::Report(Report::Answered(q.op, Answered::Failed)));
            out.push(Command::Report(Report::Ended(q.op)));
        }
    }

    #[inline]
    fn handle_message(
        &mut self,
        params: &Params,
        from: PeerRef,
        msg: Message,
        out: &mut Vec<Command>,
    ) {
        Peer::handle_message(self, params, from, msg, out)
    }

    #[inline]
    fn handle_timer(&mut self, params: &Params, timer: Timer, out: &mut Vec<Command>) {
        Peer::handle_timer(self, params, timer, out)
    }

    fn handle_undeliverable(
        &mut self,
        params: &Params,
        to: PeerRef,
        msg: Message,
        out: &mut Vec<Command>,
    ) {
        Peer::handle_undeliverable(self, params, to, msg, out)
    }

    fn handle_reply_lost(
        &mut self,
        params: &Params,
        replier: PeerRef,
        reply: Message,
        out: &mut Vec<Command>,
    ) {
        Peer::handle_reply_lost(self, params, replier, reply, out)
    }

    /// An answer lost with its querier ends its operation all the same.
    fn lost(msg: &Message, out: &mut Vec<Command>) {
        match msg {
            Message::Answer(a) if a.op.is_measured() => {
                out.push(Command::Report(Report::Ended(a.op)));
            }
            // An iterative querier that departed mid-lookup: nobody answered it.
            Message::Next(hop) if hop.q.op.is_measured() => {
                out.push(Command::Report(Report::Answered(hop.q.op, Answered::Failed)));
                out.push(Command::Report(Report::Ended(hop.q.op)));
            }
            _ => {}
        }
    }

    /// A query forwarded by a peer that then departed times out with nobody left to retry it.
    fn lost_with_sender(msg: &Message, out: &mut Vec<Command>) {
        let Some(q) = msg.query() else { return };
        if q.op.is_measured() {
            out.push(Command::Report(Report::TimedOut(q.op)));
            out.push(Command::Report(Report::Answered(q.op, Answered::Failed)));
            out.push(Command::Report(Report::Ended(q.op)));
        }
    }

    fn describe(msg: &Message) -> String {
        match msg {
            Message::Query(q) => format!("query {:?} for key {}", q.kind, q.key),
            Message::Ask { hop, again } => {
                let again = if *again { " again" } else { "" };
                format!("asks{again} for the next step to key {}", hop.q.key)
            }
            Message::Next(hop) => format!("next step to key {}: {}", hop.q.key, hop.next.id),
            Message::Answer(a) => {
                let reply = match &a.reply {
                    Reply::Owner { values, range_start, .. } => {
                        format!("owner of ({range_start}, {}], values {}", a.from.id, ids(values))
                    }
                    Reply::Stored { .. } => "stored".to_string(),
                    Reply::Successor { succs, welcome } => {
                        let succs: Vec<RingId> = succs.iter().map(|s| s.id).collect();
                        let hints = match welcome.as_deref() {
                            Some(w) if !w.hints.is_empty() => {
                                format!(", {} finger hints", w.hints.len())
                            }
                            _ => String::new(),
                        };
                        format!("successors {}{hints}", ids(&succs))
                    }
                    Reply::Failed => "failed".to_string(),
                };
                format!("answer for {:?}: {reply}", a.kind)
            }
            Message::StabilizeResp { pred, succs } => {
                let pred = pred.map_or("none".to_string(), |p| p.id.to_string());
                let succs: Vec<RingId> = succs.iter().map(|s| s.id).collect();
                format!("StabilizeResp: predecessor {pred}, successors {}", ids(&succs))
            }
            other => format!("{other:?}"),
        }
    }

    /// Queries count as their operation's traffic (a finger repair is maintenance); an ID is
    /// counted per key, value and stored holder, a contact per peer named.
    #[inline]
    fn wire(msg: &Message) -> Wire {
        let of = |op: &Op| match op {
            Op::Lookup => Traffic::Lookup,
            Op::Store { .. } => Traffic::Store,
            Op::Join => Traffic::Join,
            Op::FindFinger { .. } => Traffic::Maintenance,
        };
        let entries = |e: &Entries| e.iter().map(|(_, h)| 1 + h.len() as u32).sum::<u32>();
        let w = |traffic, reply, ids, contacts| Wire { traffic, reply, ids, contacts };
        match msg {
            // The key, and the querier the answer goes to.
            Message::Query(q) => w(of(&q.kind), false, 1, 1),
            Message::Ask { hop, .. } => w(of(&hop.q.kind), false, 1, 1 + hop.avoid.len() as u32),
            Message::Next(hop) => w(of(&hop.q.kind), true, 1, 1),
            Message::Answer(a) => {
                let (ids, contacts) = match &a.reply {
                    Reply::Owner { values, .. } => (2 + values.len() as u32, 0),
                    Reply::Successor { succs, welcome } => match welcome.as_deref() {
                        Some(Welcome { entries: e, hints }) => {
                            (1 + entries(e), (succs.len() + hints.len()) as u32)
                        }
                        None => (1, succs.len() as u32),
                    },
                    Reply::Stored { .. } | Reply::Failed => (1, 0),
                };
                w(of(&a.kind), true, ids, contacts)
            }
            Message::StabilizeReq | Message::Notify => w(Traffic::Maintenance, false, 0, 0),
            Message::StabilizeResp { pred, succs } => {
                w(Traffic::Maintenance, true, 0, pred.is_some() as u32 + succs.len() as u32)
            }
            Message::Ping => w(Traffic::Ping, false, 0, 0),
            Message::Pong => w(Traffic::Ping, true, 0, 0),
            Message::Leaving { pred, succs, entries: e } => w(
                Traffic::Maintenance,
                false,
                entries(e),
                pred.is_some() as u32 + succs.len() as u32,
            ),
            Message::Entries(e) => w(Traffic::Store, false, entries(e), 0),
            Message::FetchRange { .. } => w(Traffic::Store, false, 1, 0),
        }
    }

    fn own_finger(&self, params: &Params, index: u8) -> Option<PeerRef> {
        Some(self.finger_of(params, index))
    }

    fn links(&self, push: &mut dyn FnMut(PeerRef, &'static str)) {
        for (i, &s) in self.successors().iter().enumerate() {
            push(s, if i == 0 { "succ" } else { "list" });
        }
        for &f in self.fingers() {
            push(f, "finger");
        }
    }

    fn predecessor(&self) -> Option<PeerRef> {
        self.pred()
    }

    fn health(params: &Params, peers: &[Peer], alive: &[bool], oracle: &Oracle) -> Health {
        check::check(params.space, peers, alive, oracle, params.fingers)
    }
}

/// [`Protocol::bootstrap`] of a converged ring with peers in client mode (`clients`, empty
/// when none) or proximity selection (`round_trip`): the ring is that of the other peers (the
/// servers), which know nothing of the clients; a finger is the nearest of its candidates.
fn bootstrap_selected(
    params: &Params,
    ids: &[RingId],
    clients: &[bool],
    mut round_trip: Option<&mut dyn FnMut(usize, usize) -> u64>,
) -> Vec<Peer> {
    let is_client = |i: usize| clients.get(i).copied().unwrap_or(false);
    let servers: Vec<usize> = (0..ids.len()).filter(|&i| !is_client(i)).collect();
    let ring: Vec<RingId> = servers.iter().map(|&i| ids[i]).collect();
    let n = ring.len();
    let server = |j: usize| PeerRef::new(PeerIdx(servers[j % n] as u32), ring[j % n]);
    (0..ids.len())
        .map(|i| {
            let me = PeerRef { client: is_client(i), ..PeerRef::new(PeerIdx(i as u32), ids[i]) };
            // A server is at j; a client's ID lies between servers j - 1 and j.
            let j = ring.partition_point(|&x| x < me.id);
            let mut peer = if me.client {
                let r = params.successors.clamp(1, n);
                let mut client = Peer::new(me, None, (0..r).map(|k| server(j + k)).collect());
                client.set_via(server(j)); // to join again through, should it get lost
                client
            } else {
                let r = params.successors.clamp(1, n.saturating_sub(1).max(1));
                Peer::new(me, Some(server(j + n - 1)), (1..=r).map(|k| server(j + k)).collect())
            };
            if params.fingers {
                let space = params.space;
                let fingers: Vec<PeerRef> = (0..space.bits())
                    .map(|b| {
                        let first = crate::ring::successor_index(&ring, space.add(me.id, 1 << b));
                        // The candidates: the first `proximity` servers of the interval
                        // [me + 2^b, me + 2^(b+1)); none there, the first server past it.
                        let inside = |k: &usize| {
                            let d = space.dist(me.id, ring[(first + k) % n]) as u128;
                            d >= 1 << b && d < 2 << b
                        };
                        let nearest = match round_trip.as_mut() {
                            Some(rtt) => (0..params.proximity.min(n))
                                .take_while(inside)
                                .min_by_key(|k| (rtt(i, servers[(first + k) % n]), *k)),
                            None => None,
                        };
                        server(first + nearest.unwrap_or(0))
                    })
                    .collect();
                peer.set_fingers(space, fingers);
            }
            peer
        })
        .collect()
}

#[cfg(test)]
mod tests;

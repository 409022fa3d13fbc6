//! The interface between the simulation and an overlay protocol: what every protocol is given
//! and what it may ask for.
//!
//! A protocol is a sans-IO state machine per peer. The simulation hands a peer one input at a
//! time (a message, a timer, a message that could not be delivered, an operation to start, a
//! join, a leave) and the peer appends [`Command`]s to an output buffer: send a message, set a
//! timer, say that it joined, or [`Report`] what measurement needs (an operation's query reached
//! it, it answered one, an answer came home). The simulation applies the commands in order. It
//! never looks inside a protocol's messages or state to measure: what it records comes from the
//! reports, so a second protocol plugs in by implementing [`Protocol`] and reporting the same
//! events.
//!
//! Why a trait with associated types rather than a closed enum of protocols: the simulation is
//! generic over it and monomorphised, so Chord's hot path (a message delivered, routed, sent on)
//! pays nothing for the indirection, and each protocol keeps its own message and timer types
//! instead of one enum that every protocol has to match.
//!
//! Failure detection is by timeout: a message sent to a peer that is gone comes back to its
//! sender as *undeliverable* after the RPC timeout (the simulation models the missing ack).

use crate::check::Health;
use crate::config::Config;
use crate::oracle::Oracle;
use crate::ring::RingId;
use crate::storage::Store;
use crate::time::SimDuration;
use std::fmt::Debug;

/// A peer's address in the simulation: its index in the peer table. Never reused within a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PeerIdx(pub u32);

/// The network at time zero besides its IDs, as [`Protocol::bootstrap`] builds it.
pub struct Start<'a> {
    /// The peers start joining (the first alone a member), rather than converged.
    pub forming: bool,
    /// Empty, or a flag per ID: peer i runs in client mode ([`PeerRef::client`]), so the
    /// converged network is that of the other peers, and peer i has the state a client that
    /// joined it long ago would have.
    pub clients: &'a [bool],
    /// With proximity neighbour selection (`overlay.proximity`): the round trip in ms between
    /// peers i and j, as peers that have exchanged messages for long would have measured it. A
    /// converged table then holds, of the candidates for each entry, the nearest.
    pub round_trip: Option<&'a mut dyn FnMut(usize, usize) -> u64>,
}

impl Start<'_> {
    /// A converged network of peers that all serve, with no proximity selection.
    pub fn converged() -> Self {
        Start { forming: false, clients: &[], round_trip: None }
    }

    /// A network whose peers start joining.
    pub fn forming() -> Self {
        Start { forming: true, ..Start::converged() }
    }
}

/// What one peer knows about another: where to send, the ring position, and whether it serves
/// the overlay.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PeerRef {
    /// Address.
    pub idx: PeerIdx,
    /// Ring identifier.
    pub id: RingId,
    /// It runs in client mode (`overlay.client_mode`, for a peer behind NAT): it sends requests
    /// and gets their answers but serves nobody, so no peer keeps it as a contact and it owns no
    /// key. As a libp2p peer tells its connections which protocols it serves, every message
    /// carries this with its sender. (It fills padding: a reference is still 16 bytes.)
    pub client: bool,
}

impl PeerRef {
    /// The reference of a peer that serves the overlay (any peer outside client mode).
    #[inline]
    pub const fn new(idx: PeerIdx, id: RingId) -> Self {
        PeerRef { idx, id, client: false }
    }
}

/// Identifies one measured operation (lookup, store or join) of a run; a protocol's own upkeep
/// (finger repair, bucket refresh) uses [`OpId::MAINTENANCE`] and is never reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpId(pub u32);

impl OpId {
    /// The id of queries a peer starts for its own upkeep.
    pub const MAINTENANCE: OpId = OpId(u32::MAX);

    /// Whether the simulation measures this operation.
    pub fn is_measured(self) -> bool {
        self != OpId::MAINTENANCE
    }
}

/// What a measured operation started by the simulation asks of the key's owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// Return the values stored under the key.
    Lookup,
    /// Return the values stored under the key at every one of the closest peers the lookup
    /// reaches, gathered, rather than the first found: BitTorrent's `get_peers` (BEP 5), which
    /// goes on to the closest peers for their announce tokens. The same as `Lookup` where one
    /// owner holds every value (Chord).
    Gather,
    /// Store the entry (key, holder).
    Store {
        /// The peer that holds the file.
        holder: RingId,
    },
}

/// How a peer answered a measured operation, as far as measurement needs to know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answered {
    /// The peer answered as the key's owner, with the values stored under the key (a lookup), or
    /// without values (the successor a join asked for).
    Owner {
        /// For a lookup: the holders stored under the key (possibly none).
        values: Option<Vec<RingId>>,
    },
    /// The peer answered as the key's owner and stored the entry.
    Stored,
    /// The operation could not be routed further (hop limit, or no live peer left to try).
    Failed,
    /// A peer that stores the key answered with its values: found, whether or not that peer is
    /// the key's owner (Kademlia stores every entry at several peers, and a lookup stops at the
    /// first value).
    Value {
        /// The holders stored under the key.
        values: Vec<RingId>,
    },
}

/// What a protocol tells the recorder about a measured operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Report {
    /// The operation's query reached this peer, which is live: one hop.
    Reached(OpId),
    /// A forward of the operation's query timed out (the peer it went to is gone). Only queries:
    /// an answer that cannot be delivered is not a timeout of the operation.
    TimedOut(OpId),
    /// This peer answered the operation (the answer is on its way to the querier).
    Answered(OpId, Answered),
    /// The operation is over: its answer reached the querier (or was lost with it).
    Ended(OpId),
    /// An iterative querier concluded the operation: it ended at peer `by`, `hops` hops away
    /// (the protocol counts them, SPEC §2b), with `answered`. Replaces the `Reached` and
    /// `Answered` reports of a protocol whose queries do not travel peer to peer.
    Resolved {
        /// The operation.
        op: OpId,
        /// The peer it ended at.
        by: RingId,
        /// Its hops.
        hops: u32,
        /// What that peer answered.
        answered: Answered,
    },
}

/// What a message is for, as traffic is counted (`summary.csv`'s `messages_<kind>` columns).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Traffic {
    /// Requests and answers of measured lookups.
    Lookup = 0,
    /// A joiner's lookup of its place, and its answers.
    Join = 1,
    /// Upkeep of the routing state: Chord's stabilization, notifies and finger repairs,
    /// Kademlia's bucket refreshes, leave notices.
    Maintenance = 2,
    /// Liveness checks and their answers.
    Ping = 3,
    /// Placing entries: measured stores, handoffs, replicas, republishing.
    Store = 4,
}

impl Traffic {
    /// Every kind, in column order.
    pub const ALL: [Traffic; 5] =
        [Traffic::Lookup, Traffic::Join, Traffic::Maintenance, Traffic::Ping, Traffic::Store];

    /// Its name in column names.
    pub fn name(self) -> &'static str {
        match self {
            Traffic::Lookup => "lookup",
            Traffic::Join => "join",
            Traffic::Maintenance => "maintenance",
            Traffic::Ping => "ping",
            Traffic::Store => "store",
        }
    }
}

/// What one message weighs, for the traffic counts: its kind, whether it answers a request,
/// and what it carries. Its size in bytes is [`Wire::bytes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wire {
    /// What it is for.
    pub traffic: Traffic,
    /// It answers a request.
    pub reply: bool,
    /// IDs and keys it carries (a stored holder counts as one).
    pub ids: u32,
    /// Peers it names (an ID and an address each).
    pub contacts: u32,
}

impl Wire {
    /// Bytes of every message's header: a 20-byte IPv4 header, as p2psim counted (UDP's 8
    /// and a message type left out, as they were).
    pub const HEADER: u64 = 20;
    /// Bytes of an address besides its ID: IPv4 and a port.
    pub const ADDRESS: u64 = 6;

    /// Its size on the wire in a space of `bits`-bit IDs: the header, ceil(bits / 8) bytes per
    /// ID, and an ID and an address per contact.
    pub fn bytes(self, bits: u32) -> u64 {
        Wire::total_bytes(bits, 1, self.ids as u64, self.contacts as u64)
    }

    /// The bytes of `messages` messages that carry `ids` IDs and `contacts` contacts in all,
    /// in a space of `bits`-bit IDs: the sum of their [`Wire::bytes`].
    pub fn total_bytes(bits: u32, messages: u64, ids: u64, contacts: u64) -> u64 {
        let id = bits.div_ceil(8) as u64;
        messages * Wire::HEADER + ids * id + contacts * (id + Wire::ADDRESS)
    }
}

/// What a peer asks the simulation to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command<M, T> {
    /// Send `msg` to peer `to`.
    Send {
        /// Destination.
        to: PeerRef,
        /// Payload.
        msg: M,
    },
    /// Call `handle_timer(timer)` after about `after` (the simulation may add jitter).
    SetTimer {
        /// Delay.
        after: SimDuration,
        /// Which timer.
        timer: T,
    },
    /// This joining peer now takes part in the overlay (the oracle counts it as a member).
    Joined,
    /// Something measurement needs to know.
    Report(Report),
}

/// The commands of protocol `P`.
pub type CommandOf<P> = Command<<P as Protocol>::Message, <P as Protocol>::Timer>;

/// Periods of the maintenance timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Maintenance {
    /// Stabilization period.
    pub stabilize: SimDuration,
    /// Period of repairing one finger.
    pub fix_finger: SimDuration,
    /// Period of pinging the predecessor.
    pub check_predecessor: SimDuration,
}

/// One overlay protocol: the state of one peer, and the settings all its peers share.
///
/// Inputs take the shared [`Protocol::Params`] and push [`Command`]s; none of them sees the
/// clock, the network, a random generator or the oracle. The functions that see more than one
/// peer (`bootstrap` every ID, `health` every peer and the oracle) build or inspect state for
/// the simulation; they are never part of routing.
pub trait Protocol: Sized + Debug {
    /// What peers send each other.
    type Message: Clone + Debug;
    /// A peer's periodic timers.
    type Timer: Copy + Debug;
    /// Settings every peer shares, derived from the run's config.
    type Params: Debug;

    /// The shared settings of a run of `cfg` that starts with `nodes` ring nodes.
    fn params(cfg: &Config, nodes: usize) -> Self::Params;
    /// The peers of the network at time zero, one per ID in `ids`, addressed by position (peer
    /// i has ID `ids[i]`). Without `forming` the IDs are ascending and every peer starts with the
    /// state a converged network would have; with `forming` they are in the order the peers
    /// start, the first alone a member and the others about to join. What else the network at
    /// time zero is ([`Start`]: clients, latencies) only applies without `forming`.
    fn bootstrap(params: &Self::Params, ids: &[RingId], start: Start<'_>) -> Vec<Self>;
    /// Offers the ascending IDs of a converged network at time zero, kept unchanged for the
    /// whole run, for peers to consult rather than copy; returns whether [`Protocol::derive`]
    /// then builds one bootstrap peer without building the others, so that the simulation may
    /// build them on first touch (`sim::peers`).
    fn share_ring(_params: &mut Self::Params, _ring: &std::sync::Arc<[RingId]>) -> bool {
        false
    }
    /// Offers the round trips between the peers of a network whose membership never changes
    /// (`overlay.proximity_routing`), for routing to choose by at run time.
    fn share_round_trips(
        _params: &mut Self::Params,
        _round_trips: std::sync::Arc<crate::network::RoundTrips>,
    ) {
    }
    /// Peer `i` of the converged network of the ascending `ids`: the state
    /// `bootstrap(params, ids, Start::converged())[i]` has, possibly still consulting the shared ring
    /// ([`Protocol::own_state`] stores it). Building every peer to keep one is the fallback; a
    /// protocol whose [`Protocol::share_ring`] is true builds only that one.
    fn derive(params: &Self::Params, ids: &[RingId], i: usize) -> Self {
        Self::bootstrap(params, ids, Start::converged()).swap_remove(i)
    }
    /// Stores in this peer whatever it still consults in the shared ring, so that its state can
    /// be inspected on its own (snapshots, checks, tests).
    fn own_state(&mut self, _params: &Self::Params) {}
    /// Hints that this peer's next event will soon read the state it keeps outside itself (on
    /// the heap): starts loading what that event needs, as [`crate::engine::prefetch`] does.
    /// `delivered` is the message the event delivers (`None` for a timer or any other event).
    /// No effect on results.
    #[inline]
    fn prefetch_state(&self, _delivered: Option<&Self::Message>) {}
    /// A new peer that is about to join.
    fn joining(me: PeerRef) -> Self;
    /// The periodic timers of a member and their periods (the simulation staggers the first
    /// firing of each over its period, in this order).
    fn timers(params: &Self::Params) -> Vec<(Self::Timer, SimDuration)>;

    /// This peer.
    fn me(&self) -> PeerRef;
    /// The entries stored at this peer.
    fn store(&self) -> &Store;
    /// The entries stored at this peer, to place the files at bootstrap.
    fn store_mut(&mut self) -> &mut Store;

    /// Starts operation `op` at this peer, its origin.
    fn start(
        &mut self,
        params: &Self::Params,
        op: OpId,
        key: RingId,
        request: Request,
        out: &mut Vec<CommandOf<Self>>,
    );
    /// Joins through the member `via`; `op` is the join's operation.
    fn join(
        &mut self,
        params: &Self::Params,
        via: PeerRef,
        op: OpId,
        out: &mut Vec<CommandOf<Self>>,
    );
    /// Leaves gracefully (the simulation removes the peer afterwards).
    fn leave(&mut self, params: &Self::Params, out: &mut Vec<CommandOf<Self>>);
    /// The peer is gone (left or crashed): report the operations that end with it (queries it
    /// held). Only reports are applied.
    fn departed(&mut self, out: &mut Vec<CommandOf<Self>>);
    /// Handles a message from `from`.
    fn handle_message(
        &mut self,
        params: &Self::Params,
        from: PeerRef,
        msg: Self::Message,
        out: &mut Vec<CommandOf<Self>>,
    );
    /// Handles a timer and re-arms it.
    fn handle_timer(
        &mut self,
        params: &Self::Params,
        timer: Self::Timer,
        out: &mut Vec<CommandOf<Self>>,
    );
    /// A message this peer sent to `to` was not acknowledged: `to` is gone.
    fn handle_undeliverable(
        &mut self,
        params: &Self::Params,
        to: PeerRef,
        msg: Self::Message,
        out: &mut Vec<CommandOf<Self>>,
    );
    /// The network dropped `reply`, which `replier` sent this peer: the request it answered
    /// has timed out here, as if `replier` had not answered (`network.loss`).
    fn handle_reply_lost(
        &mut self,
        params: &Self::Params,
        replier: PeerRef,
        reply: Self::Message,
        out: &mut Vec<CommandOf<Self>>,
    );
    /// `msg` reached a peer that is gone: report what that ends (an answer lost with its
    /// querier). Only reports are applied.
    fn lost(msg: &Self::Message, out: &mut Vec<CommandOf<Self>>);
    /// `msg`, sent by a peer that has since gone, was not acknowledged: report what that ends
    /// (a query that died with the peer that held it). Only reports are applied.
    fn lost_with_sender(msg: &Self::Message, out: &mut Vec<CommandOf<Self>>);

    /// One line about a message, for the trace printed when a property fails.
    fn describe(msg: &Self::Message) -> String;

    /// What `msg` is for and carries, for the traffic counts.
    fn wire(msg: &Self::Message) -> Wire;

    /// The peer `own_fingers` lookups of this peer target for finger `index` (SimGrid's
    /// benchmark), or `None` when the protocol has no such table.
    fn own_finger(&self, params: &Self::Params, index: u8) -> Option<PeerRef>;
    /// This peer's overlay links to others, each with its kind (for snapshots).
    fn links(&self, push: &mut dyn FnMut(PeerRef, &'static str));
    /// The peer this one believes precedes it, where the protocol has one (for snapshots).
    fn predecessor(&self) -> Option<PeerRef>;
    /// The properties of the overlay now, checked against the oracle.
    fn health(params: &Self::Params, peers: &[Self], alive: &[bool], oracle: &Oracle) -> Health;
}

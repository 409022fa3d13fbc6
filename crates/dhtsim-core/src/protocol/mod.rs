//! A peer's protocol: the state machine that routes queries, stores DHT entries and keeps the
//! ring together under churn.
//!
//! Sans-IO: a peer never sees the clock, the network, a random generator or the oracle. The
//! simulation hands it one input at a time (`handle_message`, `handle_timer`,
//! `handle_undeliverable`, `start_query`, `join`, `leave`) and it appends what it wants done
//! (`Command`s: send a message, set a timer, report that it joined) to an output buffer, which
//! the simulation applies. This module deliberately owns no measurement: hop counts, outcomes and
//! paths are recorded by the simulation from the messages peers exchange.
//!
//! Failure detection is by timeout: a message sent to a peer that is gone comes back to its
//! sender as *undeliverable* after the RPC timeout (the simulation models the missing ack), and
//! the sender drops the dead peer from its state and retries or repairs.

mod cache;
mod peer;

pub use peer::Peer;

use crate::ring::{IdSpace, RingId};
use crate::time::SimDuration;

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

/// Identifies one measured operation (lookup or store) of a run; maintenance queries use
/// [`OpId::MAINTENANCE`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpId(pub u32);

impl OpId {
    /// The id of queries a peer starts for its own upkeep (joins, finger repair).
    pub const MAINTENANCE: OpId = OpId(u32::MAX);
}

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
    /// A joining peer looks for its successor (the owner of its own ID).
    Join,
    /// A peer repairs finger `index` (the owner of me + 2^index).
    FindFinger {
        /// Which finger.
        index: u8,
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
    /// Forwards that reached a live peer so far (a TTL carried in the message).
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
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The operation answered.
    pub op: OpId,
    /// What the query asked.
    pub kind: Op,
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
    /// `from` owns the key (a joiner's ID, or a finger target); here is its successor list,
    /// `from` first.
    Successor {
        /// `from` followed by its successors.
        succs: Vec<PeerRef>,
        /// For a join: the entries `from` holds in the joiner's new range, so the joiner can
        /// answer for its keys the moment it joins.
        entries: Entries,
    },
    /// The query could not be routed further (hop limit, or no live peer left to try).
    Failed,
}

/// DHT entries: (key, holders) pairs.
pub type Entries = Vec<(RingId, Vec<RingId>)>;

/// A message on the wire. The sender's identity travels with it (see `Peer::handle_message`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A query being routed.
    Query(Query),
    /// An answer to a querier.
    Answer(Answer),
    /// Stabilization: "who is your predecessor, and what is your successor list?"
    StabilizeReq,
    /// The answer to `StabilizeReq`.
    StabilizeResp {
        /// The sender's predecessor.
        pred: Option<PeerRef>,
        /// The sender's successor list.
        succs: Vec<PeerRef>,
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

/// The periodic timers of a peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// Ask the successor for its predecessor and list; notify it.
    Stabilize,
    /// Repair the next finger.
    FixFinger,
    /// Ping the predecessor.
    CheckPredecessor,
}

/// What a peer asks the simulation to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Send `msg` to peer `to`.
    Send {
        /// Destination.
        to: PeerRef,
        /// Payload.
        msg: Message,
    },
    /// Call `handle_timer(timer)` after about `after` (the simulation may add jitter).
    SetTimer {
        /// Delay.
        after: SimDuration,
        /// Which timer.
        timer: Timer,
    },
    /// Report: this joining peer now has a successor and takes part in the ring.
    Joined,
}

/// Settings every peer shares.
#[derive(Clone, Copy, Debug)]
pub struct Params {
    /// The identifier space.
    pub space: IdSpace,
    /// Most forwards plus timeouts a query may take.
    pub hop_limit: u32,
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
    /// Whether finger tables are kept.
    pub fingers: bool,
    /// Copies of each entry: the owner and its next `replication - 1` successors.
    pub replication: usize,
    /// Periodic maintenance, or `None` for a static network.
    pub maintenance: Option<Maintenance>,
}

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

#[cfg(test)]
mod tests;

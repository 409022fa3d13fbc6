//! Kademlia (SPEC §2b; Maymounkov and Mazières, IPTPS 2002), the second protocol: XOR distance,
//! k-buckets with a preference for old contacts, and iterative lookups with `alpha` requests in
//! flight. The peer's behaviour is in `node`, its routing table in `table`, a lookup's
//! shortlist in `lookup`; this module holds the messages, timers and settings, and implements
//! [`Protocol`] for [`Node`].
//!
//! What a Kademlia lookup reports: `TimedOut` for each request that found its contact gone, then
//! one `Resolved` at the querier (who answered, at which hop, with what) and `Ended`. Hops follow
//! SPEC §2b: the hop at which the peer that ended the lookup was learned.

mod lookup;
mod node;
mod table;

pub use node::Node;
pub use table::{Seen, Table};

use crate::check::Health;
use crate::config::Config;
use crate::network::RoundTrips;
use crate::oracle::Oracle;
use crate::protocol::{PeerRef, Protocol, Request, Start, Traffic, Wire};
use crate::ring::{IdSpace, RingId};
use crate::storage::Store;
use crate::time::SimDuration;

/// What Kademlia peers send each other.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Message {
    /// Lookup `lookup` of the sender asks for the k contacts closest to `target`.
    FindNode {
        /// The sender's lookup.
        lookup: u64,
        /// The ID sought.
        target: RingId,
        /// What the lookup is for (a store, a join, a refresh, a republish), for the traffic
        /// counts.
        traffic: Traffic,
    },
    /// Lookup `lookup` asks for the values under `key`, or else the k closest contacts.
    FindValue {
        /// The sender's lookup.
        lookup: u64,
        /// The key sought.
        key: RingId,
    },
    /// The answer to a request of lookup `lookup`: the k contacts closest to its target that
    /// the sender knows.
    Nodes {
        /// The lookup answered.
        lookup: u64,
        /// Closest first.
        contacts: Vec<PeerRef>,
        /// The request's traffic kind.
        traffic: Traffic,
    },
    /// The answer to a `FindValue`: the holders stored under the key.
    Value {
        /// The lookup answered.
        lookup: u64,
        /// Holders of the file, in the order they were stored.
        values: Vec<RingId>,
    },
    /// Store these holders under `key` (no answer).
    Store {
        /// The key.
        key: RingId,
        /// Holders of the file.
        holders: Vec<RingId>,
    },
    /// Are you alive? (The oldest contact of a full bucket, before a newcomer may replace it.)
    Ping,
    /// Alive.
    Pong,
}

/// A Kademlia peer's periodic timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Timer {
    /// Refresh the buckets no lookup targeted during the last period.
    Refresh,
    /// Publish again the entries no other peer republished here during the last period.
    Republish,
}

/// Settings every Kademlia peer shares.
#[derive(Clone, Debug)]
pub struct Params {
    /// The identifier space.
    pub space: IdSpace,
    /// Bucket size and shortlist length.
    pub k: usize,
    /// Requests a lookup keeps in flight.
    pub alpha: u32,
    /// Peers each entry is stored at.
    pub replication: usize,
    /// Timeouts a measured lookup or store may meet and go on (`u32::MAX`: no limit).
    pub retries: u32,
    /// Bucket refresh period, with maintenance.
    pub refresh: Option<SimDuration>,
    /// Republish period, with maintenance.
    pub republish: Option<SimDuration>,
    /// Proximity neighbour selection at bootstrap: a bucket holds the k nearest of this many
    /// peers of its range drawn at random (`overlay.proximity`; at most k: k at random).
    pub proximity: usize,
    /// Proximity route selection: the round trips between peers, by which a lookup picks whom
    /// to ask next (`overlay.proximity_routing`; `None`: by distance to the target alone).
    pub round_trips: Option<std::sync::Arc<crate::network::RoundTrips>>,
}

impl Protocol for Node {
    type Message = Message;
    type Timer = Timer;
    type Params = Params;

    fn params(cfg: &Config, _nodes: usize) -> Params {
        let o = &cfg.overlay;
        Params {
            space: cfg.space,
            k: o.kademlia.k as usize,
            alpha: o.kademlia.alpha,
            replication: o.replication as usize,
            retries: o.retries.unwrap_or(u32::MAX),
            refresh: o.maintenance.map(|_| o.kademlia.refresh),
            republish: o.maintenance.map(|_| o.kademlia.republish),
            proximity: o.proximity as usize,
            round_trips: None,
        }
    }

    fn share_round_trips(params: &mut Params, round_trips: std::sync::Arc<RoundTrips>) {
        params.round_trips = Some(round_trips);
    }

    fn bootstrap(params: &Params, ids: &[RingId], start: Start<'_>) -> Vec<Node> {
        node::bootstrap(params, ids, start)
    }

    fn joining(me: PeerRef) -> Node {
        Node::joining(me)
    }

    fn timers(params: &Params) -> Vec<(Timer, SimDuration)> {
        let mut timers = Vec::new();
        if let Some(p) = params.refresh {
            timers.push((Timer::Refresh, p));
        }
        if let Some(p) = params.republish {
            timers.push((Timer::Republish, p));
        }
        timers
    }

    fn me(&self) -> PeerRef {
        Node::me(self)
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
        op: crate::protocol::OpId,
        key: RingId,
        request: Request,
        out: &mut Vec<node::Command>,
    ) {
        Node::start(self, params, op, key, request, out)
    }

    fn join(
        &mut self,
        params: &Params,
        via: PeerRef,
        op: crate::protocol::OpId,
        out: &mut Vec<node::Command>,
    ) {
        Node::join(self, params, via, op, out)
    }

    /// Kademlia has no leave protocol: a peer that leaves simply stops answering, and the others
    /// find out by timeouts, as after a crash.
    fn leave(&mut self, _params: &Params, _out: &mut Vec<node::Command>) {}

    fn departed(&mut self, out: &mut Vec<node::Command>) {
        Node::departed(self, out)
    }

    fn handle_message(
        &mut self,
        params: &Params,
        from: PeerRef,
        msg: Message,
        out: &mut Vec<node::Command>,
    ) {
        Node::handle_message(self, params, from, msg, out)
    }

    fn handle_timer(&mut self, params: &Params, timer: Timer, out: &mut Vec<node::Command>) {
        Node::handle_timer(self, params, timer, out)
    }

    fn handle_undeliverable(
        &mut self,
        params: &Params,
        to: PeerRef,
        msg: Message,
        out: &mut Vec<node::Command>,
    ) {
        Node::handle_undeliverable(self, params, to, msg, out)
    }

    fn handle_reply_lost(
        &mut self,
        params: &Params,
        replier: PeerRef,
        reply: Message,
        out: &mut Vec<node::Command>,
    ) {
        Node::handle_reply_lost(self, params, replier, reply, out)
    }

    /// Lookups live at their querier, which reports them when it departs (`departed`); a message
    /// lost on the way ends nothing by itself.
    fn lost(_msg: &Message, _out: &mut Vec<node::Command>) {}

    fn lost_with_sender(_msg: &Message, _out: &mut Vec<node::Command>) {}

    fn describe(msg: &Message) -> String {
        match msg {
            Message::FindNode { target, .. } => format!("find node {target}"),
            Message::FindValue { key, .. } => format!("find value {key}"),
            Message::Nodes { contacts, .. } => format!("{} contacts", contacts.len()),
            Message::Value { values, .. } => format!("{} values", values.len()),
            Message::Store { key, .. } => format!("store {key}"),
            Message::Ping => "ping".into(),
            Message::Pong => "pong".into(),
        }
    }

    fn wire(msg: &Message) -> Wire {
        let w = |traffic, reply, ids, contacts| Wire { traffic, reply, ids, contacts };
        match msg {
            Message::FindNode { traffic, .. } => w(*traffic, false, 1, 0),
            Message::FindValue { .. } => w(Traffic::Lookup, false, 1, 0),
            Message::Nodes { contacts, traffic, .. } => w(*traffic, true, 0, contacts.len() as u32),
            Message::Value { values, .. } => w(Traffic::Lookup, true, values.len() as u32, 0),
            Message::Store { holders, .. } => w(Traffic::Store, false, 1 + holders.len() as u32, 0),
            Message::Ping => w(Traffic::Ping, false, 0, 0),
            Message::Pong => w(Traffic::Ping, true, 0, 0),
        }
    }

    fn own_finger(&self, _params: &Params, _index: u8) -> Option<PeerRef> {
        None
    }

    fn links(&self, push: &mut dyn FnMut(PeerRef, &'static str)) {
        for c in self.table().contacts() {
            push(c, "contact");
        }
    }

    fn predecessor(&self) -> Option<PeerRef> {
        None
    }

    fn health(params: &Params, peers: &[Node], alive: &[bool], oracle: &Oracle) -> Health {
        node::health(params, peers, alive, oracle)
    }
}

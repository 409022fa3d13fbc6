//! The overlay driven by another model: the swarm, whose peers are overlay members when they
//! find each other through the DHT (SPEC §2c).
//!
//! The other model owns the clock's other half: it asks for the overlay's next event time,
//! lets the overlay process events up to its own, adds and removes members, and starts tagged
//! operations (a store of its announce, a lookup of the infohash). The overlay tells it, as
//! [`Notice`]s, which of its members joined or departed (overlay churn reaches the swarm this
//! way) and how the tagged operations ended. Measurement is unchanged: those operations are
//! lookups and stores like any other, in `summary.csv` and `lookups.csv`.

use super::Simulation;
use super::recorder::Ended;
use crate::metrics::{LeaveKind, RunResult};
use crate::protocol::{PeerIdx, Protocol, Request};
use crate::ring::RingId;
use crate::rng::Rng;
use crate::time::SimTime;
use rand::RngExt;

/// What the overlay tells the model that drives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Notice {
    /// This peer became a member.
    Joined(PeerIdx),
    /// This peer left or crashed (by the driver's wish or the overlay's churn).
    Departed(PeerIdx, LeaveKind),
    /// A tagged operation ended.
    Ended(Ended),
}

impl<P: Protocol> Simulation<'_, P> {
    /// From now on, joins, departures and the ends of tagged operations are kept as notices.
    pub(crate) fn embed(&mut self) {
        self.embedded = true;
    }

    /// When the next event is due.
    pub(crate) fn next_time(&self) -> Option<SimTime> {
        self.engine.peek_time()
    }

    /// Processes the next event, whatever its time (the driver decides when the run ends), and
    /// adds what it gave rise to to `notices`; `false` when there is none.
    pub(crate) fn step_embedded(&mut self, notices: &mut Vec<Notice>) -> bool {
        let more = self.process();
        self.take_notices(notices);
        more
    }

    /// Moves the notices not taken yet to `into`, in the order they happened.
    fn take_notices(&mut self, into: &mut Vec<Notice>) {
        // Joins and departures are noted by the loop, operation ends by the recorder, each in
        // its order; an event gives rise to at most a few of them. Ends go last: an operation
        // that ends with its peer's departure is told after that departure.
        into.append(&mut self.notices);
        into.extend(self.recorder.ended_tagged.drain(..).map(Notice::Ended));
    }

    /// Whether host `host` is behind a NAT (`network.unreachable`).
    pub(crate) fn is_unreachable(&mut self, host: u32) -> bool {
        self.network.is_unreachable(host)
    }

    /// A new peer on host `host` (from [`Simulation::new_host`]), with an ID no live peer has,
    /// joins through a member, a reachable one when some hosts are behind a NAT; both are
    /// drawn from `rng` (the caller's stream, so the overlay's own churn draws do not move).
    /// `None` when the overlay has no (reachable) member to join through.
    pub(crate) fn add_member(
        &mut self,
        now: SimTime,
        host: u32,
        rng: &mut Rng,
        notices: &mut Vec<Notice>,
    ) -> Option<PeerIdx> {
        self.engine.advance_to(now);
        if self.oracle.is_empty() {
            return None;
        }
        let id = loop {
            let id = self.cfg.space.wrap(rng.random::<u64>());
            if !self.oracle.is_alive_id(id) {
                break id;
            }
        };
        // A live peer, or the member that owns its ID if it is still joining.
        let mut draw = |sim: &Self| {
            let (via_id, via) = sim.oracle.random_alive(rng);
            if sim.oracle.find(via_id).is_some() { via } else { sim.oracle.owner(via_id).1 }
        };
        let mut via = draw(self);
        if self.network.has_unreachable() {
            // A peer bootstraps through one that accepts connections (as BitTorrent clients
            // through a router of the DHT): a join query sent to a peer behind a NAT is lost.
            // Drawn again, up to 1,000 times, until reachable; if none is, it finds no member
            // to join through.
            let mut tries = 0;
            while self.network.is_unreachable(self.hosts[via.0 as usize]) {
                tries += 1;
                if tries == 1000 {
                    return None;
                }
                via = draw(self);
            }
        }
        let idx = self.spawn_on(now, id, via, host);
        self.take_notices(notices);
        Some(idx)
    }

    /// Peer `peer` leaves gracefully or crashes now (nothing if it is gone already).
    pub(crate) fn remove_member(
        &mut self,
        now: SimTime,
        peer: PeerIdx,
        kind: LeaveKind,
        notices: &mut Vec<Notice>,
    ) {
        self.engine.advance_to(now);
        self.depart(now, peer, kind);
        self.take_notices(notices);
    }

    /// Whether `peer` is alive and a member (a client in client mode: alive and joined, though
    /// on nobody's ring).
    pub(crate) fn is_member(&self, peer: PeerIdx) -> bool {
        let me = self.peers.me(peer);
        self.alive[peer.0 as usize]
            && match me.client {
                true => self.recorder.peers[peer.0 as usize].join.is_some(),
                false => self.oracle.find(me.id) == Some(peer),
            }
    }

    /// The host `peer` runs on, and whether it runs in client mode.
    #[cfg(test)]
    pub(crate) fn host_and_client(&self, peer: PeerIdx) -> (u32, bool) {
        (self.hosts[peer.0 as usize], self.peers.me(peer).client)
    }

    /// The ring ID of `peer`.
    pub(crate) fn id_of(&self, peer: PeerIdx) -> RingId {
        self.peers.me(peer).id
    }

    /// Starts a measured lookup or store at member `origin` whose end is told with `tag`.
    pub(crate) fn start_tagged(
        &mut self,
        now: SimTime,
        origin: PeerIdx,
        key: RingId,
        request: Request,
        tag: u32,
        notices: &mut Vec<Notice>,
    ) {
        self.engine.advance_to(now);
        self.start_op_tagged(now, origin, key, request, Some(tag));
        self.take_notices(notices);
    }

    /// Lets the operations still in flight end (their ends are no longer told), then returns
    /// what the run measured.
    pub(crate) fn finish_embedded(mut self) -> RunResult {
        self.embedded = false;
        while self.recorder.in_flight() > 0 && self.process() {}
        self.recorder.ended_tagged.clear();
        self.finish()
    }
}

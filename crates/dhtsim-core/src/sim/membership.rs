//! Who is in the network: peers spawned and joining, members departing (gracefully or by a
//! crash), the churn models' drivers (sessions, Poisson joins and departures, mass failures,
//! traces) and the scenario's scripted events. Draws come from the churn and IDs streams only,
//! so the membership never depends on routing.

use super::recorder::OpKind;
use super::{Event, Notice, Simulation};
use crate::churn::{Arrivals, ChurnModel, TraceKind, poisson_gap};
use crate::config::Action;
use crate::metrics::{LeaveKind, PeerRecord};
use crate::protocol::{PeerIdx, PeerRef, Protocol, Request};
use crate::ring::RingId;
use crate::time::SimTime;
use rand::RngExt;
use std::collections::BTreeSet;

impl<P: Protocol> Simulation<'_, P> {
    pub(super) fn schedule_churn(&mut self, n: usize) {
        let churn = &self.cfg.churn;
        match &churn.model {
            ChurnModel::None => {}
            ChurnModel::Sessions { session, arrivals, .. } => {
                for i in 0..n {
                    let at = churn.start + session.sample(&mut self.churn_rng);
                    if at < churn.stop {
                        self.engine.schedule_at(at, Event::Depart(PeerIdx(i as u32)));
                    }
                }
                if let Arrivals::Poisson { rate_per_ms } = *arrivals {
                    let at = churn.start + poisson_gap(rate_per_ms, &mut self.churn_rng);
                    if at < churn.stop {
                        self.engine.schedule_at(at, Event::Arrive);
                    }
                }
            }
            ChurnModel::Poisson { join_rate_per_ms, leave_rate_per_ms, .. } => {
                let arrive = churn.start + poisson_gap(*join_rate_per_ms, &mut self.churn_rng);
                let depart = churn.start + poisson_gap(*leave_rate_per_ms, &mut self.churn_rng);
                if arrive < churn.stop {
                    self.engine.schedule_at(arrive, Event::Arrive);
                }
                if depart < churn.stop {
                    self.engine.schedule_at(depart, Event::PoissonDepart);
                }
            }
            ChurnModel::Trace(events) => {
                for (i, ev) in events.iter().enumerate() {
                    self.engine.schedule_at(ev.at, Event::Trace(i));
                }
            }
        }
        if let Some(m) = churn.mass_failure {
            self.engine.schedule_at(m.at, Event::MassFailure);
        }
    }

    pub(super) fn scripted(&mut self, now: SimTime, action: Action) {
        let find = |sim: &Self, id: RingId| sim.live_peer_with(id);
        match action {
            Action::Lookup { from, key } | Action::Store { from, key } => {
                let Some(origin) = find(self, from) else {
                    self.warnings.push(format!(
                        "{now}: peer {from} is not alive; its scripted operation is skipped"
                    ));
                    return;
                };
                let request = match action {
                    Action::Store { .. } => Request::Store { holder: from },
                    _ => Request::Lookup,
                };
                self.start_op(now, origin, key, request);
            }
            Action::Join { peer, via: via_id } => {
                let Some(via) = find(self, via_id) else {
                    self.warnings.push(format!(
                        "{now}: well-known peer {via_id} is not alive; join of {peer} skipped"
                    ));
                    return;
                };
                if self.oracle.is_alive_id(peer) {
                    self.warnings.push(format!("{now}: ID {peer} is in use; join skipped"));
                    return;
                }
                // Nothing it did not ask for reaches a peer behind a NAT, a join query neither.
                if self.network.is_unreachable(self.hosts[via.0 as usize]) {
                    self.warnings.push(format!(
                        "{now}: well-known peer {via_id} is unreachable (`network.unreachable`): \
                         the join of {peer} through it cannot reach it, and fails"
                    ));
                }
                self.spawn(now, peer, via);
            }
            Action::Leave { peer } | Action::Crash { peer } => {
                let Some(idx) = find(self, peer) else {
                    self.warnings
                        .push(format!("{now}: peer {peer} is not alive; its departure is skipped"));
                    return;
                };
                let kind = if matches!(action, Action::Leave { .. }) {
                    LeaveKind::Leave
                } else {
                    LeaveKind::Crash
                };
                self.depart(now, idx, kind);
            }
        }
    }

    /// Creates a peer with ID `id` that joins through `via`.
    pub(super) fn spawn(&mut self, now: SimTime, id: RingId, via: PeerIdx) -> PeerIdx {
        let host = self.new_host();
        self.spawn_on(now, id, via, host)
    }

    /// A host no peer has run on yet. A model that drives the overlay (`embed`) takes one for
    /// each of its peers, so that the overlay member a peer may become runs on the same host
    /// and both models see it reachable or not alike.
    pub(crate) fn new_host(&mut self) -> u32 {
        self.next_host += 1;
        self.next_host - 1
    }

    /// [`Simulation::spawn`] on host `host`, one that [`Simulation::new_host`] gave.
    pub(super) fn spawn_on(
        &mut self,
        now: SimTime,
        id: RingId,
        via: PeerIdx,
        host: u32,
    ) -> PeerIdx {
        let idx = PeerIdx(u32::try_from(self.peers.len()).expect("fewer than 2^32 peers"));
        // A new peer has a new host, which may be unreachable.
        let client = self.cfg.has_clients() && self.network.is_unreachable(host);
        let me = PeerRef { client, ..PeerRef::new(idx, id) };
        self.peers.push(P::joining(me));
        self.alive.push(true);
        self.oracle.add_alive(id, idx);
        self.recorder.alive_changed(now, self.oracle.alive_count() as u64);
        self.recorder.spawned(PeerRecord {
            id,
            join: None,
            leave: None,
            join_hops: None,
            join_path: Vec::new(),
            host,
            keys: None,
        });
        self.hosts.push(host);
        let via_id = self.peers.me(via).id;
        self.note(now, format!("{id} is new and joins via {via_id}"));
        self.start_join(now, idx, via);
        idx
    }

    /// Peer `peer` (alive, not joined) sends its join query to `via`.
    pub(super) fn start_join(&mut self, now: SimTime, peer: PeerIdx, via: PeerIdx) {
        let id = self.peers.me(peer).id;
        let op = self.recorder.started(now, (id, peer), id, OpKind::Join(peer));
        let via_ref = self.peers.me(via);
        self.peers.get_mut(&self.params, peer).join(&self.params, via_ref, op, &mut self.out);
        self.apply(now, peer);
    }

    pub(super) fn joined(&mut self, now: SimTime, peer: PeerIdx) {
        let me = self.peers.me(peer);
        if !me.client {
            self.oracle.insert(me.id, peer); // a client is on nobody's ring
        }
        self.recorder.joined(now, peer);
        if self.embedded {
            self.notices.push(Notice::Joined(peer));
        }
        self.schedule_peer_lookups(now, peer);
    }

    /// With a per-peer workload: schedules the first lookup of `peer`, a member since `now`.
    pub(super) fn schedule_peer_lookups(&mut self, now: SimTime, peer: PeerIdx) {
        if let Some(at) = self.workload.first_per_peer_lookup(now)
            && at < self.cfg.duration
        {
            self.engine.schedule_at(at, Event::PeerLookup(peer));
        }
    }

    /// A member's periodic lookup: a key from the workload stream, then the next one an interval
    /// later (while the peer is alive and the window lasts).
    pub(super) fn peer_lookup(&mut self, now: SimTime, peer: PeerIdx) {
        if !self.alive[peer.0 as usize] {
            return;
        }
        if now >= self.cfg.warmup {
            let target = self.workload.next_target();
            self.start_workload_lookup(now, peer, target);
        }
        let every = self.workload.per_peer_interval().expect("per-peer workload");
        let next = now + every;
        if next < self.cfg.duration {
            self.engine.schedule_at(next, Event::PeerLookup(peer));
        }
    }

    pub(super) fn depart(&mut self, now: SimTime, peer: PeerIdx, kind: LeaveKind) {
        if !self.alive[peer.0 as usize] {
            return;
        }
        if kind == LeaveKind::Leave {
            self.peers.get_mut(&self.params, peer).leave(&self.params, &mut self.out);
            self.apply(now, peer);
        }
        self.alive[peer.0 as usize] = false;
        let me = self.peers.me(peer);
        self.note(
            now,
            format!("{} {}", me.id, if kind == LeaveKind::Leave { "leaves" } else { "crashes" }),
        );
        // What it was doing for others ends with it (nothing, if nothing ever reached it).
        if let Some(p) = self.peers.get_built_mut(peer) {
            p.departed(&mut self.out);
        }
        self.apply_reports(now, me.id);
        self.oracle.remove_alive(me.id);
        self.recorder.alive_changed(now, self.oracle.alive_count() as u64);
        self.recorder.departed(now, peer, kind);
        if self.embedded {
            self.notices.push(Notice::Departed(peer, kind));
        }
    }

    /// Keeps a network that churns at no fewer than r + 1 members, the least a successor list
    /// of length r can keep connected.
    fn can_lose_a_member(&self) -> bool {
        self.oracle.len() > self.cfg.overlay.successors as usize + 1
    }

    pub(super) fn churn_depart(&mut self, now: SimTime, peer: PeerIdx) {
        let ChurnModel::Sessions { arrivals, crash_fraction, .. } = self.cfg.churn.model else {
            return;
        };
        if !self.alive[peer.0 as usize] {
            return;
        }
        self.model_departure(now, peer, crash_fraction);
        if arrivals == Arrivals::Steady {
            self.churn_arrive_one(now);
        }
    }

    /// A churn model's departure of `peer`: a crash with probability `crash_fraction` (drawn
    /// whether or not it happens, so the churn stream never depends on the ring), skipped when
    /// the ring is down to r + 1 members.
    fn model_departure(&mut self, now: SimTime, peer: PeerIdx, crash_fraction: f64) {
        let crash = self.churn_rng.random::<f64>() < crash_fraction;
        if self.can_lose_a_member() {
            let kind = if crash { LeaveKind::Crash } else { LeaveKind::Leave };
            self.depart(now, peer, kind);
        } else {
            self.skipped_departures += 1;
        }
    }

    pub(super) fn churn_arrive(&mut self, now: SimTime) {
        let rate_per_ms = match self.cfg.churn.model {
            ChurnModel::Sessions { arrivals: Arrivals::Poisson { rate_per_ms }, .. } => {
                self.churn_arrive_one(now);
                rate_per_ms
            }
            ChurnModel::Poisson { join_rate_per_ms, .. } => {
                self.churn_spawn(now);
                join_rate_per_ms
            }
            _ => return,
        };
        let at = now + poisson_gap(rate_per_ms, &mut self.churn_rng);
        if at < self.cfg.churn.stop {
            self.engine.schedule_at(at, Event::Arrive);
        }
    }

    /// A new peer with a fresh ID joins through a random member; its session is drawn.
    fn churn_arrive_one(&mut self, now: SimTime) {
        let ChurnModel::Sessions { session, .. } = self.cfg.churn.model else { return };
        let Some(peer) = self.churn_spawn(now) else { return };
        let at = now + session.sample(&mut self.churn_rng);
        if at < self.cfg.churn.stop {
            self.engine.schedule_at(at, Event::Depart(peer));
        }
    }

    /// A new peer with a fresh ID joins through a random member (none when the ring is empty).
    fn churn_spawn(&mut self, now: SimTime) -> Option<PeerIdx> {
        if self.oracle.is_empty() {
            return None;
        }
        let via = self.well_known_peer();
        let id = self.fresh_id();
        Some(self.spawn(now, id, via))
    }

    /// The Poisson model's departure: a uniformly chosen live peer leaves or crashes.
    pub(super) fn poisson_depart(&mut self, now: SimTime) {
        let ChurnModel::Poisson { leave_rate_per_ms, crash_fraction, .. } = self.cfg.churn.model
        else {
            return;
        };
        if self.oracle.alive_count() > 0 {
            let (_, peer) = self.oracle.random_alive(&mut self.churn_rng);
            self.model_departure(now, peer, crash_fraction);
        }
        let at = now + poisson_gap(leave_rate_per_ms, &mut self.churn_rng);
        if at < self.cfg.churn.stop {
            self.engine.schedule_at(at, Event::PoissonDepart);
        }
    }

    /// Crashes the scenario's fraction of the physical peers that have members on the ring,
    /// chosen uniformly from the churn stream, all at this instant; at least one survives.
    pub(super) fn mass_failure(&mut self, now: SimTime) {
        let Some(m) = self.cfg.churn.mass_failure else { return };
        let mut live_hosts: Vec<u32> =
            self.oracle.members().map(|(_, idx)| self.hosts[idx.0 as usize]).collect();
        live_hosts.sort_unstable();
        live_hosts.dedup();
        let n = live_hosts.len();
        let k = ((m.fraction * n as f64).round() as usize).min(n.saturating_sub(1));
        for i in 0..k {
            let j = self.churn_rng.random_range(i as u64..n as u64) as usize;
            live_hosts.swap(i, j);
        }
        let doomed: BTreeSet<u32> = live_hosts[..k].iter().copied().collect();
        for i in 0..self.peers.len() {
            if self.alive[i] && doomed.contains(&self.hosts[i]) {
                self.depart(now, PeerIdx(i as u32), LeaveKind::Crash);
            }
        }
    }

    /// The well-known peer a churn joiner contacts: a live peer drawn uniformly from the churn
    /// stream (a draw that does not depend on routing); if that one is still joining, the first
    /// member clockwise from it.
    fn well_known_peer(&mut self) -> PeerIdx {
        let (id, idx) = self.oracle.random_alive(&mut self.churn_rng);
        if self.oracle.find(id).is_some() { idx } else { self.oracle.owner(id).1 }
    }

    /// An ID no live peer has, from the IDs stream.
    fn fresh_id(&mut self) -> RingId {
        assert!(
            (self.oracle.alive_count() as u128) < self.cfg.space.size(),
            "the ID space is full"
        );
        loop {
            let id = self.cfg.space.wrap(self.id_rng.random::<u64>());
            if !self.oracle.is_alive_id(id) {
                return id;
            }
        }
    }

    pub(super) fn trace(&mut self, now: SimTime, i: usize) {
        let ChurnModel::Trace(events) = &self.cfg.churn.model else { return };
        let ev = events[i];
        match ev.kind {
            TraceKind::Join => {
                if self.oracle.is_alive_id(ev.peer) || self.oracle.is_empty() {
                    self.warnings.push(format!(
                        "{now}: trace join of {} skipped (ID in use or empty ring)",
                        ev.peer
                    ));
                    return;
                }
                let via = self.well_known_peer();
                self.spawn(now, ev.peer, via);
            }
            TraceKind::Leave | TraceKind::Crash => {
                let kind = if ev.kind == TraceKind::Leave {
                    Action::Leave { peer: ev.peer }
                } else {
                    Action::Crash { peer: ev.peer }
                };
                self.scripted(now, kind);
            }
        }
    }
}

//! The network at time zero: the peer IDs (IDs stream), the physical peers behind virtual
//! nodes, the protocol's initial state, the files placed at their owners, and the first events
//! (timers, scripted events, churn, workload, samples, snapshots).

use super::peers::PeerTable;
use super::recorder::Recorder;
use super::{Event, Simulation};
use crate::config::{Bootstrap, Config, ConfigError, Population, ProtocolKind};
use crate::engine::Engine;
use crate::metrics::PeerRecord;
use crate::network::Network;
use crate::oracle::Oracle;
use crate::protocol::{PeerIdx, Protocol, Start};
use crate::ring::{IdSpace, RingId};
use crate::rng::{Purpose, Rng, stream};
use crate::time::{SimDuration, SimTime};
use crate::workload::Workload;
use rand::RngExt;
use std::collections::VecDeque;

/// `n` distinct IDs drawn uniformly from `space`, in increasing order. `n <= 2^m`.
pub fn draw_ids(space: IdSpace, n: u64, rng: &mut Rng) -> Vec<RingId> {
    assert!(n as u128 <= space.size(), "{n} peers do not fit {} bits", space.bits());
    if n as u128 * 2 >= space.size() {
        // Dense: a partial Fisher-Yates shuffle of the whole (small) space.
        let size = space.size() as u64;
        let mut all: Vec<u64> = (0..size).collect();
        for i in 0..n {
            let j = rng.random_range(i..size);
            all.swap(i as usize, j as usize);
        }
        all.truncate(n as usize);
        all.sort_unstable();
        return all.into_iter().map(RingId).collect();
    }
    // Sparse: draw, sort, drop duplicates, draw again for the missing ones.
    let mut ids: Vec<RingId> = Vec::with_capacity(n as usize);
    while (ids.len() as u64) < n {
        for _ in ids.len() as u64..n {
            ids.push(space.wrap(rng.random::<u64>()));
        }
        ids.sort_unstable();
        ids.dedup();
    }
    ids
}

/// Whether nothing in a run of `cfg` reaches every peer before its messages do: no maintenance
/// timers, no periodic lookups per peer, no ring-health samples or checks, no snapshots, no
/// scripted schedule, no clients, no proximity selection. Its bootstrap peers can then be built on first touch (`super::peers`), for
/// any protocol that can build one alone.
pub(crate) fn builds_on_touch(cfg: &Config) -> bool {
    cfg.overlay.maintenance.is_none()
        && cfg.workload.per_peer_interval.is_none()
        && cfg.sample.is_none()
        && cfg.snapshots.is_empty()
        && !cfg.check_every_event
        && !cfg.stop_on_violation
        && cfg.schedule.is_empty()
        && cfg.bootstrap == Bootstrap::Ring
        && !cfg.has_clients()
        && cfg.overlay.proximity <= 1
}

/// The rules of a run of `cfg` that depend on its seed, beyond [`Config::validate`]: with clients
/// (`overlay.client_mode`), at least one of its peers must have a reachable host, or no peer
/// would serve (`network.unreachable`).
pub fn check_seed(cfg: &Config, seed: u64) -> Result<(), ConfigError> {
    if !cfg.has_clients() {
        return Ok(());
    }
    let mut network = Network::new(cfg.network.latency.clone(), seed, Purpose::Network)
        .with_unreachable(cfg.network.unreachable, seed);
    let hosts = cfg.population.len();
    if (0..hosts).any(|h| !network.is_unreachable(h as u32)) {
        return Ok(());
    }
    let msg = format!(
        "with seed {seed}, all {hosts} peers drew an unreachable host, so in client mode none \
         would serve: lower the share or add peers"
    );
    Err(ConfigError::new("network.unreachable", msg))
}

/// Shuffles `v` uniformly (Fisher-Yates, from the end) with draws from `rng`.
fn shuffle<T>(v: &mut [T], rng: &mut Rng) {
    for i in (1..v.len()).rev() {
        let j = rng.random_range(0..=i as u64) as usize;
        v.swap(i, j);
    }
}

impl<'c, P: Protocol> Simulation<'c, P> {
    /// Bootstraps the network of `cfg` for the run seeded with `seed`: draws the peer IDs, gives
    /// every peer the state of a converged network (or starts the joins that form it), places
    /// the workload's files, and schedules the scripted events, churn, samples and the first
    /// generated lookup. Fails, naming the key, when `cfg` breaks a rule of
    /// [`Config::validate`].
    pub fn new(cfg: &'c Config, seed: u64) -> Result<Self, ConfigError> {
        cfg.validate()?;
        check_seed(cfg, seed)?;
        let space = cfg.space;
        let mut id_rng = stream(seed, Purpose::PeerIds);
        let v = cfg.overlay.virtual_nodes.max(1) as u64;
        let mut ids = match &cfg.population {
            Population::Random(n) => draw_ids(space, *n * v, &mut id_rng),
            Population::Explicit(ids) => {
                let mut ids = ids.clone();
                ids.sort_unstable();
                ids
            }
        };
        let forming = cfg.bootstrap == Bootstrap::Joins;
        if forming {
            // Peers come in a random order (peer i is the i-th to start): the first alone forms
            // the ring, each later one joins through one before it (and has one node).
            shuffle(&mut ids, &mut id_rng);
        }
        // Node i (in ID order) runs on physical peer hosts[i]: with virtual nodes, each peer's
        // v nodes are spread at random (a shuffle from the IDs stream).
        let mut hosts: Vec<u32> = (0..ids.len() as u64).map(|i| (i / v) as u32).collect();
        if v > 1 {
            shuffle(&mut hosts, &mut id_rng);
        }
        let next_host = (ids.len() as u64).div_ceil(v) as u32;
        let n = ids.len();
        let mut network = Network::new(cfg.network.latency.clone(), seed, Purpose::Network)
            .with_loss(cfg.network.loss)
            .with_unreachable(cfg.network.unreachable, seed)
            .with_links(&cfg.network.links, seed);
        // Node i runs in client mode when its host is unreachable (and the switch is on).
        let clients: Vec<bool> = match cfg.has_clients() {
            true => hosts.iter().map(|&h| network.is_unreachable(h)).collect(),
            false => Vec::new(),
        };
        let mut params = P::params(cfg, n);
        // A static ring's IDs, shared by the peer table and the protocol, or `None`.
        let ring: Option<std::sync::Arc<[RingId]>> =
            (!forming && builds_on_touch(cfg)).then(|| ids.as_slice().into());
        let ring = ring.filter(|ring| P::share_ring(&mut params, ring));
        if cfg.overlay.kademlia.proximity_routing && cfg.overlay.protocol == ProtocolKind::Kademlia
        {
            let round_trips = network.round_trips(&hosts).expect("validated: a topology");
            P::share_round_trips(&mut params, std::sync::Arc::new(round_trips));
        }
        let peer_records = ids
            .iter()
            .zip(&hosts)
            .enumerate()
            .map(|(i, (&id, &host))| PeerRecord {
                id,
                join: (!forming || i == 0).then_some(SimTime::ZERO),
                leave: None,
                join_hops: None,
                join_path: Vec::new(),
                host,
                keys: None,
            })
            .collect();
        let all: Vec<(RingId, PeerIdx)> =
            ids.iter().enumerate().map(|(i, &id)| (id, PeerIdx(i as u32))).collect();
        let peers = if let Some(ring) = ring {
            PeerTable::lazy(ring)
        } else {
            let mut round_trip = |i: usize, j: usize| {
                network.round_trip(hosts[i], hosts[j]).expect("proximity needs the plane").as_ms()
            };
            let start = Start {
                forming,
                clients: &clients,
                round_trip: (cfg.overlay.proximity > 1)
                    .then_some(&mut round_trip as &mut dyn FnMut(usize, usize) -> u64),
            };
            PeerTable::dense(P::bootstrap(&params, &ids, start))
        };
        let members = if forming { 1 } else { n };
        let mut oracle = if forming {
            Oracle::forming(all, vec![(peers.me(PeerIdx(0)).id, PeerIdx(0))])
        } else if !clients.is_empty() {
            // Clients are alive but own nothing: the ring is that of the other peers.
            let servers = all.iter().filter(|(_, i)| !clients[i.0 as usize]).copied().collect();
            Oracle::forming(all, servers)
        } else {
            Oracle::new(all)
        };
        if cfg.overlay.protocol == ProtocolKind::Kademlia {
            oracle = oracle.with_xor_ownership(space.bits());
        }
        let workload = Workload::new(
            cfg.workload.clone(),
            space,
            cfg.warmup,
            cfg.duration,
            stream(seed, Purpose::Workload),
        );
        let mut sim = Simulation {
            cfg,
            seed,
            params,
            engine: Engine::new(),
            alive: vec![true; n],
            peers,
            hosts,
            next_host,
            oracle,
            network,
            workload,
            id_rng,
            churn_rng: stream(seed, Purpose::Churn),
            timer_rng: stream(seed, Purpose::Maintenance),
            out: Vec::new(),
            recorder: Recorder::new(
                cfg.record_lookups,
                cfg.record_paths,
                cfg.workload.consistency_window,
                peer_records,
            ),
            recent: VecDeque::new(),
            tracing: cfg.stop_on_violation || cfg.check_every_event || !cfg.schedule.is_empty(),
            violated: Vec::new(),
            stopped: None,
            warnings: Vec::new(),
            snapshots: Vec::new(),
            skipped_departures: 0,
            lookups_not_made: 0,
            embedded: false,
            notices: Vec::new(),
        };
        sim.recorder.alive_changed(SimTime::ZERO, n as u64);
        sim.publish_files();
        // Stagger the first firing of every timer uniformly over its period.
        let timers = P::timers(&sim.params);
        if !timers.is_empty() {
            for i in 0..members {
                let idx = PeerIdx(i as u32);
                for &(timer, period) in &timers {
                    let phase = SimDuration(sim.timer_rng.random_range(0..period.as_ms().max(1)));
                    sim.engine
                        .schedule_at(SimTime::ZERO + phase, Event::Timer { peer: idx, timer });
                }
            }
        }
        for i in 0..members {
            sim.schedule_peer_lookups(SimTime::ZERO, PeerIdx(i as u32));
        }
        if forming {
            for k in 1..n {
                let via = PeerIdx(sim.id_rng.random_range(0..k as u64) as u32);
                sim.start_join(SimTime::ZERO, PeerIdx(k as u32), via);
            }
        }
        for (i, ev) in cfg.events.iter().enumerate() {
            sim.engine.schedule_at(ev.at, Event::Scripted(i));
        }
        sim.schedule_churn(n);
        if sim.workload.lookups() > 0 {
            sim.engine.schedule_at(sim.workload.start_time(0), Event::WorkloadLookup(0));
        }
        if let Some(dt) = cfg.sample {
            sim.engine.schedule_at(SimTime::ZERO + dt, Event::Sample);
        }
        for &t in &cfg.snapshots {
            sim.engine.schedule_at(t, Event::Snapshot);
        }
        Ok(sim)
    }

    /// Places every file's entry where a converged network keeps it: at the `replication`
    /// members closest to the key (fewer when the network is smaller), that is Chord's owner and
    /// the members after it clockwise, or Kademlia's closest by XOR.
    pub(super) fn publish_files(&mut self) {
        let copies = self.cfg.overlay.replication.max(1) as usize;
        for (key, holder) in self.workload.file_holders(&self.oracle) {
            for (_, at) in self.oracle.closest(key, copies) {
                self.peers.get_mut(&self.params, at).store_mut().insert(key, holder);
            }
            self.oracle.note_stored(key);
        }
    }
}

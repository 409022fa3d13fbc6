//! How much work a run will be, estimated from its configuration before it starts: the events
//! it will process, by source, and the seconds of one core they take, so that a user can size a
//! batch job (`dhtsim check --runs`, docs/cluster.md).
//!
//! Events are counted from first principles, each source from the rules of the model: a lookup
//! is one event to start and one per message (a recursive lookup sends one per hop and an answer,
//! an iterative one a request and an answer per hop), a timer firing is one event, a swarm piece
//! costs its transfer, its `have` and the interest and choke messages it causes. Hop counts come
//! from the analytic means of a correct ring (SPEC §2): a ring that is not correct (a flash
//! crowd before stabilization has joined it) takes more, and the estimate says less than the
//! run does. Time is events at a rate that falls as the working set leaves the caches, plus the
//! building of the peers' tables, with constants measured on the reference machine
//! (docs/bench/runs.csv). docs/cluster.md compares the estimate with every committed result.

use crate::churn::ChurnModel;
use crate::config::{Config, KeyDist, LookupStyle, ProtocolKind};
use crate::footprint::{self, departures, joiners, lookups_started};

/// Events of a run, by source.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Events {
    /// Lookups of the workload and of scripted events: their start and their messages.
    pub lookups: f64,
    /// Periodic maintenance: timer firings and the messages they send.
    pub maintenance: f64,
    /// Arrivals and departures, and the joiners' own lookups.
    pub membership: f64,
    /// The swarm's exchange, its tracker and its DHT announces.
    pub swarm: f64,
    /// Time-series samples and snapshots.
    pub sampling: f64,
}

impl Events {
    /// Every event together.
    pub fn total(&self) -> f64 {
        self.lookups + self.maintenance + self.membership + self.swarm + self.sampling
    }
}

/// What a run is estimated to cost.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cost {
    /// Events, by source.
    pub events: Events,
    /// Seconds of one core.
    pub seconds: f64,
}

/// Mean messages of one Chord lookup on a correct ring: hops from [`footprint::mean_hops`],
/// learned shortcuts dividing a plain ring's distance among the cache's entries.
fn chord_messages(cfg: &Config) -> f64 {
    let live = footprint::initial_nodes(cfg).max(1.0);
    let cache = cfg.overlay.cache_size as f64;
    let hops = if !cfg.overlay.fingers && !cfg.overlay.route_via_successors && cache > 0.0 {
        live / (cache + 1.0) + 1.0
    } else {
        footprint::mean_hops(cfg)
    };
    match cfg.overlay.lookup {
        LookupStyle::Recursive => hops + 1.0,
        LookupStyle::Iterative => 2.0 * hops,
    }
}

/// Mean messages of one Kademlia lookup: about k queries to fill the shortlist and log2 N more
/// on the way (measured 27 to 126 per lookup in kademlia-path-length), each answered. A lookup
/// of a stored key in a static network ends at the first value, once it reaches the
/// `replication` peers that hold it: about ½·log2(N / replication) rounds of alpha queries
/// (measured 5.0 to 22 per lookup in kademlia-proximity). Under churn many lookups meet lost
/// values and timeouts, and the whole lookup is the better guess (lossy-links).
fn kademlia_messages(cfg: &Config) -> f64 {
    let live = footprint::initial_nodes(cfg).max(2.0);
    let k = cfg.overlay.kademlia.k.max(1) as f64;
    let whole = 2.0 * (1.5 * k + 1.5 * live.log2()).min(live - 1.0);
    let stored = matches!(cfg.workload.keys, KeyDist::Stored | KeyDist::Zipf { .. });
    if !stored || !matches!(cfg.churn.model, ChurnModel::None) {
        return whole;
    }
    let holders = cfg.overlay.replication.max(1) as f64;
    let rounds = (live / holders).max(2.0).log2() / 2.0;
    (2.0 * cfg.overlay.kademlia.alpha.max(1) as f64 * rounds).min(whole)
}

/// Mean messages of one lookup of the run's protocol.
fn lookup_messages(cfg: &Config) -> f64 {
    match cfg.overlay.protocol {
        ProtocolKind::Chord => chord_messages(cfg),
        ProtocolKind::Kademlia => kademlia_messages(cfg),
    }
}

/// Events of the periodic maintenance of `live` ring nodes over `ms` of virtual time.
fn maintenance(cfg: &Config, live: f64, ms: f64) -> f64 {
    let lookup = lookup_messages(cfg);
    let Some(m) = cfg.overlay.maintenance else { return 0.0 };
    match cfg.overlay.protocol {
        ProtocolKind::Kademlia => {
            // A refresh looks up one ID in each bucket that was not used since the last one:
            // about log2(N / k) + 1 buckets hold contacts.
            let k = cfg.overlay.kademlia.k.max(1) as f64;
            let buckets = (live / k).max(1.0).log2() + 1.0;
            let refresh = cfg.overlay.kademlia.refresh.as_ms().max(1) as f64;
            live * ms / refresh * buckets * (1.0 + lookup)
        }
        ProtocolKind::Chord => {
            let rounds = |period: crate::time::SimDuration| ms / period.as_ms().max(1) as f64;
            // Stabilization: the timer, the question to the successor, its answer, the notify
            // and (measured) a ping for a third of the rounds. The predecessor check: the
            // timer, a ping and its answer.
            let stabilize = rounds(m.stabilize) * 4.3;
            let check = rounds(m.check_predecessor) * 3.0;
            let fingers = if cfg.overlay.fingers {
                // A finger whose target lies within the successor list is set without a
                // message; of `bits` fingers about log2(N / r) reach farther.
                let bits = cfg.space.bits() as f64;
                let r = cfg.overlay.successors.max(1) as f64;
                let far = ((live / r).max(1.0).log2() / bits).min(1.0);
                let per_round = if cfg.overlay.fix_all_fingers { bits } else { 1.0 };
                rounds(m.fix_finger) * per_round * (1.0 + far * lookup)
            } else {
                0.0
            };
            live * (stabilize + check + fingers)
        }
    }
}

/// Seeders, leechers and the events of the swarm's exchange.
fn swarm(cfg: &Config) -> f64 {
    let Some(s) = &cfg.swarm else { return 0.0 };
    let arriving = s.arrivals_per_s
        * (s.arrivals_until.as_ms().min(cfg.duration.as_ms()) as f64 / 1000.0).max(0.0);
    let leechers = s.flash_crowd as f64 + arriving;
    let pieces = s.pieces as f64;
    // Neighbours a peer exchanges with: the swarm there is at once, up to the 1.5 × max_peers
    // connections a peer ends up with (it opens max_peers and accepts twice that). A flash
    // crowd is all there at once; of Poisson arrivals, as many as arrive while one downloads
    // (at its upload capacity, as an upload-bound swarm does) and seeds.
    let most = 1.5 * s.max_peers as f64;
    let up = {
        let weights: f64 = s.classes.iter().map(|c| c.weight as f64).sum();
        let sum: f64 = s.classes.iter().map(|c| c.weight as f64 * c.up_kbps as f64).sum();
        if weights > 0.0 { sum / weights } else { 1000.0 }
    };
    let download_s = pieces * s.piece_bits() as f64 / 1000.0 / up;
    let seeding_s = s.seed_time.map_or(cfg.duration.as_ms(), |t| t.as_ms()) as f64 / 1000.0;
    let together = s.arrivals_per_s * (download_s + seeding_s);
    let neighbours = |there: f64| (there + s.seeders as f64 - 1.0).clamp(1.0, most);
    let (crowd, steady) = (neighbours(s.flash_crowd as f64), neighbours(together));
    // Per piece: the request, the transfer's start and end, and the `have`. Per neighbour:
    // the handshake, and the interest and chokes of the rechoke rounds. In a flash crowd, where
    // every peer holds about the same pieces, interest in a neighbour also comes and goes with
    // each piece (measured: 16 events per piece in bench-swarm's 10^4 × 1,000 with about 60
    // neighbours; 2,000 to 2,500 per leecher in swarm-fluid, whatever the piece size).
    let exchange = s.flash_crowd as f64 * (4.0 * pieces + 0.2 * crowd * pieces + 15.0 * crowd)
        + arriving * (4.0 * pieces + 15.0 * steady);
    // Announces: to the tracker, or a DHT lookup and a store.
    let announces = (leechers + s.seeders as f64)
        * (cfg.duration.as_ms() as f64 / s.announce.as_ms().max(1) as f64).max(1.0);
    let per_announce = match s.discovery {
        crate::swarm::Discovery::Tracker => 2.0,
        _ => 2.0 * (1.0 + lookup_messages(cfg)),
    };
    exchange + announces * per_announce
}

/// The run's events, by source.
pub fn events(cfg: &Config) -> Events {
    let live = footprint::initial_nodes(cfg);
    let ms = cfg.duration.as_ms() as f64;
    let lookup = lookup_messages(cfg);
    // After a mass failure, a hop meets a crashed peer with the failed share's probability,
    // and each such meeting costs a timeout and a retry.
    let failed = cfg.churn.mass_failure.map_or(0.0, |m| m.fraction.min(0.9));
    let lookups = lookups_started(cfg) * (1.0 + lookup / (1.0 - failed));
    let churn = !matches!(cfg.churn.model, ChurnModel::None);
    // A joiner looks up its own ID (Kademlia: and refreshes its buckets, about log2 N more
    // lookups' worth) and takes its successor's list; a departure is one event, and a crash
    // one timeout for each peer that asks it something before it is replaced.
    let per_join = match cfg.overlay.protocol {
        ProtocolKind::Chord => 3.0 + lookup,
        ProtocolKind::Kademlia => 1.0 + lookup * (live.max(2.0).log2() / 2.0),
    };
    let membership = joiners(cfg) * per_join + departures(cfg) * 2.0;
    // Joiners replace departures under churn: the ring stays about its initial size.
    let maintained = if churn { live } else { live.max(1.0) };
    let maintenance = maintenance(cfg, maintained, ms);
    let sampling = cfg.sample.map_or(0.0, |every| ms / every.as_ms().max(1) as f64)
        + cfg.snapshots.len() as f64;
    Events { lookups, maintenance, membership, swarm: swarm(cfg), sampling }
}

/// Events per second of one core when the run's working set is `bytes`: 4.5 million while it
/// fits the caches, falling by 0.7 of that per tenfold beyond 16 MB (measured: 4.4 M at 21 MB,
/// 2.1 to 2.8 M at 160 to 320 MB, 1.6 M at 1.7 GB; docs/bench/runs.csv).
fn rate(bytes: f64) -> f64 {
    let beyond = (bytes / 16e6).max(1.0).log10();
    4.5e6 / (1.0 + 0.7 * beyond)
}

/// What one run of `cfg` is estimated to cost.
pub fn estimate(cfg: &Config) -> Cost {
    let events = events(cfg);
    let working = footprint::estimate(cfg).working() as f64;
    let live = footprint::initial_nodes(cfg);
    // A Kademlia event handles a shortlist or a bucket (measured at half Chord's rate), a
    // swarm event a connection's bitfield and rarest-first counts (a quarter of it).
    let weight = match cfg.overlay.protocol {
        ProtocolKind::Chord => 1.0,
        ProtocolKind::Kademlia => 2.0,
    };
    let weighted = (events.total() - events.swarm) * weight + events.swarm * 4.0;
    // Building the peers' tables: about 3 µs per ring node with fingers or a Kademlia table;
    // built on first touch, none, but drawing, sorting and recording every ID took 0.7 µs per
    // node (7.7 s at 10^7 peers, 70 s at 10^8: docs/performance.md). A ring-health sample
    // visits every peer.
    let tables = if footprint::built_on_touch(cfg).is_some() {
        0.7e-6 * live
    } else if cfg.overlay.fingers || cfg.overlay.protocol == ProtocolKind::Kademlia {
        3e-6 * live * if weight > 1.0 { 4.0 } else { 1.0 }
    } else {
        0.3e-6 * live
    };
    let samples = events.sampling * live * 0.1e-6;
    Cost { events, seconds: weighted / rate(working) + tables + samples }
}

/// A coarse class for a duration of one core, for sizing a batch job's time limit.
pub fn time_class(seconds: f64) -> &'static str {
    match seconds {
        s if s < 1.0 => "under a second",
        s if s < 60.0 => "seconds",
        s if s < 3600.0 => "minutes",
        s if s < 86_400.0 => "hours",
        _ => "days",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::defaults::MAINTENANCE;
    use crate::time::SimTime;

    /// Estimated over simulated events of `cfg` (seed 1).
    fn ratio(cfg: &Config) -> f64 {
        let run = crate::sim::run(cfg, 1).expect("valid config");
        events(cfg).total() / run.events as f64
    }

    #[test]
    fn a_static_rings_events_are_its_lookups_messages() {
        // Successors only: (N - 1) / 2 hops; fingers: ½·log2 N + 1 (SPEC §2).
        for (fingers, style) in [
            (false, LookupStyle::Recursive),
            (true, LookupStyle::Recursive),
            (true, LookupStyle::Iterative),
        ] {
            let cfg = Config::builder(512).lookups(2000).fingers(fingers).lookup(style).build();
            let r = ratio(&cfg.unwrap());
            assert!((0.85..1.2).contains(&r), "fingers {fingers} {style:?}: {r}");
        }
    }

    #[test]
    fn kademlia_and_maintenance_within_a_factor_of_one_and_a_half() {
        let kademlia = Config::builder(1024).lookups(2000).kademlia(8, 3).build().unwrap();
        let chord = Config::builder(300)
            .lookups(500)
            .fingers(true)
            .maintenance(MAINTENANCE)
            .duration(SimTime(1_200_000))
            .build()
            .unwrap();
        for (name, cfg) in [("kademlia", kademlia), ("chord maintained", chord)] {
            let r = ratio(&cfg);
            assert!((0.66..1.5).contains(&r), "{name}: {r}");
        }
    }

    #[test]
    fn more_work_takes_longer_and_classes_follow_the_clock() {
        let small = estimate(&Config::static_ring(1000, 1000));
        let big = estimate(&Config::static_ring(1000, 100_000));
        let bigger = estimate(&Config::static_ring(100_000, 100_000));
        assert!(small.seconds < big.seconds && big.seconds < bigger.seconds);
        assert_eq!(time_class(0.5), "under a second");
        assert_eq!(time_class(59.0), "seconds");
        assert_eq!(time_class(60.0), "minutes");
        assert_eq!(time_class(3600.0), "hours");
        assert_eq!(time_class(1e6), "days");
    }
}

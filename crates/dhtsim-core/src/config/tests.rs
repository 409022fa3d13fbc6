//! Each rule of `Config::validate`, the builder and the defaults.

use super::*;
use crate::churn::{Arrivals, ChurnModel, MassFailure, SessionDist, TraceEvent, TraceKind};

fn base() -> Config {
    Config::builder(10).build().expect("the defaults are valid")
}

fn ids(list: &[u64]) -> Population {
    Population::Explicit(list.iter().map(|&i| RingId(i)).collect())
}

fn sessions(session: SessionDist, arrivals: Arrivals, crash_fraction: f64) -> ChurnConfig {
    ChurnConfig {
        model: ChurnModel::Sessions { session, arrivals, crash_fraction },
        start: SimTime::ZERO,
        stop: defaults::DURATION,
        mass_failure: None,
    }
}

fn event(at: u64, action: Action) -> ScriptedEvent {
    ScriptedEvent { at: SimTime(at), action }
}

#[test]
fn the_defaults_and_the_static_ring_are_valid() {
    assert_eq!(base().validate(), Ok(()));
    for peers in [1, 2, 1000] {
        assert_eq!(Config::static_ring(peers, 100).validate(), Ok(()), "{peers} peers");
    }
    assert_eq!(Config::builder(1000).lookups(7).build(), Ok(Config::static_ring(1000, 7)));
    let mut maintained = base();
    maintained.overlay.maintenance = Some(defaults::MAINTENANCE);
    assert_eq!(maintained.validate(), Ok(()));
}

#[test]
fn the_builder_validates_what_it_builds() {
    let err = Config::builder(0).build().unwrap_err();
    assert_eq!((err.key.as_str(), err.element), ("population.peers", None));
    let cfg = Config::builder(20)
        .name("joined")
        .bootstrap(Bootstrap::Joins)
        .maintenance(defaults::MAINTENANCE)
        .fingers(true)
        .keys(KeyDist::OwnFingers)
        .per_peer_interval(SimDuration(1000))
        .build()
        .expect("valid");
    assert_eq!((cfg.name.as_str(), cfg.workload.lookups), ("joined", 0));
}

/// Each rule: a valid configuration changed to break it, the key named and words of the
/// message.
#[test]
fn each_rule_rejects_what_breaks_it_and_names_its_key() {
    type Break = fn(&mut Config);
    let cases: Vec<(Break, &str, Option<usize>, &str)> = vec![
        (|c| c.warmup = c.duration, "warmup_s", None, "less than duration_s (600), got 600"),
        (|c| c.population = Population::Random(0), "population.peers", None, "at least 1"),
        (|c| c.population = ids(&[]), "population.ids", None, "at least one peer ID"),
        (
            |c| {
                c.space = IdSpace::new(2).unwrap();
                c.population = Population::Random(5);
            },
            "population.peers",
            None,
            "5 peers do not fit: at most 4 distinct IDs with id_bits = 2",
        ),
        (
            |c| {
                c.space = IdSpace::new(64).unwrap();
                c.population = Population::Random(1 << 32);
            },
            "population.peers",
            None,
            "at most 4294967295 distinct IDs",
        ),
        (
            |c| {
                c.space = IdSpace::new(6).unwrap();
                c.population = ids(&[1, 64]);
            },
            "population.ids",
            Some(1),
            "64 is out of range: expected 0 to 63",
        ),
        (|c| c.population = ids(&[7, 3, 7, 3]), "population.ids", Some(3), "duplicate peer ID 3"),
        (
            |c| {
                c.population = ids(&[1, 2, 3]);
                c.bootstrap = Bootstrap::Joins;
                c.overlay.maintenance = Some(defaults::MAINTENANCE);
            },
            "population.bootstrap",
            None,
            "use `peers`, not `ids`",
        ),
        (
            |c| {
                let (min, max) = (SimDuration(80), SimDuration(20));
                c.network.latency = Latency::Uniform { min, max };
            },
            "network.latency_max_ms",
            None,
            "at least latency_min_ms (80), got 20",
        ),
        (
            |c| c.workload.per_peer_interval = Some(SimDuration::ZERO),
            "workload.per_peer_interval_s",
            None,
            "positive",
        ),
        (
            |c| {
                c.workload.per_peer_interval = Some(SimDuration(10));
                c.workload.lookups = 5;
            },
            "workload.lookups",
            None,
            "must be 0",
        ),
        (|c| c.workload.keys = KeyDist::Stored, "workload.keys", None, "\"stored\" draws keys"),
        (
            |c| c.workload.keys = KeyDist::Zipf { exponent: 1.0 },
            "workload.keys",
            None,
            "set `workload.files` to 1 or more",
        ),
        (
            |c| {
                c.workload.files = 3;
                c.workload.keys = KeyDist::Zipf { exponent: -0.5 };
            },
            "workload.zipf_exponent",
            None,
            "at least 0, got -0.5",
        ),
        (
            |c| {
                c.population = ids(&[1, 2]);
                let action = Action::Crash { peer: RingId(2) };
                c.events = vec![event(0, action), event(600_000, action)];
            },
            "events[1].at_ms",
            None,
            "600000 is not before the end of the run (duration_s = 600000 ms)",
        ),
        (
            |c| {
                c.space = IdSpace::new(6).unwrap();
                c.population = ids(&[1, 2]);
                let action = Action::Join { peer: RingId(64), via: RingId(1) };
                c.events = vec![event(0, action)];
            },
            "events[0].peer",
            None,
            "expected 0 to 63",
        ),
        (
            |c| {
                let session = SessionDist::Exponential { mean_ms: 0.0 };
                c.churn = sessions(session, Arrivals::Steady, 0.5);
            },
            "churn.session_mean_s",
            None,
            "positive",
        ),
        (
            |c| {
                let session = SessionDist::Pareto { mean_ms: 1e6, shape: 1.0 };
                c.churn = sessions(session, Arrivals::Steady, 0.5);
            },
            "churn.shape",
            None,
            "greater than 1",
        ),
        (
            |c| {
                let session = SessionDist::Weibull { mean_ms: 1e6, shape: 0.0 };
                c.churn = sessions(session, Arrivals::Steady, 0.5);
            },
            "churn.shape",
            None,
            "positive",
        ),
        (
            |c| {
                let session = SessionDist::Exponential { mean_ms: 1e6 };
                let arrivals = Arrivals::Poisson { rate_per_ms: f64::NAN };
                c.churn = sessions(session, arrivals, 0.5);
            },
            "churn.arrival_rate_per_s",
            None,
            "positive",
        ),
        (
            |c| {
                let session = SessionDist::Exponential { mean_ms: 1e6 };
                c.churn = sessions(session, Arrivals::Steady, 1.5);
            },
            "churn.crash_fraction",
            None,
            "between 0 and 1",
        ),
        (
            |c| {
                c.churn.model = ChurnModel::Poisson {
                    join_rate_per_ms: 0.0,
                    leave_rate_per_ms: 0.001,
                    crash_fraction: 0.5,
                };
            },
            "churn.rate_per_s",
            None,
            "positive",
        ),
        (
            |c| c.churn.mass_failure = Some(MassFailure { at: SimTime(10), fraction: 1.0 }),
            "churn.fail_fraction",
            None,
            "less than 1",
        ),
        (
            |c| c.churn.mass_failure = Some(MassFailure { at: c.duration, fraction: 0.5 }),
            "churn.fail_at_s",
            None,
            "must be before duration_s (600 s)",
        ),
        (
            |c| {
                let row = |at, peer| TraceEvent {
                    at: SimTime(at),
                    kind: TraceKind::Join,
                    peer: RingId(peer),
                };
                c.churn.model = ChurnModel::Trace(vec![row(5, 1), row(600_000, 2)]);
            },
            "churn.trace",
            Some(1),
            "at_ms 600000 is not before the end of the run",
        ),
        (
            |c| {
                c.space = IdSpace::new(4).unwrap();
                let peer = RingId(16);
                let row = TraceEvent { at: SimTime(5), kind: TraceKind::Join, peer };
                c.churn.model = ChurnModel::Trace(vec![row]);
            },
            "churn.trace",
            Some(0),
            "peer: expected an ID in 0..2^4, found \"16\"",
        ),
        (|c| c.overlay.successors = 0, "overlay.successors", None, "at least 1"),
        (|c| c.overlay.replication = 0, "overlay.replication", None, "at least 1"),
        (
            |c| c.overlay.replication = 4,
            "overlay.replication",
            None,
            "at most successors + 1 = 3 (copies go to the successor list)",
        ),
        (
            |c| {
                let periods =
                    Maintenance { fix_finger: SimDuration::ZERO, ..defaults::MAINTENANCE };
                c.overlay.maintenance = Some(periods);
            },
            "overlay.fix_fingers_s",
            None,
            "positive",
        ),
        (|c| c.overlay.virtual_nodes = 0, "overlay.virtual_nodes", None, "at least 1"),
        (
            |c| c.workload.keys = KeyDist::OwnFingers,
            "workload.keys",
            None,
            "set `overlay.fingers = true`",
        ),
        (
            |c| c.bootstrap = Bootstrap::Joins,
            "overlay.maintenance",
            None,
            "a ring formed by joins needs maintenance",
        ),
        (
            |c| {
                c.bootstrap = Bootstrap::Joins;
                c.overlay.maintenance = Some(defaults::MAINTENANCE);
                c.overlay.virtual_nodes = 2;
            },
            "overlay.virtual_nodes",
            None,
            "not supported with `population.bootstrap = \"joins\"`",
        ),
        (
            |c| {
                c.bootstrap = Bootstrap::Joins;
                c.overlay.maintenance = Some(defaults::MAINTENANCE);
                c.overlay.client_mode = true;
                c.network.unreachable = 0.2;
            },
            "overlay.client_mode",
            None,
            "clients are not supported with `population.bootstrap = \"joins\"`",
        ),
        (
            |c| {
                c.population = ids(&[1, 2, 3]);
                c.overlay.virtual_nodes = 2;
            },
            "overlay.virtual_nodes",
            None,
            "need `population.peers`",
        ),
        (
            |c| {
                c.overlay.virtual_nodes = 2;
                let session = SessionDist::Exponential { mean_ms: 1e6 };
                c.churn = sessions(session, Arrivals::Steady, 0.5);
            },
            "overlay.virtual_nodes",
            None,
            "not supported with a churn model",
        ),
        (
            |c| {
                c.space = IdSpace::new(4).unwrap();
                c.overlay.virtual_nodes = 2;
            },
            "overlay.virtual_nodes",
            None,
            "10 peers × 2 virtual nodes do not fit in id_bits = 4",
        ),
        (|c| c.sample = Some(SimDuration::ZERO), "output.sample_s", None, "positive"),
    ];
    for (i, (break_it, key, element, needle)) in cases.into_iter().enumerate() {
        let mut cfg = base();
        break_it(&mut cfg);
        let err = cfg.validate().expect_err(&format!("case {i} ({key}) is refused"));
        assert_eq!((err.key.as_str(), err.element), (key, element), "case {i}: {err}");
        assert!(err.message.contains(needle), "case {i}: {err} lacks {needle:?}");
    }
}

#[test]
fn rules_that_hold_at_their_limits() {
    let mut cfg = base();
    cfg.space = IdSpace::new(4).unwrap();
    cfg.population = Population::Random(8);
    cfg.overlay.virtual_nodes = 2; // 16 nodes fill the space exactly
    cfg.overlay.replication = 3; // successors + 1
    cfg.warmup = SimTime(cfg.duration.as_ms() - 1);
    cfg.network.latency = Latency::Uniform { min: SimDuration(5), max: SimDuration(5) };
    cfg.events = vec![event(cfg.duration.as_ms() - 1, Action::Crash { peer: RingId(1) })];
    assert_eq!(cfg.validate(), Ok(()));
}

#[test]
fn an_error_names_its_key_and_element() {
    let e = ConfigError::new("population.ids", "duplicate peer ID 3").at_element(2);
    assert_eq!(e.to_string(), "key `population.ids` (element 2): duplicate peer ID 3");
    let e = ConfigError::new("warmup_s", "must be less than duration_s (10), got 10");
    assert_eq!(e.to_string(), "key `warmup_s`: must be less than duration_s (10), got 10");
}

#[test]
fn frozen_tables_need_iterative_lookups() {
    let mut cfg = Config::static_ring(10, 10);
    cfg.overlay.learn_from_timeouts = false;
    assert_eq!(cfg.validate().unwrap_err().key, "overlay.learn_from_timeouts");
    cfg.overlay.lookup = crate::config::LookupStyle::Iterative;
    assert!(cfg.validate().is_ok());
}

#[test]
fn one_law_for_timer_intervals() {
    let mut cfg = Config::static_ring(10, 10);
    cfg.overlay.timer_jitter = true;
    cfg.overlay.timer_exponential = true;
    assert_eq!(cfg.validate().unwrap_err().key, "overlay.timer_exponential");
}

#[test]
fn kademlia_refuses_chord_settings_and_bad_k_or_alpha() {
    let kad = || Config::builder(10).kademlia(4, 2);
    assert!(kad().build().is_ok());
    assert_eq!(kad().fingers(true).build().unwrap_err().key, "overlay.fingers");
    let mut cfg = kad().build().unwrap();
    cfg.overlay.kademlia.alpha = 5;
    assert_eq!(cfg.validate().unwrap_err().key, "overlay.alpha");
    cfg.overlay.kademlia.alpha = 0;
    assert_eq!(cfg.validate().unwrap_err().key, "overlay.alpha");
    cfg.overlay.kademlia.k = 0;
    assert_eq!(cfg.validate().unwrap_err().key, "overlay.k");
}

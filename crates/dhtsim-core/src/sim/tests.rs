//! Unit tests of whole small runs: bootstrap, joins, churn drivers, the recorder.

use super::*;
use crate::churn::ChurnModel;
use crate::churn::{ChurnConfig, MassFailure};
use crate::config::Action;
use crate::config::ScriptedEvent;
use crate::config::{Bootstrap, Population};
use crate::metrics::{LeaveKind, Outcome};
use crate::ring::IdSpace;

fn config(peers: u64, files: u64) -> Config {
    let mut cfg = Config::static_ring(peers, 0);
    cfg.duration = SimTime(1000);
    cfg.overlay.fingers = true;
    cfg.overlay.successors = 4;
    cfg.workload.files = files;
    cfg
}

/// `peers` peers with 24-bit IDs forming their ring by joins at time 0 (SimGrid's setup).
fn flash_crowd(peers: u64, duration_ms: u64) -> Config {
    let mut cfg = config(peers, 0);
    cfg.space = IdSpace::new(24).unwrap();
    cfg.bootstrap = Bootstrap::Joins;
    cfg.duration = SimTime(duration_ms);
    maintained(&mut cfg);
    cfg
}

fn maintained(cfg: &mut Config) {
    cfg.overlay.maintenance = Some(crate::protocol::Maintenance {
        stabilize: SimDuration(20_000),
        fix_finger: SimDuration(120_000),
        check_predecessor: SimDuration(120_000),
    });
}

#[test]
fn lookups_due_on_an_empty_ring_are_counted_in_a_warning() {
    // The reader refuses a script that empties the ring; the core still never drops a
    // lookup silently.
    let mut cfg = config(0, 0);
    cfg.population = Population::Explicit(vec![RingId(3), RingId(9)]);
    cfg.space = IdSpace::new(4).unwrap();
    cfg.workload.lookups = 10;
    cfg.events = [3, 9]
        .map(|id| ScriptedEvent { at: SimTime(1), action: Action::Crash { peer: RingId(id) } })
        .to_vec();
    let result = run(&cfg, 1).expect("valid");
    let st = &result.lookup_stats;
    let lookups = st.ok + st.not_found + st.wrong_owner + st.failed;
    let warned = result.warnings.iter().find(|w| w.contains("lookups were not made"));
    let said = warned.expect("a warning").split(' ').next().unwrap().parse::<u64>().unwrap();
    assert_eq!(lookups + said, 10, "{:?}", result.warnings);
    assert!(said > 0);
}

#[test]
fn a_ring_formed_by_joins_at_time_zero_becomes_the_true_ring() {
    let cfg = flash_crowd(40, 600_000);
    let mut sim = Simulation::<Peer>::new(&cfg, 4).expect("valid");
    sim.run_until(SimTime(599_000));
    let h = sim.health();
    assert_eq!(h.members, 40, "every peer joined");
    assert_eq!((h.succ_correct, h.pred_correct, h.sccs), (1.0, 1.0, 1));
    let result = sim.run();
    let first = result.peers.iter().filter(|p| p.join == Some(SimTime::ZERO)).count();
    assert_eq!(first, 1, "only the first peer starts on the ring");
    assert!(
        result
            .peers
            .iter()
            .all(|p| p.join.is_some() && p.join_hops.is_some() != (p.join == Some(SimTime::ZERO)))
    );
}

#[test]
fn reactive_stabilization_builds_a_flash_crowd_ring_within_a_minute() {
    let mut cfg = flash_crowd(200, 120_000);
    for (reactive, correct) in [(false, 0.0..0.5), (true, 1.0..1.01)] {
        cfg.overlay.reactive_stabilization = reactive;
        let mut sim = Simulation::<Peer>::new(&cfg, 5).expect("valid");
        sim.run_until(SimTime(60_000));
        let h = sim.health();
        assert_eq!(h.members, 200);
        assert!(correct.contains(&h.succ_correct), "reactive {reactive}: {h:?}");
    }
}

/// A maintained ring of 300 peers, and a newcomer just after its 101st peer that joins through
/// the first at 1 s.
fn one_join_into_a_maintained_ring() -> (Config, RingId) {
    let mut cfg = config(300, 0);
    cfg.duration = SimTime(30_000);
    maintained(&mut cfg);
    let base = run(&cfg, 1).expect("valid");
    let ids: Vec<RingId> = base.peers.iter().map(|p| p.id).collect();
    let newcomer = RingId(ids[100].0 + 1);
    cfg.population = Population::Explicit(ids);
    cfg.events = vec![ScriptedEvent {
        at: SimTime(1_000),
        action: Action::Join { peer: newcomer, via: base.peers[0].id },
    }];
    (cfg, newcomer)
}

#[test]
fn a_joiner_looks_up_its_whole_finger_table_with_fingers_at_join() {
    let (mut cfg, newcomer) = one_join_into_a_maintained_ring();
    for at_join in [false, true] {
        cfg.overlay.fingers_at_join = at_join;
        let mut sim = Simulation::<Peer>::new(&cfg, 1).expect("valid");
        // The join and its finger lookups are done within seconds; the first periodic
        // repair comes after 120 s.
        sim.run_until(SimTime(10_000));
        let all = sim.oracle().ids();
        let me = all.binary_search(&newcomer).unwrap();
        let want: Vec<RingId> = crate::ring::finger_indices(cfg.space, &all, me)
            .into_iter()
            .map(|i| all[i])
            .filter(|&id| id != newcomer)
            .fold(Vec::new(), |mut v, id| {
                if v.last() != Some(&id) {
                    v.push(id);
                }
                v
            });
        let got: Vec<RingId> =
            sim.peer_by_id(newcomer).unwrap().fingers().iter().map(|f| f.id).collect();
        if at_join {
            assert_eq!(got, want);
        } else {
            assert!(got.is_empty(), "{got:?}");
        }
    }
}

#[test]
fn with_finger_hints_a_joiner_starts_from_its_successors_table() {
    let (mut cfg, newcomer) = one_join_into_a_maintained_ring();
    for hints in [false, true] {
        cfg.overlay.finger_hints = hints;
        let mut sim = Simulation::<Peer>::new(&cfg, 1).expect("valid");
        // Joined within seconds; the first periodic repair comes after 120 s.
        sim.run_until(SimTime(10_000));
        let all = sim.oracle().ids();
        let succ = all[all.binary_search(&newcomer).unwrap() + 1];
        let ids_of = |p: &Peer| p.fingers().iter().map(|f| f.id).collect::<Vec<_>>();
        let got = ids_of(sim.peer_by_id(newcomer).unwrap());
        if hints {
            // The successor itself, then its table; none of it counts as a set finger.
            let mut want = vec![succ];
            want.extend(ids_of(sim.peer_by_id(succ).unwrap()));
            want.retain(|&id| id != newcomer);
            assert_eq!(got, want);
            let params = sim.params().clone();
            let joiner = sim.peer_by_id(newcomer).unwrap();
            let unset = |i| joiner.own_finger(&params, i).map(|f| f.id) == Some(newcomer);
            assert!((1..32).all(unset));
        } else {
            assert!(got.is_empty(), "{got:?}");
        }
    }
}

#[test]
fn finger_hints_shorten_lookups_while_a_flash_crowd_ring_forms() {
    // SimGrid's setting: every finger repair before 200 s is inside the successor gap, so
    // without hints the fingers are useless and lookups walk successor pointers.
    let mut cfg = flash_crowd(500, 200_000);
    cfg.workload.per_peer_interval = Some(SimDuration(10_000));
    let mut hops = Vec::new();
    for hints in [false, true] {
        cfg.overlay.finger_hints = hints;
        let result = run(&cfg, 3).expect("valid");
        let n = result.lookups.len() as f64;
        assert!(n > 9_000.0, "{n}");
        hops.push(result.lookups.iter().map(|l| l.hops as f64).sum::<f64>() / n);
    }
    assert!(hops[1] < 0.5 * hops[0], "mean hops without and with hints: {hops:?}");
}

#[test]
fn a_join_through_a_peer_still_joining_waits_for_it() {
    let mut cfg = config(1, 0);
    cfg.population = Population::Explicit(vec![RingId(100)]);
    cfg.duration = SimTime(100_000);
    maintained(&mut cfg);
    let join = |at, peer, via| ScriptedEvent {
        at: SimTime(at),
        action: Action::Join { peer: RingId(peer), via: RingId(via) },
    };
    let lookup = |at, key| ScriptedEvent {
        at: SimTime(at),
        action: Action::Lookup { from: RingId(100), key: RingId(key) },
    };
    // 300 joins through 200 before 200's own join has been answered.
    cfg.events = vec![join(0, 200, 100), join(10, 300, 200), lookup(90_000, 150)];
    cfg.events.push(lookup(90_000, 250));
    let result = run(&cfg, 1).expect("valid");
    assert!(result.peers.iter().all(|p| p.join.is_some()), "{:?}", result.peers);
    // The lone first peer learned its successor from its predecessor.
    let outcomes: Vec<_> = result.lookups.iter().map(|l| (l.owner, l.outcome)).collect();
    assert_eq!(outcomes, vec![(Some(RingId(200)), Outcome::Ok), (Some(RingId(300)), Outcome::Ok)]);
}

#[test]
fn per_peer_lookups_come_once_per_interval_from_every_member() {
    let mut cfg = config(20, 0);
    cfg.duration = SimTime(100_000);
    cfg.workload.per_peer_interval = Some(SimDuration(10_000));
    let result = run(&cfg, 2).expect("valid");
    assert_eq!(result.lookups.len(), 200);
    for p in &result.peers {
        let starts: Vec<u64> =
            result.lookups.iter().filter(|l| l.origin == p.id).map(|l| l.start.as_ms()).collect();
        assert_eq!(starts.len(), 10, "peer {}", p.id);
        assert!(starts[0] < 10_000 && starts.windows(2).all(|w| w[1] - w[0] == 10_000));
    }
}

#[test]
fn own_finger_lookups_ask_for_a_true_finger_of_their_origin() {
    let mut cfg = config(20, 0);
    cfg.duration = SimTime(100_000);
    cfg.workload.per_peer_interval = Some(SimDuration(10_000));
    cfg.workload.keys = crate::config::KeyDist::OwnFingers;
    let result = run(&cfg, 2).expect("valid");
    let space = cfg.space;
    let mut ids: Vec<RingId> = result.peers.iter().map(|p| p.id).collect();
    ids.sort();
    let successor = |k: RingId| *ids.iter().find(|&&id| id >= k).unwrap_or(&ids[0]);
    // On an exact table a finger is the origin itself only when half the ring is empty.
    assert_eq!(result.lookups.len(), 200);
    for l in &result.lookups {
        let fingers: Vec<RingId> = (0..space.bits())
            .map(|i| successor(space.add(l.origin, 1 << i)))
            .filter(|&f| f != l.origin)
            .collect();
        assert!(fingers.contains(&l.key), "{l:?} asks for no finger of its origin");
        assert_eq!((l.outcome, l.true_owner), (Outcome::Ok, l.key));
    }
}

#[test]
fn own_finger_draws_start_no_lookup_until_the_finger_is_set() {
    // A ring formed by joins, before the first finger repair (at 120 s): only finger 0, the
    // successor, is set, so about 1 draw in 24 starts a lookup.
    let mut cfg = flash_crowd(40, 100_000);
    cfg.workload.per_peer_interval = Some(SimDuration(10_000));
    cfg.workload.keys = crate::config::KeyDist::OwnFingers;
    let result = run(&cfg, 3).expect("valid");
    let n = result.lookups.len();
    assert!((4..50).contains(&n), "{n} lookups from about 400 draws");
}

#[test]
fn statistics_are_the_same_with_or_without_lookup_records() {
    let mut cfg = config(200, 300);
    cfg.duration = SimTime(600_000);
    cfg.workload.lookups = 3000;
    cfg.workload.keys = crate::config::KeyDist::Stored;
    maintained(&mut cfg);
    cfg.churn = ChurnConfig {
        model: ChurnModel::Poisson {
            join_rate_per_ms: 0.2 / 1000.0,
            leave_rate_per_ms: 0.2 / 1000.0,
            crash_fraction: 0.5,
        },
        start: SimTime::ZERO,
        stop: cfg.duration,
        mass_failure: None,
    };
    let kept = run(&cfg, 9).expect("valid");
    cfg.record_lookups = false;
    let streamed = run(&cfg, 9).expect("valid");
    assert!(streamed.lookups.is_empty());
    assert_eq!(kept.lookup_stats, streamed.lookup_stats);
    assert_eq!(crate::metrics::Summary::of(&kept), crate::metrics::Summary::of(&streamed));
    // And the streamed statistics are those of the records.
    let mut hist = std::collections::BTreeMap::<u32, u64>::new();
    for l in kept.lookups.iter().filter(|l| l.outcome != Outcome::Failed) {
        *hist.entry(l.hops).or_default() += 1;
    }
    assert_eq!(kept.lookup_stats.hop_histogram(), hist.into_iter().collect::<Vec<_>>());
    let timeouts: u64 = kept.lookups.iter().map(|l| l.timeouts as u64).sum();
    assert_eq!(kept.lookup_stats.timeouts_sum(), timeouts);
    assert!(timeouts > 0 && kept.lookup_stats.failed + kept.lookup_stats.wrong_owner > 0);
    assert_eq!(kept.lookups.len() as u64, kept.lookup_stats.count());
    assert!(kept.lookups.iter().enumerate().all(|(i, l)| l.lookup == i as u64));
}

#[test]
fn virtual_nodes_give_every_peer_v_nodes_and_sum_their_load() {
    let mut cfg = config(50, 2000);
    cfg.overlay.virtual_nodes = 4;
    let result = run(&cfg, 3).expect("valid");
    assert_eq!(result.peers.len(), 200);
    let mut per_host = [0u32; 50];
    for p in &result.peers {
        per_host[p.host as usize] += 1;
    }
    assert!(per_host.iter().all(|&n| n == 4));
    assert_eq!(result.load.len(), 50);
    assert_eq!(result.load.iter().map(|&k| k as u64).sum::<u64>(), 2000);
    let by_node: u64 = result.peers.iter().map(|p| p.keys.expect("member")).sum();
    assert_eq!(by_node, 2000);
    // The shuffle mixes hosts: neighbours on the ring are not all the same peer's nodes.
    assert!(result.peers.windows(2).filter(|w| w[0].host == w[1].host).count() < 20);
}

#[test]
fn a_mass_failure_crashes_the_rounded_share_and_spares_one() {
    for (fraction, want) in [(0.0, 0), (0.333, 33), (0.995, 99)] {
        let mut cfg = config(100, 0);
        cfg.churn.mass_failure = Some(MassFailure { at: SimTime(10), fraction });
        let result = run(&cfg, 1).expect("valid");
        let crashed: Vec<_> = result.peers.iter().filter_map(|p| p.leave).collect();
        assert_eq!(crashed.len(), want, "fraction {fraction}");
        assert!(crashed.iter().all(|&(t, k)| t == SimTime(10) && k == LeaveKind::Crash));
    }
}

#[test]
fn poisson_churn_joins_and_departs_at_its_rate() {
    let mut cfg = config(200, 0);
    cfg.duration = SimTime(2_000_000);
    cfg.overlay.maintenance = Some(crate::protocol::Maintenance {
        stabilize: SimDuration(30_000),
        fix_finger: SimDuration(30_000),
        check_predecessor: SimDuration(30_000),
    });
    cfg.churn = ChurnConfig {
        model: ChurnModel::Poisson {
            join_rate_per_ms: 0.5 / 1000.0,
            leave_rate_per_ms: 0.5 / 1000.0,
            crash_fraction: 0.5,
        },
        start: SimTime::ZERO,
        stop: cfg.duration,
        mass_failure: None,
    };
    let result = run(&cfg, 5).expect("valid");
    let joined = result.peers.len() - 200;
    let departed = result.peers.iter().filter(|p| p.leave.is_some()).count();
    let crashes = result.peers.iter().filter(|p| p.leave.is_some_and(|l| l.1 == LeaveKind::Crash));
    // 1,000 expected of each (Poisson, sd about 32).
    assert!((900..1100).contains(&joined), "{joined} joins");
    assert!((900..1100).contains(&departed), "{departed} departures");
    let crashes = crashes.count() as f64 / departed as f64;
    assert!((crashes - 0.5).abs() < 0.06, "{crashes} of departures crashed");
}

#[test]
fn a_config_that_breaks_a_rule_is_refused_with_its_key_not_a_panic() {
    let mut cfg = config(10, 0);
    cfg.overlay.virtual_nodes = 2;
    cfg.population = Population::Explicit(vec![RingId(1), RingId(2)]);
    let err = Simulation::<Peer>::new(&cfg, 1).err().expect("refused");
    assert_eq!(err.key, "overlay.virtual_nodes");
    cfg.population = Population::Random(0);
    assert_eq!(run(&cfg, 1).expect_err("refused").key, "population.peers");
}

#[test]
fn timer_intervals_are_the_period_uniform_or_exponential() {
    let mut overlay = Config::static_ring(10, 0).overlay;
    let mut rng = crate::rng::stream(1, crate::rng::Purpose::Maintenance);
    let period = SimDuration(30_000);
    assert_eq!(timer_interval(&overlay, period, &mut rng), period);
    let draws = |overlay: &crate::config::OverlayConfig, rng: &mut Rng| -> Vec<u64> {
        (0..20_000).map(|_| timer_interval(overlay, period, rng).as_ms()).collect()
    };
    overlay.timer_jitter = true;
    let uniform = draws(&overlay, &mut rng);
    assert!(uniform.iter().all(|&ms| (15_000..=45_000).contains(&ms)));
    overlay.timer_jitter = false;
    overlay.timer_exponential = true;
    let exp = draws(&overlay, &mut rng);
    let mean = exp.iter().sum::<u64>() as f64 / exp.len() as f64;
    assert!((mean - 30_000.0).abs() < 600.0, "mean {mean}");
    // An exponential law: about e^-1 of the intervals exceed the mean, and none is 0.
    let over = exp.iter().filter(|&&ms| ms > 30_000).count() as f64 / exp.len() as f64;
    assert!((over - libm::exp(-1.0)).abs() < 0.02, "{over}");
    assert!(exp.iter().all(|&ms| ms >= 1));
}

#[test]
fn traffic_is_counted_by_kind_with_the_bytes_of_the_size_model() {
    // A static successor ring, recursive lookups, nothing stored: a lookup is its forwards
    // (a key and the querier: 20 + 4 + (4 + 6) = 34 bytes with 32-bit IDs) and the owner's
    // answer (the key and its range start: 20 + 2 * 4 = 28 bytes), unless the querier owns
    // the key and sends nothing.
    let cfg = Config::builder(100).lookups(300).build().unwrap();
    let r = run(&cfg, 4).unwrap();
    let forwards: u64 = r.lookups.iter().map(|l| l.hops as u64).sum();
    let answers = r.lookups.iter().filter(|l| l.hops > 0).count() as u64;
    let t = &r.traffic;
    assert_eq!(t.messages, [forwards + answers, 0, 0, 0, 0]);
    assert_eq!(t.replies, answers);
    assert_eq!(t.bytes[0], 34 * forwards + 28 * answers);
    assert_eq!(r.messages, forwards + answers);
    assert_eq!(t.peer_ms, 100 * r.end.as_ms() as u128, "100 peers alive all along");
    let per_peer_s = t.bytes_per_peer_s(|_| true).unwrap();
    assert!(
        (per_peer_s - t.bytes[0] as f64 / (100.0 * r.end.as_ms() as f64 / 1000.0)).abs() < 1e-9
    );
    assert_eq!(t.bytes_per_peer_s(|k| k != crate::protocol::Traffic::Lookup), Some(0.0));
}

#[test]
fn maintenance_joins_and_pings_are_counted_apart_from_lookups() {
    let mut cfg = flash_crowd(60, 120_000);
    cfg.workload.lookups = 100;
    let r = run(&cfg, 2).unwrap();
    let [lookup, join, maintenance, ping, _store] = r.traffic.messages;
    assert!(lookup > 0 && join > 0 && maintenance > 0 && ping > 0, "{:?}", r.traffic);
    assert_eq!(r.traffic.messages.iter().sum::<u64>(), r.messages);
    for s in &r.samples {
        assert!(s.messages.iter().sum::<u64>() <= r.messages);
    }
}

#[test]
fn a_gathering_lookup_collects_the_values_of_every_closest_peer() {
    // A static Kademlia network; three different holders are stored at three of the peers
    // closest to a key (as concurrent announces through an unsettled network leave them). A
    // plain lookup stops at the first peer with a value; a gathering one (BitTorrent's
    // get_peers) goes on to the k closest and returns all three.
    let mut cfg = config(200, 0);
    cfg.overlay.protocol = ProtocolKind::Kademlia;
    cfg.overlay.fingers = false;
    cfg.duration = SimTime(60_000);
    let key = RingId(0x1234_5678);
    let mut sim = Simulation::<Node>::new(&cfg, 3).unwrap();
    sim.embed();
    let closest: Vec<PeerIdx> = sim.oracle.closest(key, 3).into_iter().map(|(_, i)| i).collect();
    for (n, &at) in closest.iter().enumerate() {
        sim.peer_mut(at).store_mut().insert(key, RingId(1000 + n as u64));
    }
    let origin = sim.oracle.members().map(|(_, i)| i).find(|i| !closest.contains(i)).unwrap();
    let mut notices = Vec::new();
    sim.start_tagged(SimTime::ZERO, origin, key, Request::Lookup, 0, &mut notices);
    sim.start_tagged(SimTime::ZERO, origin, key, Request::Gather, 1, &mut notices);
    while sim.recorder.in_flight() > 0 && sim.step_embedded(&mut notices) {}
    let found = |tag: u32| {
        notices
            .iter()
            .find_map(|n| match n {
                Notice::Ended(e) if e.tag == tag => Some(e.values.clone()),
                _ => None,
            })
            .expect("ended")
    };
    assert_eq!(found(0).len(), 1, "a plain lookup stops at the first value");
    assert_eq!(found(1), vec![RingId(1000), RingId(1001), RingId(1002)]);
}

/// The same static run with its peers built on first touch and with every peer built at time
/// zero (a snapshot at the end makes the table dense from the start): the same lookups, hop by
/// hop, and the first builds only the peers its lookups reach.
fn built_on_touch_and_at_once(mut cfg: Config) -> (RunResult, RunResult, usize) {
    cfg.workload.lookups = 400;
    cfg.record_lookups = true;
    cfg.record_paths = true;
    assert!(builds_on_touch(&cfg));
    let mut sim = Simulation::<Peer>::new(&cfg, 7).expect("valid");
    assert!(sim.peers.is_lazy());
    while sim.step() {}
    let built = sim.peers_built();
    let lazy = sim.finish();
    let mut dense = cfg.clone();
    dense.snapshots = vec![cfg.duration];
    assert!(!builds_on_touch(&dense));
    (lazy, run(&dense, 7).expect("valid"), built)
}

#[test]
fn a_static_ring_built_on_touch_routes_as_one_built_at_once() {
    let (lazy, dense, built) = built_on_touch_and_at_once(config(5000, 50));
    assert_eq!(lazy.lookups, dense.lookups);
    assert_eq!(lazy.lookup_stats, dense.lookup_stats);
    assert_eq!(lazy.load, dense.load);
    assert_eq!(lazy.lookup_stats.ok, 400);
    // 400 lookups of about 7 hops, and 50 files at 1 peer each: far fewer than 5000.
    assert!((500..3000).contains(&built), "{built} peers built");
}

#[test]
fn peers_built_on_touch_learn_from_timeouts_as_peers_built_at_once() {
    // Half the ring crashes: lookups time out at dead fingers and successors, and the peers
    // that saw it store their tables to forget the dead.
    let mut cfg = config(3000, 0);
    cfg.churn.mass_failure = Some(MassFailure { at: SimTime(100), fraction: 0.5 });
    let (lazy, dense, built) = built_on_touch_and_at_once(cfg);
    assert_eq!(lazy.lookups, dense.lookups);
    assert_eq!(lazy.lookup_stats, dense.lookup_stats);
    assert!(lazy.lookup_stats.timeouts.iter().skip(1).sum::<u64>() > 0, "{:?}", lazy.lookup_stats);
    assert!(built < 3000, "{built}");
}
#[test]
fn a_chord_event_fits_one_128_byte_slot() {
    // The engine's slot holds the event and a 4-byte link in a pair of cache lines; a message
    // variant that grows `Message` past 88 bytes (e.g. a successor list carried inline beside
    // entries) would make every pending event take three.
    assert!(std::mem::size_of::<Option<Event<Peer>>>() + 4 <= 128);
}

#[test]
fn chord_leaves_kademlias_proximity_routing_alone() {
    // The switch is Kademlia's (the scenario reader refuses it for Chord); a Chord config
    // built with it on, without a topology, runs as without it.
    let mut cfg = config(50, 0);
    cfg.workload.lookups = 20;
    let plain = run(&cfg, 1).expect("valid");
    cfg.overlay.kademlia.proximity_routing = true;
    let with = run(&cfg, 1).expect("valid");
    assert_eq!(with.lookup_stats.hops_sum(), plain.lookup_stats.hops_sum());
    assert_eq!(with.lookups.len(), plain.lookups.len());
}

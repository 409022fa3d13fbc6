//! Iterative lookups (SPEC §2, `overlay.lookup = "iterative"`): the same hops as recursive ones
//! on a static ring, every timeout the querier's under failures, and no lap after an owner's
//! crash.

use dhtsim_core::config::{Config, LookupStyle};
use dhtsim_core::metrics::{LookupRecord, Outcome, RunResult};
use dhtsim_core::sim;
use dhtsim_core::time::SimTime;

fn run(cfg: &Config, seed: u64) -> RunResult {
    sim::run(cfg, seed).expect("valid")
}

/// (origin, key, owner, hops, outcome) of each lookup, in start order.
fn work(r: &RunResult) -> Vec<(u64, u64, Option<u64>, u32, Outcome)> {
    let mut v: Vec<&LookupRecord> = r.lookups.iter().collect();
    v.sort_by_key(|l| l.lookup);
    v.iter().map(|l| (l.origin.0, l.key.0, l.owner.map(|o| o.0), l.hops, l.outcome)).collect()
}

#[test]
fn on_a_static_ring_iterative_lookups_take_the_same_hops_as_recursive_ones() {
    for (peers, fingers, via_succs, cache) in [
        (50, false, false, 0),
        (300, true, false, 0),
        (300, true, true, 0),
        (64, false, true, 0),
        // Lookups far apart, so that the caches see the same answers in the same order.
        (40, false, false, 8),
    ] {
        let mut cfg = Config::static_ring(peers, 400);
        cfg.overlay.fingers = fingers;
        cfg.overlay.successors = 4;
        cfg.overlay.route_via_successors = via_succs;
        cfg.overlay.cache_size = cache;
        if cache > 0 {
            cfg.duration = SimTime(400 * 60_000);
        }
        let recursive = run(&cfg, 3);
        cfg.overlay.lookup = LookupStyle::Iterative;
        let iterative = run(&cfg, 3);
        let what = format!("{peers} peers, fingers {fingers}, via successors {via_succs}");
        assert_eq!(work(&recursive), work(&iterative), "{what}");
        assert!(iterative.lookups.iter().all(|l| l.outcome == Outcome::Ok), "{what}");
        // A request and a reply per peer contacted, against one forward: about twice the
        // messages, and twice the latency per hop.
        let (rm, im) = (recursive.messages as f64, iterative.messages as f64);
        assert!(im > 1.5 * rm && im < 2.1 * rm, "{what}: {im} against {rm}");
        // Recursive: h forwards and the answer, (h + 1) one-way delays; iterative: a request
        // and a reply per peer contacted, the owner's reply being the answer, 2h delays. A
        // querier that owns the key answers itself: one delay either way.
        let extra: u64 = iterative.lookups.iter().map(|l| l.hops.saturating_sub(1) as u64).sum();
        let lat = |r: &RunResult| r.lookups.iter().map(|l| l.latency.as_ms()).sum::<u64>();
        assert_eq!(lat(&iterative) - lat(&recursive), 50 * extra, "{what}");
    }
}

#[test]
fn after_a_mass_failure_iterative_timeouts_are_the_querier_s_and_every_lookup_ends() {
    let mut cfg = mass_failure();
    let recursive = run(&cfg, 5);
    cfg.overlay.lookup = LookupStyle::Iterative;
    let iterative = run(&cfg, 5);
    let routing_failures = |r: &RunResult| {
        r.lookups
            .iter()
            .filter(|l| matches!(l.outcome, Outcome::Failed | Outcome::WrongOwner))
            .count()
    };
    assert_eq!(iterative.lookups.len(), 2000);
    assert_eq!(routing_failures(&iterative), 0, "8 successors always leave a live path");
    // Recursive forwarders drop the dead peers they meet; an iterative querier drops them only
    // from its own tables, so the peers that name them keep naming them: more timeouts.
    assert!(
        timeouts(&iterative) > 2 * timeouts(&recursive),
        "{} against {}",
        timeouts(&iterative),
        timeouts(&recursive)
    );
    let lost = |r: &RunResult| r.lookups.iter().filter(|l| l.outcome == Outcome::NotFound).count();
    assert_eq!(lost(&iterative), lost(&recursive), "the same keys died with their owners");
}

#[test]
fn with_frozen_tables_every_lookup_pays_for_the_dead_peers_again() {
    let mut cfg = mass_failure();
    cfg.overlay.lookup = LookupStyle::Iterative;
    let learning = run(&cfg, 5);
    cfg.overlay.learn_from_timeouts = false;
    let frozen = run(&cfg, 5);
    // The first lookups see the same dead peers either way; later ones keep meeting them only
    // when nobody learns.
    let late = |r: &RunResult| {
        r.lookups.iter().filter(|l| l.lookup >= 1000).map(|l| l.timeouts as u64).sum::<u64>()
    };
    assert!(timeouts(&frozen) > timeouts(&learning));
    // 1,773 against 1,002 with this seed.
    let (f, l) = (late(&frozen), late(&learning));
    assert!(2 * f > 3 * l, "{f} against {l}");
    let outcomes = |r: &RunResult| r.lookups.iter().map(|l| l.outcome).collect::<Vec<_>>();
    assert_eq!(outcomes(&frozen), outcomes(&learning), "same owners reached, same keys lost");
}

/// 200 peers with fingers and 8 successors used in routing, no maintenance; 30 % crash at time
/// 0, then 2,000 lookups of stored files.
fn mass_failure() -> Config {
    let mut cfg = Config::static_ring(200, 2000);
    cfg.overlay.fingers = true;
    cfg.overlay.successors = 8;
    cfg.overlay.route_via_successors = true;
    cfg.workload.files = 2000;
    cfg.churn.mass_failure =
        Some(dhtsim_core::churn::MassFailure { at: SimTime(0), fraction: 0.3 });
    cfg
}

/// Timeouts over all of a run's lookups.
fn timeouts(r: &RunResult) -> u64 {
    r.lookups.iter().map(|l| l.timeouts as u64).sum()
}

//! A ring built by simultaneous joins converges within the bounds `docs/performance.md` derives
//! ("A flash crowd"): as published, in about N − 1 stabilization rounds (the first peer's
//! successor pointer starts a whole ring away and moves back one peer per round); with the
//! corrections, no slower; with reactive stabilization, within a few rounds.

use dhtsim::scenario;
use dhtsim_core::chord::Peer;
use dhtsim_core::sim::Simulation;

const N: u64 = 200;
const ROUND_S: u64 = 20;

/// The first sample (seconds) from which every peer is a member with the right successor, to
/// the end of the run; `None` if that never happens.
fn converged_s(variant: &str, reactive: bool) -> Option<u64> {
    let text = format!(
        "id_bits = 24\nduration_s = {}\n[population]\npeers = {N}\nbootstrap = \"joins\"\n\
         [overlay]\nfingers = true\nsuccessors = 1\nstabilize_s = {ROUND_S}\nfix_fingers_s = 120\n\
         check_predecessor_s = 120\nchord_variant = \"{variant}\"\n\
         reactive_stabilization = {reactive}\n[network]\nlatency_ms = 50\n\
         [output]\nlookups = false\nsample_s = {ROUND_S}\n",
        (N + 2) * ROUND_S
    );
    let s = scenario::from_text("t.toml", &text, "t", &[], None).unwrap_or_else(|e| panic!("{e}"));
    let run = &s.runs[0];
    let result = Simulation::<Peer>::new(&run.config, run.seed).expect("valid").run();
    let correct = |h: &dhtsim_core::check::Health| h.members == N && h.succ_correct == 1.0;
    let last_wrong = result.samples.iter().rposition(|s| !correct(&s.health));
    let first_right = last_wrong.map_or(0, |i| i + 1);
    result.samples.get(first_right).map(|s| s.t.as_ms() / 1000)
}

#[test]
fn a_flash_crowd_of_200_converges_within_the_derived_number_of_rounds() {
    let rounds = |s: Option<u64>| s.map(|s| s / ROUND_S);
    // As published: N − 1 rounds of the first peer's pointer, give or take the rounds' phases.
    let published =
        rounds(converged_s("sigcomm2001", false)).expect("the published ring converges");
    assert!((N - 10..=N + 1).contains(&published), "published: {published} rounds");
    // Corrected: a stabilization walks on through every closer peer that answers, so no slower.
    let corrected = rounds(converged_s("zave", false)).expect("the corrected ring converges");
    assert!(corrected < published, "corrected {corrected} rounds, published {published}");
    // Reactive stabilization: pointers walk at the speed of messages, not rounds.
    for variant in ["sigcomm2001", "zave"] {
        let reactive = rounds(converged_s(variant, true)).expect("converges");
        assert!(reactive <= 5, "{variant} with reactive stabilization: {reactive} rounds");
    }
}

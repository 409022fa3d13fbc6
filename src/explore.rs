//! `dhtsim explore` (SPEC §3): every event order of a small scenario, searched by
//! `dhtsim_core::sim::explore`, written down as a report and, when a property fails, as a
//! counterexample scenario that `dhtsim run` replays step by step.
//!
//! The files (`report.txt`, `counterexample.toml`) depend only on the scenario and the bounds,
//! so `dhtsim reproduce` re-runs the search and compares them like a run's; the time taken and
//! the states per second are printed, not written.

use crate::app::AppError;
use crate::cli::ExploreArgs;
use crate::output::manifest::ExploreInfo;
use crate::scenario::{self, InputError, Scenario};
use dhtsim_core::chord::Peer;
use dhtsim_core::config::ProtocolKind;
use dhtsim_core::config::{Config, ScheduledStep};
use dhtsim_core::kademlia::Node;
use dhtsim_core::sim::explore::{self, Bounds, Explorable, Failures, Outcome, Repair, World};
use std::fmt::Write as _;
use std::hash::Hash;

/// What a search wrote, and whether it found a violation.
pub struct Explored {
    /// `report.txt`, and `counterexample.toml` when a property failed.
    pub files: Vec<(String, Vec<u8>)>,
    /// Distinct states visited.
    pub states: u64,
    /// The properties that failed and the length of the shortest trace, if any did.
    pub violation: Option<(Vec<String>, usize)>,
    /// Wall-clock seconds the search took (printed only).
    pub seconds: f64,
}

/// The one configuration of `s` that `explore` can search, or why not (exit status 2).
pub fn config_of(s: &Scenario) -> Result<&Config, InputError> {
    let [run] = s.runs.as_slice() else {
        let msg = format!(
            "explore takes one configuration; this scenario sweeps {} runs (pick one with --set, \
             and --seed)",
            s.runs.len()
        );
        return Err(InputError::whole(&s.file, msg));
    };
    match explore::unexplorable(&run.config) {
        Some(why) => Err(InputError::whole(&s.file, why)),
        None => Ok(&run.config),
    }
}

/// Searches `s` within `bounds` and renders the files.
pub fn render(s: &Scenario, bounds: Bounds) -> Result<Explored, AppError> {
    let cfg = config_of(s)?;
    match cfg.overlay.protocol {
        ProtocolKind::Chord => render_with::<Peer>(s, cfg, bounds),
        ProtocolKind::Kademlia => render_with::<Node>(s, cfg, bounds),
    }
}

/// [`render`] for protocol `P`.
fn render_with<P: Explorable>(
    s: &Scenario,
    cfg: &Config,
    bounds: Bounds,
) -> Result<Explored, AppError>
where
    P::Message: Hash + Eq,
    P::Timer: Hash + Eq,
{
    let started = std::time::Instant::now();
    let outcome = explore::explore::<P>(cfg, s.seed, bounds)
        .map_err(|e| InputError::whole(&s.file, e.to_string()))?;
    let seconds = started.elapsed().as_secs_f64();
    let mut sim = dhtsim_core::sim::Simulation::<P>::new(cfg, s.seed)
        .map_err(|e| InputError::whole(&s.file, e.to_string()))?;
    // The trace, described and as schedule steps, from the initial state on.
    let mut lines = Vec::new();
    let mut steps = Vec::new();
    if let Some(v) = &outcome.violation {
        let mut w = World::<P>::initial(&mut sim);
        for step in &v.trace {
            lines.push(w.describe(cfg, step));
            steps.push(w.scheduled(step));
            w = w.after(cfg, sim.params(), step);
        }
    }
    let mut files = vec![("report.txt".to_string(), report(s, cfg, bounds, &outcome, &lines))];
    if outcome.violation.is_some() {
        files
            .push(("counterexample.toml".to_string(), counterexample(s, &outcome, &lines, &steps)));
    }
    let violation = outcome.violation.map(|v| (v.properties, v.trace.len()));
    Ok(Explored { files, seconds, states: outcome.states, violation })
}

/// The properties, as one line.
fn always(properties: &[String]) -> String {
    properties.join(", ")
}

/// `report.txt`: the scope, the bounds, what was covered, and the trace if a property failed.
fn report<P: Explorable>(
    s: &Scenario,
    cfg: &Config,
    bounds: Bounds,
    o: &Outcome<P>,
    lines: &[String],
) -> Vec<u8>
where
    P::Message: Hash + Eq,
    P::Timer: Hash + Eq,
{
    let mut t = String::new();
    let peers = match &cfg.population {
        dhtsim_core::config::Population::Explicit(ids) => ids.len(),
        dhtsim_core::config::Population::Random(n) => *n as usize,
    };
    let protocol = match cfg.overlay.protocol {
        ProtocolKind::Chord => format!(
            "Chord, chord_variant {:?}, successors {}",
            cfg.overlay.chord_variant, cfg.overlay.successors
        ),
        ProtocolKind::Kademlia => {
            format!("Kademlia, k {}, alpha {}", cfg.overlay.kademlia.k, cfg.overlay.kademlia.alpha)
        }
    };
    let _ = writeln!(
        t,
        "scenario \"{}\" ({}): {peers} peers, {} scripted events, {protocol}",
        cfg.name,
        s.file,
        cfg.events.len(),
    );
    let _ = writeln!(t, "bounds: depth {}, states {}", bounds.depth, bounds.max_states);
    let failures = match bounds.failures {
        Failures::Assumed => {
            "a crash only when it leaves every other member a live successor (Zave's fault \
             assumption)"
        }
        Failures::Any => "any crash as soon as it is due (--any-failure)",
    };
    let _ = writeln!(t, "failures: {failures}");
    let links = if bounds.fifo {
        "FIFO: a message arrives only after the older ones on its link (--fifo)"
    } else {
        "messages in flight arrive in any order"
    };
    let _ = writeln!(t, "links: {links}");
    let _ = writeln!(
        t,
        "explored: {} states, {} transitions, to depth {}; {} settled",
        o.states, o.transitions, o.depth, o.settled
    );
    let covered = if !o.cut {
        "every state reachable within the bounds"
    } else if o.states >= bounds.max_states {
        "cut at the state bound: states beyond it were not visited"
    } else {
        "cut at the depth bound: the states at the last depth were not expanded"
    };
    let checked = "Always(AtLeastOneRing), Always(AtMostOneRing), Always(OrderedRing), \
                   Always(ConnectedAppendages), Always(OrderedSuccessorLists), \
                   Always(OneLiveSuccessor) after every step; Eventually(LookupsFindOwners) in \
                   every settled state (nothing in flight, every scripted event done, no timer \
                   changes anything): a lookup from each member for each member's ID is \
                   answered by that member";
    let _ = writeln!(t, "checked: {checked}");
    match &o.violation {
        None => {
            let _ = writeln!(t, "covered: {covered}");
            let _ = writeln!(t, "result: no violation within the bounds");
        }
        Some(v) => {
            let _ = writeln!(
                t,
                "result: {} {} after {} steps (a shortest trace):",
                always(&v.properties),
                if v.properties.len() == 1 { "fails" } else { "fail" },
                v.trace.len()
            );
            for (i, line) in lines.iter().enumerate() {
                let _ = writeln!(t, "  {:>3}. {line}", i + 1);
            }
            if !v.lookups.is_empty() {
                let failed: Vec<String> =
                    v.lookups.iter().map(|(from, key)| format!("{from} -> {key}")).collect();
                let _ = writeln!(t, "settled with these lookups failing: {}", failed.join(", "));
            }
            let _ = writeln!(t, "lasting: {}", lasting(v.repair));
        }
    }
    t.into_bytes()
}

/// Whether the violation is permanent or transient, in words.
fn lasting(r: Repair) -> String {
    match r {
        Repair::After(n) => {
            format!("transient: some continuation of {n} steps repairs every property")
        }
        Repair::Never { complete: true } => {
            "permanent: no continuation ever repairs it (every reachable state visited)".into()
        }
        Repair::Never { complete: false } => {
            "permanent within the bounds: no continuation searched repairs it".into()
        }
    }
}

/// `s` as a TOML string, escaped by the `toml` crate the scenario files are read with.
fn quoted(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// `counterexample.toml`: the scenario's own text, renamed so that a replay does not write over
/// its results, and the trace as `[[schedule]]` steps.
fn counterexample<P: Explorable>(
    s: &Scenario,
    o: &Outcome<P>,
    lines: &[String],
    steps: &[ScheduledStep],
) -> Vec<u8>
where
    P::Message: Hash + Eq,
    P::Timer: Hash + Eq,
{
    let v = o.violation.as_ref().expect("a violation");
    let name = &s.runs[0].config.name;
    let mut t = String::new();
    let _ = writeln!(
        t,
        "# Found by `dhtsim explore` ({}): {} {} after {} steps.",
        env!("CARGO_PKG_VERSION"),
        always(&v.properties),
        if v.properties.len() == 1 { "fails" } else { "fail" },
        v.trace.len()
    );
    let sets: String = s.overrides.iter().map(|o| format!(" --set {o}")).collect();
    let _ = writeln!(t, "# Replay: dhtsim run counterexample.toml{sets}");
    let _ =
        writeln!(t, "# The run takes the [[schedule]] steps in order, checks the ring after each,");
    let _ = writeln!(t, "# and stops at the first property that fails. From {}:", s.file);
    let mut renamed = false;
    let mut in_table = false;
    for line in s.text.lines() {
        let trimmed = line.trim_start();
        in_table |= trimmed.starts_with('[');
        let is_name = !in_table
            && trimmed.strip_prefix("name").is_some_and(|rest| rest.trim_start().starts_with('='));
        if is_name && !renamed {
            let _ = writeln!(t, "name = {}", quoted(&format!("{name}-counterexample")));
            renamed = true;
        } else {
            let _ = writeln!(t, "{line}");
        }
    }
    let mut out = String::new();
    if !renamed {
        let _ = writeln!(out, "name = {}", quoted(&format!("{name}-counterexample")));
    }
    out.push_str(&t);
    for (i, (step, line)) in steps.iter().zip(lines).enumerate() {
        let _ = writeln!(out, "\n# {}. {line}\n[[schedule]]", i + 1);
        match step {
            ScheduledStep::Deliver { from, to, message } => {
                let _ = writeln!(out, "step = \"deliver\"\nfrom = {from}\nto = {to}");
                let _ = writeln!(out, "message = {}", quoted(message));
            }
            ScheduledStep::Undeliverable { from, to, message } => {
                let _ = writeln!(out, "step = \"undeliverable\"\nfrom = {from}\nto = {to}");
                let _ = writeln!(out, "message = {}", quoted(message));
            }
            ScheduledStep::Timer { peer, timer } => {
                let _ = writeln!(out, "step = \"timer\"\npeer = {peer}\ntimer = {}", quoted(timer));
            }
            ScheduledStep::Event { index } => {
                let _ = writeln!(out, "step = \"event\"\nindex = {index}");
            }
        }
    }
    out.into_bytes()
}

/// `dhtsim explore`: search, print what was found, write the files (exit status 1 when a
/// property fails).
pub fn explore(args: ExploreArgs, argv: &[String]) -> Result<(), AppError> {
    let s = scenario::load(&args.scenario, &args.overrides, None)?;
    for w in &s.warnings {
        eprintln!("{w}");
    }
    let failures = if args.any_failure { Failures::Any } else { Failures::Assumed };
    let bounds =
        Bounds { depth: args.depth, max_states: args.max_states, failures, fifo: args.fifo };
    let cfg = config_of(&s)?;
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| std::path::Path::new("results").join(format!("{}.explore", cfg.name)));
    // Claimed before the search: a directory that is not ours is refused before any work.
    let dir = crate::app::claim_results_dir(&out_dir)?;
    let explored = render(&s, bounds)?;
    let info = ExploreInfo {
        depth: bounds.depth,
        max_states: bounds.max_states,
        any_failure: args.any_failure,
        fifo: args.fifo,
    };
    let names = crate::app::write_explored(dir, &out_dir, &s, &explored.files, argv, info)?;
    let report = String::from_utf8_lossy(&explored.files[0].1).into_owned();
    let rate = explored.states as f64 / explored.seconds.max(1e-9);
    if !args.quiet {
        crate::app::say(&report);
        crate::app::say(&format!(
            "took {:.2} s ({:.0} states/s); wrote {} to {}/\n",
            explored.seconds,
            rate,
            names.join(", "),
            out_dir.display()
        ));
    }
    match &explored.violation {
        None => Ok(()),
        Some((properties, steps)) => Err(AppError::Failed(format!(
            "{} {} after {steps} steps: replay with `dhtsim run {}`",
            always(properties),
            if properties.len() == 1 { "fails" } else { "fail" },
            out_dir.join("counterexample.toml").display()
        ))),
    }
}

//! Scenario files: from TOML text (plus `--set` overrides) to a validated `Config`.
//!
//! Two stages, as the core wants them: `doc` parses the text into a tree that remembers where
//! each value is written; the reader below walks it, applying documented defaults and checking
//! every constraint, and produces the core's `Config`. Every key read here is documented, with its
//! default, in `docs/scenario.md` (a test keeps the two in step).

pub mod doc;
pub mod error;
pub mod file;
pub mod reader;

use dhtsim_core::churn::{
    Arrivals, ChurnConfig, ChurnModel, MassFailure, SessionDist, TraceEvent, TraceKind,
};
use dhtsim_core::config::{
    Action, Bootstrap, ChordVariant, Config, ConfigError, HostMapping, KademliaConfig, KeyDist,
    Latency, LatencyMatrix, LinkClass, LookupStyle, NetworkConfig, OverlayConfig, Plane,
    Population, ProtocolKind, ScheduledStep, ScriptedEvent, WorkloadConfig,
};
use dhtsim_core::protocol::Maintenance;
use dhtsim_core::ring::{IdSpace, RingId};
use dhtsim_core::swarm::{CapacityClass, Discovery, SwarmConfig};
use dhtsim_core::time::{SimDuration, SimTime};
use dhtsim_core::workload::file_key;
pub use error::InputError;
use reader::{Reader, Table, num};
use std::path::Path;

/// A scenario ready to run: every run of its sweep, validated.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// The file as the user named it.
    pub file: String,
    /// Its exact text (recorded in the manifest).
    pub text: String,
    /// The overrides applied, in order.
    pub overrides: Vec<String>,
    /// The top-level seed (`seed`, or `--seed`).
    pub seed: u64,
    /// The swept keys, in the order the `[sweep]` section lists them (without `seeds`).
    pub swept: Vec<String>,
    /// Every run: each sweep point (first key varying slowest) with each seed.
    pub runs: Vec<RunSpec>,
    /// Which files to write.
    pub output: OutputConfig,
    /// Settings that have no effect (or effects a user may not expect), as rendered warnings:
    /// those of every run of a sweep (a key that matters in some run is not ignored).
    pub warnings: Vec<String>,
    /// The files the scenario read besides itself (churn traces), for the manifest.
    pub inputs: Vec<file::InputFile>,
}

/// The `[output]` settings that concern writers, not the simulation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputConfig {
    /// Write `lookups.csv` (one row per lookup; large for big sweeps).
    pub lookups: bool,
    /// Write `peers.csv` (one row per peer of every run).
    pub peers: bool,
    /// Draw plots into `plots/`.
    pub plots: bool,
    /// N at which the hop distribution is drawn (default: the largest).
    pub distribution_peers: Option<u64>,
}

/// One run of a scenario.
#[derive(Clone, Debug)]
pub struct RunSpec {
    /// Number of the run, from 0.
    pub run: u64,
    /// Its seed: all of its randomness derives from this alone, so runs that share a seed see
    /// the same peers and the same lookups whatever their routing settings.
    pub seed: u64,
    /// The value of each swept key in this run, as written.
    pub point: Vec<(String, String)>,
    /// The validated configuration.
    pub config: Config,
}

impl Scenario {
    /// The configuration of the first run (its name is the scenario's).
    pub fn config(&self) -> &Config {
        &self.runs[0].config
    }
}

/// Default values, in one place (documented in `docs/scenario.md`): those of the core's
/// `Config::builder` come from it, the others (about the file, the workload's size, churn
/// models) are the reader's own.
pub mod defaults {
    use dhtsim_core::config::defaults as core;

    /// `seed`.
    pub const SEED: u64 = 1;
    /// `id_bits`.
    pub const ID_BITS: u32 = core::ID_BITS;
    /// `duration_s`.
    pub const DURATION_S: f64 = core::DURATION.0 as f64 / 1000.0;
    /// `population.peers`, when neither `peers` nor `ids` is given.
    pub const PEERS: u64 = 1000;
    /// `overlay.successors`: the lecture's "immediate and next successor".
    pub const SUCCESSORS: u32 = core::SUCCESSORS;
    /// `overlay.replication`.
    pub const REPLICATION: u32 = core::REPLICATION;
    /// `overlay.virtual_nodes`.
    pub const VIRTUAL_NODES: u32 = core::VIRTUAL_NODES;
    /// `output.sample_s` when membership changes.
    pub const SAMPLE_S: u64 = 10;
    /// `overlay.stabilize_s`, `fix_fingers_s`, `check_predecessor_s`.
    pub const MAINTENANCE_S: u64 = core::MAINTENANCE_PERIOD.0 / 1000;
    /// `overlay.k` (Kademlia).
    pub const K: u32 = core::K;
    /// `overlay.alpha` (Kademlia).
    pub const ALPHA: u32 = core::ALPHA;
    /// `overlay.refresh_s` and `overlay.republish_s` (Kademlia).
    pub const KADEMLIA_PERIOD_S: u64 = core::KADEMLIA_PERIOD.0 / 1000;
    /// `overlay.rpc_timeout_ms`.
    pub const RPC_TIMEOUT_MS: u64 = core::RPC_TIMEOUT.0;
    /// `churn.session_mean_s`.
    pub const SESSION_MEAN_S: f64 = 3600.0;
    /// `churn.crash_fraction`.
    pub const CRASH_FRACTION: f64 = 0.5;
    /// `churn.shape` with the Pareto model.
    pub const PARETO_SHAPE: f64 = 2.0;
    /// `churn.shape` with the Weibull model (file-sharing measurements: 0.34 to 0.59).
    pub const WEIBULL_SHAPE: f64 = 0.5;
    /// `workload.zipf_exponent`.
    pub const ZIPF_EXPONENT: f64 = 1.0;
    /// `swarm.pieces`.
    pub const SWARM_PIECES: u32 = 100;
    /// `swarm.piece_kib`: the usual piece size of a file of a few hundred MB.
    pub const SWARM_PIECE_KIB: u32 = 256;
    /// `swarm.up_kbps`, `swarm.down_kbps`: an ADSL line's upload and download.
    pub const SWARM_UP_KBPS: u64 = 1000;
    /// See [`SWARM_UP_KBPS`].
    pub const SWARM_DOWN_KBPS: u64 = 8000;
    /// `swarm.announce_s`: a tracker's usual re-announce interval.
    pub const SWARM_ANNOUNCE_S: u64 = 1800;
    /// `swarm.numwant`: BitTorrent clients' default.
    pub const SWARM_NUMWANT: u32 = 50;
    /// `swarm.max_peers`: connections a peer opens (it accepts twice as many), the reference
    /// client's `max_initiate`.
    pub const SWARM_MAX_PEERS: u32 = 40;
    /// `swarm.unchoke_slots`: the reference client's four.
    pub const SWARM_UNCHOKE_SLOTS: u32 = 4;
    /// `workload.consistency_window_ms`.
    pub const CONSISTENCY_WINDOW_MS: u64 = core::CONSISTENCY_WINDOW.0;
    /// `network.latency_ms` (constant model).
    pub const LATENCY_MS: u64 = core::LATENCY.0;
    /// `network.latency_min_ms` (uniform model).
    pub const LATENCY_MIN_MS: u64 = 10;
    /// `network.latency_max_ms` (uniform model).
    pub const LATENCY_MAX_MS: u64 = 100;
    /// `network.plane_ms` (plane model): with the default access delays, a mean one-way
    /// latency of about 99 ms (docs/scenario.md).
    pub const PLANE_MS: u64 = 150;
    /// `network.access_min_ms` (plane model).
    pub const ACCESS_MIN_MS: u64 = 1;
    /// `network.access_max_ms` (plane model).
    pub const ACCESS_MAX_MS: u64 = 20;
}

/// Reads the scenario at `path`, applies `overrides` (`KEY=VALUE`) and `seed` (if given), and
/// validates it.
pub fn load(path: &Path, overrides: &[String], seed: Option<u64>) -> Result<Scenario, InputError> {
    let file = path.display().to_string();
    let text = self::file::read_text(path, &file, self::file::MAX_SCENARIO_BYTES)?;
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    from_text_with(&file, &text, &stem, overrides, seed, &file::Inputs::beside(path))
}

/// Validates scenario `text` (named `file` in messages; `stem` is the default name); the files
/// it names are read relative to `file`.
pub fn from_text(
    file: &str,
    text: &str,
    stem: &str,
    overrides: &[String],
    seed: Option<u64>,
) -> Result<Scenario, InputError> {
    from_text_with(file, text, stem, overrides, seed, &file::Inputs::beside(Path::new(file)))
}

/// [`from_text`], with the files the scenario names read from `inputs`.
pub fn from_text_with(
    file: &str,
    text: &str,
    stem: &str,
    overrides: &[String],
    seed: Option<u64>,
    inputs: &file::Inputs,
) -> Result<Scenario, InputError> {
    let mut root = doc::parse(file, text)?;
    for arg in overrides {
        doc::apply_override(file, &mut root, arg)?;
    }
    let sweep_node = match &mut root.kind {
        doc::Kind::Table(map) => map.shift_remove("sweep"),
        _ => None,
    };
    let sweep = read_sweep(file, text, sweep_node.as_ref())?;
    // The base document alone gives the top-level seed (and is fully checked when not swept).
    let (base_seed, output) = {
        let mut r = Reader::new(file, text, inputs);
        let (_, file_seed) = read_config(&mut r, &root, stem);
        let top = Table { path: "", schema: "", node: Some(&root) };
        let out = r.table(&top, "output", "output");
        let output = read_output(&mut r, &out);
        if sweep.keys.is_empty() {
            r.finish(&root)?;
        }
        (file_seed, output)
    };
    let top_seed = seed.unwrap_or(base_seed);
    let seeds = match (seed, &sweep.seeds) {
        (None, Some(list)) => list.clone(),
        _ => vec![top_seed],
    };
    let count = sweep.values.iter().fold(seeds.len() as u128, |n, v| n * v.len() as u128);
    if count > MAX_RUNS as u128 {
        let origin =
            sweep_node.as_ref().map_or(error::Origin::File(0..0), |n| n.key_origin.clone());
        let msg = format!(
            "{count} runs (every combination of the swept values, times the seeds): at most \
             {MAX_RUNS} runs in one scenario"
        );
        return Err(InputError::at(file, text, &origin, Some("sweep"), msg)
            .with_hint("split the sweep over several scenario files, or sweep fewer values"));
    }
    let mut runs = Vec::new();
    let mut warnings: Option<Vec<String>> = None;
    for values in cartesian(&sweep.values) {
        let mut point_doc = root.clone();
        let mut point = Vec::new();
        for ((key, key_origin), value) in sweep.keys.iter().zip(&values) {
            if key == VARIANT {
                let doc::Kind::Table(map) = &value.kind else { unreachable!("checked") };
                for (k, v) in map.iter().filter(|(k, _)| *k != "name") {
                    let parts: Vec<&str> = k.split('.').collect();
                    doc::set_path(&mut point_doc, &parts, v.clone()).map_err(|msg| {
                        InputError::at(
                            file,
                            text,
                            &v.key_origin,
                            Some(&format!("sweep.variant.{k}")),
                            msg,
                        )
                    })?;
                }
                point.push((key.clone(), doc::display(&map["name"].kind)));
                continue;
            }
            let parts: Vec<&str> = key.split('.').collect();
            let node = doc::Node { key_origin: key_origin.clone(), ..(*value).clone() };
            doc::set_path(&mut point_doc, &parts, node).map_err(|msg| {
                InputError::at(file, text, key_origin, Some(&format!("sweep.{key}")), msg)
            })?;
            point.push((key.clone(), doc::display(&value.kind)));
        }
        let mut r = Reader::new(file, text, inputs);
        let (config, _) = read_config(&mut r, &point_doc, stem);
        // The rules that depend on a run's seed, reported after the point's other errors.
        let seeded = config
            .as_ref()
            .and_then(|c| seeds.iter().find_map(|&s| dhtsim_core::sim::check_seed(c, s).err()))
            .map(|e| locate_config_error(&r, &point_doc, None, e));
        let point_warnings: Vec<String> =
            r.finish(&point_doc)?.iter().map(InputError::as_warning).collect();
        if let Some(e) = seeded {
            return Err(e);
        }
        warnings = Some(match warnings {
            None => point_warnings,
            Some(w) => w.into_iter().filter(|x| point_warnings.contains(x)).collect(),
        });
        let config = config.expect("no errors were reported, so every part was read");
        for &seed in &seeds {
            let run = runs.len() as u64;
            runs.push(RunSpec { run, seed, point: point.clone(), config: config.clone() });
        }
    }
    if let Some(n) = output.distribution_peers
        && !runs.iter().any(|r| r.config.population.len() == n)
    {
        let node = match &root.kind {
            doc::Kind::Table(map) => match map.get("output").map(|o| &o.kind) {
                Some(doc::Kind::Table(out)) => out.get("distribution_peers"),
                _ => None,
            },
            _ => None,
        };
        let mut ns: Vec<u64> = runs.iter().map(|r| r.config.population.len()).collect();
        ns.sort_unstable();
        ns.dedup();
        let list: Vec<String> = ns.iter().take(10).map(u64::to_string).collect();
        let msg = format!("no run has {n} peers (the runs have {})", list.join(", "));
        let origin = node.map_or(error::Origin::File(0..0), |n| n.origin.clone());
        return Err(InputError::at(file, text, &origin, Some("output.distribution_peers"), msg));
    }
    Ok(Scenario {
        file: file.to_string(),
        text: text.to_string(),
        overrides: overrides.to_vec(),
        seed: top_seed,
        swept: sweep.keys.into_iter().map(|(k, _)| k).collect(),
        runs,
        output,
        warnings: dedup(warnings.unwrap_or_default()),
        inputs: inputs.files(),
    })
}

/// `items` without repeats, in first-seen order.
fn dedup(items: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    items.into_iter().filter(|w| seen.insert(w.clone())).collect()
}

/// The `[sweep]` section: swept keys with their origins and value lists, and the seeds.
struct Sweep {
    keys: Vec<(String, error::Origin)>,
    values: Vec<Vec<doc::Node>>,
    seeds: Option<Vec<u64>>,
}

fn read_sweep(file: &str, text: &str, node: Option<&doc::Node>) -> Result<Sweep, InputError> {
    let mut sweep = Sweep { keys: Vec::new(), values: Vec::new(), seeds: None };
    let Some(node) = node else { return Ok(sweep) };
    let at = |n: &doc::Node, key: &str, msg: String| {
        InputError::at(file, text, &n.origin, Some(&format!("sweep.{key}")), msg)
    };
    let doc::Kind::Table(map) = &node.kind else {
        let msg = format!("expected a table (a [sweep] section), found {}", node.kind.type_name());
        return Err(InputError::at(file, text, &node.origin, Some("sweep"), msg));
    };
    for (key, value) in map {
        let doc::Kind::Array(items) = &value.kind else {
            let msg = format!(
                "expected a list of values to sweep over, found {}",
                value.kind.type_name()
            );
            return Err(at(value, key, msg));
        };
        if items.is_empty() {
            return Err(at(value, key, "must list at least one value".into()));
        }
        if key == "seeds" {
            let mut seeds = Vec::new();
            for item in items {
                match item.kind {
                    doc::Kind::Int(i) if (0..=U64_MAX).contains(&i) => seeds.push(i as u64),
                    _ => {
                        let msg = format!(
                            "expected a seed (0 to 2^64-1), found {}",
                            doc::display(&item.kind)
                        );
                        return Err(at(item, key, msg));
                    }
                }
            }
            sweep.seeds = Some(seeds);
            continue;
        }
        if key == "seed" {
            return Err(at(value, key, "sweep seeds with `seeds = [...]`".into())
                .with_hint("a run's seed is recorded in the `seed` column"));
        }
        if key == VARIANT {
            check_variants(file, text, items)?;
        }
        sweep.keys.push((key.clone(), value.key_origin.clone()));
        sweep.values.push(items.clone());
    }
    // A key set by a variant and swept as well would take whichever value came last.
    if let Some(at) = sweep.keys.iter().position(|(k, _)| k == VARIANT) {
        for item in &sweep.values[at] {
            let doc::Kind::Table(map) = &item.kind else { continue };
            for (k, v) in map {
                if let Some((swept, _)) = sweep.keys.iter().find(|(s, _)| s == k) {
                    let msg = format!("`{swept}` is swept too: set it in one place");
                    return Err(InputError::at(
                        file,
                        text,
                        &v.key_origin,
                        Some(&format!("sweep.variant.{k}")),
                        msg,
                    ));
                }
            }
        }
    }
    Ok(sweep)
}

/// The sweep key whose values are named groups of settings.
const VARIANT: &str = "variant";

/// Checks `[sweep] variant = [...]`: each item an inline table with a unique, non-empty `name`
/// and dotted scenario keys set to plain values (a table would replace a whole section).
fn check_variants(file: &str, text: &str, items: &[doc::Node]) -> Result<(), InputError> {
    let mut names: Vec<&str> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = |n: &doc::Node, k: &str, msg: String| {
            InputError::at(file, text, &n.origin, Some(&format!("sweep.variant[{i}]{k}")), msg)
        };
        let doc::Kind::Table(map) = &item.kind else {
            let msg = format!(
                "expected a table such as {{ name = \"fingers\", \"overlay.fingers\" = true }}, found {}",
                item.kind.type_name()
            );
            return Err(at(item, "", msg));
        };
        match map.get("name").map(|n| &n.kind) {
            Some(doc::Kind::Str(name)) if !name.is_empty() => {
                if names.contains(&name.as_str()) {
                    return Err(at(item, ".name", format!("{name:?} names two variants")));
                }
                names.push(name);
            }
            Some(other) => {
                let msg = format!("expected a non-empty string, found {}", doc::display(other));
                return Err(at(&map["name"], ".name", msg));
            }
            None => return Err(at(item, "", "each variant needs a `name`".into())),
        }
        for (k, v) in map {
            if k != "name" && matches!(v.kind, doc::Kind::Table(_)) {
                let msg = "expected a value: set one key at a time, as `\"overlay.k\" = 8`".into();
                return Err(at(v, &format!(".{k}"), msg));
            }
        }
    }
    Ok(())
}

/// Every combination of one value from each list, the first list varying slowest.
fn cartesian(lists: &[Vec<doc::Node>]) -> Vec<Vec<&doc::Node>> {
    let mut combos: Vec<Vec<&doc::Node>> = vec![Vec::new()];
    for list in lists {
        combos = combos
            .into_iter()
            .flat_map(|prefix| {
                list.iter().map(move |v| {
                    let mut c = prefix.clone();
                    c.push(v);
                    c
                })
            })
            .collect();
    }
    combos
}

/// Every key a scenario file may contain, as dotted names (`[[events]]` keys as `events.KEY`).
/// Sections themselves (`overlay`, `events`) are listed too.
pub fn known_keys() -> Vec<String> {
    let root = doc::parse("", "").expect("the empty document parses");
    let inputs = file::Inputs::beside(Path::new(""));
    let mut r = Reader::new("", "", &inputs);
    let _ = read_config(&mut r, &root, "x");
    // `[[events]]` keys are only read when an event exists: read one to list them.
    let one = doc::parse("", "[[events]]\n").expect("parses");
    let mut r2 = Reader::new("", "", &inputs);
    let _ = read_config(&mut r2, &one, "x");
    // Likewise `[[schedule]]`.
    let step = doc::parse("", "[[schedule]]\n").expect("parses");
    let mut r4 = Reader::new("", "", &inputs);
    let _ = read_config(&mut r4, &step, "x");
    // Likewise `[swarm]` and its capacity classes, and the classes of access links.
    let swarm =
        doc::parse("", "[network]\nlinks = [{}]\n[swarm]\nclasses = [{}]\n").expect("parses");
    let mut r3 = Reader::new("", "", &inputs);
    let _ = read_config(&mut r3, &swarm, "x");
    let mut keys = r.known_keys();
    keys.extend(r2.known_keys());
    keys.extend(r3.known_keys());
    keys.extend(r4.known_keys());
    keys.push("sweep".into());
    keys.push("sweep.seeds".into());
    keys.sort();
    keys.dedup();
    keys
}

const U64_MAX: i128 = u64::MAX as i128;

/// The most runs one scenario may have (sweep points × seeds); each is held in memory.
pub const MAX_RUNS: usize = 1_000_000;

/// Whether `name` can be a directory name under `results/` on any system.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

/// Milliseconds in `s` seconds, rounded to the nearest millisecond.
fn seconds_to_ms(s: f64) -> u64 {
    (s * 1000.0).round() as u64
}

fn read_config(r: &mut Reader<'_>, root: &doc::Node, stem: &str) -> (Option<Config>, u64) {
    let top = Table { path: "", schema: "", node: Some(root) };
    let name = match r.string(&top, "name") {
        Some(n) if valid_name(n) => n.to_string(),
        Some(n) => {
            let node = r.get(&top, "name").expect("read above");
            let msg = format!(
                "{n:?} cannot name a results directory: use letters, digits, '.', '_' and '-'"
            );
            r.error(&top, "name", node, msg);
            stem.to_string()
        }
        None => stem.to_string(),
    };
    let seed = r.int(&top, "seed", 0, U64_MAX).map_or(defaults::SEED, |s| s as u64);
    let bits = r.int(&top, "id_bits", 1, 64).map_or(defaults::ID_BITS, |b| b as u32);
    let space = IdSpace::new(bits).expect("checked range");

    let duration = SimTime(
        r.seconds(&top, "duration_s", false).unwrap_or(seconds_to_ms(defaults::DURATION_S)),
    );
    let duration_s = duration.as_ms() as f64 / 1000.0;
    // `Config::validate` checks it against the duration.
    let warmup = SimTime(r.seconds(&top, "warmup_s", true).unwrap_or(0));

    let population = read_population(r, &top, space);
    let bootstrap = read_bootstrap(r, &top);
    let network = read_network(r, &top);
    // Negative when the warm-up does not end before the run (refused by `Config::validate`):
    // no lookups are counted from a rate then.
    let window_s = duration_s - (warmup.as_ms() as f64 / 1000.0);
    let workload = read_workload(r, &top, window_s, population.as_ref().map(Population::len));
    let out = r.table(&top, "output", "output");
    let record_paths = r.bool(&out, "paths", false);
    let record_lookups = read_output(r, &out).lookups || record_paths;
    let explicit = matches!(population, Some(Population::Explicit(_)));
    let event_count = match r.get(&top, "events") {
        Some(doc::Node { kind: doc::Kind::Array(items), .. }) => items.len(),
        _ => 0,
    };
    let event_paths: Vec<String> = (0..event_count).map(|i| format!("events[{i}]")).collect();
    let (events, tracker_events) = match read_events(r, &top, &event_paths, space, explicit) {
        Some((events, tracker)) => (Some(events), tracker),
        None => (None, Vec::new()),
    };
    let step_count = match r.get(&top, "schedule") {
        Some(doc::Node { kind: doc::Kind::Array(items), .. }) => items.len(),
        _ => 0,
    };
    let step_paths: Vec<String> = (0..step_count).map(|i| format!("schedule[{i}]")).collect();
    let schedule = read_schedule(r, &top, &step_paths, space, event_count);
    let mut trace_source = None;
    let mut churn = read_churn(r, &top, space, duration, &mut trace_source);
    // Poisson arrivals default to the rate that balances departures: N / mean session.
    if let (Some(c), Some(p)) = (&mut churn, &population)
        && let ChurnModel::Sessions { session, arrivals: Arrivals::Poisson { rate_per_ms }, .. } =
            &mut c.model
        && rate_per_ms.is_nan()
    {
        *rate_per_ms = p.len() as f64 / session.mean_ms();
    }
    let membership_changes = bootstrap == Bootstrap::Joins
        || churn.as_ref().is_some_and(|c| c.is_active())
        || events.as_ref().is_some_and(|evs| {
            evs.iter().any(|(e, _)| {
                matches!(
                    e.action,
                    Action::Join { .. } | Action::Leave { .. } | Action::Crash { .. }
                )
            })
        });
    let swarm = read_swarm(r, &top, space, duration, &name, &tracker_events);
    let overlay_given = r.get(&top, "overlay").is_some();
    let swarm_dht = swarm.as_ref().is_some_and(|s| s.discovery.dht());
    if swarm_dht && !overlay_given {
        let t = r.table(&top, "swarm", "swarm");
        let msg = "DHT discovery needs an overlay: add an [overlay] section that names its \
                   `protocol` (\"chord\" or \"kademlia\")"
            .to_string();
        match r.get(&t, "discovery") {
            Some(node) => r.error(&t, "discovery", node, msg),
            None => r.table_error(&t, "discovery", msg),
        }
    }
    // Swarm peers join and leave the overlay.
    let membership_changes = membership_changes || swarm_dht;
    let overlay = read_overlay(r, &top, membership_changes);
    warn_idle_network_switches(r, &top, &overlay, &network);
    let sample = match r.seconds(&out, "sample_s", true) {
        Some(0) => None,
        Some(ms) => Some(SimDuration(ms)),
        None if membership_changes => Some(SimDuration(defaults::SAMPLE_S * 1000)),
        None => None,
    };
    let mut snapshots = Vec::new();
    for item in r.array(&out, "dot_at_s").unwrap_or(&[]) {
        let v = match item.kind {
            doc::Kind::Int(i) => Some(i as f64),
            doc::Kind::Float(x) => Some(x),
            _ => None,
        };
        match v {
            Some(s) if snapshots.contains(&SimTime(seconds_to_ms(s))) => {
                let msg = format!("{} s is listed twice (to the millisecond)", num(s));
                r.error(&out, "dot_at_s", item, msg);
            }
            Some(s) if (0.0..duration_s).contains(&s) => snapshots.push(SimTime(seconds_to_ms(s))),
            _ => {
                let msg = format!(
                    "expected times in seconds from 0 to before duration_s ({}), found {}",
                    num(duration_s),
                    match item.kind {
                        doc::Kind::Float(x) => num(x),
                        ref other => doc::display(other),
                    }
                );
                r.error(&out, "dot_at_s", item, msg);
            }
        }
    }
    let check = r.table(&top, "check", "check");
    let stop_on_violation = r.bool(&check, "stop_on_violation", false);
    let check_every_event = r.bool(&check, "every_event", false);
    let small_ring = r.bool(&check, "small_ring", false);

    let (Some(population), Some(workload), Some(events), Some(churn)) =
        (population, workload, events, churn)
    else {
        return (None, seed);
    };
    let config = Config {
        name,
        space,
        duration,
        warmup,
        population,
        bootstrap,
        overlay,
        network,
        workload,
        events: events.iter().map(|(e, _)| e.clone()).collect(),
        record_lookups,
        record_paths,
        churn,
        sample,
        stop_on_violation,
        check_every_event,
        snapshots,
        schedule,
        swarm,
    };
    // The rules that relate settings live with the configuration, in the core.
    if let Err(e) = config.validate() {
        let located = locate_config_error(r, root, trace_source.as_ref(), e);
        r.push(located);
        return (None, seed);
    }
    // What the scenario asks beyond a valid configuration: a bounded number of joins, scripted
    // and traced events that name live peers, and enough peers for the successor lists.
    check_joins(r, &top, &config.churn, config.population.len());
    let trace = match (&config.churn.model, &trace_source) {
        (ChurnModel::Trace(t), Some(src)) => Some((t.as_slice(), src)),
        _ => None,
    };
    check_membership(r, &config.population, &events, trace, config.overlay.successors);
    let (p, successors) = (&config.population, config.overlay.successors);
    if membership_changes && p.len() < successors as u64 + 1 {
        let t = r.table(&top, "population", "population");
        let key = if matches!(p, Population::Explicit(_)) { "ids" } else { "peers" };
        let why = format!(
            "a network with churn starts from at least successors + 1 = {} peers (got {}): \
             below that a successor list cannot be kept correct",
            successors + 1,
            p.len()
        );
        if small_ring {
            // Asked for (Zave's schedules start from one peer): said, not refused.
            let msg = format!("{why}; allowed by `check.small_ring = true`");
            let node = r.get(&t, key).or(check.node).expect("small_ring was read from [check]");
            let e = InputError::at(
                r.file(),
                r.text(),
                &node.origin,
                Some(&format!("population.{key}")),
                msg,
            );
            r.warn(e);
        } else {
            let msg = format!("{why} (set `check.small_ring = true` to run it anyway)");
            match r.get(&t, key) {
                Some(node) => r.error(&t, key, node, msg),
                None => r.table_error(&t, key, msg),
            }
        }
    }
    (Some(config), seed)
}

/// Shows a rule of `Config::validate` that the scenario breaks at the key the error names: at
/// its value (or the element of a list at fault), at its section (or the whole file) when the
/// scenario leaves the key to its default, and at the trace's row for `churn.trace`.
fn locate_config_error(
    r: &Reader<'_>,
    root: &doc::Node,
    trace: Option<&TraceSource>,
    e: ConfigError,
) -> InputError {
    if e.key == "churn.trace"
        && let (Some(src), Some(i)) = (trace, e.element)
        && let Some(&line) = src.lines.get(i)
    {
        return src.error(line, e.message);
    }
    // Walk the dotted key (`events[2].at_ms`: key `events`, element 2, key `at_ms`), keeping the
    // deepest table the scenario gives on the way.
    let mut node = Some(root);
    let mut table = root;
    for part in e.key.split('.') {
        let (name, index) = match part.split_once('[') {
            Some((name, rest)) => {
                (name, rest.strip_suffix(']').and_then(|i| i.parse::<usize>().ok()))
            }
            None => (part, None),
        };
        node = node.and_then(|n| match &n.kind {
            doc::Kind::Table(map) => map.get(name),
            _ => None,
        });
        if let Some(i) = index {
            node = node.and_then(|n| match &n.kind {
                doc::Kind::Array(items) => items.get(i),
                _ => None,
            });
        }
        if let Some(n) = node
            && matches!(n.kind, doc::Kind::Table(_))
        {
            table = n;
        }
    }
    match node {
        Some(n) => {
            let at = match (&n.kind, e.element) {
                (doc::Kind::Array(items), Some(i)) => items.get(i).unwrap_or(n),
                _ => n,
            };
            InputError::at(r.file(), r.text(), &at.origin, Some(&e.key), e.message)
        }
        None => {
            let hint = format!("`{}` is not set, so it has its default value", e.key);
            let err = if std::ptr::eq(table, root) {
                InputError { key: Some(e.key.clone()), ..InputError::whole(r.file(), e.message) }
            } else {
                InputError::at(r.file(), r.text(), &table.key_origin, Some(&e.key), e.message)
            };
            err.with_hint(hint)
        }
    }
}

fn read_output(r: &mut Reader<'_>, out: &Table<'_>) -> OutputConfig {
    OutputConfig {
        lookups: r.bool(out, "lookups", true),
        peers: r.bool(out, "peers", true),
        plots: r.bool(out, "plots", true),
        distribution_peers: r.int(out, "distribution_peers", 1, U64_MAX).map(|n| n as u64),
    }
}

fn read_population(r: &mut Reader<'_>, top: &Table<'_>, space: IdSpace) -> Option<Population> {
    let t = r.table(top, "population", "population");
    // How many peers fit the space, and whether listed IDs are distinct, `Config::validate`
    // checks.
    let peers = r.int(&t, "peers", 1, U64_MAX);
    let ids = r.array(&t, "ids");
    match (peers, ids) {
        (Some(_), Some(_)) => {
            let msg = "give either `peers` (a count) or `ids` (a list), not both".to_string();
            r.table_error(&t, "ids", msg);
            None
        }
        (Some(n), None) => Some(Population::Random(n as u64)),
        (None, Some(items)) => {
            let mut ids = Vec::new();
            for item in items {
                let id = r.int_node(&t, "ids", item, 0, space.max_id() as i128)?;
                ids.push(RingId(id as u64));
            }
            Some(Population::Explicit(ids))
        }
        (None, None) if r.get(&t, "peers").is_some() || r.get(&t, "ids").is_some() => None,
        (None, None) => {
            let max_peers = space.size().min(u32::MAX as u128) as u64;
            Some(Population::Random(defaults::PEERS.min(max_peers)))
        }
    }
}

/// Reads `population.bootstrap`: the consistent ring (default) or a ring formed by joins.
fn read_bootstrap(r: &mut Reader<'_>, top: &Table<'_>) -> Bootstrap {
    let t = r.table(top, "population", "population");
    match r.choice(&t, "bootstrap", &["ring", "joins"]) {
        Some("joins") => Bootstrap::Joins,
        _ => Bootstrap::Ring,
    }
}

/// Keys of `[overlay]` that only Chord reads.
const CHORD_KEYS: [&str; 18] = [
    "iterative_repairs",
    "repair_retries",
    "fix_all_fingers",
    "hop_limit",
    "chord_variant",
    "learn_from_timeouts",
    "lookup",
    "fingers",
    "cache_size",
    "successors",
    "route_via_successors",
    "reactive_stabilization",
    "fingers_at_join",
    "finger_hints",
    "stabilize_s",
    "fix_fingers_s",
    "check_predecessor_s",
    "virtual_nodes",
];

/// Keys of `[overlay]` that only Kademlia reads.
const KADEMLIA_KEYS: [&str; 5] = ["k", "alpha", "refresh_s", "republish_s", "proximity_routing"];

fn read_overlay(r: &mut Reader<'_>, top: &Table<'_>, membership_changes: bool) -> OverlayConfig {
    let t = r.table(top, "overlay", "overlay");
    let protocol = match r.choice(&t, "protocol", &["chord", "kademlia"]) {
        Some("kademlia") => ProtocolKind::Kademlia,
        _ => ProtocolKind::Chord,
    };
    let (other, name, other_name) = match protocol {
        ProtocolKind::Chord => (&KADEMLIA_KEYS[..], "Chord", "Kademlia"),
        ProtocolKind::Kademlia => (&CHORD_KEYS[..], "Kademlia", "Chord"),
    };
    for &key in other {
        let why = format!(
            "is a {other_name} setting, and this scenario runs {name} (`overlay.protocol = \"{}\"`): \
             remove it, or set `overlay.protocol = \"{}\"`",
            name.to_lowercase(),
            other_name.to_lowercase()
        );
        r.forbidden(&t, key, &why);
    }
    let k = r.int(&t, "k", 1, 65_535).map_or(defaults::K, |v| v as u32);
    let alpha = r.int(&t, "alpha", 1, 65_535).map_or(defaults::ALPHA, |v| v as u32);
    let kad_period = |r: &mut Reader<'_>, key| {
        SimDuration(r.seconds(&t, key, false).unwrap_or(defaults::KADEMLIA_PERIOD_S * 1000))
    };
    let refresh = kad_period(r, "refresh_s");
    let republish = kad_period(r, "republish_s");
    let proximity_routing = r.bool(&t, "proximity_routing", false);
    let kademlia = KademliaConfig { k, alpha, refresh, republish, proximity_routing };
    let hop_limit = r.int(&t, "hop_limit", 1, u32::MAX as i128).map(|h| h as u32);
    let retries = r.int(&t, "retries", 0, u32::MAX as i128).map(|h| h as u32);
    let chord_variant = match r.choice(&t, "chord_variant", &["zave", "sigcomm2001"]) {
        Some("sigcomm2001") => ChordVariant::Sigcomm2001,
        _ => ChordVariant::Zave,
    };
    let learn_from_timeouts = r.bool(&t, "learn_from_timeouts", true);
    let lookup = match r.choice(&t, "lookup", &["recursive", "iterative"]) {
        Some("iterative") => LookupStyle::Iterative,
        _ => LookupStyle::Recursive,
    };
    let fingers = r.bool(&t, "fingers", false);
    let cache_size = r.int(&t, "cache_size", 0, u32::MAX as i128).map_or(0, |c| c as u32);
    let successors = r.int(&t, "successors", 1, 1024).map_or(defaults::SUCCESSORS, |c| c as u32);
    let route_via_successors = r.bool(&t, "route_via_successors", false);
    let reactive_stabilization = r.bool(&t, "reactive_stabilization", false);
    let fingers_at_join = r.bool(&t, "fingers_at_join", false);
    let finger_hints = r.bool(&t, "finger_hints", false);
    let iterative_repairs = r.bool(&t, "iterative_repairs", false);
    let repair_retries = r.int(&t, "repair_retries", 0, u32::MAX as i128).map(|h| h as u32);
    let fix_all_fingers = r.bool(&t, "fix_all_fingers", false);
    let timer_exponential = r.bool(&t, "timer_exponential", false);
    let default_replication = match protocol {
        ProtocolKind::Chord => defaults::REPLICATION,
        ProtocolKind::Kademlia => k,
    };
    let replication = r.int(&t, "replication", 1, 65_535).map_or(default_replication, |c| c as u32);
    let maintain = r.bool(&t, "maintenance", membership_changes);
    let period = |r: &mut Reader<'_>, key| {
        SimDuration(r.seconds(&t, key, false).unwrap_or(defaults::MAINTENANCE_S * 1000))
    };
    let stabilize = period(r, "stabilize_s");
    let fix_finger = period(r, "fix_fingers_s");
    let check_predecessor = period(r, "check_predecessor_s");
    let timer_jitter = r.bool(&t, "timer_jitter", false);
    let rpc_timeout = SimDuration(
        r.int(&t, "rpc_timeout_ms", 1, u32::MAX as i128)
            .map_or(defaults::RPC_TIMEOUT_MS, |v| v as u64),
    );
    let max_attempts = dhtsim_core::config::defaults::MAX_RPC_ATTEMPTS as i128;
    let rpc_attempts = r
        .int(&t, "rpc_attempts", 1, max_attempts)
        .map_or(dhtsim_core::config::defaults::RPC_ATTEMPTS, |v| v as u32);
    let client_mode = r.bool(&t, "client_mode", false);
    let proximity = r.int(&t, "proximity", 0, 1024).map_or(0, |v| v as u32);
    let virtual_nodes =
        r.int(&t, "virtual_nodes", 1, 1024).map_or(defaults::VIRTUAL_NODES, |v| v as u32);
    if protocol == ProtocolKind::Kademlia {
        // Chord's keys were refused above; only Kademlia's periods can be idle.
        if !maintain {
            for key in ["refresh_s", "republish_s", "timer_jitter", "timer_exponential"] {
                r.ignored(&t, key, "has no effect with `maintenance = false`");
            }
        }
    } else if !maintain {
        let why = if membership_changes {
            "has no effect with `maintenance = false`"
        } else {
            "has no effect: the membership never changes, so there is no maintenance (set \
             `maintenance = true` to run it anyway)"
        };
        let periodic = ["stabilize_s", "fix_fingers_s", "check_predecessor_s", "timer_jitter"];
        let repairs = ["iterative_repairs", "repair_retries", "fix_all_fingers"];
        for key in periodic
            .into_iter()
            .chain(repairs)
            .chain(["reactive_stabilization", "timer_exponential"])
        {
            r.ignored(&t, key, why);
        }
    } else if !fingers {
        for key in ["fix_fingers_s", "iterative_repairs", "repair_retries", "fix_all_fingers"] {
            r.ignored(&t, key, "has no effect without `fingers = true`");
        }
    }
    if !fingers && protocol == ProtocolKind::Chord {
        for key in ["fingers_at_join", "finger_hints"] {
            r.ignored(&t, key, "has no effect without `fingers = true`");
        }
    }
    OverlayConfig {
        protocol,
        kademlia,
        hop_limit,
        retries,
        lookup,
        chord_variant,
        learn_from_timeouts,
        fingers,
        cache_size,
        successors,
        route_via_successors,
        reactive_stabilization,
        fingers_at_join,
        finger_hints,
        iterative_repairs,
        repair_retries,
        fix_all_fingers,
        timer_exponential,
        replication,
        maintenance: maintain.then_some(Maintenance { stabilize, fix_finger, check_predecessor }),
        timer_jitter,
        rpc_timeout,
        rpc_attempts,
        client_mode,
        proximity,
        virtual_nodes,
    }
}

/// Reads `[churn]`; a trace's source is left in `trace_source` (for messages about its rows).
fn read_churn(
    r: &mut Reader<'_>,
    top: &Table<'_>,
    space: IdSpace,
    duration: SimTime,
    trace_source: &mut Option<TraceSource>,
) -> Option<ChurnConfig> {
    let t = r.table(top, "churn", "churn");
    let model =
        r.choice(&t, "model", &["none", "exponential", "pareto", "weibull", "poisson", "trace"]);
    let mean_s = r.number(&t, "session_mean_s");
    let shape = r.number(&t, "shape");
    let crash = r.number(&t, "crash_fraction");
    let arrivals = r.choice(&t, "arrivals", &["steady", "poisson"]);
    let rate = r.number(&t, "arrival_rate_per_s");
    let poisson_rate = r.number(&t, "rate_per_s");
    let fail_fraction = r.number(&t, "fail_fraction");
    let fail_at = r.seconds(&t, "fail_at_s", true);
    let start = r.seconds(&t, "start_s", true).unwrap_or(0);
    let stop = r.seconds(&t, "stop_s", true).unwrap_or(duration.as_ms());
    let trace = r.string(&t, "trace");
    let model = model.unwrap_or("none");
    // A key the chosen model never reads would be silently ignored: say so.
    let sessions = ["session_mean_s", "crash_fraction", "arrivals", "start_s", "stop_s"];
    let used: Vec<&str> = match model {
        "exponential" => sessions.to_vec(),
        "pareto" | "weibull" => [&sessions[..], &["shape"]].concat(),
        "poisson" => vec!["rate_per_s", "crash_fraction", "start_s", "stop_s"],
        "trace" => vec!["trace"],
        _ => Vec::new(),
    };
    let model_keys = [
        "session_mean_s",
        "shape",
        "crash_fraction",
        "arrivals",
        "arrival_rate_per_s",
        "rate_per_s",
        "start_s",
        "stop_s",
        "trace",
    ];
    for key in model_keys.into_iter().filter(|k| !used.contains(k) && *k != "arrival_rate_per_s") {
        r.ignored(&t, key, &format!("has no effect with `model = \"{model}\"`"));
    }
    if used.contains(&"arrivals") && arrivals != Some("poisson") {
        let why = "has no effect with steady arrivals (each departure is replaced at once): set \
                   `arrivals = \"poisson\"`";
        r.ignored(&t, "arrival_rate_per_s", why);
    } else if !used.contains(&"arrivals") {
        r.ignored(&t, "arrival_rate_per_s", &format!("has no effect with `model = \"{model}\"`"));
    }
    if used.contains(&"start_s") && (start >= duration.as_ms() || stop <= start) {
        let why = if start >= duration.as_ms() {
            format!(
                "is not before the end of the run ({} s): no churn happens",
                num(duration.as_ms() as f64 / 1e3)
            )
        } else {
            "is not after `start_s`: no churn happens".to_string()
        };
        let key = if start >= duration.as_ms() { "start_s" } else { "stop_s" };
        r.ignored(&t, key, &why);
    }
    let mut ok = true;
    let mut positive =
        |r: &mut Reader<'_>, v: Option<(f64, &doc::Node)>, key: &str, min: f64, what: &str| match v
        {
            Some((x, node)) if x <= min => {
                r.error(&t, key, node, format!("must be {what}, got {}", num(x)));
                ok = false;
                None
            }
            Some((x, _)) => Some(x),
            None => None,
        };
    let mean_ms = positive(r, mean_s, "session_mean_s", 0.0, "positive")
        .unwrap_or(defaults::SESSION_MEAN_S)
        * 1000.0;
    let shape_min = if model == "pareto" { 1.0 } else { 0.0 };
    let shape_what = if model == "pareto" { "greater than 1 (a finite mean)" } else { "positive" };
    let shape = positive(r, shape, "shape", shape_min, shape_what);
    let rate = positive(r, rate, "arrival_rate_per_s", 0.0, "positive");
    let poisson_rate = positive(r, poisson_rate, "rate_per_s", 0.0, "positive");
    let mass_failure = match (fail_fraction, fail_at) {
        (Some((x, node)), _) if !(0.0..1.0).contains(&x) => {
            let msg = format!("must be at least 0 and less than 1, got {}", num(x));
            r.error(&t, "fail_fraction", node, msg);
            ok = false;
            None
        }
        // Whether it comes before the end of the run, `Config::validate` checks.
        (Some((fraction, _)), Some(at)) => Some(MassFailure { at: SimTime(at), fraction }),
        (Some(_), None) => {
            r.table_error(&t, "fail_at_s", "`fail_fraction` needs `fail_at_s`, when".into());
            ok = false;
            None
        }
        (None, Some(_)) => {
            let msg = "`fail_at_s` needs `fail_fraction`, how many fail".into();
            r.table_error(&t, "fail_fraction", msg);
            ok = false;
            None
        }
        (None, None) => None,
    };
    let crash_fraction = match crash {
        Some((x, node)) if !(0.0..=1.0).contains(&x) => {
            r.error(&t, "crash_fraction", node, format!("must be between 0 and 1, got {}", num(x)));
            ok = false;
            0.5
        }
        Some((x, _)) => x,
        None => defaults::CRASH_FRACTION,
    };
    let session = match model {
        "pareto" => SessionDist::Pareto { mean_ms, shape: shape.unwrap_or(defaults::PARETO_SHAPE) },
        "weibull" => {
            SessionDist::Weibull { mean_ms, shape: shape.unwrap_or(defaults::WEIBULL_SHAPE) }
        }
        _ => SessionDist::Exponential { mean_ms },
    };
    let arrivals = match arrivals.unwrap_or("steady") {
        "poisson" => Arrivals::Poisson { rate_per_ms: rate.map_or(f64::NAN, |x| x / 1000.0) },
        _ => Arrivals::Steady,
    };
    let model = match model {
        "none" => ChurnModel::None,
        "trace" => match trace {
            Some(path) => {
                let (events, source) = read_trace(r, &t, path, space)?;
                *trace_source = Some(source);
                ChurnModel::Trace(events)
            }
            None => {
                r.table_error(
                    &t,
                    "trace",
                    "model \"trace\" needs `trace`, a CSV file of at_ms,kind,peer rows".into(),
                );
                return None;
            }
        },
        "poisson" => match poisson_rate {
            Some(per_s) => ChurnModel::Poisson {
                join_rate_per_ms: per_s / 1000.0,
                leave_rate_per_ms: per_s / 1000.0,
                crash_fraction,
            },
            None if !ok => return None,
            None => {
                let msg = "model \"poisson\" needs `rate_per_s`, joins (and departures) per second"
                    .into();
                r.table_error(&t, "rate_per_s", msg);
                return None;
            }
        },
        _ => ChurnModel::Sessions { session, arrivals, crash_fraction },
    };
    ok.then_some(ChurnConfig { model, start: SimTime(start), stop: SimTime(stop), mass_failure })
}

/// The most ring nodes one run may create (peer indices are 32-bit; half of that leaves room
/// for chance above the expected number of joins).
const MAX_NODES: f64 = (1u64 << 31) as f64;

/// Refuses churn whose expected joins over the run exceed [`MAX_NODES`], naming the key that
/// sets the join rate.
fn check_joins(r: &mut Reader<'_>, top: &Table<'_>, churn: &ChurnConfig, initial: u64) {
    let span_ms = churn.stop.as_ms().saturating_sub(churn.start.as_ms()) as f64;
    let (joins, key) = match &churn.model {
        ChurnModel::Sessions { session, arrivals: Arrivals::Steady, .. } => {
            (initial as f64 * span_ms / session.mean_ms(), "session_mean_s")
        }
        ChurnModel::Sessions { arrivals: Arrivals::Poisson { rate_per_ms }, .. } => {
            (rate_per_ms * span_ms, "arrival_rate_per_s")
        }
        ChurnModel::Poisson { join_rate_per_ms, .. } => (join_rate_per_ms * span_ms, "rate_per_s"),
        _ => return,
    };
    if initial as f64 + joins >= MAX_NODES {
        let t = r.table(top, "churn", "churn");
        let key = if r.get(&t, key).is_some() { key } else { "session_mean_s" };
        let msg = format!(
            "gives about {} joins over the run: one run can create at most 2^31 peers",
            num(joins.round())
        );
        match r.get(&t, key) {
            Some(node) => r.error(&t, key, node, msg),
            None => r.table_error(&t, key, msg),
        }
    }
}

/// An input file as read (a churn trace, a latency matrix): where it came from, and for a
/// trace the line of each event, for messages.
struct TraceSource {
    /// The file as named in messages.
    shown: String,
    text: std::rc::Rc<str>,
    /// The 1-based line of each event.
    lines: Vec<usize>,
}

impl TraceSource {
    /// An error at `line` of the trace.
    fn error(&self, line: usize, msg: String) -> InputError {
        InputError {
            location: Some(error::Location::File {
                line,
                col: 1,
                text: self.text.lines().nth(line - 1).unwrap_or("").to_string(),
                width: 1,
            }),
            ..InputError::whole(&self.shown, msg)
        }
    }
}

/// The text of the input file that key `key` of section `section` (table `t`) names as `path`,
/// with its name for messages; `None` once an error is reported (a bad byte at its line in the
/// file, anything else at the key).
fn read_input(
    r: &mut Reader<'_>,
    t: &Table<'_>,
    section: &str,
    key: &'static str,
    path: &str,
) -> Option<(String, std::rc::Rc<str>)> {
    let known = format!("{section}.{key}");
    match r.inputs().read(&known, path, file::MAX_TRACE_BYTES) {
        Ok(read) => Some(read),
        Err(e) if e.location.is_some() => {
            r.push(e);
            None
        }
        Err(e) => {
            let node = r.get(t, key).expect("read by the caller");
            r.error(t, key, node, format!("{}: {}", e.file, e.message));
            None
        }
    }
}

/// Reads a churn trace: CSV with header `at_ms,kind,peer`, kind one of join, leave or crash,
/// times never going backwards (and before the end of the run: `Config::validate`). Relative
/// paths are relative to the scenario file.
fn read_trace(
    r: &mut Reader<'_>,
    t: &Table<'_>,
    path: &str,
    space: IdSpace,
) -> Option<(Vec<TraceEvent>, TraceSource)> {
    let (shown, text) = read_input(r, t, "churn", "trace", path)?;
    let mut source = TraceSource { shown, text, lines: Vec::new() };
    let mut events = Vec::new();
    let mut last = 0u64;
    let text = source.text.clone();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let row = raw.trim();
        if row.is_empty() || row.starts_with('#') || (i == 0 && row.starts_with("at_ms")) {
            continue;
        }
        let fields: Vec<&str> = row.split(',').map(str::trim).collect();
        let problem = match fields[..] {
            [at, kind, peer] => match trace_row(at, kind, peer, space, last) {
                Ok(ev) => {
                    last = ev.at.as_ms();
                    events.push(ev);
                    source.lines.push(line);
                    continue;
                }
                Err(msg) => msg,
            },
            _ => format!("expected 3 fields at_ms,kind,peer, found {}", fields.len()),
        };
        r.push(source.error(line, problem));
        return None;
    }
    Some((events, source))
}

/// One row of a trace, checked; `last` is the previous row's time. (Whether it comes before the
/// end of the run, `Config::validate` checks.)
fn trace_row(
    at: &str,
    kind: &str,
    peer: &str,
    space: IdSpace,
    last: u64,
) -> Result<TraceEvent, String> {
    let short = |s: &str| {
        if s.chars().count() > 24 {
            format!("{}…", s.chars().take(24).collect::<String>())
        } else {
            s.to_string()
        }
    };
    let at: u64 = at.parse().map_err(|_| {
        format!("at_ms: expected milliseconds (an integer), found \"{}\"", short(at))
    })?;
    if at < last {
        return Err(format!("at_ms goes backwards: {at} after {last}"));
    }
    let kind = match kind {
        "join" => TraceKind::Join,
        "leave" => TraceKind::Leave,
        "crash" => TraceKind::Crash,
        other => {
            return Err(format!(
                "unknown event \"{}\": expected join, leave or crash",
                short(other)
            ));
        }
    };
    let Some(peer) = peer.parse::<u64>().ok().filter(|&p| space.contains(p)) else {
        return Err(format!(
            "peer: expected an ID in 0..2^{}, found \"{}\"",
            space.bits(),
            short(peer)
        ));
    };
    Ok(TraceEvent { at: SimTime(at), kind, peer: RingId(peer) })
}

/// What a membership event needs of the ring and does to it.
struct Step {
    /// (key naming the ID, the ID, whether it must be live (or else free)).
    needs: Vec<(&'static str, RingId, bool)>,
    joins: Option<RingId>,
    leaves: Option<RingId>,
}

impl Step {
    fn of(action: Action) -> Step {
        match action {
            Action::Lookup { from, .. } | Action::Store { from, .. } => {
                Step { needs: vec![("from", from, true)], joins: None, leaves: None }
            }
            Action::Join { peer, via } => Step {
                needs: vec![("peer", peer, false), ("via", via, true)],
                joins: Some(peer),
                leaves: None,
            },
            Action::Leave { peer } | Action::Crash { peer } => {
                Step { needs: vec![("peer", peer, true)], joins: None, leaves: Some(peer) }
            }
        }
    }

    fn of_trace(ev: &TraceEvent) -> Step {
        match ev.kind {
            TraceKind::Join => {
                Step { needs: vec![("peer", ev.peer, false)], joins: Some(ev.peer), leaves: None }
            }
            _ => Step { needs: vec![("peer", ev.peer, true)], joins: None, leaves: Some(ev.peer) },
        }
    }
}

/// Replays the scripted events and the trace in the order a run takes them (by time; at equal
/// times scripted events first, each in file order) and checks, as a run would find, that each
/// names a live peer (a free ID, for a join), and that the ring never empties. A ring brought
/// below `successors + 1` live peers is allowed (small schedules study exactly that) but said.
fn check_membership(
    r: &mut Reader<'_>,
    population: &Population,
    events: &[(ScriptedEvent, Table<'_>)],
    trace: Option<(&[TraceEvent], &TraceSource)>,
    successors: u32,
) {
    use std::collections::BTreeSet;
    let (mut live, anonymous): (BTreeSet<RingId>, u64) = match population {
        Population::Explicit(ids) => (ids.iter().copied().collect(), 0),
        Population::Random(n) => (BTreeSet::new(), *n),
    };
    let (trace_events, source) = match trace {
        Some((evs, src)) => (evs, Some(src)),
        None => (&[][..], None),
    };
    // (time, 0 = scripted / 1 = trace, index): a stable order equal to the run's.
    let mut order: Vec<(SimTime, u8, usize)> = events
        .iter()
        .enumerate()
        .map(|(i, (e, _))| (e.at, 0, i))
        .chain(trace_events.iter().enumerate().map(|(i, e)| (e.at, 1, i)))
        .collect();
    order.sort();
    let mut warned = false;
    for (at, from_trace, i) in order {
        let ms = at.as_ms();
        let Step { needs, joins, leaves } = if from_trace == 1 {
            Step::of_trace(&trace_events[i])
        } else {
            Step::of(events[i].0.action)
        };
        let count = live.len() as u64 + anonymous;
        let mut problem = None;
        for (key, id, alive) in needs {
            if live.contains(&id) != alive {
                let msg = if alive {
                    let why = if anonymous > 0 {
                        " (`population.peers` draws the initial IDs at random, so only peers \
                         joined by ID can be named; list them with `population.ids` instead)"
                    } else {
                        " (see `population.ids` and earlier joins)"
                    };
                    format!("no peer has ID {id} at {ms} ms{why}")
                } else {
                    format!("ID {id} is already in use at {ms} ms")
                };
                problem = Some((key, msg));
                break;
            }
        }
        if problem.is_none() && joins.is_some() && count == 0 {
            problem = Some(("peer", format!("no peer is live at {ms} ms to join through")));
        }
        if problem.is_none() && leaves.is_some() && count == 1 {
            let msg = format!(
                "would leave no live peer at {ms} ms: a ring needs at least one (every lookup \
                 after this would have no peer to start from)"
            );
            problem = Some(("peer", msg));
        }
        let report = |r: &mut Reader<'_>, key: &'static str, msg: String, warn: bool| {
            let e = if from_trace == 1 {
                let src = source.expect("trace events come with their source");
                src.error(src.lines[i], msg)
            } else {
                let t = &events[i].1;
                let node = r.get(t, key).expect("the event gives this key");
                let name = Reader::key_name(t, key);
                InputError::at(r.file(), r.text(), &node.origin, Some(&name), msg)
            };
            if warn { r.warn(e) } else { r.push(e) }
        };
        if let Some((key, msg)) = problem {
            report(r, key, msg, false);
            return;
        }
        if let Some(id) = joins {
            live.insert(id);
        }
        if let Some(id) = leaves {
            live.remove(&id);
            let count = live.len() as u64 + anonymous;
            if count < successors as u64 + 1 && !warned {
                warned = true;
                let msg = format!(
                    "leaves {count} live peer{} at {ms} ms, fewer than successors + 1 = {}: \
                     below that a successor list cannot be kept correct",
                    if count == 1 { "" } else { "s" },
                    successors + 1
                );
                report(r, "peer", msg, true);
            }
        }
    }
}

fn read_network(r: &mut Reader<'_>, top: &Table<'_>) -> NetworkConfig {
    let t = r.table(top, "network", "network");
    let model = r.choice(&t, "latency", &["constant", "uniform", "plane", "matrix"]);
    let ms = |r: &mut Reader<'_>, key, default| {
        r.int(&t, key, 0, u32::MAX as i128).map_or(SimDuration(default), |v| SimDuration(v as u64))
    };
    let constant = ms(r, "latency_ms", defaults::LATENCY_MS);
    let min = ms(r, "latency_min_ms", defaults::LATENCY_MIN_MS);
    let max = ms(r, "latency_max_ms", defaults::LATENCY_MAX_MS);
    let plane = Plane {
        side: ms(r, "plane_ms", defaults::PLANE_MS),
        access_min: ms(r, "access_min_ms", defaults::ACCESS_MIN_MS),
        access_max: ms(r, "access_max_ms", defaults::ACCESS_MAX_MS),
        jitter: ms(r, "jitter_ms", 0),
    };
    let model_name = model.unwrap_or("constant");
    let mapping = match r.choice(&t, "matrix_hosts", &["exact", "modulo", "random"]) {
        Some("modulo") => HostMapping::Modulo,
        Some("random") => HostMapping::Random,
        _ => HostMapping::Exact,
    };
    let matrix_path = r.string(&t, "matrix");
    const PLANE_KEYS: [&str; 4] = ["plane_ms", "access_min_ms", "access_max_ms", "jitter_ms"];
    const MATRIX_KEYS: [&str; 2] = ["matrix", "matrix_hosts"];
    const CONSTANT: [&str; 1] = ["latency_ms"];
    const UNIFORM: [&str; 2] = ["latency_min_ms", "latency_max_ms"];
    let unused: Vec<&'static str> = match model_name {
        "uniform" => [&CONSTANT[..], &PLANE_KEYS, &MATRIX_KEYS].concat(),
        "plane" => [&CONSTANT[..], &UNIFORM, &MATRIX_KEYS].concat(),
        "matrix" => [&CONSTANT[..], &UNIFORM, &PLANE_KEYS].concat(),
        _ => [&UNIFORM[..], &PLANE_KEYS, &MATRIX_KEYS].concat(),
    };
    for key in unused {
        r.ignored(&t, key, &format!("has no effect with `latency = \"{model_name}\"`"));
    }
    let latency = match model_name {
        "uniform" => Latency::Uniform { min, max },
        "plane" => Latency::Plane(plane),
        "matrix" => match matrix_path {
            Some(path) => r
                .inputs()
                .matrix(path, mapping, || read_matrix(r, &t, path, mapping))
                .map_or(Latency::Constant(constant), Latency::Matrix),
            None => {
                let msg = "`latency = \"matrix\"` needs `matrix`, a CSV file of round trips in \
                           ms, one row per host";
                r.table_error(&t, "matrix", msg.into());
                Latency::Constant(constant)
            }
        },
        _ => Latency::Constant(constant),
    };
    let mut share = |key| match r.number(&t, key) {
        Some((x, node)) if !(0.0..1.0).contains(&x) => {
            let msg = format!("must be at least 0 and less than 1, got {}", num(x));
            r.error(&t, key, node, msg);
            0.0
        }
        Some((x, _)) => x,
        None => 0.0,
    };
    let loss = share("loss");
    let unreachable = share("unreachable");
    let links = read_links(r, &t, (model_name == "plane").then_some(&plane));
    NetworkConfig { latency, loss, unreachable, links }
}

/// Reads the classes of access links (`network.links`): each an inline table with a `weight`
/// (default 1), a `loss` in [0, 1) (default 0) and, in the `plane` if the latency model is one,
/// `access_min_ms` and `access_max_ms` (defaults: the plane's).
fn read_links(r: &mut Reader<'_>, t: &Table<'_>, plane: Option<&Plane>) -> Vec<LinkClass> {
    let Some(items) = r.array(t, "links") else { return Vec::new() };
    if items.is_empty() {
        let msg = "expected at least one class, e.g. [{ weight = 4 }, { weight = 1, loss = 0.05 }]";
        let node = r.get(t, "links").expect("read above");
        r.error(t, "links", node, msg.into());
    }
    let mut links = Vec::with_capacity(items.len());
    let example = "{ weight = 1, loss = 0.05 }";
    each_table(r, t, ("links", "network.links"), items, example, |r, c| {
        let weight = r.int(c, "weight", 1, u32::MAX as i128).map_or(1, |v| v as u32);
        let loss = match r.number(c, "loss") {
            Some((x, node)) if !(0.0..1.0).contains(&x) => {
                let msg = format!("must be at least 0 and less than 1, got {}", num(x));
                r.error(c, "loss", node, msg);
                0.0
            }
            Some((x, _)) => x,
            None => 0.0,
        };
        let ms = |r: &mut Reader<'_>, key| r.int(c, key, 0, u32::MAX as i128);
        let access = match (ms(r, "access_min_ms"), ms(r, "access_max_ms")) {
            (None, None) => None,
            (min, max) => {
                let Some(plane) = plane else {
                    let key = if min.is_some() { "access_min_ms" } else { "access_max_ms" };
                    let node = r.get(c, key).expect("given");
                    let msg = "access delays are the plane's: they need `latency = \"plane\"`";
                    r.error(c, key, node, msg.into());
                    return;
                };
                let (lo, hi) = (plane.access_min.as_ms(), plane.access_max.as_ms());
                let (min, max) = (min.map_or(lo, |v| v as u64), max.map_or(hi, |v| v as u64));
                if min > max {
                    let key = if r.get(c, "access_max_ms").is_some() {
                        "access_max_ms"
                    } else {
                        "access_min_ms"
                    };
                    let node = r.get(c, key).expect("given");
                    let msg = format!("access_min_ms ({min}) is more than access_max_ms ({max})");
                    r.error(c, key, node, msg);
                }
                Some((SimDuration(min), SimDuration(max)))
            }
        };
        links.push(LinkClass { weight, loss, access });
    });
    links
}

/// Reads each item of `items`, the list of inline tables under `key` of `t` whose known keys
/// are registered under `schema` (`links = [{ ... }, ...]`), with `read` (the table named
/// `schema[i]` in messages); an item that is not a table is an error that shows `example`.
fn each_table(
    r: &mut Reader<'_>,
    t: &Table<'_>,
    (key, schema): (&'static str, &'static str),
    items: &[doc::Node],
    example: &str,
    mut read: impl FnMut(&mut Reader<'_>, &Table<'_>),
) {
    for (i, item) in items.iter().enumerate() {
        if !matches!(item.kind, doc::Kind::Table(_)) {
            let msg = format!("expected a table ({example}), found {}", item.kind.type_name());
            r.error(t, key, item, msg);
            continue;
        }
        let path = format!("{schema}[{i}]");
        read(r, &Table { path: &path, schema, node: Some(item) });
    }
}

/// Warns of `[overlay]` switches that the network leaves without effect: client mode with every
/// host reachable, and Chord's proximity selection without fingers to select.
fn warn_idle_network_switches(
    r: &mut Reader<'_>,
    top: &Table<'_>,
    overlay: &OverlayConfig,
    network: &NetworkConfig,
) {
    let t = r.table(top, "overlay", "overlay");
    if overlay.client_mode && network.unreachable == 0.0 {
        let why = "has no effect without `network.unreachable`: clients are the unreachable \
                   peers, and every peer is reachable";
        r.ignored(&t, "client_mode", why);
    }
    if overlay.proximity > 1 && overlay.protocol == ProtocolKind::Chord && !overlay.fingers {
        let why = "has no effect without `fingers = true`: Chord selects among candidates only \
                   for its fingers";
        r.ignored(&t, "proximity", why);
    }
}

/// Reads a latency matrix (`network.matrix`): CSV, one row per host, each row the round trips
/// in ms from that host to every host (the diagonal is what two peers mapped onto one host
/// take); blank lines and lines starting with `#` are skipped. Every row has as many entries as
/// there are rows, each a number at least 0. The one-way latency is half the round trip,
/// rounded to the nearest ms (halves up). Relative paths are relative to the scenario file.
fn read_matrix(
    r: &mut Reader<'_>,
    t: &Table<'_>,
    path: &str,
    mapping: HostMapping,
) -> Option<LatencyMatrix> {
    let (shown, text) = read_input(r, t, "network", "matrix", path)?;
    let source = TraceSource { shown, text: text.clone(), lines: Vec::new() };
    let mut one_way: Vec<u32> = Vec::new();
    let (mut hosts, mut rows, mut last_line) = (0usize, 0usize, 0usize);
    for (i, raw) in text.lines().enumerate() {
        let row = raw.trim();
        if row.is_empty() || row.starts_with('#') {
            continue;
        }
        last_line = i + 1;
        let fields: Vec<&str> = row.split(',').map(str::trim).collect();
        if rows == 0 {
            hosts = fields.len();
            // Room for the whole matrix only if the file can hold it (an entry takes at least
            // two bytes): a first row of a million entries must not reserve 4 TB.
            if hosts * hosts <= text.len() / 2 {
                one_way.reserve(hosts * hosts);
            }
        }
        let problem = if fields.len() != hosts {
            Some(format!(
                "row {} has {} round trips, expected {hosts} (one per host, as the first row has)",
                rows + 1,
                fields.len()
            ))
        } else if rows == hosts {
            Some(format!(
                "more rows than the {hosts} hosts each row names: expected a square matrix"
            ))
        } else {
            fields.iter().enumerate().find_map(|(j, f)| match f.parse::<f64>() {
                _ if f.is_empty() => Some(format!("entry {} (host {j}) is missing", j + 1)),
                Ok(x) if x.is_finite() && x >= 0.0 && x < u32::MAX as f64 => {
                    one_way.push((x / 2.0).round() as u32);
                    None
                }
                Ok(x) if x < 0.0 => Some(format!(
                    "entry {} (host {j}): a round trip cannot be negative, got {f}",
                    j + 1
                )),
                _ => Some(format!(
                    "entry {} (host {j}): expected a round trip in ms (a number at least 0), \
                     found \"{f}\"",
                    j + 1
                )),
            })
        };
        if let Some(msg) = problem {
            r.push(source.error(i + 1, msg));
            return None;
        }
        rows += 1;
    }
    if rows == 0 || rows != hosts {
        let msg = format!(
            "{rows} rows of {hosts} round trips: expected a square matrix, one row per host"
        );
        match last_line {
            0 => {
                let node = r.get(t, "matrix").expect("read above");
                r.error(t, "matrix", node, format!("{}: {msg}", source.shown));
            }
            line => r.push(source.error(line, msg)),
        }
        return None;
    }
    Some(LatencyMatrix { hosts: hosts as u32, one_way, mapping })
}

/// Reads `[workload]`; `window_s` is the measured window, `peers` the bootstrap population.
fn read_workload(
    r: &mut Reader<'_>,
    top: &Table<'_>,
    window_s: f64,
    peers: Option<u64>,
) -> Option<WorkloadConfig> {
    let t = r.table(top, "workload", "workload");
    // Fewer than 2^32 lookups, however given: more would run for days.
    let count = r.int(&t, "lookups", 0, u32::MAX as i128).map(|n| n as u64);
    let rate = r.number(&t, "rate_per_s");
    let per_peer_interval = r.seconds(&t, "per_peer_interval_s", false).map(SimDuration);
    if let (Some(every), Some(n)) = (per_peer_interval, peers)
        && n as f64 * window_s * 1000.0 / every.as_ms() as f64 >= u32::MAX as f64
    {
        let node = r.get(&t, "per_peer_interval_s").expect("read above");
        let msg = format!(
            "{n} peers looking up every {} s give more than 2^32 lookups over the window",
            num(every.as_ms() as f64 / 1000.0)
        );
        r.error(&t, "per_peer_interval_s", node, msg);
        return None;
    }
    if per_peer_interval.is_some() && (count.is_some() || rate.is_some()) {
        let node = r.get(&t, "per_peer_interval_s").expect("read above");
        let msg = "give one of `lookups` (a count), `rate_per_s` or `per_peer_interval_s`".into();
        r.error(&t, "per_peer_interval_s", node, msg);
        return None;
    }
    let lookups = match (count, rate) {
        (Some(_), Some((_, node))) => {
            let msg = "give either `lookups` (a count) or `rate_per_s`, not both".into();
            r.error(&t, "rate_per_s", node, msg);
            return None;
        }
        (_, Some((x, node))) if !(x >= 0.0 && x * window_s < u32::MAX as f64) => {
            let msg =
                format!("must be at least 0 and give fewer than 2^32 lookups, got {}", num(x));
            r.error(&t, "rate_per_s", node, msg);
            return None;
        }
        (_, Some((x, _))) => (x * window_s).round() as u64,
        (count, None) => count.unwrap_or(0),
    };
    let files = r.int(&t, "files", 0, u32::MAX as i128).map(|n| n as u64);
    let per_peer = r.int(&t, "files_per_peer", 0, u32::MAX as i128).map(|n| n as u64);
    let files = match (files, per_peer, peers) {
        (Some(_), Some(_), _) => {
            let node = r.get(&t, "files_per_peer").expect("read above");
            let msg = "give either `files` or `files_per_peer`, not both".into();
            r.error(&t, "files_per_peer", node, msg);
            return None;
        }
        (_, Some(k), Some(n)) if k as u128 * n as u128 > u32::MAX as u128 => {
            let node = r.get(&t, "files_per_peer").expect("read above");
            let msg = format!("{k} files for each of {n} peers is more than 2^32 - 1 files");
            r.error(&t, "files_per_peer", node, msg);
            return None;
        }
        (_, Some(k), Some(n)) => k * n,
        (_, Some(_), None) => return None,
        (files, None, _) => files.unwrap_or(0),
    };
    let exponent = match r.number(&t, "zipf_exponent") {
        Some((s, node)) if s < 0.0 => {
            r.error(&t, "zipf_exponent", node, format!("must be at least 0, got {}", num(s)));
            defaults::ZIPF_EXPONENT
        }
        Some((s, _)) => s,
        None => defaults::ZIPF_EXPONENT,
    };
    let keys_choice = r.choice(&t, "keys", &["uniform", "stored", "zipf", "own_fingers"]);
    if keys_choice != Some("zipf") {
        r.ignored(&t, "zipf_exponent", "has no effect unless `keys = \"zipf\"`");
    }
    let keys = match keys_choice {
        Some("stored") => KeyDist::Stored,
        Some("zipf") => KeyDist::Zipf { exponent },
        Some("own_fingers") => KeyDist::OwnFingers,
        _ => KeyDist::Uniform,
    };
    let consistency_window = SimDuration(
        r.int(&t, "consistency_window_ms", 0, u32::MAX as i128)
            .map_or(defaults::CONSISTENCY_WINDOW_MS, |v| v as u64),
    );
    Some(WorkloadConfig { lookups, keys, files, per_peer_interval, consistency_window })
}

/// Reads `[swarm]` (SPEC §2c), with the scripted tracker events; `None` without a `[swarm]`
/// section (tracker events are then refused) or when a value is wrong.
fn read_swarm(
    r: &mut Reader<'_>,
    top: &Table<'_>,
    space: IdSpace,
    duration: SimTime,
    name: &str,
    tracker_events: &[TrackerEvent<'_>],
) -> Option<SwarmConfig> {
    if r.get(top, "swarm").is_none() {
        if let Some((_, _, t)) = tracker_events.first() {
            let node = r.get(t, "kind").expect("read as a tracker event");
            let msg = "a tracker event needs a swarm: add a [swarm] section".to_string();
            r.error(t, "kind", node, msg);
        }
        return None;
    }
    let t = r.table(top, "swarm", "swarm");
    let count = |r: &mut Reader<'_>, key: &'static str, min: i128, default: u32| {
        r.int(&t, key, min, u32::MAX as i128).map_or(default, |v| v as u32)
    };
    // Zero pieces is the core's rule to refuse (at this key): read it here as any count.
    // Bounded so that no input exhausts memory: a million pieces of up to a GiB, ten million
    // leechers.
    let bounded = |r: &mut Reader<'_>, key: &'static str, max: i128, default: u32| {
        r.int(&t, key, 0, max).map_or(default, |v| v as u32)
    };
    let pieces = bounded(r, "pieces", 1 << 20, defaults::SWARM_PIECES);
    let piece_kib = bounded(r, "piece_kib", 1 << 20, defaults::SWARM_PIECE_KIB);
    let seeders = bounded(r, "seeders", 1_000_000, 1);
    let flash_crowd = bounded(r, "leechers", 10_000_000, 0);
    let flash_at = SimTime(r.seconds(&t, "flash_at_s", true).unwrap_or(0));
    let arrivals_per_s = match r.number(&t, "arrivals_per_s") {
        Some((x, node)) if !(0.0..=1e6).contains(&x) => {
            r.error(&t, "arrivals_per_s", node, format!("must be from 0 to 10^6, got {}", num(x)));
            0.0
        }
        Some((x, _)) => x,
        None => 0.0,
    };
    let arrivals_until = r.seconds(&t, "arrivals_until_s", true).map_or(duration, SimTime);
    if arrivals_per_s == 0.0 {
        r.ignored(&t, "arrivals_until_s", "has no effect without `arrivals_per_s`");
    }
    let expected = arrivals_per_s * arrivals_until.as_ms() as f64 / 1000.0;
    if expected > 1e7 {
        let node = r.get(&t, "arrivals_per_s").expect("a positive rate was read");
        let msg = format!(
            "{} arrivals per second until {} s make {} leechers: at most 10^7",
            num(arrivals_per_s),
            num(arrivals_until.as_ms() as f64 / 1000.0),
            num(expected.round())
        );
        r.error(&t, "arrivals_per_s", node, msg);
    }
    let kbps = |r: &mut Reader<'_>, t: &Table<'_>, key: &'static str, default: u64| {
        r.int(t, key, 1, u32::MAX as i128).map_or(default, |v| v as u64)
    };
    let up = kbps(r, &t, "up_kbps", defaults::SWARM_UP_KBPS);
    let down = kbps(r, &t, "down_kbps", defaults::SWARM_DOWN_KBPS);
    let mut classes = vec![CapacityClass { weight: 1, up_kbps: up, down_kbps: down }];
    if let Some(items) = r.array(&t, "classes") {
        for key in ["up_kbps", "down_kbps"] {
            if let Some(node) = r.get(&t, key) {
                let msg = format!("give either `{key}` or `classes`, not both");
                r.error(&t, key, node, msg);
            }
        }
        classes.clear();
        let example = "{ weight = 1, up_kbps = 1000, down_kbps = 8000 }";
        each_table(r, &t, ("classes", "swarm.classes"), items, example, |r, c| {
            let weight = r.int(c, "weight", 1, u32::MAX as i128).map_or(1, |v| v as u32);
            let up_kbps = kbps(r, c, "up_kbps", defaults::SWARM_UP_KBPS);
            let down_kbps = kbps(r, c, "down_kbps", defaults::SWARM_DOWN_KBPS);
            classes.push(CapacityClass { weight, up_kbps, down_kbps });
        });
    }
    let seeder = CapacityClass {
        weight: 1,
        up_kbps: kbps(r, &t, "seeder_up_kbps", classes.first().map_or(up, |c| c.up_kbps)),
        down_kbps: kbps(r, &t, "seeder_down_kbps", classes.first().map_or(down, |c| c.down_kbps)),
    };
    let seed_time = r.seconds(&t, "seed_time_s", true).map(SimDuration);
    let discovery = match r.choice(&t, "discovery", &["tracker", "dht", "both"]) {
        Some("dht") => Discovery::Dht,
        Some("both") => Discovery::Both,
        _ => Discovery::Tracker,
    };
    let announce = SimDuration(
        r.seconds(&t, "announce_s", false).unwrap_or(defaults::SWARM_ANNOUNCE_S * 1000),
    );
    let numwant = count(r, "numwant", 0, defaults::SWARM_NUMWANT);
    let max_peers = count(r, "max_peers", 0, defaults::SWARM_MAX_PEERS);
    let unchoke_slots = count(r, "unchoke_slots", 0, defaults::SWARM_UNCHOKE_SLOTS);
    let infohash = match r.int(&t, "infohash", 0, space.max_id() as i128) {
        Some(k) => RingId(k as u64),
        None => file_key(space, name),
    };
    let abort_mean = r.seconds(&t, "abort_mean_s", false);
    let crash_fraction = match r.number(&t, "abort_crash_fraction") {
        Some((x, node)) if !(0.0..=1.0).contains(&x) => {
            r.error(&t, "abort_crash_fraction", node, format!("must be in [0, 1], got {}", num(x)));
            defaults::CRASH_FRACTION
        }
        Some((x, _)) => x,
        None => defaults::CRASH_FRACTION,
    };
    if abort_mean.is_none() {
        r.ignored(&t, "abort_crash_fraction", "has no effect without `abort_mean_s`");
    }
    let aborts =
        abort_mean.map(|ms| (SessionDist::Exponential { mean_ms: ms as f64 }, crash_fraction));
    // One outage as two keys (sweepable), beside any scripted tracker events.
    let mut outages: Vec<(SimTime, bool)> =
        tracker_events.iter().map(|&(at, up, _)| (at, up)).collect();
    let down = r.seconds(&t, "tracker_down_s", true);
    let up_again = r.seconds(&t, "tracker_up_s", true);
    match (down, up_again) {
        (Some(d), Some(u)) if u <= d => {
            let node = r.get(&t, "tracker_up_s").expect("read above");
            let msg = format!("must come after `tracker_down_s` ({} s)", num(d as f64 / 1000.0));
            r.error(&t, "tracker_up_s", node, msg);
        }
        (None, Some(_)) => {
            let node = r.get(&t, "tracker_up_s").expect("read above");
            r.error(&t, "tracker_up_s", node, "needs `tracker_down_s`".into());
        }
        _ => {}
    }
    outages.extend(down.map(|d| (SimTime(d), false)));
    outages.extend(up_again.map(|u| (SimTime(u), true)));
    outages.sort_by_key(|&(at, _)| at); // stable: equal times keep their order
    if !discovery.tracker() && down.is_some() {
        let node = r.get(&t, "tracker_down_s").expect("read above");
        let msg = format!(
            "a tracker outage in a swarm without a tracker (`swarm.discovery = \"{}\"`)",
            discovery.name()
        );
        r.error(&t, "tracker_down_s", node, msg);
    }
    if !discovery.tracker()
        && let Some((_, _, et)) = tracker_events.first()
    {
        let node = r.get(et, "kind").expect("read as a tracker event");
        let msg = format!(
            "a tracker event in a swarm without a tracker (`swarm.discovery = \"{}\"`)",
            discovery.name()
        );
        r.error(et, "kind", node, msg);
    }
    Some(SwarmConfig {
        pieces,
        piece_kib,
        seeders,
        seeder,
        flash_crowd,
        flash_at,
        arrivals_per_s,
        arrivals_until,
        classes,
        seed_time,
        announce,
        numwant,
        max_peers,
        unchoke_slots,
        tracker_events: outages,
        discovery,
        infohash,
        aborts,
    })
}

/// Reads `[[events]]`, each with the table it came from (for messages about it).
fn read_events<'n>(
    r: &mut Reader<'_>,
    top: &Table<'n>,
    paths: &'n [String],
    space: IdSpace,
    explicit: bool,
) -> Option<(Vec<PeerEvent<'n>>, Vec<TrackerEvent<'n>>)> {
    let Some(items) = r.array(top, "events") else { return Some((Vec::new(), Vec::new())) };
    let mut events: Vec<PeerEvent<'n>> = Vec::new();
    let mut tracker = Vec::new();
    let mut ok = true;
    for (item, path) in items.iter().zip(paths) {
        let doc::Kind::Table(map) = &item.kind else {
            let t = Table { path: "", schema: "", node: Some(item) };
            let msg = format!("expected a table ([[events]]), found {}", item.kind.type_name());
            r.error(&t, path, item, msg);
            ok = false;
            continue;
        };
        let t = Table { path, schema: "events", node: Some(item) };
        let kind = map.get("kind").and_then(|n| match &n.kind {
            doc::Kind::Str(k) => Some(k.as_str()),
            _ => None,
        });
        if let Some(k @ ("tracker_down" | "tracker_up")) = kind {
            match read_tracker_event(r, &t, k == "tracker_up") {
                Some(ev) => tracker.push(ev),
                None => ok = false,
            }
            continue;
        }
        match read_event(r, &t, space) {
            Some(ev) => events.push((ev, t)),
            None => ok = false,
        }
    }
    if !ok {
        return None;
    }
    if !explicit && let Some((_, t)) = events.first() {
        let key = if r.get(t, "from").is_some() { "from" } else { "peer" };
        let msg = "events name peers by ID, so the population must list them: use `population.ids`";
        match r.get(t, key) {
            Some(node) => r.error(t, key, node, msg.into()),
            None => r.table_error(t, key, msg.into()),
        }
        return None;
    }
    Some((events, tracker))
}

/// Reads `[[schedule]]`: a pinned order of steps (as `dhtsim explore` writes a
/// counterexample). Errors are reported on the reader; what is invalid is left out.
fn read_schedule(
    r: &mut Reader<'_>,
    top: &Table<'_>,
    paths: &[String],
    space: IdSpace,
    events: usize,
) -> Vec<ScheduledStep> {
    let Some(items) = r.array(top, "schedule") else { return Vec::new() };
    let max_id = space.max_id() as i128;
    let mut steps = Vec::new();
    for (item, path) in items.iter().zip(paths) {
        let doc::Kind::Table(_) = &item.kind else {
            let t = Table { path: "", schema: "", node: Some(item) };
            let msg = format!("expected a table ([[schedule]]), found {}", item.kind.type_name());
            r.error(&t, path, item, msg);
            continue;
        };
        let t = Table { path, schema: "schedule", node: Some(item) };
        let from = r.int(&t, "from", 0, max_id);
        let to = r.int(&t, "to", 0, max_id);
        let message = r.string(&t, "message");
        let peer = r.int(&t, "peer", 0, max_id);
        let timer = r.string(&t, "timer");
        let index = match events {
            0 => None,
            n => r.int(&t, "index", 0, n as i128 - 1),
        };
        let Some(kind) = r.choice(&t, "step", &["deliver", "undeliverable", "timer", "event"])
        else {
            if r.get(&t, "step").is_none() {
                r.table_error(&t, "step", "missing: every schedule step needs `step`".into());
            }
            continue;
        };
        let allowed: &[&str] = match kind {
            "deliver" | "undeliverable" => &["from", "to", "message"],
            "timer" => &["peer", "timer"],
            _ => &["index"],
        };
        let mut ok = true;
        for k in ["from", "to", "message", "peer", "timer", "index"] {
            let given = r.get(&t, k);
            match given {
                Some(node) if !allowed.contains(&k) => {
                    let msg =
                        format!("a {kind} step has no `{k}` (it takes {})", allowed.join(", "));
                    r.error(&t, k, node, msg);
                    ok = false;
                }
                None if allowed.contains(&k) => {
                    r.table_error(&t, k, format!("missing: a {kind} step needs `{k}`"));
                    ok = false;
                }
                _ => {}
            }
        }
        if kind == "event"
            && events == 0
            && let Some(node) = r.get(&t, "index")
        {
            r.error(&t, "index", node, "there is no [[events]] entry for it to name".into());
            ok = false;
        }
        let id = |v: Option<i128>| RingId(v.unwrap_or(0) as u64);
        let step = match kind {
            "deliver" | "undeliverable"
                if ok && from.is_some() && to.is_some() && message.is_some() =>
            {
                let (from, to, message) =
                    (id(from), id(to), message.unwrap_or_default().to_string());
                if kind == "deliver" {
                    ScheduledStep::Deliver { from, to, message }
                } else {
                    ScheduledStep::Undeliverable { from, to, message }
                }
            }
            "timer" if ok && peer.is_some() && timer.is_some() => ScheduledStep::Timer {
                peer: id(peer),
                timer: timer.unwrap_or_default().to_string(),
            },
            "event" if ok && index.is_some() => {
                ScheduledStep::Event { index: index.unwrap_or(0) as usize }
            }
            _ => continue,
        };
        steps.push(step);
    }
    steps
}

/// A scripted event about peers, with the table it came from.
type PeerEvent<'n> = (ScriptedEvent, Table<'n>);

/// A scripted `tracker_down` or `tracker_up` event: when, whether the tracker comes back, and
/// the table it came from.
type TrackerEvent<'n> = (SimTime, bool, Table<'n>);

/// Reads a `tracker_down` / `tracker_up` event (only `at_ms` and `kind`).
fn read_tracker_event<'n>(r: &mut Reader<'_>, t: &Table<'n>, up: bool) -> Option<TrackerEvent<'n>> {
    r.choice(t, "kind", &["tracker_down", "tracker_up"]);
    for k in ["from", "key", "file", "peer", "via"] {
        if let Some(node) = r.get(t, k) {
            let kind = if up { "tracker_up" } else { "tracker_down" };
            let msg = format!("a {kind} event has no `{k}` (it takes only `at_ms`)");
            r.error(t, k, node, msg);
            return None;
        }
    }
    match r.int(t, "at_ms", 0, U64_MAX) {
        Some(at) => Some((SimTime(at as u64), up, *t)),
        None => {
            if r.get(t, "at_ms").is_none() {
                r.table_error(t, "at_ms", "missing: every event needs `at_ms`".into());
            }
            None
        }
    }
}

fn read_event(r: &mut Reader<'_>, t: &Table<'_>, space: IdSpace) -> Option<ScriptedEvent> {
    let max_id = space.max_id() as i128;
    // Whether it comes before the end of the run, `Config::validate` checks.
    let at = r.int(t, "at_ms", 0, U64_MAX);
    // (Tracker events are read apart; listed here for the message about an unknown kind.)
    let kind = r.choice(
        t,
        "kind",
        &["lookup", "store", "join", "leave", "crash", "tracker_down", "tracker_up"],
    );
    let from = r.int(t, "from", 0, max_id);
    let key = r.int(t, "key", 0, max_id);
    let file = r.string(t, "file");
    let peer = r.int(t, "peer", 0, max_id);
    let via = r.int(t, "via", 0, max_id);
    let (Some(at), Some(kind)) = (at, kind) else {
        for k in ["at_ms", "kind"] {
            if r.get(t, k).is_none() {
                r.table_error(t, k, format!("missing: every event needs `{k}`"));
            }
        }
        return None;
    };
    let required = |r: &mut Reader<'_>, key: &'static str, v: Option<i128>, what: &str| {
        if v.is_none() && r.get(t, key).is_none() {
            r.table_error(t, key, format!("missing: a {kind} event needs `{key}` ({what})"));
        }
        v.map(|x| RingId(x as u64))
    };
    // Keys that make no sense for this kind are mistakes, not silently ignored.
    let allowed: &[&str] = match kind {
        "lookup" | "store" => &["at_ms", "kind", "from", "key", "file"],
        "join" => &["at_ms", "kind", "peer", "via"],
        _ => &["at_ms", "kind", "peer"],
    };
    for k in ["from", "key", "file", "peer", "via"] {
        if !allowed.contains(&k)
            && let Some(node) = r.get(t, k)
        {
            let msg = format!("a {kind} event has no `{k}` (it takes {})", allowed[2..].join(", "));
            r.error(t, k, node, msg);
            return None;
        }
    }
    let action = match kind {
        "lookup" | "store" => {
            let key = match (key, file) {
                (Some(k), None) => RingId(k as u64),
                (None, Some(name)) => file_key(space, name),
                (Some(_), Some(_)) => {
                    let msg = "give either `key` or `file` (a name hashed to a key), not both";
                    r.table_error(t, "file", msg.into());
                    return None;
                }
                (None, None) => {
                    if r.get(t, "key").is_none() && r.get(t, "file").is_none() {
                        r.table_error(
                            t,
                            "key",
                            format!("missing: a {kind} event needs `key` or `file`"),
                        );
                    }
                    return None;
                }
            };
            let from = required(r, "from", from, "a peer ID")?;
            if kind == "lookup" {
                Action::Lookup { from, key }
            } else {
                Action::Store { from, key }
            }
        }
        "join" => {
            let peer = required(r, "peer", peer, "the new peer's ID")?;
            let via = required(r, "via", via, "the well-known peer it contacts")?;
            Action::Join { peer, via }
        }
        "leave" => Action::Leave { peer: required(r, "peer", peer, "a peer ID")? },
        _ => Action::Crash { peer: required(r, "peer", peer, "a peer ID")? },
    };
    Some(ScriptedEvent { at: SimTime(at as u64), action })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error `text` gives, with its line, key, message and hint.
    fn refused(text: &str, overrides: &[&str]) -> InputError {
        let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        from_text("s.toml", text, "s", &overrides, None).expect_err("refused")
    }

    #[test]
    fn a_broken_rule_of_the_core_is_shown_at_its_key() {
        let e = refused("duration_s = 10\nwarmup_s = 10\n", &[]);
        assert_eq!((e.line(), e.key.as_deref()), (Some(2), Some("warmup_s")));
        assert_eq!(e.message, "must be less than duration_s (10), got 10");
        assert_eq!(e.hint, None);
        // An element of a list: the second 7 of the list.
        let e = refused("id_bits = 6\n[population]\nids = [\n  7,\n  3,\n  7,\n]\n", &[]);
        assert_eq!((e.line(), e.key.as_deref()), (Some(6), Some("population.ids")));
        assert_eq!(e.message, "duplicate peer ID 7");
        // A key of the second `[[events]]` table.
        let ev = |at| format!("[[events]]\nat_ms = {at}\nkind = \"crash\"\npeer = 1\n");
        let text = format!("duration_s = 1\n[population]\nids = [1, 2]\n{}{}", ev(0), ev(1000));
        let e = refused(&text, &[]);
        assert_eq!((e.line(), e.key.as_deref()), (Some(9), Some("events[1].at_ms")));
    }

    #[test]
    fn a_key_left_to_its_default_is_shown_at_its_section() {
        let e = refused("seed = 3\n[network]\nlatency = \"uniform\"\nlatency_min_ms = 150\n", &[]);
        assert_eq!((e.line(), e.key.as_deref()), (Some(2), Some("network.latency_max_ms")));
        assert_eq!(e.message, "must be at least latency_min_ms (150), got 100");
        assert!(e.hint.unwrap().contains("its default value"));
    }

    #[test]
    fn a_swept_or_overridden_value_is_shown_where_it_is_given() {
        let text = "id_bits = 2\n[population]\npeers = 3\n[sweep]\n\"population.peers\" = [2, 9]\n";
        let e = refused(text, &[]);
        assert_eq!((e.line(), e.key.as_deref()), (Some(5), Some("population.peers")));
        assert!(e.message.starts_with("9 peers do not fit"), "{e}");
        let e = refused("[population]\nbootstrap = \"joins\"\n", &["overlay.virtual_nodes=3"]);
        assert_eq!(e.location, Some(error::Location::Override("overlay.virtual_nodes=3".into())));
        assert_eq!(e.key.as_deref(), Some("overlay.virtual_nodes"));
    }
}

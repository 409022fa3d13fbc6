//! A generated corpus of bad input (issue 13): wrong types for every scenario key, out-of-range
//! and huge numbers, unknown and misspelt keys at every table, broken TOML, empty, binary and
//! non-UTF-8 files, device files, bad traces, bad `[[events]]`, huge sweeps, and bad command-line
//! values. The cases are made by code, mutations × keys, from the table `keys()` below.
//!
//! Every case runs `dhtsim check` and `dhtsim run` (or `run` alone when it tests an argument only
//! `run` takes) in a fresh directory, under a memory limit and a time limit, and must:
//! - exit with status 2 (or 0 for the cases listed in `VALID`, each with its reason);
//! - print no panic;
//! - start its message with `error: `, name the file (scenario, trace, `--set ...` or the option)
//!   and, for a mistake about one key, name the key as ``key `a.b` ``; when the case knows the
//!   line, the message starts with `error: FILE:LINE:`;
//! - keep the message readable: valid UTF-8 without control characters, quoted lines at most
//!   `SNIPPET_WIDTH` characters, numbers in short form (no run of more than `DIGITS` digits);
//! - write nothing into the working directory (the listing before equals the listing after; a
//!   valid `run` adds its `--out` directory and nothing else);
//! - answer within `TIMEOUT`, or be killed and reported.
//!
//! The test reports every failing case with its reasons, not just the first. To run some of
//! the cases only: `CORPUS_FILTER=trace/ cargo test --test it corpus`.

use super::*;
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::io::Read;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A command that has not answered by then is killed and its case fails.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Address space of each `dhtsim` process (`ulimit -v`, KiB): a case that tries to allocate
/// without bound fails fast instead of taking the machine's memory from everyone else.
const MEMORY_LIMIT_KIB: u64 = 2 * 1024 * 1024;
/// Cases run at once.
const THREADS: usize = 4;
/// Output kept per stream; the rest is read and counted, not stored.
const KEEP_BYTES: usize = 64 * 1024;
/// Longest quoted source line (`12 | ...`) a message may print, in characters.
const SNIPPET_WIDTH: usize = 200;
/// Longest run of digits the first line of a message may hold: a number the user wrote as
/// `1e300` comes back short, not as 301 digits. (2^64 has 20 digits.)
const DIGITS: usize = 24;
/// Most resident memory a command may use. A small scenario needs a few MB; reading a device
/// or building a huge sweep until the address-space limit stops it is a finding, even when the
/// allocation failure then ends in a tidy message.
const PEAK_MIB: u64 = 512;
/// Size of the sparse files that stand for a huge scenario or trace (no disk is used).
const HUGE_FILE: u64 = 1 << 30;

/// Cases that are in fact valid (exit 0), each with the reason. An entry ending in `*` covers
/// every case whose name starts with what precedes it. Every entry must match a case.
const VALID: &[(&str, &str)] = &[
    (
        "baseline/*",
        "each key's template with a documented valid value: shows that the mutations of that \
         template, not the template, are what the other cases reject",
    ),
    ("bytes/empty-file", "every key is optional: an empty scenario is the defaults"),
    ("bytes/comments-and-blank-lines", "comments and blank lines alone are the defaults"),
    ("bytes/utf8-bom", "a UTF-8 byte-order mark is allowed before a TOML document"),
    ("toml/dotted-keys", "`overlay.fingers = true` at the top is TOML for the [overlay] key"),
    ("device/symlink-to-scenario", "a symbolic link to a regular file opens that file"),
    ("trace/baseline", "crash, join and leave rows naming peers that are there, in time order"),
    ("trace/header-only", "a trace without rows is an empty trace"),
    ("trace/crlf-rows", "rows ending in CR LF are trimmed like any row"),
    ("trace/comments-and-blank-rows", "the trace format allows `#` comments and blank rows"),
    ("events/baseline", "one event of each kind, each naming peers that are there at its time"),
    ("events/out-of-file-order", "events are checked and run in time order, not file order"),
    (
        "events/below-successors-plus-one",
        "a script may take the ring below successors + 1 (the lone-survivor schedules of issue 15 \
         study that): it is warned about, not refused",
    ),
    (
        "trace/below-successors-plus-one",
        "as for scripted events: below successors + 1 is warned about, not refused",
    ),
    ("cli/jobs-0", "`--jobs 0` means one job per core"),
    ("cli/jobs-10000", "issue 13 caps `--jobs` (at the runs and a multiple of the cores)"),
    ("cli/jobs-usize-max", "issue 13 caps `--jobs`; the largest number it parses is capped too"),
    ("cli/seed-u64-max", "seeds are 0 to 2^64-1"),
    ("cli/out-empty-dir", "SPEC §3: an empty directory may be the output directory"),
    ("range/seed/i64-max-valid", "seeds are 0 to 2^64-1"),
    ("range/seed/u64-max-valid", "seeds are 0 to 2^64-1"),
];

/// The scenario every command-line case runs: eight peers, no plots, quick.
const TINY: &str = "id_bits = 8\n[population]\npeers = 8\n[output]\nplots = false\n";
/// A population named by ID, as scripted events and traces need (lines 1 to 4).
const RING: &str =
    "id_bits = 6\nduration_s = 10\n[population]\nids = [1, 12, 13, 25, 32, 40, 48, 60]\n";
/// The start of every `[[schedule]]` template: RING maintained with r = 2, and one scripted
/// crash (of 12) for `event` steps to name.
const SCHEDULED: &str = "id_bits = 6\nduration_s = 10\n[population]\nids = [1, 12, 13, 25, 32, 40, 48, 60]\n\
                         [overlay]\nsuccessors = 2\nstabilize_s = 5\n\
                         [[events]]\nat_ms = 0\nkind = \"crash\"\npeer = 12\n";
/// The start of every churn template: a short run of few peers.
const CHURN: &str = "duration_s = 60\n[population]\npeers = 32\n[churn]\n";

// ---------------------------------------------------------------------------------------------
// The keys

/// What a key holds, as `docs/scenario.md` documents it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Ty {
    /// An integer in `min..=max`.
    Int(i128, i128),
    /// A number, integer or decimal, from `lo` (included when `lo_ok`) to `hi` (included when
    /// `hi_ok`).
    Num { lo: f64, lo_ok: bool, hi: f64, hi_ok: bool },
    /// `true` or `false`.
    Bool,
    /// Any string.
    Str,
    /// A string that names a directory: letters, digits, `.`, `_`, `-`.
    Name,
    /// One of these strings.
    Choice(&'static [&'static str]),
    /// A list of IDs in `0 .. 2^6` (the templates' `id_bits`).
    Ids,
    /// A list of times, seconds before the templates' `duration_s = 10`.
    Times,
    /// A list of seeds.
    Seeds,
    /// A `[section]`.
    Section,
    /// `[[events]]`: a list of tables.
    Events,
}

/// A scenario key with a template that uses it: `@` marks its value.
pub(crate) struct Key {
    /// The key as `known_keys()` names it (`overlay.fingers`, `events.at_ms`).
    pub(crate) known: &'static str,
    /// The key as messages name it (`events[0].at_ms`).
    pub(crate) shown: String,
    pub(crate) ty: Ty,
    /// A valid scenario with `@` in place of this key's value, written `NAME = @` on its line.
    pub(crate) template: String,
    /// A documented valid value.
    pub(crate) valid: &'static str,
    /// The trace file the template needs, if any.
    pub(crate) trace: Option<&'static str>,
}

fn num(lo: f64, lo_ok: bool, hi: f64, hi_ok: bool) -> Ty {
    Ty::Num { lo, lo_ok, hi, hi_ok }
}

/// Seconds, at least one millisecond once rounded, bounded like every duration.
fn positive_s() -> Ty {
    num(0.0005, true, 1e12, true)
}

/// Seconds, zero allowed, bounded like every duration.
fn seconds_or_zero() -> Ty {
    num(0.0, true, 1e12, true)
}

const U32: i128 = u32::MAX as i128;
const U64: i128 = u64::MAX as i128;

/// Every key of a scenario file, with a template and its type.
pub(crate) fn keys() -> Vec<Key> {
    let mut v = Vec::new();
    let mut add = |known: &'static str, ty: Ty, template: String, valid: &'static str| {
        let leaf = known.rsplit('.').next().unwrap();
        let indexed = ["events.", "swarm.classes.", "network.links.", "schedule."]
            .iter()
            .find_map(|p| known.strip_prefix(p).map(|k| format!("{}[0].{k}", &p[..p.len() - 1])));
        let shown = indexed.unwrap_or_else(|| known.to_string());
        assert!(template.contains(&format!("{leaf} = @")), "{known}: template {template:?}");
        v.push(Key { known, shown, ty, template, valid, trace: None });
    };
    // Top level.
    add("name", Ty::Name, "name = @\n".into(), "\"x\"");
    add("seed", Ty::Int(0, U64), "seed = @\n".into(), "7");
    add("id_bits", Ty::Int(1, 64), "id_bits = @\n".into(), "16");
    add("duration_s", positive_s(), "duration_s = @\n".into(), "10");
    add("warmup_s", num(0.0, true, 10.0, false), "duration_s = 10\nwarmup_s = @\n".into(), "1");
    // [population]
    add("population.peers", Ty::Int(1, U32), "[population]\npeers = @\n".into(), "8");
    add("population.ids", Ty::Ids, "id_bits = 6\n[population]\nids = @\n".into(), "[1, 2, 3]");
    let bootstrap = Ty::Choice(&["ring", "joins"]);
    add("population.bootstrap", bootstrap, "[population]\nbootstrap = @\n".into(), "\"ring\"");
    // [overlay]
    let overlay: &[(&'static str, Ty, &'static str)] = &[
        ("hop_limit", Ty::Int(1, U32), "16"),
        ("retries", Ty::Int(0, U32), "1"),
        ("lookup", Ty::Choice(&["recursive", "iterative"]), "\"iterative\""),
        ("chord_variant", Ty::Choice(&["zave", "sigcomm2001"]), "\"sigcomm2001\""),
        ("fingers", Ty::Bool, "true"),
        ("cache_size", Ty::Int(0, U32), "4"),
        ("successors", Ty::Int(1, 1024), "3"),
        ("route_via_successors", Ty::Bool, "true"),
        ("reactive_stabilization", Ty::Bool, "true"),
        ("replication", Ty::Int(1, 65535), "2"),
        ("maintenance", Ty::Bool, "false"),
        ("stabilize_s", positive_s(), "10"),
        ("fix_fingers_s", positive_s(), "10"),
        ("check_predecessor_s", positive_s(), "10"),
        ("timer_jitter", Ty::Bool, "true"),
        ("timer_exponential", Ty::Bool, "true"),
        ("repair_retries", Ty::Int(0, U32), "0"),
        ("rpc_timeout_ms", Ty::Int(1, U32), "500"),
        ("rpc_attempts", Ty::Int(1, 16), "2"),
        ("client_mode", Ty::Bool, "true"),
        ("proximity", Ty::Int(0, 1024), "1"),
        ("virtual_nodes", Ty::Int(1, 1024), "2"),
    ];
    for &(k, ty, valid) in overlay {
        let known = format!("overlay.{k}").leak();
        add(known, ty, format!("[overlay]\n{k} = @\n"), valid);
    }
    add(
        "overlay.fingers_at_join",
        Ty::Bool,
        "[overlay]\nfingers = true\nfingers_at_join = @\n".into(),
        "true",
    );
    for k in ["iterative_repairs", "fix_all_fingers", "finger_hints"] {
        let known = format!("overlay.{k}").leak();
        add(known, Ty::Bool, format!("[overlay]\nfingers = true\n{k} = @\n"), "true");
    }
    add(
        "overlay.learn_from_timeouts",
        Ty::Bool,
        "[overlay]\nlookup = \"iterative\"\nlearn_from_timeouts = @\n".into(),
        "false",
    );
    let protocol = Ty::Choice(&["chord", "kademlia"]);
    add("overlay.protocol", protocol, "[overlay]\nprotocol = @\n".into(), "\"kademlia\"");
    let kad = "[overlay]\nprotocol = \"kademlia\"\n";
    add("overlay.k", Ty::Int(1, 65535), format!("{kad}alpha = 1\nk = @\n"), "8");
    add("overlay.alpha", Ty::Int(1, 65535), format!("{kad}k = 65535\nalpha = @\n"), "3");
    add("overlay.refresh_s", positive_s(), format!("{kad}refresh_s = @\n"), "3600");
    add("overlay.republish_s", positive_s(), format!("{kad}republish_s = @\n"), "3600");
    add("overlay.proximity_routing", Ty::Bool, format!("{kad}proximity_routing = @\n"), "false");
    // [network]
    let latency = Ty::Choice(&["constant", "uniform", "plane", "matrix"]);
    add("network.latency", latency, "[network]\nlatency = @\n".into(), "\"constant\"");
    add("network.latency_ms", Ty::Int(0, U32), "[network]\nlatency_ms = @\n".into(), "50");
    let uniform = "[network]\nlatency = \"uniform\"\n";
    add(
        "network.latency_min_ms",
        Ty::Int(0, U32),
        format!("{uniform}latency_min_ms = @\nlatency_max_ms = 4294967295\n"),
        "10",
    );
    add(
        "network.latency_max_ms",
        Ty::Int(0, U32),
        format!("{uniform}latency_min_ms = 0\nlatency_max_ms = @\n"),
        "100",
    );
    let plane = "[network]\nlatency = \"plane\"\n";
    add("network.plane_ms", Ty::Int(0, U32), format!("{plane}plane_ms = @\n"), "150");
    add(
        "network.access_min_ms",
        Ty::Int(0, U32),
        format!("{plane}access_min_ms = @\naccess_max_ms = 4294967295\n"),
        "1",
    );
    add(
        "network.access_max_ms",
        Ty::Int(0, U32),
        format!("{plane}access_min_ms = 0\naccess_max_ms = @\n"),
        "20",
    );
    add("network.jitter_ms", Ty::Int(0, U32), format!("{plane}jitter_ms = @\n"), "5");
    let matrix = "[network]\nlatency = \"matrix\"\n";
    add(
        "network.matrix",
        Ty::Str,
        format!("{matrix}matrix_hosts = \"modulo\"\nmatrix = @\n"),
        "\"t.csv\"",
    );
    let hosts = Ty::Choice(&["exact", "modulo", "random"]);
    let mapped = format!("{matrix}matrix = \"t.csv\"\nmatrix_hosts = @\n");
    add("network.matrix_hosts", hosts, mapped, "\"modulo\"");
    let loss = num(0.0, true, 1.0, false);
    add("network.loss", loss, "[network]\nloss = @\n".into(), "0.1");
    let share = num(0.0, true, 1.0, false);
    add("network.unreachable", share, "[network]\nunreachable = @\n".into(), "0.1");
    add(
        "network.links",
        Ty::Events,
        "[network]\nlinks = @\n".into(),
        "[{ weight = 2, loss = 0.1 }]",
    );
    add(
        "network.links.weight",
        Ty::Int(1, U32),
        "[network]\nlinks = [{ weight = @ }]\n".into(),
        "3",
    );
    add("network.links.loss", loss, "[network]\nlinks = [{ loss = @ }]\n".into(), "0.1");
    add(
        "network.links.access_min_ms",
        Ty::Int(0, U32),
        format!("{plane}links = [{{ access_max_ms = 4294967295, access_min_ms = @ }}]\n"),
        "1",
    );
    add(
        "network.links.access_max_ms",
        Ty::Int(0, U32),
        format!("{plane}links = [{{ access_min_ms = 0, access_max_ms = @ }}]\n"),
        "20",
    );
    // [workload]
    let w = "duration_s = 10\n[workload]\n";
    add("workload.lookups", Ty::Int(0, U64), format!("{w}lookups = @\n"), "10");
    // At most 2^32 lookups over the 10 s window.
    let rate = num(0.0, true, 4294967296.0 / 10.0, false);
    add("workload.rate_per_s", rate, format!("{w}rate_per_s = @\n"), "1");
    add("workload.per_peer_interval_s", positive_s(), format!("{w}per_peer_interval_s = @\n"), "5");
    add("workload.files", Ty::Int(0, U32), "[workload]\nfiles = @\n".into(), "10");
    add(
        "workload.files_per_peer",
        Ty::Int(0, U32),
        "[population]\npeers = 8\n[workload]\nfiles_per_peer = @\n".into(),
        "2",
    );
    add(
        "workload.zipf_exponent",
        num(0.0, true, f64::INFINITY, false),
        "[workload]\nfiles = 10\nkeys = \"zipf\"\nzipf_exponent = @\n".into(),
        "1.0",
    );
    let keys = Ty::Choice(&["uniform", "stored", "zipf", "own_fingers"]);
    add("workload.keys", keys, "[workload]\nfiles = 10\nkeys = @\n".into(), "\"stored\"");
    let window = "[workload]\nconsistency_window_ms = @\n";
    add("workload.consistency_window_ms", Ty::Int(0, U32), window.into(), "1000");
    // [output]
    for k in ["paths", "lookups", "peers", "plots"] {
        add(format!("output.{k}").leak(), Ty::Bool, format!("[output]\n{k} = @\n"), "false");
    }
    let dp = "[output]\ndistribution_peers = @\n";
    add("output.distribution_peers", Ty::Int(1, U64), dp.into(), "1000");
    add("output.sample_s", seconds_or_zero(), "[output]\nsample_s = @\n".into(), "10");
    add("output.dot_at_s", Ty::Times, "duration_s = 10\n[output]\ndot_at_s = @\n".into(), "[1]");
    // [check]
    let check = "[check]\nstop_on_violation = @\n";
    add("check.stop_on_violation", Ty::Bool, check.into(), "false");
    add("check.every_event", Ty::Bool, "[check]\nevery_event = @\n".into(), "true");
    add("check.small_ring", Ty::Bool, "[check]\nsmall_ring = @\n".into(), "true");
    // [churn]
    let models = Ty::Choice(&["none", "exponential", "pareto", "weibull", "poisson", "trace"]);
    add("churn.model", models, format!("{CHURN}model = @\n"), "\"exponential\"");
    let exp = format!("{CHURN}model = \"exponential\"\n");
    let positive = num(0.0, false, f64::INFINITY, false);
    add("churn.session_mean_s", positive, format!("{exp}session_mean_s = @\n"), "600");
    let pareto = format!("{CHURN}model = \"pareto\"\nshape = @\n");
    add("churn.shape", num(1.0, false, f64::INFINITY, false), pareto, "2");
    let fraction = num(0.0, true, 1.0, true);
    add("churn.crash_fraction", fraction, format!("{exp}crash_fraction = @\n"), "0.5");
    let arrivals = Ty::Choice(&["steady", "poisson"]);
    add("churn.arrivals", arrivals, format!("{exp}arrivals = @\n"), "\"poisson\"");
    add(
        "churn.arrival_rate_per_s",
        positive,
        format!("{exp}arrivals = \"poisson\"\narrival_rate_per_s = @\n"),
        "0.01",
    );
    let poisson = format!("{CHURN}model = \"poisson\"\nrate_per_s = @\n");
    add("churn.rate_per_s", positive, poisson, "0.1");
    let fail = num(0.0, true, 1.0, false);
    add("churn.fail_fraction", fail, format!("{CHURN}fail_fraction = @\nfail_at_s = 10\n"), "0.5");
    let at = num(0.0, true, 60.0, false);
    add("churn.fail_at_s", at, format!("{CHURN}fail_fraction = 0.5\nfail_at_s = @\n"), "10");
    add("churn.start_s", seconds_or_zero(), format!("{exp}start_s = @\n"), "5");
    add("churn.stop_s", seconds_or_zero(), format!("{exp}stop_s = @\n"), "30");
    add(
        "churn.trace",
        Ty::Str,
        format!("{RING}[churn]\nmodel = \"trace\"\ntrace = @\n"),
        "\"t.csv\"",
    );
    // [[events]]: lookups and joins in a population named by ID.
    let lookup = |k: &str| {
        let mut fields = vec![("at_ms", "0"), ("kind", "\"lookup\""), ("from", "1"), ("key", "3")];
        if k == "file" {
            fields[3] = ("file", "@");
        }
        event(&fields, k)
    };
    let join =
        |k: &str| event(&[("at_ms", "0"), ("kind", "\"join\""), ("peer", "2"), ("via", "1")], k);
    let id = Ty::Int(0, 63);
    add("events.at_ms", Ty::Int(0, 9999), lookup("at_ms"), "0");
    let kinds =
        Ty::Choice(&["lookup", "store", "join", "leave", "crash", "tracker_down", "tracker_up"]);
    add("events.kind", kinds, lookup("kind"), "\"store\"");
    add("events.from", id, lookup("from"), "12");
    add("events.key", id, lookup("key"), "63");
    add("events.file", Ty::Str, lookup("file"), "\"file-0\"");
    add("events.peer", id, join("peer"), "2");
    add("events.via", id, join("via"), "60");
    // [swarm]
    let sw: &[(&'static str, Ty, &'static str)] = &[
        ("pieces", Ty::Int(1, 1 << 20), "10"),
        ("piece_kib", Ty::Int(1, 1 << 20), "16"),
        ("seeders", Ty::Int(0, 1_000_000), "2"),
        ("leechers", Ty::Int(0, 10_000_000), "3"),
        ("flash_at_s", seconds_or_zero(), "1"),
        ("up_kbps", Ty::Int(1, U32), "100"),
        ("down_kbps", Ty::Int(1, U32), "100"),
        ("seeder_up_kbps", Ty::Int(1, U32), "100"),
        ("seeder_down_kbps", Ty::Int(1, U32), "100"),
        ("seed_time_s", seconds_or_zero(), "5"),
        ("abort_mean_s", positive_s(), "5"),
        ("announce_s", positive_s(), "60"),
        ("numwant", Ty::Int(1, U32), "10"),
        ("max_peers", Ty::Int(1, U32), "10"),
        ("unchoke_slots", Ty::Int(0, U32), "2"),
        ("infohash", Ty::Int(0, U32), "5"),
        ("tracker_down_s", seconds_or_zero(), "5"),
    ];
    for &(k, ty, valid) in sw {
        let other = if k == "leechers" { "seeders" } else { "leechers" };
        let template = format!("[swarm]\n{other} = 1\n{k} = @\n");
        add(format!("swarm.{k}").leak(), ty, template, valid);
    }
    let sw = "[swarm]\nleechers = 1\n";
    add(
        "swarm.arrivals_per_s",
        num(0.0, true, 1000.0, true),
        format!("duration_s = 10\n{sw}arrivals_per_s = @\n"),
        "0.5",
    );
    add(
        "swarm.arrivals_until_s",
        seconds_or_zero(),
        format!("{sw}arrivals_per_s = 0.000001\narrivals_until_s = @\n"),
        "5",
    );
    add(
        "swarm.abort_crash_fraction",
        num(0.0, true, 1.0, true),
        format!("{sw}abort_mean_s = 5\nabort_crash_fraction = @\n"),
        "0.5",
    );
    add(
        "swarm.tracker_up_s",
        positive_s(),
        format!("{sw}tracker_down_s = 0\ntracker_up_s = @\n"),
        "5",
    );
    let discovery = Ty::Choice(&["tracker", "dht", "both"]);
    add(
        "swarm.discovery",
        discovery,
        format!("[overlay]\nprotocol = \"chord\"\n{sw}discovery = @\n"),
        "\"both\"",
    );
    add(
        "swarm.classes",
        Ty::Events,
        format!("{sw}classes = @\n"),
        "[{ weight = 1, up_kbps = 10, down_kbps = 10 }]",
    );
    for k in ["weight", "up_kbps", "down_kbps"] {
        add(
            format!("swarm.classes.{k}").leak(),
            Ty::Int(1, U32),
            format!("{sw}classes = [{{ {k} = @ }}]\n"),
            "10",
        );
    }
    // Sections, and [sweep] with its seeds.
    for s in [
        "population",
        "overlay",
        "network",
        "workload",
        "churn",
        "output",
        "check",
        "sweep",
        "swarm",
    ] {
        add(s, Ty::Section, format!("{s} = @\n"), "{}");
    }
    add(
        "events",
        Ty::Events,
        format!("events = @\n{RING}"),
        "[{ at_ms = 0, kind = \"lookup\", from = 1, key = 3 }]",
    );
    add("sweep.seeds", Ty::Seeds, "[sweep]\nseeds = @\n".into(), "[1, 2]");
    // [[schedule]]: steps pending in a maintained ring of r = 2 with one scripted crash (of 12,
    // which leaves every peer a live successor).
    let sched = |steps: &str| format!("{SCHEDULED}{steps}");
    let timer =
        |v: &str| format!("[[schedule]]\nstep = \"timer\"\npeer = {v}\ntimer = \"Stabilize\"\n");
    let deliver = |k: &str| {
        let f = |key: &str, v: &'static str| if key == k { "@" } else { v };
        format!(
            "{}[[schedule]]\nstep = \"deliver\"\nfrom = {}\nto = {}\nmessage = {}\n",
            timer("1"),
            f("from", "1"),
            f("to", "12"),
            f("message", "\"StabilizeReq\"")
        )
    };
    let step = "[[schedule]]\nstep = @\npeer = 1\ntimer = \"Stabilize\"\n";
    add(
        "schedule.step",
        Ty::Choice(&["deliver", "undeliverable", "timer", "event"]),
        sched(step),
        "\"timer\"",
    );
    add("schedule.peer", id, sched(&timer("@")), "1");
    let timer_name = "[[schedule]]\nstep = \"timer\"\npeer = 1\ntimer = @\n";
    add("schedule.timer", Ty::Str, sched(timer_name), "\"Stabilize\"");
    add("schedule.from", id, sched(&deliver("from")), "1");
    add("schedule.to", id, sched(&deliver("to")), "12");
    add("schedule.message", Ty::Str, sched(&deliver("message")), "\"StabilizeReq\"");
    add("schedule.index", Ty::Int(0, 0), sched("[[schedule]]\nstep = \"event\"\nindex = @\n"), "0");
    add(
        "schedule",
        Ty::Events,
        format!("schedule = @\n{SCHEDULED}"),
        "[{ step = \"event\", index = 0 }]",
    );
    for k in v.iter_mut().filter(|k| k.known == "churn.trace") {
        k.trace = Some("at_ms,kind,peer\n1000,crash,1\n");
    }
    for k in v.iter_mut().filter(|k| k.known.starts_with("network.matrix")) {
        k.trace = Some("0,10\n10,0\n"); // the matrix file, t.csv
    }
    // A delivery is the second step: the timer that sends the message comes first.
    for k in v.iter_mut().filter(|k| {
        ["from", "to", "message"].map(|f| format!("schedule.{f}")).contains(&k.known.to_string())
    }) {
        k.shown = k.shown.replace("schedule[0]", "schedule[1]");
    }
    v
}

/// The RING population with one `[[events]]` table whose `key` is `@`.
fn event(fields: &[(&str, &str)], key: &str) -> String {
    let mut text = format!("{RING}[[events]]\n");
    for (k, v) in fields {
        let v = if *k == key { "@" } else { v };
        text.push_str(&format!("{k} = {v}\n"));
    }
    text
}

/// Values of the wrong type: (label, TOML literal).
const WRONG_TYPES: &[(&str, &str)] = &[
    ("string", "\"7\""),
    ("int", "7"),
    ("float", "7.5"),
    ("bool", "true"),
    ("array", "[7, 8]"),
    ("table", "{ a = 7 }"),
    ("datetime", "1979-05-27T07:32:00Z"),
    ("local-date", "1979-05-27"),
];

/// Whether a wrong-type label is in fact the right type for `ty`.
fn right_type(ty: Ty, label: &str) -> bool {
    match ty {
        Ty::Int(..) => label == "int",
        Ty::Num { .. } => label == "int" || label == "float",
        Ty::Bool => label == "bool",
        Ty::Str | Ty::Name | Ty::Choice(_) => label == "string",
        Ty::Ids | Ty::Times | Ty::Seeds => label == "array",
        Ty::Section => label == "table",
        Ty::Events => false,
    }
}

/// Out-of-range values of `ty`: (label, TOML literal), all invalid.
fn out_of_range(ty: Ty) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = Vec::new();
    let mut push = |label: &str, lit: String| v.push((label.to_string(), lit));
    match ty {
        Ty::Int(min, max) => {
            let ints: [(&str, i128); 7] = [
                ("neg", -1),
                ("zero", 0),
                ("max+1", max.saturating_add(1)),
                ("i64-min", i64::MIN as i128),
                ("i64-max", i64::MAX as i128),
                ("u64-max", U64),
                ("two-pow-64", 1 << 64),
            ];
            let mut seen = BTreeSet::new();
            for (label, i) in ints {
                if !(min..=max).contains(&i) && seen.insert(i) {
                    push(label, i.to_string());
                }
            }
            push("beyond-i128", format!("1{}", "0".repeat(40)));
            push("float", "2.5".into());
            push("integral-float", "8.0".into());
            push("float-huge", "1e300".into());
            push("float-neg-huge", "-1e300".into());
            push("inf", "inf".into());
            push("nan", "nan".into());
        }
        Ty::Num { lo, lo_ok, hi, hi_ok } => {
            let mut cands: Vec<(&str, String)> = vec![
                ("neg", "-1".into()),
                ("zero", "0".into()),
                ("neg-zero", "-0.0".into()),
                ("tiny", "1e-9".into()),
                ("one", "1".into()),
                ("one-and-a-half", "1.5".into()),
                ("huge", "1e300".into()),
                ("neg-huge", "-1e300".into()),
                ("i64-max", i64::MAX.to_string()),
                ("inf", "inf".into()),
                ("neg-inf", "-inf".into()),
                ("nan", "nan".into()),
            ];
            if hi.is_finite() && hi < 1e12 {
                cands.push(("at-limit", format!("{hi}")));
            }
            let mut seen = BTreeSet::new();
            for (label, lit) in cands {
                let x: f64 = lit.parse().unwrap_or(f64::NAN);
                let ok = x.is_finite()
                    && (x > lo || (lo_ok && x == lo))
                    && (x < hi || (hi_ok && x == hi));
                if !ok && seen.insert(lit.clone()) {
                    push(label, lit);
                }
            }
        }
        Ty::Name => {
            for (label, lit) in [
                ("empty", "\"\""),
                ("slash", "\"a/b\""),
                ("parent", "\"..\""),
                ("hidden", "\".hidden\""),
                ("space", "\"a b\""),
                ("nul", "\"a\\u0000b\""),
                ("non-ascii", "\"ünï\""),
            ] {
                push(label, lit.into());
            }
        }
        Ty::Choice(choices) => {
            push("unknown-value", "\"nonsense\"".into());
            push("wrong-case", format!("\"{}\"", choices[0].to_uppercase()));
            push("padded", format!("\" {} \"", choices[0]));
            push("empty", "\"\"".into());
        }
        Ty::Ids => {
            for (label, lit) in [
                ("empty-list", "[]"),
                ("neg", "[-1]"),
                ("outside-space", "[64]"),
                ("two-pow-64", "[18446744073709551616]"),
                ("duplicate", "[1, 1]"),
                ("float", "[2.5]"),
                ("string", "[\"1\"]"),
                ("bool", "[true]"),
                ("nested", "[[1]]"),
                ("table", "[{ a = 1 }]"),
            ] {
                push(label, lit.into());
            }
        }
        Ty::Times => {
            for (label, lit) in [
                ("neg", "[-1]"),
                ("at-end", "[10]"),
                ("huge", "[1e300]"),
                ("nan", "[nan]"),
                ("inf", "[inf]"),
                ("string", "[\"1\"]"),
                ("bool", "[true]"),
                ("nested", "[[1]]"),
                ("table", "[{ a = 1 }]"),
            ] {
                push(label, lit.into());
            }
        }
        Ty::Seeds => {
            for (label, lit) in [
                ("empty-list", "[]"),
                ("neg", "[-1]"),
                ("two-pow-64", "[18446744073709551616]"),
                ("float", "[2.5]"),
                ("string", "[\"1\"]"),
                ("bool", "[true]"),
                ("nested", "[[1]]"),
            ] {
                push(label, lit.into());
            }
        }
        Ty::Bool | Ty::Str | Ty::Section | Ty::Events => {}
    }
    v
}

/// A misspelling of `word`: two letters swapped (or one dropped when they are equal; the last
/// typed twice in a word of fewer than three letters).
fn misspell(word: &str) -> String {
    let mut c: Vec<char> = word.chars().collect();
    if c.len() < 3 {
        // Too short to swap two letters: one typed twice.
        c.push(c[c.len() - 1]);
    } else if c[1] == c[2] {
        c.remove(1);
    } else {
        c.swap(1, 2);
    }
    c.into_iter().collect()
}

/// The 1-based line of the first `@` in a template.
fn line_of_value(template: &str) -> usize {
    template[..template.find('@').expect("a template has @")].matches('\n').count() + 1
}

// ---------------------------------------------------------------------------------------------
// The cases

/// Something made in the working directory before the commands run.
#[derive(Clone, Debug)]
enum Entry {
    Bytes(Vec<u8>),
    /// A directory holding these files.
    Dir(Vec<(&'static str, &'static str)>),
    /// A named pipe (made with `mkfifo`): opening it for reading waits for a writer.
    Fifo,
    /// A sparse file of this size, all zeros.
    Sparse(u64),
    Symlink(&'static str),
}

/// What a failing case's message must say.
#[derive(Clone, Debug)]
struct Expect {
    /// The file (or `--set ...`, or the option) the message names.
    names: String,
    /// The key, one of these spellings, as ``key `a.b` ``; none for mistakes not about a key.
    keys: Vec<String>,
    /// The file and line the message points at (`error: FILE:LINE:`).
    line: Option<(String, usize)>,
    /// Words the message contains.
    needle: Option<&'static str>,
}

#[derive(Clone, Debug)]
struct Case {
    name: String,
    files: Vec<(String, Entry)>,
    /// The scenario as named on the command line.
    scenario: String,
    /// `--set` values (given to `check` and to `run`).
    sets: Vec<OsString>,
    /// Arguments only `run` takes (`--jobs`, `--seed`, `--out`): with any, only `run` is tried.
    run_args: Vec<OsString>,
    expect: Expect,
}

impl Case {
    /// A case whose scenario `s.toml` holds `bytes`; its message names `s.toml`.
    fn new(name: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Case {
        Case {
            name: name.into(),
            files: vec![("s.toml".into(), Entry::Bytes(bytes.into()))],
            scenario: "s.toml".into(),
            sets: Vec::new(),
            run_args: Vec::new(),
            expect: Expect { names: "s.toml".into(), keys: Vec::new(), line: None, needle: None },
        }
    }
    fn key(mut self, key: impl Into<String>) -> Case {
        self.expect.keys.push(key.into());
        self
    }
    /// The message points at `line` of the file it names (as named so far).
    fn line(self, line: usize) -> Case {
        let file = self.expect.names.clone();
        self.line_in(&file, line)
    }
    fn line_in(mut self, file: &str, line: usize) -> Case {
        self.expect.line = Some((file.to_string(), line));
        self
    }
    fn needle(mut self, needle: &'static str) -> Case {
        self.expect.needle = Some(needle);
        self
    }
    fn names(mut self, names: impl Into<String>) -> Case {
        self.expect.names = names.into();
        self
    }
    fn file(mut self, name: &str, entry: Entry) -> Case {
        self.files.push((name.into(), entry));
        self
    }
    fn trace(self, rows: impl Into<Vec<u8>>) -> Case {
        self.file("t.csv", Entry::Bytes(rows.into()))
    }
    /// Names `path` as the scenario instead of `s.toml`.
    fn scenario(mut self, path: &str) -> Case {
        self.files.retain(|(n, _)| n != "s.toml");
        self.scenario = path.into();
        self.expect.names = path.into();
        self
    }
    fn set(mut self, arg: impl Into<OsString>) -> Case {
        self.sets.push(arg.into());
        self
    }
    fn run_args(mut self, args: &[&str]) -> Case {
        self.run_args.extend(args.iter().map(OsString::from));
        self
    }
}

/// Cases for every key: wrong types, out-of-range values, misspellings, and the template with a
/// valid value as a baseline.
fn key_cases(out: &mut Vec<Case>) {
    for k in keys() {
        let line = line_of_value(&k.template);
        let with = |value: &str| k.template.replacen('@', value, 1);
        let mut base = Case::new(format!("baseline/{}", k.known), with(k.valid));
        if let Some(rows) = k.trace {
            base = base.trace(rows);
        }
        let keyed = |name: String, value: &str| {
            let mut c = Case { name, ..base.clone() };
            c.files[0].1 = Entry::Bytes(with(value).into_bytes());
            let c = c.line(line).key(k.shown.clone());
            // `events = [7, 8]`: the element is at fault, `events[0]`.
            if matches!(k.ty, Ty::Events) { c.key(format!("{}[0]", k.known)) } else { c }
        };
        for &(label, lit) in WRONG_TYPES {
            if right_type(k.ty, label) {
                continue;
            }
            let c = keyed(format!("type/{}/{label}", k.known), lit);
            out.push(if label == "table" { c.needle("table") } else { c });
        }
        for (label, lit) in out_of_range(k.ty) {
            out.push(keyed(format!("range/{}/{label}", k.known), &lit));
        }
        // A misspelt key: unknown, with the right one suggested.
        let leaf = k.known.rsplit('.').next().unwrap();
        let typo = misspell(leaf);
        let text = k.template.replacen(&format!("{leaf} = @"), &format!("{typo} = {}", k.valid), 1);
        let mut c = Case::new(format!("misspelt/{}", k.known), text).line(line);
        if let Some(rows) = k.trace {
            c = c.trace(rows);
        }
        let parent = k.shown.rsplit_once('.').map(|(p, _)| p);
        let shown = match parent {
            Some(p) => format!("{p}.{typo}"),
            None => typo.clone(),
        };
        if let Some(swept) = shown.strip_prefix("sweep.") {
            // A swept key is a dotted key of its own: either name will do.
            c = c.key(swept);
        }
        out.push(c.key(shown).needle("did you mean"));
        out.push(base);
    }
    // Valid values at the edge of the ranges.
    out.push(Case::new("range/seed/i64-max-valid", "seed = 9223372036854775807\n"));
    out.push(Case::new("range/seed/u64-max-valid", "seed = 18446744073709551615\n"));
}

/// Keys nobody knows, at every table; and tables nobody knows.
fn unknown_cases(out: &mut Vec<Case>) {
    let tables: [(&str, &str, usize); 9] = [
        ("", "seed = 7\n", 1),
        ("population", "[population]\npeers = 8\n", 2),
        ("overlay", "[overlay]\nfingers = true\n", 2),
        ("network", "[network]\nlatency_ms = 5\n", 2),
        ("workload", "[workload]\nlookups = 5\n", 2),
        ("churn", "[churn]\nmodel = \"none\"\n", 2),
        ("output", "[output]\npaths = true\n", 2),
        ("check", "[check]\nstop_on_violation = false\n", 2),
        ("events[0]", "", 9),
    ];
    for (table, text, after) in tables {
        let text = if table == "events[0]" {
            event(&[("at_ms", "0"), ("kind", "\"lookup\""), ("from", "1"), ("key", "3")], "")
        } else {
            text.to_string()
        };
        let key =
            if table.is_empty() { "zzq_unknown".into() } else { format!("{table}.zzq_unknown") };
        let label = if table.is_empty() { "top" } else { table };
        let c = Case::new(format!("unknown/{label}"), format!("{text}zzq_unknown = 1\n"));
        out.push(c.key(key).line(after + 1));
    }
    let c = Case::new("unknown/swept-key", "[sweep]\n\"overlay.zzq_unknown\" = [1]\n");
    out.push(c.key("overlay.zzq_unknown").key("sweep.overlay.zzq_unknown").line(2));
    let c = Case::new("unknown/top-section", "[zzq]\na = 1\n");
    out.push(c.key("zzq").line(1));
    let c = Case::new("unknown/nested-table", "[overlay.zzq]\na = 1\n");
    out.push(c.key("overlay.zzq").line(1));
    let c = Case::new("unknown/misspelt-section", "[populaton]\npeers = 8\n");
    out.push(c.key("populaton").line(1).needle("did you mean"));
    let text = "[[evnts]]\nat_ms = 0\nkind = \"lookup\"\nfrom = 1\nkey = 3\n";
    out.push(Case::new("unknown/misspelt-events", text).key("evnts").line(1));
    out.push(Case::new("unknown/upper-case-key", "Seed = 1\n").key("Seed").line(1));
    out.push(Case::new("unknown/padded-quoted-key", "\"seed \" = 1\n").key("seed ").line(1));
    out.push(Case::new("unknown/non-ascii-key", "\"sëed\" = 1\n").key("sëed").line(1));
    // A dotted key into a boolean makes it a table: a type error about `overlay.fingers`.
    let c = Case::new("unknown/dotted-into-bool", "[overlay]\nfingers.x = true\n");
    out.push(c.key("overlay.fingers").line(2).needle("table"));
}

/// Documents that are not TOML.
fn toml_cases(out: &mut Vec<Case>) {
    let broken: &[(&str, &str, Option<usize>)] = &[
        ("unclosed-string", "name = \"abc\n", Some(1)),
        ("unclosed-literal-string", "name = 'abc\n", Some(1)),
        ("unclosed-multiline-string", "name = \"\"\"abc\nseed = 1\n", None),
        ("unclosed-array", "[population]\nids = [1, 2\n", None),
        ("unclosed-inline-table", "overlay = { fingers = true\n", None),
        ("unclosed-header", "[overlay\nfingers = true\n", Some(1)),
        ("header-extra-bracket", "[overlay]]\nfingers = true\n", Some(1)),
        ("duplicate-key", "seed = 1\nseed = 2\n", Some(2)),
        ("duplicate-table", "[overlay]\nfingers = true\n[overlay]\ncache_size = 1\n", Some(3)),
        ("table-after-inline-table", "overlay = { fingers = true }\n[overlay]\n", Some(2)),
        ("table-over-value", "[population]\npeers = 8\n[population.peers]\n", Some(3)),
        ("table-after-array-of-tables", "[[overlay]]\nfingers = true\n[overlay]\n", None),
        ("key-without-value", "seed =\n", Some(1)),
        ("value-without-key", "= 5\n", Some(1)),
        ("bare-word", "[overlay]\nfingers = yes\n", Some(2)),
        ("two-values", "seed = 1 2\n", Some(1)),
        ("bad-escape", "name = \"a\\qb\"\n", Some(1)),
        ("leading-zeros", "seed = 007\n", Some(1)),
        ("double-underscore", "seed = 1__0\n", Some(1)),
        ("trailing-dot", "duration_s = 1.\n", Some(1)),
        ("empty-header-segment", "[overlay.]\n", Some(1)),
        ("empty-array-header", "[[]]\n", Some(1)),
        ("control-char-in-string", "name = \"a\u{1}b\"\n", Some(1)),
        ("bare-carriage-return", "seed = 1\rid_bits = 8\n", Some(1)),
        ("bad-date", "seed = 1979-13-45\n", Some(1)),
        ("nul-line", "seed = 1\n\0\n", Some(2)),
        ("non-ascii-bare-key", "sëed = 1\n", Some(1)),
    ];
    for &(label, text, line) in broken {
        let c = Case::new(format!("toml/{label}"), text);
        out.push(match line {
            Some(l) => c.line(l),
            None => c,
        });
    }
    // Nesting deep enough to exhaust a recursive parser's stack.
    let deep = format!("seed = {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    out.push(Case::new("toml/deep-arrays", deep).line(1));
    let deep = format!("seed = {}1{}\n", "{ a = ".repeat(20_000), " }".repeat(20_000));
    out.push(Case::new("toml/deep-inline-tables", deep).line(1));
    // Huge numbers written other ways.
    out.push(Case::new("toml/hex-huge", "seed = 0x7FFFFFFFFFFFFFFFFFFF\n").key("seed").line(1));
    out.push(
        Case::new("toml/underscored-huge", "seed = 1_000_000_000_000_000_000_000\n").key("seed"),
    );
    out.push(Case::new("toml/float-overflow", "duration_s = 1e400\n").key("duration_s").line(1));
    // Long lines: the message quotes a readable piece, not 100 KB.
    let ids: Vec<String> = (0..20_000).map(|i| i.to_string()).collect();
    let text = format!("[population]\nids = [{}, 0]\n", ids.join(", "));
    out.push(Case::new("toml/long-line-duplicate-id", text).key("population.ids").line(2));
    let text = format!("name = \"{}\n", "a".repeat(100_000));
    out.push(Case::new("toml/long-line-unclosed-string", text).line(1));
    out.push(Case::new("toml/dotted-keys", "overlay.fingers = true\n"));
}

/// Empty, binary and non-UTF-8 files.
fn bytes_cases(out: &mut Vec<Case>) {
    out.push(Case::new("bytes/empty-file", ""));
    out.push(Case::new("bytes/comments-and-blank-lines", "# nothing here\n\n   \n# still\n"));
    out.push(Case::new("bytes/utf8-bom", "\u{feff}seed = 1\n"));
    out.push(Case::new("bytes/garbage", garbage(4096, 1)));
    out.push(Case::new("bytes/nul-bytes", vec![0u8; 1024]));
    out.push(Case::new("bytes/png-header", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01".to_vec()));
    let non_utf8: &[(&str, &[u8], usize)] = &[
        ("invalid-byte-in-string", b"seed = 1\nname = \"\xff\"\n", 2),
        ("invalid-byte-in-comment", b"# caf\xc3\x28\n", 1),
        ("utf16-with-bom", b"\xff\xfes\0e\0e\0d\0 \0=\0 \x001\0\n\0", 1),
        ("truncated-sequence-at-end", b"name = \"\xe2\x82", 1),
        ("overlong-encoding", b"seed = 1\nid_bits = 8\n# \xc0\xaf\n", 3),
        ("latin1-key", b"s\xe9ed = 1\n", 1),
    ];
    for &(label, bytes, line) in non_utf8 {
        out.push(Case::new(format!("bytes/{label}"), bytes.to_vec()).line(line));
    }
}

/// Pseudo-random bytes (deterministic): a file that is no text at all.
fn garbage(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Scenario paths that are not regular files of reasonable size.
fn device_cases(out: &mut Vec<Case>) {
    // Issue 13: scenario files must be regular files below a size limit. /dev/null reads as an
    // empty file, but it is not a regular file.
    for dev in ["/dev/zero", "/dev/urandom", "/dev/null"] {
        let label = dev.trim_start_matches("/dev/");
        out.push(Case::new(format!("device/{label}"), "").scenario(dev));
    }
    let c = Case::new("device/directory", "").file("scen.d", Entry::Dir(vec![("a.toml", "")]));
    out.push(c.scenario("scen.d"));
    out.push(Case::new("device/fifo", "").file("fifo.toml", Entry::Fifo).scenario("fifo.toml"));
    let c = Case::new("device/huge-sparse-file", "").file("big.toml", Entry::Sparse(HUGE_FILE));
    out.push(c.scenario("big.toml"));
    let c =
        Case::new("device/symlink-to-dev-zero", "").file("link.toml", Entry::Symlink("/dev/zero"));
    out.push(c.scenario("link.toml"));
    let c =
        Case::new("device/symlink-to-scenario", TINY).file("link.toml", Entry::Symlink("s.toml"));
    let mut c = c.scenario("link.toml");
    c.files.insert(0, ("s.toml".into(), Entry::Bytes(TINY.into())));
    out.push(c);
    out.push(Case::new("device/missing-file", "").scenario("nope.toml").needle("no such file"));
}

/// A scenario replaying the trace at `path` over the RING population (trace line 7).
fn trace_scenario(path: &str) -> String {
    format!("{RING}[churn]\nmodel = \"trace\"\ntrace = \"{path}\"\n")
}

/// Bad trace files.
fn trace_cases(out: &mut Vec<Case>) {
    let with_rows = |name: &str, rows: &str| {
        let c = Case::new(format!("trace/{name}"), trace_scenario("t.csv"));
        c.trace(format!("at_ms,kind,peer\n{rows}")).names("t.csv")
    };
    out.push(with_rows("baseline", "1000,crash,1\n2000,join,2\n3000,leave,12\n"));
    out.push(with_rows("header-only", ""));
    out.push(with_rows("crlf-rows", "1000,crash,1\r\n2000,join,2\r\n"));
    out.push(with_rows("comments-and-blank-rows", "# crash one\n\n1000,crash,1\n"));
    // (label, rows, line of the row at fault)
    let bad: &[(&str, &str, Option<usize>)] = &[
        ("two-fields", "1000,crash\n", Some(2)),
        ("four-fields", "1000,crash,1,5\n", Some(2)),
        ("empty-fields", ",,\n", Some(2)),
        ("unknown-kind", "1000,explode,1\n", Some(2)),
        ("upper-case-kind", "1000,CRASH,1\n", Some(2)),
        ("fractional-time", "1000.5,crash,1\n", Some(2)),
        ("negative-time", "-1,crash,1\n", Some(2)),
        ("word-for-time", "soon,crash,1\n", Some(2)),
        ("time-beyond-u64", "18446744073709551616,crash,1\n", Some(2)),
        ("time-backwards", "2000,crash,1\n1000,crash,12\n", Some(3)),
        ("id-outside-space", "1000,crash,64\n", Some(2)),
        ("negative-id", "1000,crash,-1\n", Some(2)),
        ("id-beyond-u64", "1000,crash,18446744073709551616\n", Some(2)),
        ("crash-absent-peer", "1000,crash,2\n", Some(2)),
        ("leave-absent-peer", "1000,leave,2\n", Some(2)),
        ("join-id-in-use", "1000,join,12\n", Some(2)),
        ("crash-twice", "1000,crash,1\n2000,crash,1\n", Some(3)),
        (
            "join-after-own-crash-then-leave-twice",
            "1000,leave,1\n2000,join,1\n3000,leave,12\n4000,leave,12\n",
            Some(5),
        ),
        ("at-end-of-run", "10000,crash,1\n", Some(2)),
        ("after-end-of-run", "999999,crash,1\n", Some(2)),
        ("at-u64-max", "18446744073709551615,crash,1\n", Some(2)),
        (
            "crashes-every-peer",
            "1000,crash,1\n1001,crash,12\n1002,crash,13\n1003,crash,25\n1004,crash,32\n1005,crash,40\n1006,crash,48\n1007,crash,60\n",
            None,
        ),
        (
            "below-successors-plus-one",
            "1000,crash,1\n1001,crash,12\n1002,crash,13\n1003,crash,25\n1004,crash,32\n1005,crash,40\n",
            None,
        ),
    ];
    for &(label, rows, line) in bad {
        let c = with_rows(label, rows);
        out.push(match line {
            Some(l) => c.line(l),
            None => c,
        });
    }
    let raw = |label: &str, bytes: Vec<u8>| {
        Case::new(format!("trace/{label}"), trace_scenario("t.csv")).trace(bytes).names("t.csv")
    };
    out.push(
        raw("non-utf8-row", b"at_ms,kind,peer\n1000,crash,1\n2000,cr\xffsh,12\n".to_vec()).line(3),
    );
    out.push(raw("nul-bytes", vec![0u8; 512]));
    out.push(raw("garbage", garbage(4096, 2)));
    let long = format!("at_ms,kind,peer\n1000,crash,{}\n", "1".repeat(100_000));
    out.push(raw("long-row", long.into_bytes()).line(2));
    // Trace paths that are not regular files of reasonable size.
    let at = |label: &str, path: &str, entry: Option<Entry>| {
        let mut c = Case::new(format!("trace/{label}"), trace_scenario(path)).names(path);
        if let Some(e) = entry {
            c = c.file(path, e);
        }
        c
    };
    out.push(at("directory", "tdir", Some(Entry::Dir(vec![("x.csv", "")]))));
    out.push(at("fifo", "t.fifo", Some(Entry::Fifo)));
    out.push(at("huge-sparse-file", "big.csv", Some(Entry::Sparse(HUGE_FILE))));
    out.push(at("symlink-to-dev-zero", "link.csv", Some(Entry::Symlink("/dev/zero"))));
    out.push(at("dev-zero", "/dev/zero", None));
    out.push(at("dev-urandom", "/dev/urandom", None));
    out.push(at("dev-null", "/dev/null", None));
    out.push(at("missing", "nope.csv", None).key("churn.trace").line_in("s.toml", 7));
    let c = Case::new("trace/empty-path", trace_scenario(""));
    out.push(c.key("churn.trace").line(7));
}

/// Bad `[[events]]` (in the RING population, `duration_s = 10`).
fn event_cases(out: &mut Vec<Case>) {
    fn ev(fields: &[(&str, &str)]) -> String {
        let mut t = String::from("[[events]]\n");
        for (k, v) in fields {
            t.push_str(&format!("{k} = {v}\n"));
        }
        t
    }
    let lookup = |at: &str, from: &str| {
        ev(&[("at_ms", at), ("kind", "\"lookup\""), ("from", from), ("key", "3")])
    };
    let single = |kind: &str, at: &str, peer: &str| {
        ev(&[("at_ms", at), ("kind", &format!("\"{kind}\"")), ("peer", peer)])
    };
    let join = |at: &str, peer: &str, via: &str| {
        ev(&[("at_ms", at), ("kind", "\"join\""), ("peer", peer), ("via", via)])
    };
    let valid = [
        join("0", "2", "1"),
        lookup("5", "2"),
        ev(&[("at_ms", "6"), ("kind", "\"store\""), ("from", "12"), ("file", "\"f\"")]),
        single("leave", "7", "13"),
        single("crash", "8", "25"),
    ]
    .concat();
    out.push(Case::new("events/baseline", format!("{RING}{valid}")));
    let reversed = [lookup("9", "2"), join("0", "2", "1")].concat();
    out.push(Case::new("events/out-of-file-order", format!("{RING}{reversed}")));
    // (label, events, key at fault, line at fault; events start on line 5)
    let cases: Vec<(&str, String, &str, Option<usize>)> = vec![
        (
            "missing-at_ms",
            ev(&[("kind", "\"lookup\""), ("from", "1"), ("key", "3")]),
            "events[0].at_ms",
            None,
        ),
        (
            "missing-kind",
            ev(&[("at_ms", "0"), ("from", "1"), ("key", "3")]),
            "events[0].kind",
            None,
        ),
        (
            "lookup-without-from",
            ev(&[("at_ms", "0"), ("kind", "\"lookup\""), ("key", "3")]),
            "events[0].from",
            None,
        ),
        (
            "lookup-without-key",
            ev(&[("at_ms", "0"), ("kind", "\"lookup\""), ("from", "1")]),
            "events[0].key",
            None,
        ),
        (
            "lookup-with-peer",
            ev(&[
                ("at_ms", "0"),
                ("kind", "\"lookup\""),
                ("from", "1"),
                ("key", "3"),
                ("peer", "12"),
            ]),
            "events[0].peer",
            Some(10),
        ),
        (
            "join-without-via",
            ev(&[("at_ms", "0"), ("kind", "\"join\""), ("peer", "2")]),
            "events[0].via",
            None,
        ),
        ("join-id-in-use", join("0", "12", "1"), "events[0].peer", Some(8)),
        ("join-via-absent-peer", join("0", "2", "3"), "events[0].via", Some(9)),
        ("leave-absent-peer", single("leave", "0", "2"), "events[0].peer", Some(8)),
        ("crash-absent-peer", single("crash", "0", "2"), "events[0].peer", Some(8)),
        (
            "crash-twice",
            [single("crash", "0", "1"), single("crash", "5", "1")].concat(),
            "events[1].peer",
            Some(12),
        ),
        (
            "lookup-from-crashed-peer",
            [single("crash", "0", "1"), lookup("5", "1")].concat(),
            "events[1].from",
            Some(12),
        ),
        (
            "store-from-absent-peer",
            ev(&[("at_ms", "0"), ("kind", "\"store\""), ("from", "2"), ("key", "3")]),
            "events[0].from",
            Some(8),
        ),
    ];
    for (label, events, key, line) in cases {
        let c = Case::new(format!("events/{label}"), format!("{RING}{events}")).key(key);
        out.push(match line {
            Some(l) => c.line(l),
            None => c,
        });
    }
    let both = ev(&[
        ("at_ms", "0"),
        ("kind", "\"lookup\""),
        ("from", "1"),
        ("key", "3"),
        ("file", "\"f\""),
    ]);
    let c = Case::new("events/key-and-file", format!("{RING}{both}"));
    out.push(c.key("events[0].file").key("events[0].key"));
    let c = Case::new(
        "events/without-population-ids",
        format!("[population]\npeers = 8\n{}", lookup("0", "1")),
    );
    out.push(c.key("events[0].from"));
    let c = Case::new(
        "events/table-not-array",
        format!("{RING}[events]\nat_ms = 0\nkind = \"lookup\"\n"),
    );
    out.push(c.key("events").line(5).needle("table"));
    // Scripted events that empty the ring, or leave fewer than successors + 1 = 3 peers.
    let ids = ["1", "12", "13", "25", "32", "40", "48", "60"];
    let crashes: Vec<String> =
        ids.iter().enumerate().map(|(i, id)| single("crash", &(i * 10).to_string(), id)).collect();
    out.push(Case::new("events/crash-every-peer", format!("{RING}{}", crashes.concat())));
    out.push(Case::new(
        "events/below-successors-plus-one",
        format!("{RING}{}", crashes[..6].concat()),
    ));
}

/// Sweeps: too many runs, and bad grids.
fn sweep_cases(out: &mut Vec<Case>) {
    let ten = |from: u32| {
        let v: Vec<String> = (from..from + 10).map(|i| i.to_string()).collect();
        format!("[{}]", v.join(", "))
    };
    // Ten values for each of nine keys (seeds included), every point valid: 10^9 runs.
    let nine = [
        ("overlay.cache_size", 0),
        ("overlay.hop_limit", 1),
        ("overlay.rpc_timeout_ms", 1),
        ("network.latency_ms", 0),
        ("overlay.stabilize_s", 1),
        ("overlay.fix_fingers_s", 1),
        ("overlay.check_predecessor_s", 1),
        ("workload.lookups", 0),
        ("seeds", 1),
    ];
    let grid = |keys: &[(&str, u32)]| {
        let mut t = String::from("[sweep]\n");
        for (k, from) in keys {
            let k = if k.contains('.') { format!("\"{k}\"") } else { k.to_string() };
            t.push_str(&format!("{k} = {}\n", ten(*from)));
        }
        t
    };
    out.push(Case::new("sweep/1e9-runs", grid(&nine)));
    // Twenty keys of ten values: 10^20 runs, more than a u64 counts.
    let mut twenty = nine.to_vec();
    twenty.extend([
        ("workload.files", 1),
        ("population.peers", 100),
        ("duration_s", 100),
        ("warmup_s", 0),
        ("output.sample_s", 1),
        ("overlay.successors", 1),
        ("overlay.virtual_nodes", 1),
        ("id_bits", 20),
        ("output.distribution_peers", 1),
        ("workload.zipf_exponent", 0),
        ("churn.session_mean_s", 1),
    ]);
    out.push(Case::new("sweep/1e20-runs", grid(&twenty)));
    let bad: &[(&str, &str, &[&str])] = &[
        ("empty-list", "\"overlay.fingers\" = []\n", &["sweep.overlay.fingers", "overlay.fingers"]),
        (
            "not-a-list",
            "\"overlay.fingers\" = true\n",
            &["sweep.overlay.fingers", "overlay.fingers"],
        ),
        (
            "table-not-list",
            "\"overlay.fingers\" = { a = 1 }\n",
            &["sweep.overlay.fingers", "overlay.fingers"],
        ),
        (
            "element-of-wrong-type",
            "\"overlay.fingers\" = [true, 1]\n",
            &["overlay.fingers", "sweep.overlay.fingers"],
        ),
        (
            "element-out-of-range",
            "\"overlay.successors\" = [2, 0]\n",
            &["overlay.successors", "sweep.overlay.successors"],
        ),
        ("swept-section", "\"overlay\" = [1]\n", &["overlay", "sweep.overlay"]),
        ("swept-name-invalid", "name = [\"ok\", \"a/b\"]\n", &["name", "sweep.name"]),
        ("seed-not-seeds", "seed = [1, 2]\n", &["sweep.seed"]),
    ];
    for &(label, body, keys) in bad {
        let mut c = Case::new(format!("sweep/{label}"), format!("[sweep]\n{body}")).line(2);
        for k in keys {
            c = c.key(*k);
        }
        out.push(c);
    }
}

/// Command-line values: `--jobs`, `--seed`, `--out`, `--set`.
fn cli_cases(out: &mut Vec<Case>) {
    let tiny = |name: &str| Case::new(format!("cli/{name}"), TINY);
    let valid_args: &[(&str, &[&str])] = &[
        ("jobs-0", &["--jobs", "0"]),
        ("jobs-10000", &["--jobs", "10000"]),
        ("jobs-usize-max", &["--jobs", "18446744073709551615"]),
        ("seed-u64-max", &["--seed", "18446744073709551615"]),
    ];
    for &(label, args) in valid_args {
        out.push(tiny(label).run_args(args));
    }
    let bad_args: &[(&str, &[&str], &str)] = &[
        ("jobs-beyond-usize", &["--jobs", "18446744073709551616"], "--jobs"),
        ("jobs-negative", &["--jobs=-1"], "--jobs"),
        ("jobs-word", &["--jobs", "many"], "--jobs"),
        ("jobs-empty", &["--jobs="], "--jobs"),
        ("jobs-fraction", &["--jobs", "1.5"], "--jobs"),
        ("seed-beyond-u64", &["--seed", "18446744073709551616"], "--seed"),
        ("seed-negative", &["--seed=-1"], "--seed"),
        ("seed-word", &["--seed", "lucky"], "--seed"),
        ("seed-fraction", &["--seed", "1.5"], "--seed"),
    ];
    for &(label, args, names) in bad_args {
        out.push(tiny(label).run_args(args).names(names));
    }
    // `--out` naming what is the user's: refused before anything runs, nothing touched.
    let thesis = Entry::Dir(vec![("ch1.tex", "\\chapter{One}\n")]);
    out.push(
        tiny("out-user-directory")
            .file("thesis", thesis)
            .run_args(&["--out", "thesis"])
            .names("thesis"),
    );
    let notes = Entry::Bytes(b"my notes\n".to_vec());
    out.push(
        tiny("out-user-file")
            .file("notes.txt", notes.clone())
            .run_args(&["--out", "notes.txt"])
            .names("notes.txt"),
    );
    out.push(tiny("out-the-scenario-itself").run_args(&["--out", "s.toml"]).names("s.toml"));
    out.push(tiny("out-working-directory").run_args(&["--out", "."]).names("."));
    out.push(
        tiny("out-under-a-file")
            .file("notes.txt", notes)
            .run_args(&["--out", "notes.txt/sub"])
            .names("notes.txt"),
    );
    out.push(
        tiny("out-unwritable")
            .run_args(&["--out", "/proc/dhtsim-corpus/out"])
            .names("/proc/dhtsim-corpus"),
    );
    out.push(tiny("out-empty-dir").file("empty", Entry::Dir(vec![])).run_args(&["--out", "empty"]));
    // `--set` values that are mistakes.
    let sets: &[(&str, &str, &[&str])] = &[
        ("string-for-int", "overlay.hop_limit=zero", &["overlay.hop_limit"]),
        ("no-equals", "novalue", &[]),
        ("empty-key", "=5", &[]),
        ("empty-segment", "overlay..fingers=true", &[]),
        ("through-a-value", "seed.x=1", &["seed.x", "seed"]),
        ("section-to-value", "overlay=5", &["overlay"]),
        ("misspelt-key", "overlay.hop_limt=3", &["overlay.hop_limt"]),
        ("unknown-section", "overlai.fingers=true", &["overlai", "overlai.fingers"]),
        ("huge-duration", "duration_s=1e300", &["duration_s"]),
        ("nan-duration", "duration_s=nan", &["duration_s"]),
        ("id-bits-two-pow-64", "id_bits=18446744073709551616", &["id_bits"]),
        ("duplicate-ids", "population.ids=[1, 1]", &["population.ids"]),
        ("table-for-bool", "overlay.fingers={ a = 1 }", &["overlay.fingers"]),
        ("invalid-name", "name=a/b", &["name"]),
        (
            "sweep-empty-list",
            "sweep.population.peers=[]",
            &["sweep.population.peers", "population.peers"],
        ),
        ("sweep-negative-seed", "sweep.seeds=[-1]", &["sweep.seeds"]),
        ("sweep-unknown-key", "sweep.overlay.nope=[1]", &["overlay.nope", "sweep.overlay.nope"]),
        ("huge-lookups", "workload.lookups=9223372036854775807", &["workload.lookups"]),
    ];
    for &(label, arg, keys) in sets {
        let mut c = Case::new(format!("set/{label}"), TINY).set(arg).names(format!("--set {arg}"));
        for k in keys {
            c = c.key(*k);
        }
        out.push(c);
    }
    let c = Case::new("set/last-of-two-is-bad", TINY)
        .set("overlay.fingers=true")
        .set("overlay.fingers=nope");
    out.push(c.names("--set overlay.fingers=nope").key("overlay.fingers"));
    let c = Case::new("set/non-utf8-value", TINY).set(OsString::from_vec(b"name=\xff".to_vec()));
    out.push(c.names("--set"));
}

/// Values inside the documented ranges that no run can finish: issue 13 asks for limits on
/// everything a user can type, so these are refused (exit 2) before anything runs.
fn limit_cases(out: &mut Vec<Case>) {
    let limits: &[(&str, &str, Option<&str>)] = &[
        (
            "duration-1e300-with-maintenance",
            "duration_s = 1e300\n[overlay]\nmaintenance = true\n",
            Some("duration_s"),
        ),
        (
            "lookups-i64-max",
            "[workload]\nlookups = 9223372036854775807\n",
            Some("workload.lookups"),
        ),
        (
            "lookups-u64-max",
            "[workload]\nlookups = 18446744073709551615\n",
            Some("workload.lookups"),
        ),
        (
            "poisson-rate-1e300",
            "[churn]\nmodel = \"poisson\"\nrate_per_s = 1e300\n",
            Some("churn.rate_per_s"),
        ),
        (
            "arrival-rate-1e300",
            "[churn]\nmodel = \"exponential\"\narrivals = \"poisson\"\narrival_rate_per_s = 1e300\n",
            Some("churn.arrival_rate_per_s"),
        ),
        ("peers-u32-max", "[population]\npeers = 4294967295\n", None),
        ("files-u32-max", "[workload]\nfiles = 4294967295\n", None),
    ];
    for &(label, text, key) in limits {
        let c = Case::new(format!("limit/{label}"), text);
        out.push(match key {
            Some(k) => c.key(k),
            None => c,
        });
    }
}

/// Every case of the corpus.
fn corpus() -> Vec<Case> {
    let mut v = Vec::new();
    key_cases(&mut v);
    unknown_cases(&mut v);
    toml_cases(&mut v);
    bytes_cases(&mut v);
    device_cases(&mut v);
    trace_cases(&mut v);
    event_cases(&mut v);
    sweep_cases(&mut v);
    cli_cases(&mut v);
    limit_cases(&mut v);
    v
}

/// The reason a case is valid, if `VALID` lists it.
fn valid_reason(name: &str) -> Option<&'static str> {
    VALID.iter().find(|(pat, _)| matches(pat, name)).map(|(_, why)| *why)
}

fn matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

// ---------------------------------------------------------------------------------------------
// Running a case

/// What one command did.
struct Outcome {
    /// Exit status, `None` when killed by a signal.
    code: Option<i32>,
    signal: Option<i32>,
    timed_out: bool,
    elapsed: Duration,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    /// Bytes written to standard error in all (only `KEEP_BYTES` are kept).
    stderr_len: u64,
    /// The most resident memory seen (kB), sampled while it ran.
    peak_kb: u64,
}

/// The peak resident memory (`VmHWM`, kB) of a live process, if it can be read.
fn peak_memory_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs `dhtsim ARGS` in `dir` under the memory limit, killing it after `TIMEOUT`.
fn exec(dir: &Path, args: &[OsString]) -> Outcome {
    let limit = format!("ulimit -v {MEMORY_LIMIT_KIB} && exec \"$0\" \"$@\"");
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(limit)
        .arg(env!("CARGO_BIN_EXE_dhtsim"))
        .args(args)
        .current_dir(dir)
        // One malloc arena per thread reserves 64 MiB of address space each: on a machine of
        // many cores that alone would pass the limit above.
        .env("MALLOC_ARENA_MAX", "2")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sh starts");
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let (mut kept, mut total, mut buf) = (Vec::new(), 0u64, [0u8; 8192]);
            while let Ok(n @ 1..) = r.read(&mut buf) {
                total += n as u64;
                let room = KEEP_BYTES.saturating_sub(kept.len()).min(n);
                kept.extend_from_slice(&buf[..room]);
            }
            (kept, total)
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let start = Instant::now();
    let mut timed_out = false;
    let mut peak_kb = 0;
    let status = loop {
        // The high-water mark only grows: the last reading before exit is about the peak.
        peak_kb = peak_kb.max(peak_memory_kb(child.id()).unwrap_or(0));
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > TIMEOUT {
            timed_out = true;
            let _ = child.kill();
            break child.wait().expect("wait after kill");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = start.elapsed();
    let (stdout, _) = out.join().unwrap();
    let (stderr, stderr_len) = err.join().unwrap();
    Outcome {
        code: status.code(),
        signal: status.signal(),
        timed_out,
        elapsed,
        stdout,
        stderr,
        stderr_len,
        peak_kb,
    }
}

/// Makes the case's files in `dir`.
fn make_files(dir: &Path, files: &[(String, Entry)]) {
    for (name, entry) in files {
        let path = dir.join(name);
        match entry {
            Entry::Bytes(b) => std::fs::write(&path, b).unwrap(),
            Entry::Dir(inside) => {
                std::fs::create_dir(&path).unwrap();
                for (n, text) in inside {
                    std::fs::write(path.join(n), text).unwrap();
                }
            }
            Entry::Fifo => {
                let ok = Command::new("mkfifo").arg(&path).status().expect("mkfifo runs");
                assert!(ok.success(), "mkfifo {}", path.display());
            }
            Entry::Sparse(len) => std::fs::File::create(&path).unwrap().set_len(*len).unwrap(),
            Entry::Symlink(target) => std::os::unix::fs::symlink(target, &path).unwrap(),
        }
    }
}

/// Everything under `dir`, without following links or opening pipes: path to (kind, size, and
/// the bytes of small regular files).
fn listing(dir: &Path) -> BTreeMap<String, (char, u64, Vec<u8>)> {
    let mut map = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let rel = path.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            let ft = meta.file_type();
            let (kind, bytes) = if ft.is_dir() {
                stack.push(path.clone());
                ('d', Vec::new())
            } else if ft.is_symlink() {
                ('l', std::fs::read_link(&path).unwrap().into_os_string().into_vec())
            } else if ft.is_file() && meta.len() <= 65536 {
                ('f', std::fs::read(&path).unwrap())
            } else {
                ('o', Vec::new())
            };
            map.insert(rel, (kind, meta.len(), bytes));
        }
    }
    map
}

/// How the listing changed, in words (empty when it did not).
fn changes(
    before: &BTreeMap<String, (char, u64, Vec<u8>)>,
    after: &BTreeMap<String, (char, u64, Vec<u8>)>,
    except: Option<&str>,
) -> Vec<String> {
    let skip = |p: &str| except.is_some_and(|e| p == e || p.starts_with(&format!("{e}/")));
    let mut v = Vec::new();
    for (p, was) in before.iter().filter(|(p, _)| !skip(p)) {
        match after.get(p) {
            None => v.push(format!("{p} removed")),
            Some(now) if now != was => v.push(format!("{p} changed")),
            _ => {}
        }
    }
    for p in after.keys().filter(|p| !skip(p) && !before.contains_key(*p)) {
        v.push(format!("{p} written"));
    }
    // A results directory written where it should not be is one finding, not ten.
    if v.len() > 3 {
        let more = v.len() - 3;
        v.truncate(3);
        v.push(format!("and {more} more changes"));
    }
    v
}

/// The first line of standard error, cut for the report.
fn first_line(o: &Outcome) -> String {
    let text = String::from_utf8_lossy(&o.stderr);
    let line = text.lines().next().unwrap_or("").to_string();
    if line.chars().count() > 140 {
        format!("{}…", line.chars().take(140).collect::<String>())
    } else if line.is_empty() {
        let out = String::from_utf8_lossy(&o.stdout);
        format!("(nothing on stderr; stdout: {})", out.lines().next().unwrap_or(""))
    } else {
        line
    }
}

/// Problems with how a message reads, whatever the outcome.
fn readability(o: &Outcome) -> Vec<String> {
    let mut v = Vec::new();
    if o.stderr_len > KEEP_BYTES as u64 {
        v.push(format!("{} bytes on stderr", o.stderr_len));
    }
    let Ok(text) = std::str::from_utf8(&o.stderr) else {
        v.push("stderr is not UTF-8".into());
        return v;
    };
    if let Some(c) = text.chars().find(|c| c.is_control() && *c != '\n' && *c != '\t') {
        v.push(format!("control character {c:?} on stderr"));
    }
    let first = text.lines().next().unwrap_or("");
    let mut run = 0;
    let longest = first.chars().fold(0, |best, c| {
        run = if c.is_ascii_digit() { run + 1 } else { 0 };
        best.max(run)
    });
    if longest > DIGITS {
        v.push(format!("a number of {longest} digits in the message"));
    }
    for line in text.lines() {
        let snippet = line
            .trim_start()
            .split_once(" | ")
            .is_some_and(|(g, _)| !g.is_empty() && g.chars().all(|c| c.is_ascii_digit()));
        if snippet && line.chars().count() > SNIPPET_WIDTH {
            v.push(format!("a quoted line of {} characters", line.chars().count()));
            break;
        }
    }
    v
}

/// Runs one case; returns its failures (empty when it passes).
fn run_case(case: &Case) -> Vec<String> {
    let valid = valid_reason(&case.name).is_some();
    let dir = tempfile::tempdir().unwrap();
    make_files(dir.path(), &case.files);
    let mut failures = Vec::new();
    let sets: Vec<OsString> =
        case.sets.iter().flat_map(|s| [OsString::from("--set"), s.clone()]).collect();
    let out_dir = match case.run_args.iter().position(|a| a == "--out") {
        Some(i) => case.run_args[i + 1].to_string_lossy().into_owned(),
        None => "out".to_string(),
    };
    let mut commands: Vec<(&str, Vec<OsString>)> = Vec::new();
    if case.run_args.is_empty() {
        let mut check: Vec<OsString> = vec!["check".into(), case.scenario.clone().into()];
        check.extend(sets.iter().cloned());
        commands.push(("check", check));
    }
    let mut run: Vec<OsString> = vec!["run".into(), case.scenario.clone().into(), "--quiet".into()];
    if !case.run_args.iter().any(|a| a == "--out") {
        run.extend(["--out".into(), "out".into()]);
    }
    run.extend(sets.iter().cloned());
    run.extend(case.run_args.iter().cloned());
    commands.push(("run", run));
    for (cmd, args) in commands {
        let before = listing(dir.path());
        let o = exec(dir.path(), &args);
        let after = listing(dir.path());
        let mut fail = |why: String| failures.push(format!("{cmd}: {why}"));
        if o.timed_out {
            fail(format!("no answer within {} s (killed)", TIMEOUT.as_secs()));
            continue;
        }
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        if err.contains("panicked") {
            fail(format!(
                "panicked: {}",
                err.lines().find(|l| l.contains("panicked at")).unwrap_or("")
            ));
        }
        if let Some(sig) = o.signal {
            fail(format!("killed by signal {sig} after {:.1} s", o.elapsed.as_secs_f64()));
        }
        if o.peak_kb > PEAK_MIB * 1024 {
            fail(format!("used {} MiB of memory", o.peak_kb / 1024));
        }
        for why in readability(&o) {
            fail(why);
        }
        if valid {
            if o.code != Some(0) {
                fail(format!("exit {:?}, expected 0 (a valid case): {}", o.code, first_line(&o)));
            }
            let written = if cmd == "run" { Some(out_dir.as_str()) } else { None };
            for change in changes(&before, &after, written) {
                fail(change);
            }
            if cmd == "run"
                && o.code == Some(0)
                && !dir.path().join(&out_dir).join("manifest.json").is_file()
            {
                fail(format!("no {out_dir}/manifest.json"));
            }
            continue;
        }
        let e = &case.expect;
        let written = changes(&before, &after, None);
        if o.code != Some(2) {
            fail(format!("exit {:?}, expected 2: {}", o.code, first_line(&o)));
            // A wrong exit already says what went wrong; the message checks would repeat it.
            if o.code == Some(0) {
                written.into_iter().for_each(&mut fail);
                continue;
            }
        }
        written.into_iter().for_each(&mut fail);
        if !err.starts_with("error: ") {
            fail(format!("message does not start with `error: `: {}", first_line(&o)));
        }
        let head = err.lines().next().unwrap_or("");
        if !head.contains(&e.names) {
            fail(format!("message does not name {}: {}", e.names, first_line(&o)));
        }
        if let Some((file, line)) = &e.line {
            let prefix = format!("error: {file}:{line}:");
            if !err.starts_with(&prefix) {
                fail(format!("message does not start with {prefix}: {}", first_line(&o)));
            }
        }
        if !e.keys.is_empty() && !e.keys.iter().any(|k| head.contains(&format!("key `{k}`"))) {
            fail(format!("message does not name key `{}`: {}", e.keys[0], first_line(&o)));
        }
        if let Some(needle) = e.needle
            && !err.contains(needle)
        {
            fail(format!("message does not say {needle:?}: {}", first_line(&o)));
        }
        if !o.stdout.is_empty() {
            fail(format!(
                "stdout not empty: {}",
                String::from_utf8_lossy(&o.stdout).lines().next().unwrap_or("")
            ));
        }
    }
    failures
}

#[test]
fn bad_input_corpus() {
    let started = Instant::now();
    let cases = corpus();
    // The corpus itself: big enough, names unique, every key covered, every VALID entry used.
    assert!(cases.len() >= 200, "only {} cases", cases.len());
    let mut names = BTreeSet::new();
    for c in &cases {
        assert!(names.insert(c.name.as_str()), "two cases named {}", c.name);
    }
    let specs: BTreeSet<&str> = keys().iter().map(|k| k.known).collect();
    for key in dhtsim::scenario::known_keys() {
        assert!(specs.contains(key.as_str()), "corpus::keys() has no template for `{key}`");
    }
    for (pattern, _) in VALID {
        assert!(
            cases.iter().any(|c| matches(pattern, &c.name)),
            "VALID entry {pattern} matches no case"
        );
    }
    // `CORPUS_FILTER=trace/` runs only the cases whose name contains it (to iterate on a fix).
    let filter = std::env::var("CORPUS_FILTER").unwrap_or_default();
    let cases: Vec<Case> = cases.into_iter().filter(|c| c.name.contains(&filter)).collect();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(String, Vec<String>)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(case) = cases.get(i) else { break };
                    let failures = run_case(case);
                    results.lock().unwrap().push((case.name.clone(), failures));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort();
    let mut per_category: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (name, failures) in &results {
        let cat = name.split('/').next().unwrap();
        let e = per_category.entry(cat).or_default();
        e.0 += 1;
        e.1 += usize::from(!failures.is_empty());
    }
    let summary: Vec<String> =
        per_category.iter().map(|(c, (n, bad))| format!("{c} {n} ({bad} failing)")).collect();
    eprintln!(
        "corpus: {} cases in {:.1} s: {}",
        results.len(),
        started.elapsed().as_secs_f64(),
        summary.join(", ")
    );
    let failing: Vec<String> = results
        .iter()
        .filter(|(_, f)| !f.is_empty())
        .map(|(name, f)| format!("  {name}: {}", f.join("; ")))
        .collect();
    assert!(
        failing.is_empty(),
        "{} of {} corpus cases fail:\n{}",
        failing.len(),
        results.len(),
        failing.join("\n")
    );
}

//! The commands, from validated arguments to files and an exit status. All output paths and the
//! choice of exit status live here; everything it calls returns plain results or errors.

use crate::cli::{CheckArgs, Command, DirArgs, MergeArgs, ReproduceArgs, RunArgs};
use crate::output::atomic::AtomicDir;
use crate::output::manifest::{Manifest, RunInfo, ScenarioInfo, ShardInfo, sha256_hex};
use crate::output::tables::{self, RunOutput};
use crate::plot::PlotRun;
use crate::scenario::{self, InputError, Scenario};
use crate::shard::Shard;
use dhtsim_core::config::{Config, Latency, Population};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Why a command did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Bad input: the scenario or the arguments. Exit status 2.
    #[error("{0}")]
    Input(#[from] InputError),
    /// The run could not complete (e.g. the output directory cannot be written). Exit status 1.
    #[error("error: {0}")]
    Failed(String),
}

impl AppError {
    /// The process exit status for this error (SPEC §3).
    pub fn exit_code(&self) -> ExitCode {
        match self {
            AppError::Input(_) => ExitCode::from(2),
            AppError::Failed(_) => ExitCode::from(1),
        }
    }
}

/// Runs one parsed command line. `argv` is recorded in the manifest.
pub fn execute(command: Command, argv: &[String]) -> Result<(), AppError> {
    match command {
        Command::Run(args) => run(args, argv),
        Command::Check(args) => check(args),
        Command::Plot(args) => plot(args),
        Command::Reproduce(args) => reproduce(args),
        Command::Merge(args) => merge(args, argv),
        Command::Explore(args) => crate::explore::explore(args, argv),
    }
}

/// The scenario recorded in a results directory's manifest.
fn recorded_scenario(dir: &Path, m: &Manifest) -> Result<Scenario, AppError> {
    let stem = Path::new(&m.scenario.path)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if sha256_hex(m.scenario.text.as_bytes()) != m.scenario.sha256 {
        let shown = dir.join("manifest.json").display().to_string();
        return Err(
            InputError::whole(&shown, "the scenario text does not match its SHA-256").into()
        );
    }
    let manifest = dir.join("manifest.json").display().to_string();
    let inputs = match &m.inputs {
        Some(files) => scenario::file::Inputs::recorded(files.clone(), &manifest),
        // Written before inputs were recorded: read them beside the scenario, as then.
        None => scenario::file::Inputs::beside(Path::new(&m.scenario.path)),
    };
    Ok(scenario::from_text_with(
        &m.scenario.path,
        &m.scenario.text,
        &stem,
        &m.overrides,
        m.seed_override,
        &inputs,
    )?)
}

fn plot(args: DirArgs) -> Result<(), AppError> {
    let m = crate::results::read_manifest(&args.dir)?;
    let s = recorded_scenario(&args.dir, &m)?;
    let runs = crate::results::plot_runs(&args.dir)?;
    let plots = render_plots(&s, &runs)?;
    let dir = AtomicDir::claim(&args.dir.join("plots"), |plots| {
        let listed = crate::output::manifest::owned_files(plots.parent()?)?;
        Some(listed.iter().filter_map(|f| f.strip_prefix("plots/")).map(String::from).collect())
    })
    .map_err(|r| InputError::whole(&r.path, r.message))?;
    let fail = |e: std::io::Error| {
        AppError::Failed(format!("cannot write plots to {}: {e}", args.dir.display()))
    };
    for (name, bytes) in &plots {
        dir.write(name.trim_start_matches("plots/"), bytes).map_err(fail)?;
    }
    finish_commit(dir)?;
    let names: Vec<&str> = plots.iter().map(|(n, _)| n.as_str()).collect();
    say(&format!("wrote {} plots: {}\n", names.len(), names.join(", ")));
    Ok(())
}

fn reproduce(args: ReproduceArgs) -> Result<(), AppError> {
    let m = crate::results::read_manifest(&args.dir)?;
    crate::results::check_version(&args.dir, &m)?;
    let mut s = recorded_scenario(&args.dir, &m)?;
    if !args.quiet {
        eprintln!("reproducing {} ({})", args.dir.display(), describe(&s));
    }
    let shard = m.shard.map(Shard::from);
    if let Some(shard) = shard {
        s.runs.retain(|r| shard.holds(r.run));
    }
    let files = if let Some(info) = m.explore {
        use dhtsim_core::sim::explore::{Bounds, Failures};
        let failures = if info.any_failure { Failures::Any } else { Failures::Assumed };
        let bounds =
            Bounds { depth: info.depth, max_states: info.max_states, failures, fifo: info.fifo };
        crate::explore::render(&s, bounds)?.files
    } else {
        let jobs = thread_count(args.jobs, s.runs.len(), args.quiet);
        let runs = execute_runs(&s, jobs, !args.quiet)?;
        if shard.is_some() { crate::shard::render(&runs) } else { render_files(&s, &runs)? }
    };
    let files: BTreeMap<String, Vec<u8>> = files.into_iter().collect();
    let mut problems = Vec::new();
    for (name, want) in &m.outputs {
        let Some(bytes) = files.get(name) else {
            problems.push(format!("{name}: recorded in the manifest, not produced by the re-run"));
            continue;
        };
        let Ok(on_disk) = std::fs::read(args.dir.join(name)) else {
            problems.push(format!("{name}: recorded in the manifest, missing from the directory"));
            continue;
        };
        let regenerated_ok = sha256_hex(bytes) == *want;
        let disk_ok = sha256_hex(&on_disk) == *want;
        if regenerated_ok && disk_ok {
            continue;
        }
        let detail = if on_disk != *bytes {
            crate::results::first_difference(&on_disk, bytes)
        } else {
            "differs from the digest in the manifest".to_string()
        };
        let who = if disk_ok { "the re-run" } else { "the file in the directory" };
        problems.push(format!("{name}: {who} does not match the manifest; {detail}"));
    }
    for name in files.keys().filter(|n| !m.outputs.contains_key(*n)) {
        problems.push(format!("{name}: produced by the re-run, not in the manifest"));
    }
    if problems.is_empty() {
        if !args.quiet {
            say(&format!("reproduced: {} files identical\n", m.outputs.len()));
        }
        Ok(())
    } else {
        for p in &problems {
            eprintln!("differs: {p}");
        }
        Err(AppError::Failed(format!("{} of {} files differ", problems.len(), m.outputs.len())))
    }
}

fn check(args: CheckArgs) -> Result<(), AppError> {
    let s = scenario::load(&args.scenario, &args.overrides, args.seed)?;
    for w in &s.warnings {
        eprintln!("{w}");
    }
    // What `run` would refuse, `check` refuses too.
    if let Some(msg) = crate::memory::too_big(&s, 0) {
        return Err(InputError::whole(&s.file, msg).into());
    }
    if args.runs {
        say(&String::from_utf8_lossy(&run_list(&s)));
        return Ok(());
    }
    say(&format!("{}: ok: {}\n", s.file, describe(&s)));
    let need = crate::memory::sweep_estimate(&s, 0);
    let have = crate::memory::available()
        .map_or_else(String::new, |a| format!(" ({} available)", crate::memory::human(a)));
    say(&format!("estimated peak memory: {}{have}\n", crate::memory::human(need)));
    let seconds: f64 = s.runs.iter().map(|r| dhtsim_core::cost::estimate(&r.config).seconds).sum();
    say(&format!(
        "estimated time: {} of one core ({})\n",
        human_seconds(seconds),
        dhtsim_core::cost::time_class(seconds)
    ));
    Ok(())
}

/// `x` to three significant digits, in plain decimal notation.
fn significant(x: f64) -> String {
    let decimals = if x > 0.0 { (2.0 - x.log10().floor()).max(0.0) as usize } else { 0 };
    format!("{x:.decimals$}")
}

/// A duration of about `seconds`, readable: "0.4 s", "12 s", "7 min", "3.2 h".
fn human_seconds(seconds: f64) -> String {
    match seconds {
        s if s < 10.0 => format!("{s:.1} s"),
        s if s < 120.0 => format!("{s:.0} s"),
        s if s < 7200.0 => format!("{:.0} min", s / 60.0),
        s => format!("{:.1} h", s / 3600.0),
    }
}

/// The sweep's runs as CSV (`check --runs`): number, seed, each swept key's value, the
/// estimated peak memory of a process that runs that run alone (bytes, and readable), and its
/// estimated events and seconds of one core, with their class (`dhtsim_core::cost`).
fn run_list(s: &Scenario) -> Vec<u8> {
    let mut w = tables::writer();
    let mut header = vec!["run".to_string(), "seed".to_string()];
    header.extend(s.swept.iter().cloned());
    header.extend(["memory_bytes", "memory", "events", "time_s", "time"].map(String::from));
    w.write_record(&header).expect("writes to memory");
    for r in &s.runs {
        let alone = Scenario { runs: vec![r.clone()], ..s.clone() };
        let bytes = crate::memory::estimate(&alone, 1).total();
        let mut row = vec![r.run.to_string(), r.seed.to_string()];
        row.extend(
            s.swept.iter().map(|k| {
                r.point.iter().find(|(key, _)| key == k).map_or("", |(_, v)| v).to_string()
            }),
        );
        let cost = dhtsim_core::cost::estimate(&r.config);
        row.extend([
            bytes.to_string(),
            crate::memory::human(bytes),
            format!("{:.0}", cost.events.total()),
            significant(cost.seconds),
            dhtsim_core::cost::time_class(cost.seconds).to_string(),
        ]);
        w.write_record(&row).expect("writes to memory");
    }
    w.into_inner().expect("writes to memory")
}

/// One line saying what a scenario will do.
fn describe(s: &Scenario) -> String {
    let Some(first) = s.runs.first() else {
        return "no run (a shard of a sweep with fewer runs than shards)".to_string();
    };
    let c = &first.config;
    if s.runs.len() > 1 {
        let swept = if s.swept.is_empty() { "seeds".to_string() } else { s.swept.join(", ") };
        return format!("scenario \"{}\": {} runs sweeping {swept}", c.name, s.runs.len());
    }
    let peers = match &c.population {
        Population::Random(n) => format!("{n} random peers"),
        Population::Explicit(ids) => format!("{} listed peers", ids.len()),
    };
    let peers = match c.bootstrap {
        dhtsim_core::config::Bootstrap::Ring => peers,
        dhtsim_core::config::Bootstrap::Joins => format!("{peers} joining at 0 ms"),
    };
    let lookups = match c.workload.per_peer_interval {
        Some(every) => format!("a lookup every {} ms from every member", every.as_ms()),
        None => format!("{} lookups", c.workload.lookups),
    };
    let lookups = match c.workload.keys {
        dhtsim_core::config::KeyDist::OwnFingers => {
            format!("{lookups} (of the asker's own fingers, none while unset)")
        }
        _ => lookups,
    };
    format!(
        "scenario \"{}\", seed {}, {} ID bits, {peers}, {lookups} over {}..{} ms, {} scripted events",
        c.name,
        s.runs[0].seed,
        c.space.bits(),
        c.warmup.as_ms(),
        c.duration.as_ms(),
        c.events.len()
    )
}

fn run(args: RunArgs, argv: &[String]) -> Result<(), AppError> {
    let mut s = scenario::load(&args.scenario, &args.overrides, args.seed)?;
    let shard = args.shard.map(|sh| ShardInfo {
        index: sh.index,
        count: sh.count,
        runs: s.runs.len() as u64,
    });
    let name = s.config().name.clone();
    if let Some(sh) = args.shard {
        s.runs.retain(|r| sh.holds(r.run));
    }
    let jobs = thread_count(args.jobs, s.runs.len(), args.quiet);
    // (A shard of a sweep with fewer runs than shards may hold none.)
    if !args.ignore_memory_check
        && !s.runs.is_empty()
        && let Some(msg) = crate::memory::too_big(&s, jobs)
    {
        return Err(InputError::whole(&s.file, msg).into());
    }
    let out_dir = match (&args.out, args.shard) {
        (Some(dir), _) => dir.clone(),
        (None, Some(sh)) => sh.default_dir(&name),
        (None, None) => default_out_dir(s.config()),
    };
    if let Some(sh) = args.shard {
        let want = manifest(&s, &[], BTreeMap::new(), argv, args.seed, shard);
        let want_runs: Vec<RunInfo> = s.runs.iter().map(run_info_of_spec).collect();
        if crate::shard::already_done(&out_dir, &Manifest { runs: want_runs, ..want }) {
            if !args.quiet {
                say(&format!(
                    "shard {}/{} is complete in {}/: nothing to run\n",
                    sh.index,
                    sh.count,
                    out_dir.display()
                ));
            }
            return Ok(());
        }
    }
    // Before any simulation: the output location must be ours to write (SPEC §3).
    let out = claim_results_dir(&out_dir)?;
    if !args.quiet {
        for w in &s.warnings {
            eprintln!("{w}");
        }
        eprintln!("running {}", describe(&s));
    }
    let runs = execute_runs(&s, jobs, !args.quiet)?;
    if !args.quiet {
        for w in run_warnings(&runs) {
            eprintln!("warning: {w}");
        }
    }
    let files = write_results(out, &out_dir, &s, &runs, argv, args.seed, shard)?;
    if !args.quiet {
        say(&crate::report::render(&runs));
        say(&format!("\nwrote {}/ ({})\n", out_dir.display(), files.join(", ")));
    }
    if let Some((run, why)) =
        runs.iter().find_map(|r| r.result.stopped.as_ref().map(|w| (r.run, w)))
    {
        return Err(AppError::Failed(format!("run {run} stopped: {why}")));
    }
    Ok(())
}

/// The threads that run `runs` runs when the user asks for `jobs` (0 = one per core): never more
/// than the runs, nor more than four per core (beyond that, threads only add memory and
/// scheduling; `--jobs 10000` once loaded a 2-core machine to 203). Says so when it cuts a
/// request down, unless `quiet`.
fn thread_count(jobs: usize, runs: usize, quiet: bool) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cap = 4 * cores;
    if jobs > cap && !quiet {
        eprintln!(
            "warning: --jobs {jobs}: using at most {cap} threads (4 per core, {cores} cores)"
        );
    }
    let wanted = if jobs == 0 { cores } else { jobs };
    wanted.min(cap).min(runs.max(1))
}

/// Runs every run of the scenario, in parallel over `jobs` threads. Results
/// come back in run order whatever the thread count, and each run is a pure function of its
/// config and seed, so the bytes written never depend on `jobs`. With `show_progress`, a bar on
/// stderr follows virtual time (one run) or runs done (a sweep), with events per second and ETA.
fn execute_runs(
    s: &Scenario,
    jobs: usize,
    show_progress: bool,
) -> Result<Vec<RunOutput>, AppError> {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    use rayon::prelude::*;
    use std::io::IsTerminal;
    use std::sync::atomic::{AtomicU64, Ordering};
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(|e| AppError::Failed(format!("cannot start {jobs} worker threads: {e}")))?;
    let single = s.runs.len() == 1;
    let bar = if show_progress && std::io::stderr().is_terminal() {
        let (len, template) = if single {
            let end = s.runs[0].config.duration.as_ms();
            (
                end,
                "{spinner} virtual time {pos}/{len} ms [{bar:30}] {msg} {elapsed_precise} ETA {eta}",
            )
        } else {
            (
                s.runs.len() as u64,
                "{spinner} runs {pos}/{len} [{bar:30}] {msg} {elapsed_precise} ETA {eta}",
            )
        };
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(template).expect("valid template").progress_chars("=> "),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let started = std::time::Instant::now();
    let events = AtomicU64::new(0);
    let rate = |total: u64| {
        let secs = started.elapsed().as_secs_f64().max(1e-3);
        format!("{:.1} M events/s", total as f64 / secs / 1e6)
    };
    let outputs = pool.install(|| {
        s.runs
            .par_iter()
            .map(|spec| {
                // The reader has validated every run's config; a rule broken here is a bug in
                // the reader, reported as a failure rather than a panic.
                let mut last = 0;
                let mut progress = |now: dhtsim_core::time::SimTime, n: u64| {
                    let total = events.fetch_add(n - last, Ordering::Relaxed) + (n - last);
                    last = n;
                    if single {
                        bar.set_position(now.as_ms().min(bar.length().unwrap_or(0)));
                    }
                    bar.set_message(rate(total));
                };
                let result = dhtsim_core::sim::run_with_progress(
                    &spec.config,
                    spec.seed,
                    1 << 18,
                    &mut progress,
                )
                .map_err(|e| {
                    AppError::Failed(format!("run {}: invalid configuration: {e}", spec.run))
                })?;
                if !single {
                    bar.inc(1);
                }
                Ok(RunOutput { run: spec.run, seed: spec.seed, point: spec.point.clone(), result })
            })
            .collect::<Result<Vec<_>, AppError>>()
    });
    bar.finish_and_clear();
    outputs
}

/// Every result file of a run, rendered from the results (the manifest aside), as
/// (relative path, bytes), in a fixed order.
pub fn render_files(s: &Scenario, runs: &[RunOutput]) -> Result<Vec<(String, Vec<u8>)>, AppError> {
    let out = &s.output;
    let mut files: Vec<(String, Vec<u8>)> = vec![
        ("summary.csv".into(), tables::summary_csv(runs)),
        ("hops.csv".into(), tables::hops_csv(runs)),
    ];
    if runs.len() > 1 {
        files.push(("summary_by_point.csv".into(), tables::summary_by_point_csv(runs)));
    }
    if out.peers {
        files.push(("peers.csv".into(), tables::peers_csv(runs)));
    }
    if runs.iter().any(|r| !r.result.samples.is_empty()) {
        files.push(("timeseries.csv".into(), tables::timeseries_csv(runs)));
    }
    if runs.iter().any(|r| r.result.swarm.is_some()) {
        files.push(("downloads.csv".into(), tables::downloads_csv(runs)));
        files.push(("swarm.csv".into(), tables::swarm_csv(runs)));
    }
    files.extend(tables::dot_files(runs));
    if out.lookups {
        files.push(("lookups.csv".into(), tables::lookups_csv(runs)));
    }
    // A constant latency's distribution is the hop count's, scaled: only other models get one.
    let latencies =
        s.runs.iter().any(|r| !matches!(r.config.network.latency, Latency::Constant(_)));
    if latencies {
        files.push(("latency.csv".into(), tables::latency_csv(runs)));
    }
    if out.plots {
        let plot_runs: Vec<PlotRun> = runs
            .iter()
            .map(|r| {
                let s = dhtsim_core::metrics::Summary::of(&r.result);
                PlotRun {
                    run: r.run,
                    point: r.point.clone(),
                    peers: r.result.initial_peers,
                    hops: tables::hop_histogram(&r.result),
                    lookups: s.lookups,
                    failed: s.failed,
                    wrong: s.wrong_owner,
                    not_found: s.not_found,
                    timeouts: s.timeouts,
                    protocol: r.result.protocol.name().to_string(),
                    maintenance_bytes_per_peer_s: s.maintenance_bytes_per_peer_s,
                    latency_ms_p50: s.latency_ms_p50_p95_p99.map(|l| l.0 as f64),
                    latencies: if latencies {
                        r.result.lookup_stats.latency_ms.iter().map(|(&l, &c)| (l, c)).collect()
                    } else {
                        Vec::new()
                    },
                    swarm: r.result.swarm.as_ref().map(|sw| crate::plot::SwarmPlot {
                        leechers: sw.peers.iter().filter(|p| !p.initial_seeder).count() as u64,
                        downloads_s: sw
                            .peers
                            .iter()
                            .filter(|p| !p.initial_seeder)
                            .filter_map(|p| {
                                p.complete.map(|c| c.since(p.arrive).as_ms() as f64 / 1000.0)
                            })
                            .collect(),
                        population: sw
                            .samples
                            .iter()
                            .map(|x| (x.t.as_ms() as f64 / 60_000.0, x.seeders, x.leechers))
                            .collect(),
                    }),
                    samples: r
                        .result
                        .samples
                        .iter()
                        .map(|x| crate::plot::TsPoint {
                            t_ms: x.t.as_ms(),
                            live: x.health.members,
                            ok: x.ok,
                            failed: x.failed,
                            lookups: x.lookups,
                            succ: x.health.succ_correct,
                            pred: x.health.pred_correct,
                            fingers: x.health.fingers_correct,
                            lost: x.health.lost_keys,
                        })
                        .collect(),
                }
            })
            .collect();
        files.extend(render_plots(s, &plot_runs)?);
    }
    Ok(files)
}

/// The plot files (`plots/NAME.svg`, `.png`) of `runs`.
fn render_plots(s: &Scenario, runs: &[PlotRun]) -> Result<Vec<(String, Vec<u8>)>, AppError> {
    let plots =
        crate::plot::render_all(runs, s.output.distribution_peers).map_err(AppError::Failed)?;
    Ok(plots.into_iter().map(|(name, bytes)| (format!("plots/{name}"), bytes)).collect())
}

/// What the runs warned about, each prefixed with its run.
fn run_warnings(runs: &[RunOutput]) -> Vec<String> {
    runs.iter()
        .flat_map(|r| r.result.warnings.iter().map(move |w| format!("run {}: {w}", r.run)))
        .collect()
}

/// Claims `out_dir` for a run's results: absent, empty, or a dhtsim results directory holding
/// nothing but the files its manifest lists; anything else is refused (exit status 2).
pub(crate) fn claim_results_dir(out_dir: &Path) -> Result<AtomicDir, AppError> {
    AtomicDir::claim(out_dir, crate::output::manifest::owned_files)
        .map_err(|r| InputError::whole(&r.path, r.message).into())
}

/// Moves a written directory into place, reporting what was kept aside.
fn finish_commit(dir: AtomicDir) -> Result<(), AppError> {
    match dir.commit() {
        Ok(None) => Ok(()),
        Ok(Some(warning)) => {
            eprintln!("warning: {warning}");
            Ok(())
        }
        Err(r) => Err(AppError::Failed(format!("{}: {}", r.path, r.message))),
    }
}

/// Renders every result file (a shard's: each run's result) and writes them, with the
/// manifest, into `dir` (claimed for `out_dir`), then moves it into place. Returns the names of
/// the files written.
fn write_results(
    dir: AtomicDir,
    out_dir: &Path,
    s: &Scenario,
    runs: &[RunOutput],
    argv: &[String],
    seed_override: Option<u64>,
    shard: Option<ShardInfo>,
) -> Result<Vec<String>, AppError> {
    let files = if shard.is_some() { crate::shard::render(runs) } else { render_files(s, runs)? };
    let digests = files.iter().map(|(name, bytes)| (name.to_string(), sha256_hex(bytes))).collect();
    let manifest = manifest(s, runs, digests, argv, seed_override, shard);
    commit_files(dir, out_dir, &files, &manifest)
}

/// Writes `files` and `manifest` into `dir` (claimed for `out_dir`) and moves it into place.
/// Returns the names of the files written.
fn commit_files(
    dir: AtomicDir,
    out_dir: &Path,
    files: &[(String, Vec<u8>)],
    manifest: &Manifest,
) -> Result<Vec<String>, AppError> {
    let fail = |e: std::io::Error| {
        AppError::Failed(format!("cannot write results to {}: {e}", out_dir.display()))
    };
    for (name, bytes) in files {
        dir.write(name, bytes).map_err(fail)?;
    }
    dir.write("manifest.json", &manifest.to_bytes()).map_err(fail)?;
    finish_commit(dir)?;
    let mut names: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
    names.push("manifest.json".into());
    Ok(names)
}

/// The manifest of `runs` of `s`, whose files have these digests.
fn manifest(
    s: &Scenario,
    runs: &[RunOutput],
    outputs: BTreeMap<String, String>,
    argv: &[String],
    seed_override: Option<u64>,
    shard: Option<ShardInfo>,
) -> Manifest {
    Manifest {
        dhtsim_version: env!("CARGO_PKG_VERSION").to_string(),
        created: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        command_line: argv.to_vec(),
        scenario: ScenarioInfo {
            path: s.file.clone(),
            sha256: sha256_hex(s.text.as_bytes()),
            text: s.text.clone(),
        },
        overrides: s.overrides.clone(),
        seed: s.seed,
        seed_override,
        runs: runs
            .iter()
            .map(|r| RunInfo { run: r.run, seed: r.seed, point: r.point.iter().cloned().collect() })
            .collect(),
        outputs,
        inputs: Some(s.inputs.clone()),
        warnings: s
            .warnings
            .iter()
            .cloned()
            .chain(run_warnings(runs).into_iter().map(|w| format!("warning: {w}")))
            .collect(),
        shard,
        explore: None,
    }
}

/// Writes the files of `dhtsim explore` and their manifest into `dir` (claimed for
/// `out_dir`), then moves it into place. Returns the names of the files written.
pub(crate) fn write_explored(
    dir: AtomicDir,
    out_dir: &Path,
    s: &Scenario,
    files: &[(String, Vec<u8>)],
    argv: &[String],
    info: crate::output::manifest::ExploreInfo,
) -> Result<Vec<String>, AppError> {
    let digests = files.iter().map(|(name, bytes)| (name.to_string(), sha256_hex(bytes))).collect();
    let runs: Vec<RunOutput> = Vec::new();
    let mut manifest = manifest(s, &runs, digests, argv, None, None);
    manifest.runs = s.runs.iter().map(run_info_of_spec).collect();
    manifest.explore = Some(info);
    commit_files(dir, out_dir, files, &manifest)
}

fn run_info_of_spec(r: &scenario::RunSpec) -> RunInfo {
    RunInfo { run: r.run, seed: r.seed, point: r.point.iter().cloned().collect() }
}

/// `dhtsim merge OUT SHARD...`: the shards' results, checked, written as one run's.
fn merge(args: MergeArgs, argv: &[String]) -> Result<(), AppError> {
    let (first, runs) = crate::shard::read_all(&args.shards)?;
    let s = recorded_scenario(&args.shards[0], &first)?;
    if s.runs.len() != runs.len()
        || s.runs.iter().zip(&runs).any(|(spec, r)| spec.seed != r.seed || spec.point != r.point)
    {
        let shown = args.shards[0].join("manifest.json").display().to_string();
        return Err(InputError::whole(&shown, "the runs do not match the scenario's sweep").into());
    }
    let out = claim_results_dir(&args.out)?;
    let files = write_results(out, &args.out, &s, &runs, argv, first.seed_override, None)?;
    if !args.quiet {
        say(&format!(
            "merged {} shards ({} runs) into {}/ ({})\n",
            args.shards.len(),
            runs.len(),
            args.out.display(),
            files.join(", ")
        ));
    }
    Ok(())
}

/// The default output directory of a scenario.
pub fn default_out_dir(config: &Config) -> PathBuf {
    Path::new("results").join(&config.name)
}

/// Writes `text` to standard output. A reader that has gone away (`dhtsim check s.toml | head -1`)
/// is not an error: the work is done and its files are written, so nothing is reported.
pub(crate) fn say(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

//! Command-line arguments (SPEC §3), parsed by clap; validation happens in `app`.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// dhtsim: a deterministic discrete-event simulator of distributed hash tables under churn.
#[derive(Parser, Debug)]
#[command(name = "dhtsim", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a scenario (every run of its sweep) and write its results: CSV tables, plots, manifest.json.
    Run(RunArgs),
    /// Validate a scenario without running it.
    Check(CheckArgs),
    /// Redraw every plot of a results directory from its CSV files (no simulation).
    Plot(DirArgs),
    /// Re-run the scenario recorded in a results directory's manifest and compare every file.
    Reproduce(ReproduceArgs),
    /// Combine the shards of a sweep (`run --shard I/K`) into the files of one whole run.
    Merge(MergeArgs),
    /// Try every order of a small scenario's events and check the ring after each; write the
    /// shortest trace that breaks a property as a scenario that `dhtsim run` replays.
    Explore(ExploreArgs),
}

/// `dhtsim explore`.
#[derive(Args, Debug)]
pub struct ExploreArgs {
    /// The scenario file (TOML): explicit `population.ids`, events as `[[events]]`.
    pub scenario: PathBuf,
    /// Override one scenario key (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// Longest event order tried (steps from the initial state).
    #[arg(long, default_value_t = 20)]
    pub depth: u32,
    /// Most distinct states visited.
    #[arg(long, default_value_t = 1_000_000)]
    pub max_states: u64,
    /// Let a scripted crash happen even when it leaves a member with no live successor (by
    /// default it waits until it does not: Zave's fault assumption).
    #[arg(long)]
    pub any_failure: bool,
    /// Links deliver in order: of the messages in flight between two peers, only the oldest
    /// arrives next (by default any message in flight may arrive first).
    #[arg(long)]
    pub fifo: bool,
    /// Where the report and counterexample go (default: results/NAME.explore/).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `dhtsim merge`.
#[derive(Args, Debug)]
pub struct MergeArgs {
    /// Where the sweep's results go (as `run --out`).
    pub out: PathBuf,
    /// The shard directories, every shard of the sweep once, in any order.
    #[arg(required = true)]
    pub shards: Vec<PathBuf>,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `dhtsim plot`.
#[derive(Args, Debug)]
pub struct DirArgs {
    /// A results directory written by `dhtsim run`.
    pub dir: PathBuf,
}

/// `dhtsim reproduce`.
#[derive(Args, Debug)]
pub struct ReproduceArgs {
    /// A results directory written by `dhtsim run`.
    pub dir: PathBuf,
    /// Runs executed at once (0 = one per core). Results do not depend on it.
    #[arg(long, short, default_value_t = 0)]
    pub jobs: usize,
    /// Print nothing but the verdict and errors.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `dhtsim run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
    /// Seed of the run (overrides the scenario's `seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Output directory [default: results/<scenario name>].
    // The doc comment is clap's help text, shown as is; rustdoc would read `<scenario name>`
    // as an HTML tag.
    #[allow(rustdoc::invalid_html_tags)]
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Override one scenario key, e.g. --set overlay.hop_limit=64 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
    /// Runs executed at once (0 = one per core). Results do not depend on it.
    #[arg(long, short, default_value_t = 0)]
    pub jobs: usize,
    /// Run even if the memory estimate exceeds the memory this machine has available.
    #[arg(long)]
    pub ignore_memory_check: bool,
    /// Run only shard I of K of the sweep (the runs r with r mod K = I - 1), into a shard
    /// directory that `dhtsim merge` combines [default out: results/<scenario name>.shard-I-of-K].
    /// A shard already complete there is not run again.
    #[allow(rustdoc::invalid_html_tags)]
    #[arg(long, value_name = "I/K")]
    pub shard: Option<crate::shard::Shard>,
}

/// `dhtsim check`.
#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
    /// Override one scenario key before validating (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// Seed (as `run --seed`: it replaces the sweep's `seeds`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// List the sweep's runs as CSV on standard output (run, seed, the swept keys' values, and
    /// the estimated peak memory of a job that runs that run alone), to size shards.
    #[arg(long)]
    pub runs: bool,
}

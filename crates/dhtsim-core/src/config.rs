//! The validated configuration of one run: the only input the core accepts.
//!
//! Plain data, already checked: the scenario reader at the edge (`dhtsim` crate, `scenario`
//! module) turns a TOML file into this and reports every mistake with its file, line and key. The
//! core trusts these invariants and asserts them only in debug builds. Defaults live with the
//! reader, next to their documentation.

use crate::ring::{IdSpace, RingId};
use crate::time::{SimDuration, SimTime};

/// Everything that determines a run, apart from the seed.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Scenario name (used for the default output directory).
    pub name: String,
    /// The identifier space.
    pub space: IdSpace,
    /// End of the measured window: the workload starts no lookup at or after this time.
    pub duration: SimTime,
    /// Start of the measured window: the workload starts no lookup before this time.
    pub warmup: SimTime,
    /// Who is in the network at time zero.
    pub population: Population,
    /// Routing settings.
    pub overlay: OverlayConfig,
    /// Message delivery.
    pub network: NetworkConfig,
    /// Generated lookups and stored files.
    pub workload: WorkloadConfig,
    /// Scripted events, in the order given (ties at one time run in this order).
    pub events: Vec<ScriptedEvent>,
    /// Record every lookup's path (the peers it visited). Costs memory on long paths.
    pub record_paths: bool,
}

/// The peers present at bootstrap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Population {
    /// `n >= 1` peers with distinct IDs drawn uniformly from the space (`n <= 2^m`).
    Random(u64),
    /// These IDs, distinct, each inside the space, at least one.
    Explicit(Vec<RingId>),
}

impl Population {
    /// How many peers the network starts with.
    pub fn len(&self) -> u64 {
        match self {
            Population::Random(n) => *n,
            Population::Explicit(ids) => ids.len() as u64,
        }
    }

    /// Whether the population is empty (never true for a validated config).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Routing settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OverlayConfig {
    /// Most forwards a lookup may take before it ends as `failed`; `None` = twice the initial
    /// population plus 16, which no lookup on a consistent ring reaches.
    pub hop_limit: Option<u32>,
    /// Chord finger tables: finger i of p is the successor of p + 2^i.
    pub fingers: bool,
    /// Learned shortcuts each peer keeps (0 = no cache).
    pub cache_size: u32,
    /// Length r of each peer's successor list (`>= 1`).
    pub successors: u32,
    /// Route through the whole successor list, not only the first successor.
    pub route_via_successors: bool,
}

/// One-way message latency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Latency {
    /// Every message takes exactly this long.
    Constant(SimDuration),
    /// Each message takes a duration drawn uniformly from `min ..= max` (whole milliseconds).
    Uniform {
        /// Shortest latency.
        min: SimDuration,
        /// Longest latency (`>= min`).
        max: SimDuration,
    },
}

/// Message delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkConfig {
    /// One-way latency between two distinct peers (a peer reaches itself instantly).
    pub latency: Latency,
}

/// Where the keys of generated lookups come from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum KeyDist {
    /// Uniform over the whole identifier space.
    Uniform,
    /// Uniform over the keys of the files stored at bootstrap (`files >= 1`).
    Stored,
    /// Zipf over the files stored at bootstrap (`files >= 1`): file i (from 0) is chosen with
    /// probability proportional to 1 / (i + 1)^exponent.
    Zipf {
        /// The exponent s (`>= 0`; 0 is uniform).
        exponent: f64,
    },
}

/// Generated lookups and stored files.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkloadConfig {
    /// Lookups started, evenly spaced over `[warmup, duration)`.
    pub lookups: u64,
    /// Key distribution of those lookups.
    pub keys: KeyDist,
    /// Files published at bootstrap: file `i` is named `file-<i>`, its key is the SHA-1 of the name
    /// truncated to m bits, its holder a uniformly chosen peer.
    pub files: u64,
}

/// A scripted event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptedEvent {
    /// When it happens.
    pub at: SimTime,
    /// What happens.
    pub action: Action,
}

/// What a scripted event does. Peers are named by ID and exist at bootstrap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Peer `from` looks up `key`.
    Lookup {
        /// The querier.
        from: RingId,
        /// The key looked up.
        key: RingId,
    },
    /// Peer `from` publishes (key, itself) to the key's owner.
    Store {
        /// The peer that holds the file.
        from: RingId,
        /// The file's key.
        key: RingId,
    },
}

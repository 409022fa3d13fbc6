//! [`ConfigBuilder`]: a [`Config`] from the [`defaults`], changed by chained setters and checked
//! when built.

use super::{
    Bootstrap, ChordVariant, Config, ConfigError, KademliaConfig, KeyDist, Latency, LinkClass,
    LookupStyle, NetworkConfig, OverlayConfig, Population, ProtocolKind, ScheduledStep,
    ScriptedEvent, WorkloadConfig, defaults,
};
use crate::churn::ChurnConfig;
use crate::protocol::Maintenance;
use crate::ring::IdSpace;
use crate::time::{SimDuration, SimTime};

impl Config {
    /// A builder for a run of `peers` random peers with every other setting at its default: a
    /// static ring of 32-bit IDs with successor lists of 2, no fingers, cache, churn,
    /// maintenance or lookups, 600 s long, 50 ms latency, every lookup recorded (see
    /// [`defaults`]).
    ///
    /// ```
    /// use dhtsim_core::config::Config;
    /// use dhtsim_core::time::SimTime;
    ///
    /// let cfg = Config::builder(50).fingers(true).lookups(100).warmup(SimTime(10_000)).build();
    /// assert!(cfg.is_ok());
    /// let err = Config::builder(50).replication(4).build().unwrap_err();
    /// assert_eq!(err.key, "overlay.replication");
    /// ```
    pub fn builder(peers: u64) -> ConfigBuilder {
        ConfigBuilder {
            cfg: Config {
                name: defaults::NAME.into(),
                space: IdSpace::new(defaults::ID_BITS).expect("the default space is valid"),
                duration: defaults::DURATION,
                warmup: SimTime::ZERO,
                population: Population::Random(peers),
                bootstrap: Bootstrap::Ring,
                overlay: OverlayConfig {
                    protocol: ProtocolKind::Chord,
                    kademlia: KademliaConfig {
                        k: defaults::K,
                        alpha: defaults::ALPHA,
                        refresh: defaults::KADEMLIA_PERIOD,
                        republish: defaults::KADEMLIA_PERIOD,
                        proximity_routing: false,
                    },
                    hop_limit: None,
                    retries: None,
                    lookup: LookupStyle::Recursive,
                    chord_variant: ChordVariant::Zave,
                    learn_from_timeouts: true,
                    fingers: false,
                    cache_size: 0,
                    successors: defaults::SUCCESSORS,
                    route_via_successors: false,
                    reactive_stabilization: false,
                    fingers_at_join: false,
                    finger_hints: false,
                    iterative_repairs: false,
                    repair_retries: None,
                    fix_all_fingers: false,
                    timer_exponential: false,
                    replication: defaults::REPLICATION,
                    maintenance: None,
                    timer_jitter: false,
                    rpc_timeout: defaults::RPC_TIMEOUT,
                    rpc_attempts: defaults::RPC_ATTEMPTS,
                    client_mode: false,
                    proximity: 0,
                    virtual_nodes: defaults::VIRTUAL_NODES,
                },
                network: NetworkConfig {
                    latency: Latency::Constant(defaults::LATENCY),
                    loss: 0.0,
                    unreachable: 0.0,
                    links: Vec::new(),
                },
                workload: WorkloadConfig {
                    lookups: 0,
                    keys: KeyDist::Uniform,
                    files: 0,
                    per_peer_interval: None,
                    consistency_window: defaults::CONSISTENCY_WINDOW,
                },
                events: vec![],
                record_lookups: true,
                record_paths: false,
                churn: ChurnConfig::none(),
                sample: None,
                stop_on_violation: false,
                check_every_event: false,
                snapshots: vec![],
                schedule: vec![],
                swarm: None,
            },
        }
    }
}

/// A [`Config`] under construction: [`Config::builder`]'s defaults, changed by chained setters,
/// checked by [`build`](ConfigBuilder::build).
#[derive(Clone, Debug)]
#[must_use]
pub struct ConfigBuilder {
    pub(super) cfg: Config,
}

impl ConfigBuilder {
    /// The configuration, if it obeys every rule of [`Config::validate`].
    pub fn build(self) -> Result<Config, ConfigError> {
        self.cfg.validate()?;
        Ok(self.cfg)
    }

    /// Scenario name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.cfg.name = name.into();
        self
    }

    /// The identifier space.
    pub fn space(mut self, space: IdSpace) -> Self {
        self.cfg.space = space;
        self
    }

    /// End of the measured window (and of generated lookups).
    pub fn duration(mut self, duration: SimTime) -> Self {
        self.cfg.duration = duration;
        self
    }

    /// Start of the measured window.
    pub fn warmup(mut self, warmup: SimTime) -> Self {
        self.cfg.warmup = warmup;
        self
    }

    /// Who is in the network at time zero (replaces the random peers given to the builder).
    pub fn population(mut self, population: Population) -> Self {
        self.cfg.population = population;
        self
    }

    /// How the population forms the ring.
    pub fn bootstrap(mut self, bootstrap: Bootstrap) -> Self {
        self.cfg.bootstrap = bootstrap;
        self
    }

    /// All routing settings at once.
    pub fn overlay(mut self, overlay: OverlayConfig) -> Self {
        self.cfg.overlay = overlay;
        self
    }

    /// Most forwards a lookup may take.
    pub fn hop_limit(mut self, hops: u32) -> Self {
        self.cfg.overlay.hop_limit = Some(hops);
        self
    }

    /// Timeouts a lookup or store may meet and still go on (0: the first one fails it).
    pub fn retries(mut self, retries: u32) -> Self {
        self.cfg.overlay.retries = Some(retries);
        self
    }

    /// Recursive or iterative lookups.
    pub fn lookup(mut self, style: LookupStyle) -> Self {
        self.cfg.overlay.lookup = style;
        self
    }

    /// Kademlia instead of Chord, with `k` contacts per bucket and `alpha` requests in flight;
    /// every entry stored at the `k` closest peers (set [`ConfigBuilder::replication`] after
    /// this to change that).
    pub fn kademlia(mut self, k: u32, alpha: u32) -> Self {
        self.cfg.overlay.protocol = ProtocolKind::Kademlia;
        self.cfg.overlay.kademlia.k = k;
        self.cfg.overlay.kademlia.alpha = alpha;
        self.cfg.overlay.replication = k;
        self
    }

    /// The Chord maintenance protocol: corrected (default) or as published.
    pub fn chord_variant(mut self, variant: ChordVariant) -> Self {
        self.cfg.overlay.chord_variant = variant;
        self
    }

    /// Chord finger tables.
    pub fn fingers(mut self, on: bool) -> Self {
        self.cfg.overlay.fingers = on;
        self
    }

    /// Learned shortcuts each peer keeps.
    pub fn cache_size(mut self, entries: u32) -> Self {
        self.cfg.overlay.cache_size = entries;
        self
    }

    /// Length of each peer's successor list.
    pub fn successors(mut self, r: u32) -> Self {
        self.cfg.overlay.successors = r;
        self
    }

    /// Route through the whole successor list.
    pub fn route_via_successors(mut self, on: bool) -> Self {
        self.cfg.overlay.route_via_successors = on;
        self
    }

    /// Reactive rather than periodic repair of predecessors.
    pub fn reactive_stabilization(mut self, on: bool) -> Self {
        self.cfg.overlay.reactive_stabilization = on;
        self
    }

    /// A joiner looks up its whole finger table as soon as it has joined.
    pub fn fingers_at_join(mut self, on: bool) -> Self {
        self.cfg.overlay.fingers_at_join = on;
        self
    }

    /// A joiner starts from its successor's finger table.
    pub fn finger_hints(mut self, on: bool) -> Self {
        self.cfg.overlay.finger_hints = on;
        self
    }

    /// Copies of each stored entry.
    pub fn replication(mut self, copies: u32) -> Self {
        self.cfg.overlay.replication = copies;
        self
    }

    /// Periodic maintenance with these periods ([`defaults::MAINTENANCE`]: 30 s each).
    pub fn maintenance(mut self, periods: Maintenance) -> Self {
        self.cfg.overlay.maintenance = Some(periods);
        self
    }

    /// Jittered timer intervals.
    pub fn timer_jitter(mut self, on: bool) -> Self {
        self.cfg.overlay.timer_jitter = on;
        self
    }

    /// How long a sender waits for a message to a departed peer.
    pub fn rpc_timeout(mut self, timeout: SimDuration) -> Self {
        self.cfg.overlay.rpc_timeout = timeout;
        self
    }

    /// How many times in all a sender sends an unanswered message (1 to 16).
    pub fn rpc_attempts(mut self, attempts: u32) -> Self {
        self.cfg.overlay.rpc_attempts = attempts;
        self
    }

    /// Whether unreachable peers run in client mode.
    pub fn client_mode(mut self, on: bool) -> Self {
        self.cfg.overlay.client_mode = on;
        self
    }

    /// Candidates per routing-table entry for proximity neighbour selection (0: off).
    pub fn proximity(mut self, candidates: u32) -> Self {
        self.cfg.overlay.proximity = candidates;
        self
    }

    /// Ring nodes each physical peer runs.
    pub fn virtual_nodes(mut self, v: u32) -> Self {
        self.cfg.overlay.virtual_nodes = v;
        self
    }

    /// The share of hosts that accept only replies to their own requests.
    pub fn unreachable(mut self, share: f64) -> Self {
        self.cfg.network.unreachable = share;
        self
    }

    /// One-way message latency.
    pub fn latency(mut self, latency: Latency) -> Self {
        self.cfg.network.latency = latency;
        self
    }

    /// The probability that a message is dropped (`network.loss`).
    pub fn loss(mut self, loss: f64) -> Self {
        self.cfg.network.loss = loss;
        self
    }

    /// The classes of the hosts' access links (`network.links`).
    pub fn links(mut self, links: Vec<LinkClass>) -> Self {
        self.cfg.network.links = links;
        self
    }

    /// All workload settings at once.
    pub fn workload(mut self, workload: WorkloadConfig) -> Self {
        self.cfg.workload = workload;
        self
    }

    /// Lookups evenly spaced over the measured window.
    pub fn lookups(mut self, n: u64) -> Self {
        self.cfg.workload.lookups = n;
        self
    }

    /// Instead of a count: every member looks up once per `every`.
    pub fn per_peer_interval(mut self, every: SimDuration) -> Self {
        self.cfg.workload.per_peer_interval = Some(every);
        self
    }

    /// Key distribution of generated lookups.
    pub fn keys(mut self, keys: KeyDist) -> Self {
        self.cfg.workload.keys = keys;
        self
    }

    /// Files published at bootstrap.
    pub fn files(mut self, n: u64) -> Self {
        self.cfg.workload.files = n;
        self
    }

    /// Lookups for one key started at most this far apart are compared for consistency.
    pub fn consistency_window(mut self, window: SimDuration) -> Self {
        self.cfg.workload.consistency_window = window;
        self
    }

    /// Adds a scripted event (after those already added).
    pub fn event(mut self, event: ScriptedEvent) -> Self {
        self.cfg.events.push(event);
        self
    }

    /// Keep a record of every lookup.
    pub fn record_lookups(mut self, on: bool) -> Self {
        self.cfg.record_lookups = on;
        self
    }

    /// Record every lookup's path.
    pub fn record_paths(mut self, on: bool) -> Self {
        self.cfg.record_paths = on;
        self
    }

    /// Joins, leaves and crashes generated by a model or a trace.
    pub fn churn(mut self, churn: ChurnConfig) -> Self {
        self.cfg.churn = churn;
        self
    }

    /// Take a time series and ring-health sample every `every`.
    pub fn sample(mut self, every: SimDuration) -> Self {
        self.cfg.sample = Some(every);
        self
    }

    /// Stop at the first sample where one of Zave's ring properties fails.
    pub fn stop_on_violation(mut self, on: bool) -> Self {
        self.cfg.stop_on_violation = on;
        self
    }

    /// Check the ring properties after every event, not only at samples.
    pub fn check_every_event(mut self, on: bool) -> Self {
        self.cfg.check_every_event = on;
        self
    }

    /// Adds a snapshot of the overlay at `at`.
    pub fn snapshot(mut self, at: SimTime) -> Self {
        self.cfg.snapshots.push(at);
        self
    }

    /// Pins the order of events to `steps` ([`Config::schedule`]).
    pub fn schedule(mut self, steps: Vec<ScheduledStep>) -> Self {
        self.cfg.schedule = steps;
        self
    }
}

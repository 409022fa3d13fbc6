//! # dhtsim-core
//!
//! The deterministic heart of dhtsim: a discrete-event engine, the identifier ring, the peers'
//! protocol, the network model, the workload, the oracle and the measurements. It does no I/O,
//! reads no clock and seeds no generator from the operating system: a run is a pure function of
//! its [`Config`](config::Config) and seed. Reading scenario files, writing CSV and drawing plots
//! belong to the `dhtsim` crate around it.
//!
//! ```
//! use dhtsim_core::config::*;
//! use dhtsim_core::ring::{IdSpace, RingId};
//! use dhtsim_core::time::{SimDuration, SimTime};
//!
//! let cfg = Config {
//!     name: "tiny".into(),
//!     space: IdSpace::new(16).unwrap(),
//!     duration: SimTime(60_000),
//!     warmup: SimTime(0),
//!     population: Population::Random(100),
//!     bootstrap: Bootstrap::Ring,
//!     overlay: OverlayConfig {
//!         hop_limit: None,
//!         fingers: false,
//!         cache_size: 0,
//!         successors: 2,
//!         route_via_successors: false,
//!         reactive_stabilization: false,
//!         fingers_at_join: false,
//!         replication: 1,
//!         maintenance: None,
//!         timer_jitter: false,
//!         rpc_timeout: SimDuration(500),
//!         virtual_nodes: 1,
//!     },
//!     network: NetworkConfig { latency: Latency::Constant(SimDuration(50)) },
//!     workload: WorkloadConfig {
//!         lookups: 1000,
//!         keys: KeyDist::Uniform,
//!         files: 0,
//!         per_peer_interval: None,
//!     },
//!     events: vec![],
//!     record_lookups: false,
//!     record_paths: false,
//!     churn: dhtsim_core::churn::ChurnConfig::none(),
//!     sample: None,
//!     stop_on_violation: false,
//!     snapshots: vec![],
//! };
//! let result = dhtsim_core::sim::run(&cfg, 7);
//! let summary = dhtsim_core::metrics::Summary::of(&result);
//! assert_eq!(summary.ok, 1000);
//! // Successor-only routing: about (N-1)/2 = 49.5 hops.
//! assert!((summary.hops.unwrap().mean - 49.5).abs() < 3.0);
//! ```

#![warn(missing_docs)]

pub mod check;
pub mod chord;
pub mod churn;
pub mod config;
pub mod engine;
pub mod footprint;
pub mod metrics;
pub mod network;
pub mod oracle;
pub mod protocol;
pub mod ranked;
pub mod ring;
pub mod rng;
pub mod sim;
pub mod storage;
pub mod time;
pub mod workload;

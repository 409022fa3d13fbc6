//! # dhtsim-core
//!
//! The deterministic heart of dhtsim: a discrete-event engine, the identifier ring, the peers'
//! protocol, the network model, the workload, the oracle and the measurements. It does no I/O,
//! reads no clock and seeds no generator from the operating system: a run is a pure function of
//! its [`Config`](config::Config) and seed. Reading scenario files, writing CSV and drawing plots
//! belong to the `dhtsim` crate around it.
//!
//! ```
//! use dhtsim_core::config::Config;
//! use dhtsim_core::ring::IdSpace;
//! use dhtsim_core::time::SimTime;
//!
//! // 100 random peers on a static ring of 16-bit IDs, 1000 lookups over 60 s; every other
//! // setting at its default (`config::defaults`).
//! let cfg = Config::builder(100)
//!     .name("tiny")
//!     .space(IdSpace::new(16).unwrap())
//!     .duration(SimTime(60_000))
//!     .lookups(1000)
//!     .record_lookups(false)
//!     .build()
//!     .expect("a valid configuration");
//! let result = dhtsim_core::sim::run(&cfg, 7).expect("validated by build");
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
pub mod cost;
pub mod engine;
pub mod footprint;
pub mod kademlia;
pub mod metrics;
pub mod network;
pub mod oracle;
mod overlay_graph;
pub mod protocol;
pub mod ranked;
pub mod ring;
pub mod rng;
pub mod sim;
pub mod storage;
pub mod swarm;
pub mod time;
pub mod workload;
pub mod xor;

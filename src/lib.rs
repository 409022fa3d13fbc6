//! # dhtsim (command-line crate)
//!
//! The edges around `dhtsim-core`: the command line (`cli`, `app`), scenario files
//! (`scenario`), and result files (`output`, `report`). The simulation itself is pure and lives
//! in `dhtsim-core`; nothing here changes what a run computes, only how it is configured and
//! written down.

// Input errors carry a quoted source line; they are built once per failed command, so their size
// on the error path does not matter.
#![allow(clippy::result_large_err)]

pub mod app;
pub mod cli;
pub mod explore;
pub mod memory;
pub mod output;
pub mod plot;
pub mod report;
pub mod results;
pub mod scenario;
pub mod shard;

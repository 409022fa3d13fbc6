//! Writing results: CSV tables, the manifest, and the atomic directory they go into.

pub mod atomic;
pub mod manifest;
pub mod tables;

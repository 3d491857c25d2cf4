//! Every integration test of the core in one binary, one module per capability. One binary
//! links tauri and candle once instead of ten times, which is most of a test rebuild's time
//! (BENCHMARKS.md, "Test build"). The real-window tests are their own binary (tests/e2e.rs).
//!
//! Run one capability with a path filter, e.g. `cargo test --test it search::`.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

#[path = "../common/mod.rs"]
mod common;

mod analysis;
mod analysis_faults;
mod builtin;
mod chat;
mod cli;
mod embed;
mod llm_faults;
mod models;
mod search;
mod store;
mod sync;
mod transfer;
mod upgrade;
mod use_cases;

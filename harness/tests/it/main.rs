//! divergo's integration tests, one test binary (`cargo test --test it`),
//! one module per area. Most drive the real `divergo` binary against real
//! toolchains (installed by scripts/setup.sh) and real qemu; the modules
//! that need neither run in seconds and can be picked by name:
//!
//! ```text
//! cargo test --release -p divergo --lib                       # unit tests
//! cargo test --release -p divergo --test it -- gen_ classify_ fetch_fail fetch_h1
//! cargo test --release -p divergo --test it -- backends::     # one area
//! ```
//!
//! scripts/test.sh (CI) runs them all.

mod common;

// In-process, or the host `go` only: seconds.
mod classify_fixtures;
mod classify_unit;
mod fetch_fail;
mod fetch_h1;
mod gen_api;
mod gen_determinism;

// Real toolchains, real processes, and qemu where an arch needs it.
mod adoption;
mod backends;
mod bisect_reduce;
mod cli_arm64;
mod cli_basics;
mod cli_corpus;
mod compiler_oracles;
mod fetch_real;
mod findings_e2e;
mod gen_validity;
mod html_report;
mod qualify;
mod reliability;
mod scan;
mod scan_runs;
mod shards;
mod stress;
mod toolchain_build;
mod verdicts;
mod workflows;

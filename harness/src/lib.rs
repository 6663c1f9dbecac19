//! divergo: a differential fuzzing and stress harness for Go toolchains.
//!
//! One module per pipeline stage; each takes plain data in and gives plain
//! data out (see `model`):
//! `toolchain`/`fetch`/`toolchain_source` (toolchains) → `gen` (programs) → `build` →
//! `executor`/`exec` (runs) → `classify` → `pipeline`/`run` (the matrix) →
//! `verdict`/`report`/`findings` (diffs, findings, reproducers) → `replay`.

pub mod build;
pub mod classify;
pub mod cli;
pub mod corpus;
pub mod exec;
pub mod executor;
pub mod fetch;
pub mod findings;
pub mod gen;
pub mod known;
pub mod model;
pub mod pipeline;
pub mod replay;
pub mod report;
pub mod results;
pub mod run;
pub mod scan;
pub mod toolchain;
pub mod toolchain_source;
pub mod verdict;

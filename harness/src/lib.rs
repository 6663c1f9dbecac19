//! divergo: a differential fuzzing and stress harness for Go toolchains.
//!
//! The folders read like the pipeline, and each imports only what stands
//! below it; every stage takes plain data in and gives plain data out:
//! `toolchain` (registry, fetching, building from source) → `gen` (programs)
//! → `engine` (plan, build, run, results) → `oracle` (classification,
//! verdicts, findings, known issues, the static scan) → `history` (the
//! findings history database) → `report`
//! (summary.md, reproducers) → `commands` (the CLI). `model` and `error` hold
//! the plain data and error kinds that every stage shares.

pub mod commands;
pub mod duration;
pub mod engine;
pub mod error;
pub mod exec;
pub mod gen;
pub mod history;
pub mod model;
pub mod oracle;
pub mod report;
pub mod toolchain;

//! divergo: a differential fuzzing and stress harness for Go toolchains.
//!
//! One module per pipeline stage; each takes plain data in and gives plain
//! data out (see `model`).

pub mod classify;
pub mod cli;
pub mod fetch;
pub mod gen;
pub mod model;

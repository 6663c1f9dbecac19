//! The commands: the CLI (clap types, dispatch) and what each command does.

pub mod bisect;
pub mod cli;
pub mod config;
pub mod findings;
pub mod gen;
pub mod merge;
pub mod qualify;
pub mod qualify_module;
pub mod reduce;
pub mod replay;
pub mod run;
pub mod scan;
pub mod stress;
pub mod toolchains;

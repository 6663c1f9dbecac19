//! Toolchains: the registry under `$DIVERGO_HOME`, fetching official
//! releases, and building from source.

pub mod fetch;
pub mod registry;
pub mod source;

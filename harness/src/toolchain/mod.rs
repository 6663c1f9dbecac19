//! Toolchains: the registry under `$DIVERGO_HOME`, fetching official
//! releases, building from source, and Go version strings (`version`).

pub mod fetch;
pub mod registry;
pub mod source;
pub mod version;

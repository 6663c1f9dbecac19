//! Toolchains: the registry under `$DIVERGO_HOME`, official releases from a
//! module proxy (`proxy`, over `http`, checked by `sumdb`, unpacked by
//! `modzip`), building from source, and Go version strings (`version`).

pub mod http;
pub mod modzip;
pub mod points;
pub mod proxy;
pub mod registry;
pub mod source;
pub mod sumdb;
pub mod version;

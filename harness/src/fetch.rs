//! Fetching official Go toolchains from a Go module proxy, verified against
//! the checksum database.

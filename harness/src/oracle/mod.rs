//! The oracles: what a build or run left behind (classify), whether cells
//! differ (verdict), the findings of a program, the known issues they match,
//! the static scan of binaries, and the static findings its windows make
//! (windows).

pub mod classify;
pub mod findings;
pub mod judge;
pub mod known;
pub mod module;
pub mod scan;
pub mod triage;
pub mod upgrade;
pub mod verdict;
pub mod windows;

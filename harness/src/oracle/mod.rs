//! The oracles: what a build or run left behind (classify), whether cells
//! differ (verdict), the findings of a program, the known issues they match,
//! and the static scan of binaries.

pub mod classify;
pub mod findings;
pub mod known;
pub mod scan;
pub mod triage;
pub mod verdict;

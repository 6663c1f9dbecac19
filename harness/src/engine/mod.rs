//! The engine: a run's plan, building and running each program over the
//! matrix of cells, and the records it writes.

pub mod bisect;
pub mod build;
pub mod corpus;
pub mod executor;
pub mod module;
pub mod pipeline;
pub mod plan;
pub mod results;
pub mod stress;
pub mod triage;

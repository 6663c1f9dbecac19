//! Error kinds and exit statuses: known to every stage, owned by none.
//!
//! A stage marks an error as an infrastructure failure with [`InfraError`];
//! the commands map errors and outcomes to the exit statuses below.

/// Exit status of a run that found nothing / whose expectations all held.
pub const EXIT_OK: i32 = 0;
/// Findings were reported, expectations failed, or a finding did not reproduce.
pub const EXIT_FINDINGS: i32 = 1;
/// Bad input: arguments, toolchain names, corpus entries, results dirs.
pub const EXIT_USAGE: i32 = 2;
/// An infrastructure failure stopped the command (e.g. a toolchain download).
pub const EXIT_INFRA: i32 = 3;
/// Interrupted by SIGINT/SIGTERM; partial results were written.
pub const EXIT_INTERRUPTED: i32 = 130;

/// Marks an error as an infrastructure failure (exit 3) rather than bad input.
#[derive(Debug)]
pub struct InfraError(pub String);

impl std::fmt::Display for InfraError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InfraError {}

/// Whether an infra reason says the disk is full.
pub fn is_disk_full(reason: &str) -> bool {
    let r = reason.to_ascii_lowercase();
    r.contains("no space left on device") || r.contains("disk quota exceeded")
}

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
/// A bug in divergo itself (a panic, a broken invariant): not the user's input.
pub const EXIT_INTERNAL: i32 = 4;
/// Interrupted by SIGINT/SIGTERM; partial results were written.
pub const EXIT_INTERRUPTED: i32 = 130;

/// The one exit-status table every command picks its status from (shown by
/// `divergo --help` and docs/cli.md).
pub const EXIT_TABLE: &str = "\
Exit status (every command):
  0    nothing new: no new or regressed finding (run, merge, qualify, corpus, scan),
       or the question was answered yes: the finding reproduces (replay), was
       reduced (reduce), a boundary was found (bisect)
  1    something to look at: new or regressed findings, a regression, a window,
       a failed expectation; or the answer is no: the finding did not reproduce,
       no boundary, a toolchain source did not build
  2    bad input: arguments, config file, toolchain names, corpus entries, results dirs
  3    infrastructure failure: a download, a missing qemu for a required cell, a full disk
  4    internal error: a bug in divergo (please report it with the command line)
  130  interrupted (SIGINT/SIGTERM); partial results were written";

/// Marks an error as an infrastructure failure (exit 3) rather than bad input.
#[derive(Debug)]
pub struct InfraError(pub String);

impl std::fmt::Display for InfraError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InfraError {}

/// Marks an error as divergo's own fault (exit 4) rather than bad input.
#[derive(Debug)]
pub struct InternalError(pub String);

impl std::fmt::Display for InternalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InternalError {}

/// Whether an infra reason says the disk is full.
pub fn is_disk_full(reason: &str) -> bool {
    let r = reason.to_ascii_lowercase();
    r.contains("no space left on device") || r.contains("disk quota exceeded")
}

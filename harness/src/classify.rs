//! Outcome classification: turns what a build or a run left behind into a
//! class and a normalised signature.

use crate::model::{ExitStatus, Outcome};

/// Everything the classifier needs to know about one finished run.
#[derive(Clone, Debug, Default)]
pub struct RunEvidence<'a> {
    /// How the process ended; `None` when it never started or was not reaped.
    pub exit: Option<ExitStatus>,
    /// The harness killed it after the timeout (stderr then holds the
    /// SIGQUIT goroutine dump, if the program produced one).
    pub timed_out: bool,
    /// The run hit its memory cap.
    pub oom: bool,
    pub stdout: &'a str,
    pub stderr: &'a str,
}

/// Classify one run of a built program.
pub fn classify_run(_ev: &RunEvidence) -> Outcome {
    unimplemented!()
}

/// Classify a failed `go build` from its exit status and output.
pub fn classify_build(_exit: Option<ExitStatus>, _output: &str) -> Outcome {
    unimplemented!()
}

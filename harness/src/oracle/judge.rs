//! Every finding of one program: what its runs and builds show
//! ([`findings::run_findings_at`]), the static evidence of its crashes and
//! the static findings of its builds ([`windows`]).

use crate::model::{Program, Record};
use crate::oracle::findings::{self, Finding};
use crate::oracle::{verdict, windows};

pub fn findings_for_program_at(prog: &Program, recs: &[Record], alpha: f64) -> Vec<Finding> {
    let mut out = findings::run_findings_at(prog, recs, alpha);
    // Static: the windows of each cell's build (exact; no trials), and the
    // static evidence of each crash finding.
    windows::cross_reference(&mut out, recs);
    out.extend(windows::findings(prog, recs, alpha));
    out
}

pub fn findings_for_program(prog: &Program, recs: &[Record]) -> Vec<Finding> {
    findings_for_program_at(prog, recs, verdict::DEFAULT_ALPHA)
}

//! Arbitrary bytes as a program's stderr: classifying the run never panics.
#![no_main]

use divergo::oracle::classify::{classify_run, RunEvidence};
use divergo::model::ExitStatus;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let ev = RunEvidence {
        exit: Some(ExitStatus::Code(2)),
        stderr: &s,
        ..Default::default()
    };
    let _ = classify_run(&ev);
});

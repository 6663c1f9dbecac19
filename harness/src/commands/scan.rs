//! `divergo scan BINARY...`: the static preemption-window scan of Go binaries.

use crate::error::{EXIT_FINDINGS, EXIT_OK, EXIT_USAGE};
use anyhow::Result;
use clap::Args;
use std::io::Write;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub(crate) struct ScanArgs {
    /// Go ELF binaries to scan
    #[arg(required = true, value_name = "BINARY")]
    binaries: Vec<PathBuf>,
    /// One JSON array on stdout: [{file, report} | {file, error}]
    #[arg(long)]
    json: bool,
    /// Also check PCs the runtime never preempts asynchronously (unsafe points,
    /// runtime functions); such windows are marked "not preemptible" and do
    /// not count for the exit status
    #[arg(long)]
    ignore_unsafe_points: bool,
}

pub(crate) fn run(a: ScanArgs) -> Result<i32> {
    let mut json = Vec::new();
    let (mut found, mut bad) = (false, false);
    let mut out = std::io::stdout().lock();
    let opts = crate::oracle::scan::ScanOptions {
        ignore_unsafe_points: a.ignore_unsafe_points,
    };
    for path in &a.binaries {
        let file = path.display().to_string();
        match crate::oracle::scan::scan_file_with(path, &opts) {
            Ok(r) => {
                found |= r.windows.iter().any(|w| w.preemptible);
                if a.json {
                    json.push(serde_json::json!({"file": file, "report": r}));
                } else {
                    write!(out, "{}", crate::oracle::scan::render(&file, &r))?;
                }
            }
            Err(e) => {
                bad = true;
                eprintln!("divergo: {file}: {e}");
                if a.json {
                    json.push(serde_json::json!({"file": file, "error": e.to_string()}));
                }
            }
        }
    }
    if a.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&json)?)?;
    }
    Ok(if bad {
        EXIT_USAGE
    } else if found {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    })
}

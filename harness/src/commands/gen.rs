//! `divergo gen --seed N`: one generated program, printed or written out.

use crate::engine::plan;
use crate::error::EXIT_OK;
use anyhow::{anyhow, Result};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub(crate) struct GenArgs {
    /// Seed of the program
    #[arg(long)]
    seed: u64,
    /// Program families, comma-separated (or the flag repeated): bigstack, closures, timers, deferpanic, stackgrow, expr, smith, hostile [default: all but hostile]
    #[arg(long = "families", visible_aliases = ["templates", "template"], value_name = "FAMILIES", value_delimiter = ',')]
    templates: Vec<String>,
    /// Write main.go, go.mod and spec.json into this directory instead of printing main.go
    #[arg(short = 'o', long)]
    out: Option<PathBuf>,
}

pub(crate) fn run(a: GenArgs) -> Result<i32> {
    let fams = plan::parse_families(&a.templates)?;
    let p = crate::gen::generate(a.seed, &fams);
    match a.out {
        None => {
            print!("{}", p.main_go);
        }
        Some(dir) => {
            std::fs::create_dir_all(&dir)
                .map_err(|e| anyhow!("cannot create {}: {e}", dir.display()))?;
            std::fs::write(dir.join("main.go"), &p.main_go)?;
            std::fs::write(dir.join("go.mod"), &p.go_mod)?;
            std::fs::write(
                dir.join("spec.json"),
                serde_json::to_string_pretty(&p.spec)?,
            )?;
            eprintln!("wrote {}/main.go, go.mod, spec.json", dir.display());
        }
    }
    Ok(EXIT_OK)
}

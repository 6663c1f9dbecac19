//! `findings/<id>/`: a standalone reproducer for each finding.
//!
//! ```text
//! main.go, go.mod      the program
//! spec.json            the generator spec (generated programs)
//! finding.json         signature, kind, cells with counts, p-value, seed, template, divergo version
//! repro.sh             rebuilds and reruns every cell with the exact toolchain, env and executor
//! fail.log, pass.log   one failing and one passing run, where there were such runs
//! ```

use crate::engine::executor::ExecutorKind;
use crate::engine::pipeline::Cell;
use crate::engine::plan::Plan;
use crate::engine::results::{write_atomic, Record, Stage};
use crate::model::Program;
use crate::oracle::findings::Finding;
use anyhow::{anyhow, Context, Result};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Single-quote a string for sh.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+".contains(c))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The repro.sh text for a finding.
/// `emulated_cpus` > 0 pins each emulated run to the first that many CPUs
/// (`taskset`), as the runs that found it were pinned.
pub fn repro_script(
    f: &Finding,
    cells: &[Cell],
    recs: &[Record],
    trials: u32,
    emulated_cpus: u32,
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "#!/bin/sh");
    let _ = writeln!(
        s,
        "# divergo finding {}: {:?} ({}) {}",
        f.id, f.kind, f.scope, f.signature
    );
    let _ = writeln!(
        s,
        "# Rebuilds main.go with each toolchain and runs it the way divergo did.\n\
         # Usage: sh repro.sh [TRIALS]   (default {trials}; a divergent cell stops at its\n\
         # first failure). Override a toolchain with\n\
         # GOROOT_go1_23_11=/path/to/goroot (dots as underscores). Exit status 0 means\n\
         # the divergence reproduced (a divergent cell failed and a clean cell did not)."
    );
    if f.kind.is_static() {
        let _ = writeln!(
            s,
            "# This is a static finding: its evidence is the build, not a run. Build each\n\
             # cell as below and scan the binary with `divergo scan BINARY` (exit 1: a window);\n\
             # the windows of each divergent cell are in finding.json (static_windows)."
        );
    }
    s.push_str(
        r#"set -u
here=$(cd "$(dirname "$0")" && pwd)
trials=${1:-TRIALS_DEFAULT}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
divergent_failed=0
clean_failed=0
clean_ran=0
# cell NAME GOROOT GOARCH DIVERGENT TIMEOUT RUNNER_ENV RUNNER BUILD_ENV BUILD_ARGS -- RUN_ENV...
# (BUILD_ENV and BUILD_ARGS are lists separated by |: `-gcflags=all=-N -l` has a space)
cell() {
  name=$1 goroot=$2 goarch=$3 divergent=$4 timeout=$5 runner_env=$6 runner=$7
  build_env=$8 build_args=$9
  shift 10
  var=GOROOT_$(echo "$name" | tr . _)
  eval "override=\${$var:-}"
  [ -n "$override" ] && goroot=$override
  bin="$tmp/prog-$name-$goarch"
  mkdir -p "$tmp/src" "$tmp/cache-$name" && cp "$here/main.go" "$here/go.mod" "$tmp/src/"
  if ! (cd "$tmp/src" && IFS='|' && set -f && env -i PATH=/usr/bin:/bin HOME="$tmp" GOROOT="$goroot" \
      GOPATH="$tmp/gopath" GOCACHE="$tmp/cache-$name" GOTOOLCHAIN=local GOFLAGS=-mod=mod \
      GO111MODULE=on GOENV=off GOPROXY=off GOSUMDB=off CGO_ENABLED=0 GOOS=linux \
      GOARCH="$goarch" $build_env "$goroot/bin/go" build $build_args -o "$bin" . ) >"$tmp/build.log" 2>&1; then
    echo "$name/$goarch: build failed:"; head -n 5 "$tmp/build.log"
    [ "$divergent" = 1 ] && divergent_failed=$((divergent_failed + 1))
    [ "$divergent" = 0 ] && clean_failed=$((clean_failed + 1))
    return
  fi
  # A compile-only cell (timeout 0) is judged by its build alone.
  if [ "$timeout" = 0 ]; then
    echo "$name/$goarch: built (compile-only cell)"
    return
  fi
  fails=0
  i=0
  # A divergent cell stops at its first failure; clean cells run every trial.
  while [ "$i" -lt "$trials" ] && { [ "$divergent" = 0 ] || [ "$fails" -eq 0 ]; }; do
    i=$((i + 1))
    mkdir -p "$tmp/run" && cd "$tmp/run"
    env -i PATH=/usr/bin:/bin HOME="$tmp/run" "$@" $runner_env \
      timeout -s QUIT -k 5 "$timeout" $runner "$bin" >"$tmp/out" 2>"$tmp/err"
    st=$?
    cd "$here"; rm -rf "$tmp/run"
    if [ "$st" -ne 0 ]; then
      fails=$((fails + 1))
      what=$(grep -m1 -E '^(fatal error|panic|SIGQUIT|unexpected signal|runtime:)' "$tmp/err")
      [ "$st" -eq 124 ] && what="timeout after ${timeout}s; $what"
      echo "$name/$goarch trial $i: exit $st: $what"
    fi
  done
  echo "$name/$goarch: $fails of $i runs failed (divergent in the finding: $divergent)"
  if [ "$divergent" = 1 ]; then
    [ "$fails" -gt 0 ] && divergent_failed=$((divergent_failed + 1))
  else
    clean_ran=$((clean_ran + 1))
    [ "$fails" -gt 0 ] && clean_failed=$((clean_failed + 1))
  fi
}
"#,
    );
    s = s.replace("TRIALS_DEFAULT", &trials.to_string());
    for c in &f.cells {
        let Some(cell) = cells
            .iter()
            .find(|x| x.toolchain.name == c.toolchain && x.arch == c.arch)
        else {
            continue;
        };
        let env: Vec<String> = recs
            .iter()
            .find(|r| {
                r.stage == Stage::Run
                    && r.program == f.program
                    && r.toolchain == c.toolchain
                    && r.arch == c.arch
            })
            .map(|r| {
                r.env
                    .iter()
                    .map(|(k, v)| shell_quote(&format!("{k}={v}")))
                    .collect()
            })
            .unwrap_or_default();
        let timeout = recs
            .iter()
            .filter(|r| r.program == f.program && r.toolchain == c.toolchain && r.arch == c.arch)
            .filter_map(|r| r.timeout_ms)
            .max()
            .unwrap_or(60_000)
            .div_ceil(1000);
        let (runner_env, runner) = match cell.executor.as_ref().map(|e| &e.kind) {
            Ok(ExecutorKind::QemuUser { path, .. }) => {
                // The mode the finding's runs had (an `auto` cell ran plain
                // where the scan found no window).
                let e = cell
                    .executor
                    .as_ref()
                    .unwrap()
                    .resolved(!c.executor.contains("plain"));
                let (_, _, extra) = e.command(Path::new("x"));
                let env = extra
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" ");
                let runner = match emulated_cpus {
                    0 => path.display().to_string(),
                    n => format!("taskset -c 0-{} {}", n - 1, path.display()),
                };
                (env, runner)
            }
            _ => (String::new(), String::new()),
        };
        let timeout = if cell.compile_only { 0 } else { timeout };
        // How the cell builds: unoptimised, or in a compile-only mode.
        let mut build_args: Vec<String> = Vec::new();
        let mut build_env: Vec<String> = Vec::new();
        if cell.toolchain.noopt {
            build_args.push(crate::toolchain::registry::NOOPT_GCFLAGS.into());
        }
        if let Some(m) = cell.toolchain.mode {
            build_args.extend(m.build_args());
            build_env.extend(m.build_env().iter().map(|(k, v)| format!("{k}={v}")));
        }
        let _ = writeln!(
            s,
            "# {}\ncell {} {} {} {} {} {} {} {} {} -- {}",
            cell.executor_label(),
            shell_quote(&c.toolchain),
            shell_quote(&cell.toolchain.goroot.display().to_string()),
            c.arch,
            if c.divergent { 1 } else { 0 },
            timeout,
            shell_quote(&runner_env),
            shell_quote(&runner),
            shell_quote(&build_env.join("|")),
            shell_quote(&build_args.join("|")),
            env.join(" ")
        );
    }
    s.push_str(
        r#"if [ "$divergent_failed" -gt 0 ] && { [ "$clean_ran" -eq 0 ] || [ "$clean_failed" -lt "$clean_ran" ]; }; then
  echo "reproduced"
  exit 0
fi
echo "not reproduced"
exit 1
"#,
    );
    s
}

/// A finding as stored in `findings/<id>/`: what was found, the program,
/// and the environment of its runs.
pub struct Stored {
    pub finding: Finding,
    pub program: Program,
    pub env: BTreeMap<String, String>,
    /// CPUs each emulated run was pinned to (`--emulated-cpus`; 0: unpinned).
    pub emulated_cpus: u32,
}

/// Whether `dir` holds a stored finding.
pub fn is_finding_dir(dir: &Path) -> bool {
    dir.join("finding.json").is_file()
}

/// Read `findings/<id>/` back.
pub fn load(dir: &Path) -> Result<Stored> {
    let fpath = dir.join("finding.json");
    let data = fs::read(&fpath).with_context(|| {
        format!(
            "{} is not a finding directory (no finding.json)",
            dir.display()
        )
    })?;
    let json: serde_json::Value = serde_json::from_slice(&data)
        .map_err(|e| anyhow!("{}: malformed: {e}", fpath.display()))?;
    let mut finding: Finding = serde_json::from_value(json.clone())
        .map_err(|e| anyhow!("{}: malformed: {e}", fpath.display()))?;
    // A finding written before self-checks shared one bug key.
    if finding.signature.contains(crate::gen::expr::SELF_CHECK) {
        finding.bug = crate::oracle::classify::SELF_CHECK_BUG.to_string();
    }
    let env: BTreeMap<String, String> = json
        .get("run_env")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default();
    let emulated_cpus = json
        .get("run_emulated_cpus")
        .and_then(|v| v.as_u64())
        .unwrap_or(0) as u32;
    let read = |f: &str| {
        fs::read_to_string(dir.join(f))
            .with_context(|| format!("{}: cannot read", dir.join(f).display()))
    };
    let program = Program {
        name: finding.program.clone(),
        main_go: read("main.go")?,
        go_mod: read("go.mod")?,
        spec_json: read("spec.json").ok(),
        template: finding.template.clone(),
        seed: finding.seed,
        timeout: None,
        timeout_emulated: None,
        env: BTreeMap::new(),
    };
    Ok(Stored {
        finding,
        program,
        env,
        emulated_cpus,
    })
}

/// Write findings/<id>/ for one finding.
pub fn write(
    out_dir: &Path,
    f: &Finding,
    plan: &Plan,
    cells: &[Cell],
    recs: &[Record],
) -> Result<()> {
    let dir = out_dir.join("findings").join(&f.id);
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    if let Some(p) = &f.source {
        write_atomic(&dir.join("main.go"), p.main_go.as_bytes())?;
        write_atomic(&dir.join("go.mod"), p.go_mod.as_bytes())?;
        if let Some(spec) = &p.spec_json {
            write_atomic(&dir.join("spec.json"), spec.as_bytes())?;
        }
    }
    let mut json = serde_json::to_value(f)?;
    json["run_env"] = serde_json::to_value(&plan.env)?;
    if plan.emulated_cpus > 0 {
        json["run_emulated_cpus"] = plan.emulated_cpus.into();
    }
    write_atomic(
        &dir.join("finding.json"),
        &serde_json::to_vec_pretty(&json)?,
    )?;
    let trials = f
        .cells
        .iter()
        .map(|c| c.runs)
        .max()
        .unwrap_or(plan.trials)
        .max(1);
    let script = repro_script(f, cells, recs, trials, plan.emulated_cpus);
    let rp = dir.join("repro.sh");
    write_atomic(&rp, script.as_bytes())?;
    fs::set_permissions(&rp, fs::Permissions::from_mode(0o755))?;
    // One failing and one passing log, where there were such runs.
    let of_program = |r: &&Record| r.program == f.program && r.log.is_some();
    let divergent = |r: &Record| {
        f.cells
            .iter()
            .any(|c| c.divergent && c.toolchain == r.toolchain && c.arch == r.arch)
    };
    let fail = recs
        .iter()
        .filter(of_program)
        .find(|r| divergent(r) && r.outcome != crate::model::Class::Ok);
    let pass = recs
        .iter()
        .filter(of_program)
        .find(|r| r.stage == Stage::Run && r.outcome == crate::model::Class::Ok);
    for (name, r) in [("fail.log", fail), ("pass.log", pass)] {
        if let Some(r) = r {
            let src = out_dir.join(r.log.as_ref().unwrap());
            let _ = fs::copy(&src, dir.join(name));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("GOGC=50"), "GOGC=50");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}

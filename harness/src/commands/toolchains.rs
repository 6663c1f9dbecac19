//! `divergo toolchains install|build|list`.

use crate::error::{InfraError, EXIT_FINDINGS, EXIT_INTERRUPTED, EXIT_OK};
use crate::toolchain::registry as toolchain;
use anyhow::{bail, Result};
use clap::Subcommand;
use std::io::Write;
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub(crate) enum ToolchainsCmd {
    /// Fetch official toolchains from the Go module proxy (verified against the
    /// checksum database), or register a GOROOT with NAME=/path/to/goroot.
    ///
    /// With no names: go1.23.11, go1.23.12 and the newest go1.25.x. `go1.25`
    /// means the newest go1.25.N the proxy serves. GOPROXY and GOSUMDB are
    /// honoured as by the go command.
    Install {
        /// Toolchains: go1.23.11, go1.25 (newest patch), or go1.14.1=/path/to/goroot.
        specs: Vec<String>,
    },
    /// Build a toolchain from a Go source archive or git checkout and register it.
    #[command(
        long_about = "Build a Go toolchain from source and register it as NAME. SOURCE is a Go \
source archive laid out like the official goX.src.tar.gz (top folder go/, go/VERSION) or a Go \
git checkout (the commit --ref names, default HEAD; the checkout is not modified, uncommitted \
changes are not built). The tree is unpacked (or cloned) under \
$DIVERGO_HOME/src-builds/<key>/ and built with src/make.bash (CGO_ENABLED=0, GOTOOLCHAIN=local, \
a clean environment), GOROOT_BOOTSTRAP being --bootstrap or an installed release new enough for \
the tree (go1.14.15 for go1.14 trees, fetched from the proxy when missing). NAME must be what the \
built bin/go version reports (the tree's VERSION); a checkout without VERSION builds a devel \
toolchain, named e.g. go1.14.1-2a3b4c5 or devel-2a3b4c5. The make.bash output is kept in \
$DIVERGO_HOME/src-builds/<key>/build.log. Builds are cached by the archive's sha256 or the commit: \
building the same source again registers the cached build at once.\n\n\
Exit status: 0 built (or cached) and registered; 1 make.bash failed or the result does not \
report NAME (see the log); 2 bad input (not a Go tree, no such ref, NAME does not match the \
tree); 3 infrastructure failure (bootstrap download, disk); 130 interrupted. Nothing is \
registered unless the exit status is 0.\n\n\
Examples:\n  divergo toolchains build go1.14.1 --source go1.14.1.src.tar.gz\n  \
divergo toolchains build go1.14.1-2a3b4c5 --source ~/src/go --ref 2a3b4c5"
    )]
    Build {
        /// The name to register: the tree's version (go1.14.1), or for a devel tree
        /// go1.N.M-<suffix> / devel-<suffix>
        name: String,
        /// A Go source archive (goX.src.tar.gz) or a Go git checkout
        #[arg(long)]
        source: PathBuf,
        /// For a git checkout: the commit, tag or branch to build [default: HEAD]
        #[arg(long = "ref", value_name = "REF")]
        git_ref: Option<String>,
        /// GOROOT_BOOTSTRAP toolchain (installed, or fetched from the proxy)
        /// [default: picked from the tree's version]
        #[arg(long, value_name = "TOOLCHAIN")]
        bootstrap: Option<String>,
    },
    /// Show registered toolchains and whether each works now.
    #[command(
        long_about = "Show every registered toolchain under $DIVERGO_HOME: name, the version its \
own `bin/go version` reports now, GOROOT, source (proxy: fetched and verified by divergo; \
user: a registered GOROOT; built: built by `divergo toolchains build`) and whether it is usable. A toolchain whose go binary is missing \
or fails is listed as unusable with the reason; runs then mark its cells infra."
    )]
    List {
        /// One JSON array of {name, version, goroot, source, usable, ...}.
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn run(cmd: ToolchainsCmd) -> Result<i32> {
    match cmd {
        ToolchainsCmd::Install { specs } => install(specs),
        ToolchainsCmd::Build {
            name,
            source,
            git_ref,
            bootstrap,
        } => build_cmd(name, source, git_ref, bootstrap),
        ToolchainsCmd::List { json } => list(json),
    }
}

fn install(specs: Vec<String>) -> Result<i32> {
    let home = toolchain::home();
    let specs: Vec<String> = if specs.is_empty() {
        toolchain::DEFAULT_INSTALL
            .iter()
            .map(|s| s.to_string())
            .collect()
    } else {
        specs
    };
    // Check every spec before fetching anything.
    for s in &specs {
        let name = s.split_once('=').map_or(s.as_str(), |(n, _)| n);
        let ok = if s.contains('=') {
            toolchain::valid_name(name)
        } else {
            toolchain::valid_release_name(name)
        };
        if !ok {
            bail!("invalid toolchain name {name:?}: expected a Go version such as go1.23.11 (or NAME=/path/to/goroot)");
        }
    }
    let cfg = toolchain::ProxyConfig::from_env();
    for s in &specs {
        if let Some((name, root)) = s.split_once('=') {
            let tc = toolchain::register_user(&home, name, &PathBuf::from(root))?;
            eprintln!("registered {} at {}", tc.name, tc.goroot.display());
            continue;
        }
        let name = toolchain::resolve_release(s, &cfg).map_err(|e| InfraError(format!("{e:#}")))?;
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
            )
            .unwrap()
            .progress_chars("=> "),
        );
        bar.set_message(format!("fetching {name}"));
        let mut progress = |done: u64, total: Option<u64>| {
            if let Some(t) = total {
                bar.set_length(t);
            }
            bar.set_position(done);
        };
        let r = toolchain::install_from_proxy(&home, &name, &cfg, &mut progress);
        bar.finish_and_clear();
        let (tc, fresh) = r.map_err(|e| InfraError(format!("installing {name}: {e:#}")))?;
        if fresh {
            eprintln!(
                "installed {} at {} ({}, checksum database: {})",
                tc.name,
                tc.goroot.display(),
                tc.h1.as_deref().unwrap_or("?"),
                tc.sumdb.as_deref().unwrap_or("?")
            );
        } else {
            eprintln!("{} already installed at {}", tc.name, tc.goroot.display());
        }
    }
    Ok(EXIT_OK)
}

fn build_cmd(
    name: String,
    source: PathBuf,
    git_ref: Option<String>,
    bootstrap: Option<String>,
) -> Result<i32> {
    use crate::toolchain::source::{self as ts, BuildError, Event};
    use std::io::IsTerminal;
    let home = toolchain::home();
    let req = ts::BuildRequest {
        name: name.clone(),
        source,
        git_ref,
        bootstrap,
        proxy: toolchain::ProxyConfig::from_env(),
        timeout: std::time::Duration::from_secs(3 * 3600),
    };
    let tty = std::io::stderr().is_terminal();
    let bar = indicatif::ProgressBar::new_spinner();
    let started = std::time::Instant::now();
    let mut on_event = |ev: Event| match ev {
        Event::WaitingForLock => {
            eprintln!("waiting for another toolchain build in {}", home.display())
        }
        Event::FetchingBootstrap(b) => eprintln!("fetching the bootstrap toolchain {b}"),
        Event::Started { bootstrap, log, .. } => {
            eprintln!(
                "building {name} with make.bash (GOROOT_BOOTSTRAP {bootstrap}); log: {}",
                log.display()
            );
            if tty {
                bar.set_style(
                    indicatif::ProgressStyle::with_template("{spinner} {elapsed:>4} {wide_msg}")
                        .unwrap(),
                );
                bar.enable_steady_tick(std::time::Duration::from_millis(200));
            }
        }
        Event::Line(l) if tty => bar.set_message(l.chars().take(100).collect::<String>()),
        // make.bash's own progress lines ("Building Go toolchain1 using …").
        Event::Line(l) if l.starts_with("Building ") || l.starts_with("##### ") => {
            eprintln!("[{:>4.0} s] {l}", started.elapsed().as_secs_f64())
        }
        Event::Line(_) => {}
    };
    let r = ts::build(&home, &req, &mut on_event);
    bar.finish_and_clear();
    match r {
        Ok(out) => {
            let tc = &out.toolchain;
            let b = tc.build.as_ref();
            if out.cached {
                eprintln!(
                    "{} already built from this source ({}; took {:.0} s then); registered at {}",
                    tc.name,
                    b.map_or(String::new(), |b| b.key.clone()),
                    b.map_or(0.0, |b| b.build_seconds),
                    tc.goroot.display()
                );
            } else {
                eprintln!(
                    "built {} ({}) in {:.0} s; registered at {}",
                    tc.name,
                    tc.version,
                    b.map_or(0.0, |b| b.build_seconds),
                    tc.goroot.display()
                );
            }
            Ok(EXIT_OK)
        }
        Err(BuildError::Failed { message, log }) => {
            eprintln!("divergo: error: {message} (build log: {})", log.display());
            Ok(EXIT_FINDINGS)
        }
        Err(BuildError::Interrupted) => {
            eprintln!("divergo: build interrupted; nothing was registered");
            Ok(EXIT_INTERRUPTED)
        }
        Err(e @ BuildError::Infra(_)) => Err(InfraError(e.to_string()).into()),
        Err(e @ BuildError::BadInput(_)) => Err(e.into()),
    }
}

fn list(json: bool) -> Result<i32> {
    let home = toolchain::home();
    let tcs: Vec<_> = toolchain::all(&home)
        .into_iter()
        .map(toolchain::check)
        .collect();
    if json {
        println!("{}", serde_json::to_string_pretty(&tcs)?);
        return Ok(EXIT_OK);
    }
    if tcs.is_empty() {
        eprintln!(
            "no toolchains under {}: run `divergo toolchains install`",
            home.display()
        );
        return Ok(EXIT_OK);
    }
    let mut out = std::io::stdout().lock();
    // Built toolchains have longer names (go1.14.1-2a3b4c5, devel +2a3b4c5).
    let nw = tcs.iter().map(|t| t.name.len()).max().unwrap_or(0).max(12);
    let vw = tcs
        .iter()
        .map(|t| t.version.len())
        .max()
        .unwrap_or(0)
        .max(12);
    writeln!(
        out,
        "{:<nw$} {:<vw$} {:<6} {:<7} GOROOT",
        "NAME", "VERSION", "SOURCE", "USABLE"
    )?;
    for t in tcs {
        writeln!(
            out,
            "{:<nw$} {:<vw$} {:<6} {:<7} {}{}",
            t.name,
            t.version,
            format!("{:?}", t.source).to_lowercase(),
            if t.usable { "yes" } else { "no" },
            t.goroot.display(),
            t.problem.map(|p| format!("  ({p})")).unwrap_or_default()
        )?;
    }
    Ok(EXIT_OK)
}

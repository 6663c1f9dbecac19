//! The toolchain registry under `$DIVERGO_HOME` (default `~/.cache/divergo`).
//!
//! Layout:
//! ```text
//! $DIVERGO_HOME/toolchains/<name>/toolchain.json   metadata (written last)
//! $DIVERGO_HOME/toolchains/<name>/goroot/          an official toolchain from the proxy
//! $DIVERGO_HOME/gocache/<name>/                    GOCACHE of that toolchain
//! $DIVERGO_HOME/src-builds/<key>/go/               a toolchain built from source
//! $DIVERGO_HOME/locks/                             lock files shared by divergo processes
//! ```
//! A toolchain is either fetched from the Go module proxy (`golang.org/toolchain`,
//! verified against the checksum database, see [`crate::toolchain::proxy`]), a GOROOT the
//! user registers (`go1.14.1=/path/to/goroot`), or built from a Go source archive
//! or git checkout (see [`crate::toolchain::source`]). Every toolchain is checked by
//! running its own `bin/go version`; a name that does not match what the binary
//! reports is rejected (a `devel` build from a git checkout without a VERSION
//! file keeps the name the user gave it and must keep reporting the same devel
//! version).

use crate::toolchain::proxy;
use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Proxy,
    User,
    /// Built by divergo from a source archive or git checkout (`toolchains build`).
    Built,
}

/// Where a built toolchain came from (`source = "built"`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BuildInfo {
    /// `archive` (a `goX.src.tar.gz`) or `git` (a checkout).
    pub kind: String,
    /// The archive or checkout, as an absolute path.
    pub from: PathBuf,
    /// sha256 of the archive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The commit built, for git checkouts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The ref the user named (`--ref`), for git checkouts.
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
    /// The cache key: `$DIVERGO_HOME/src-builds/<key>/`.
    pub key: String,
    /// The GOROOT_BOOTSTRAP toolchain (`go1.14.15`).
    pub bootstrap: String,
    /// make.bash output.
    pub log: PathBuf,
    /// Wall time of make.bash.
    pub build_seconds: f64,
}

/// One registered toolchain.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Toolchain {
    pub name: String,
    /// What `bin/go version` reported at install time (e.g. `go1.23.11`).
    pub version: String,
    pub goroot: PathBuf,
    pub source: Source,
    /// Module version and h1 hash for proxy installs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub h1: Option<String>,
    /// How the checksum database check went at install time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sumdb: Option<String>,
    /// Source and build details for built toolchains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<BuildInfo>,
    /// Filled by [`check`]: whether `bin/go version` works now.
    #[serde(default)]
    pub usable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// The language version programs are built at with this toolchain (the
    /// `go` line their go.mod is given): `None` keeps the program's own
    /// (`go 1.14` for generated programs). Set for the cells of the
    /// language-version axis, named `NAME+langX.Y`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// Programs are built with optimisation and inlining off
    /// (`-gcflags=all=-N -l`): the unoptimised reference cell of the
    /// toolchain, named `NAME+noopt`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub noopt: bool,
    /// Programs are built in this mode (`NAME+<mode>`), in compile-only
    /// cells (`--compile-mode`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<crate::model::BuildMode>,
}

/// The suffix that names a toolchain's language-version cell.
pub const LANG_SUFFIX: &str = "+lang";

/// The suffix that names a toolchain's unoptimised reference cell.
pub const NOOPT_SUFFIX: &str = "+noopt";

/// The gcflags of an unoptimised build.
pub const NOOPT_GCFLAGS: &str = "-gcflags=all=-N -l";

/// `go1.25.14+noopt`: the toolchain's name. `None` for any other name.
pub fn split_noopt(name: &str) -> Option<&str> {
    name.strip_suffix(NOOPT_SUFFIX)
}

/// The toolchain `tc` as its unoptimised reference cell, `NAME+noopt`.
pub fn with_noopt(tc: &Toolchain) -> Toolchain {
    Toolchain {
        name: format!("{}{NOOPT_SUFFIX}", tc.name),
        noopt: true,
        ..tc.clone()
    }
}

/// The toolchain `tc` as the compile-only cell that builds in `mode`,
/// named `NAME+<mode>`.
pub fn with_mode(tc: &Toolchain, mode: crate::model::BuildMode) -> Toolchain {
    Toolchain {
        name: format!("{}+{mode}", tc.name),
        mode: Some(mode),
        ..tc.clone()
    }
}

/// `go1.27.4+ssacheck`: the toolchain's name and its build mode. `None`
/// for any other name.
pub fn split_mode(name: &str) -> Option<(&str, crate::model::BuildMode)> {
    let (base, m) = name.rsplit_once('+')?;
    Some((base, m.parse().ok()?))
}

/// The toolchain a cell name is a variant of: `go1.25.14` for
/// `go1.25.14+noopt`, `go1.23.12+lang1.22`, `go1.27.4+ssacheck` or
/// `go1.25.14`.
pub fn base_name(name: &str) -> &str {
    let name = split_noopt(name).unwrap_or(name);
    let name = split_mode(name).map_or(name, |(b, _)| b);
    split_lang(name).map_or(name, |(b, _)| b)
}

/// `go1.23.12+lang` (the toolchain's own language version) or
/// `go1.23.12+lang1.22`: the toolchain's name and the language version
/// asked for (`None`: its own). `None` for a plain name.
pub fn split_lang(name: &str) -> Option<(&str, Option<&str>)> {
    let (base, lang) = name.split_once(LANG_SUFFIX)?;
    Some((base, (!lang.is_empty()).then_some(lang)))
}

pub use crate::toolchain::version::minor_of;

/// The toolchain `tc` as the cell that builds at language version `lang`
/// (`None`: the toolchain's own), named `NAME+langX.Y`. Errors name what
/// is wrong: a version it cannot build, or one no newer than go 1.14 (the
/// programs' own, which the plain cell already builds at).
pub fn with_lang(tc: &Toolchain, lang: Option<&str>) -> Result<Toolchain> {
    let own = minor_of(&tc.name)
        .or_else(|| minor_of(&tc.version))
        .ok_or_else(|| anyhow!("{}: cannot tell its language version", tc.name))?;
    let want = match lang {
        None => own,
        Some(l) => minor_of(&format!("go{l}"))
            .filter(|_| {
                l.chars().all(|c| c.is_ascii_digit() || c == '.') && l.matches('.').count() == 1
            })
            .ok_or_else(|| {
                anyhow!(
                    "{}{LANG_SUFFIX}{l}: expected a language version such as 1.23",
                    tc.name
                )
            })?,
    };
    if want > own {
        bail!(
            "{}{LANG_SUFFIX}{}.{}: {} cannot build at a language version newer than its own ({}.{})",
            tc.name, want.0, want.1, tc.name, own.0, own.1
        );
    }
    if want <= (1, 14) {
        bail!(
            "{}{LANG_SUFFIX}{}.{}: programs are go 1.14 modules already; the plain {} cell builds them so",
            tc.name, want.0, want.1, tc.name
        );
    }
    let lang = format!("{}.{}", want.0, want.1);
    Ok(Toolchain {
        name: format!("{}{LANG_SUFFIX}{lang}", tc.name),
        lang: Some(lang),
        ..tc.clone()
    })
}

/// `$DIVERGO_HOME`, or `~/.cache/divergo`.
pub fn home() -> PathBuf {
    if let Some(h) = std::env::var_os("DIVERGO_HOME") {
        if !h.is_empty() {
            return PathBuf::from(h);
        }
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from("/tmp"));
    base.join("divergo")
}

fn toolchains_dir(home: &Path) -> PathBuf {
    home.join("toolchains")
}

/// GOCACHE of one toolchain.
pub fn gocache(home: &Path, name: &str) -> PathBuf {
    // A language-version or unoptimised cell shares its toolchain's cache
    // (the cache keys hold the flags).
    home.join("gocache").join(base_name(name))
}

/// An exclusive lock on `$DIVERGO_HOME/locks/<what>.lock`, held until dropped.
pub struct Lock(#[allow(dead_code)] fs::File);

pub fn lock(home: &Path, what: &str) -> Result<Lock> {
    lock_or_wait(home, what, &mut || {})
}

/// Like [`lock`], calling `waiting` once before blocking when another process
/// holds the lock.
pub fn lock_or_wait(home: &Path, what: &str, waiting: &mut dyn FnMut()) -> Result<Lock> {
    let dir = home.join("locks");
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join(format!("{what}.lock"));
    let f = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open lock file {}", path.display()))?;
    match f.try_lock() {
        Ok(()) => return Ok(Lock(f)),
        Err(fs::TryLockError::WouldBlock) => waiting(),
        Err(fs::TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("cannot lock {}", path.display()))
        }
    }
    f.lock()
        .with_context(|| format!("cannot lock {}", path.display()))?;
    Ok(Lock(f))
}

pub use crate::toolchain::version::{valid_built_name, valid_name, valid_release_name};

fn check_name(name: &str) -> Result<()> {
    if !valid_name(name) {
        bail!("invalid toolchain name {name:?}: expected a Go version such as go1.23.11");
    }
    Ok(())
}

fn check_release_name(name: &str) -> Result<()> {
    if !valid_release_name(name) {
        bail!("invalid toolchain name {name:?}: expected a Go release such as go1.23.11");
    }
    Ok(())
}

/// Run `GOROOT/bin/go version` and return the reported version (`go1.23.11`;
/// for a development build `devel +2a3b4c5` or `devel go1.22-2a3b4c5`).
pub fn go_version(goroot: &Path) -> Result<String> {
    let go = goroot.join("bin").join("go");
    if !go.is_file() {
        bail!("{} does not exist", go.display());
    }
    let mut cmd = Command::new(&go);
    cmd.arg("version")
        .env_clear()
        .env("GOROOT", goroot)
        .env("GOTOOLCHAIN", "local")
        .env("GOENV", "off")
        .env(
            "HOME",
            std::env::var_os("HOME").unwrap_or_else(|| "/tmp".into()),
        )
        .env("PATH", "/usr/bin:/bin");
    let out = run_with_timeout(cmd, Duration::from_secs(60))
        .with_context(|| format!("cannot run {} version", go.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "{} version failed ({}): {}",
            go.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    parse_go_version(&text).ok_or_else(|| {
        anyhow!(
            "unexpected output from {} version: {:?}",
            go.display(),
            text.trim()
        )
    })
}

/// The version in `go version` output: `go version go1.23.11 linux/amd64` →
/// `go1.23.11`; `go version devel +2a3b4c5 Tue Mar 17 … linux/amd64` →
/// `devel +2a3b4c5`.
pub fn parse_go_version(text: &str) -> Option<String> {
    let mut words = text.split_whitespace();
    if words.next() != Some("go") || words.next() != Some("version") {
        return None;
    }
    match words.next()? {
        "devel" => words.next().map(|w| format!("devel {w}")),
        v if v.starts_with("go") => Some(v.to_string()),
        _ => None,
    }
}

fn run_with_timeout(mut cmd: Command, timeout: Duration) -> Result<std::process::Output> {
    use std::io::Read;
    use wait_timeout::ChildExt;
    let mut child = cmd
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    let status = match child.wait_timeout(timeout)? {
        Some(s) => s,
        None => {
            let _ = child.kill();
            let _ = child.wait();
            bail!("timed out after {timeout:?}");
        }
    };
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    if let Some(mut s) = child.stdout.take() {
        s.read_to_end(&mut stdout)?;
    }
    if let Some(mut s) = child.stderr.take() {
        s.read_to_end(&mut stderr)?;
    }
    Ok(std::process::Output {
        status,
        stdout,
        stderr,
    })
}

fn meta_path(home: &Path, name: &str) -> PathBuf {
    toolchains_dir(home).join(name).join("toolchain.json")
}

fn write_meta(home: &Path, tc: &Toolchain) -> Result<()> {
    let path = meta_path(home, &tc.name);
    let dir = path.parent().unwrap();
    fs::create_dir_all(dir)?;
    let mut stored = tc.clone();
    stored.usable = false;
    stored.problem = None;
    let tmp = dir.join("toolchain.json.tmp");
    fs::write(&tmp, serde_json::to_vec_pretty(&stored)?)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Read the registry entry of `name` without running anything.
pub fn installed(home: &Path, name: &str) -> Option<Toolchain> {
    let data = fs::read(meta_path(home, name)).ok()?;
    serde_json::from_slice(&data).ok()
}

/// Every registered toolchain, unchecked, sorted by Go version.
pub fn all(home: &Path) -> Vec<Toolchain> {
    let mut out = Vec::new();
    if let Ok(rd) = fs::read_dir(toolchains_dir(home)) {
        for e in rd.flatten() {
            if let Some(name) = e.file_name().to_str() {
                if let Some(tc) = installed(home, name) {
                    out.push(tc);
                }
            }
        }
    }
    out.sort_by(|a, b| crate::toolchain::version::go_version_cmp(&a.name, &b.name));
    out
}

/// Run the toolchain's `go version` and fill `usable`/`problem`.
pub fn check(mut tc: Toolchain) -> Toolchain {
    // A devel build keeps the user's name; it must keep reporting the devel
    // version it reported when it was built.
    // A build of one commit of a release branch (`go1.14.1-2a3b4c5`) reports
    // the branch's release.
    let devel_ok = |v: &str| {
        tc.source == Source::Built
            && v == tc.version
            && (v.starts_with("devel ") || tc.name.starts_with(&format!("{v}-")))
    };
    match go_version(&tc.goroot) {
        Ok(v) if v == tc.name || devel_ok(&v) => {
            tc.version = v;
            tc.usable = true;
            tc.problem = None;
        }
        Ok(v) => {
            tc.usable = false;
            tc.problem = Some(format!("bin/go now reports {v}, not {}", tc.name));
        }
        Err(e) => {
            tc.usable = false;
            tc.problem = Some(format!("{e:#}"));
        }
    }
    tc
}

/// Register a user-supplied GOROOT under `name` after checking that its
/// `bin/go version` reports exactly that name.
pub fn register_user(home: &Path, name: &str, goroot: &Path) -> Result<Toolchain> {
    check_name(name)?;
    let goroot = goroot
        .canonicalize()
        .with_context(|| format!("GOROOT {} does not exist", goroot.display()))?;
    let version = go_version(&goroot)?;
    if version != name {
        bail!(
            "{} reports {version}, not {name}: register it as {version}={}",
            goroot.join("bin/go").display(),
            goroot.display()
        );
    }
    let _l = lock(home, "toolchains")?;
    let tc = Toolchain {
        name: name.to_string(),
        version,
        goroot,
        source: Source::User,
        module: None,
        h1: None,
        sumdb: None,
        build: None,
        usable: true,
        problem: None,
        lang: None,
        noopt: false,
        mode: None,
    };
    write_meta(home, &tc)?;
    Ok(tc)
}

/// Settings for proxy installs, from the environment like the go command.
#[derive(Clone, Debug)]
pub struct ProxyConfig {
    pub goproxy: String,
    pub gosumdb: String,
}

impl ProxyConfig {
    pub fn from_env() -> Self {
        let get = |k: &str, d: &str| {
            std::env::var(k)
                .ok()
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| d.to_string())
        };
        ProxyConfig {
            goproxy: get("GOPROXY", "https://proxy.golang.org,direct"),
            gosumdb: get("GOSUMDB", "sum.golang.org"),
        }
    }
}

/// Resolve `go1.25` to the newest `go1.25.N` the proxy serves for this host;
/// full versions are returned as they are.
pub fn resolve_release(name: &str, cfg: &ProxyConfig) -> Result<String> {
    check_release_name(name)?;
    let dots = name.matches('.').count();
    if dots >= 2 || name.contains("rc") || name.contains("beta") {
        return Ok(name.to_string());
    }
    let (goos, goarch) = host_goos_goarch()?;
    let versions = proxy::list_toolchain_versions(&cfg.goproxy, goos, goarch)?;
    let prefix = format!("{name}.");
    versions
        .iter()
        .filter(|v| v.starts_with(&prefix) && !v.contains("rc") && !v.contains("beta"))
        .max_by(|a, b| crate::toolchain::version::go_version_cmp(a, b))
        .cloned()
        .ok_or_else(|| anyhow!("the proxy serves no {name}.N toolchain for {goos}/{goarch}"))
}

pub fn host_goos_goarch() -> Result<(&'static str, &'static str)> {
    let arch = crate::model::Arch::host()
        .ok_or_else(|| anyhow!("unsupported host arch {}", std::env::consts::ARCH))?;
    Ok(("linux", arch.goarch()))
}

/// Install `name` from the Go module proxy (no-op if already installed and
/// usable). `progress` receives (bytes done, total).
pub fn install_from_proxy(
    home: &Path,
    name: &str,
    cfg: &ProxyConfig,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<(Toolchain, bool)> {
    check_release_name(name)?;
    let _l = lock(home, "toolchains")?;
    if let Some(tc) = installed(home, name) {
        let tc = check(tc);
        if tc.usable {
            return Ok((tc, false));
        }
        if tc.source != Source::Proxy {
            bail!(
                "{name} is registered as a {} toolchain ({}) that is not usable: {}",
                if tc.source == Source::User {
                    "user GOROOT"
                } else {
                    "built"
                },
                tc.goroot.display(),
                tc.problem.unwrap_or_default()
            );
        }
    }
    let dir = toolchains_dir(home).join(name);
    // A previous install that died half-way leaves no toolchain.json; clear it.
    let _ = fs::remove_file(dir.join("toolchain.json"));
    let goroot = dir.join("goroot");
    if goroot.exists() {
        fs::remove_dir_all(&goroot)
            .with_context(|| format!("cannot remove stale {}", goroot.display()))?;
    }
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // We hold the lock: nobody else is fetching into this dir.
    remove_stale_fetch_temps(&dir);
    let (goos, goarch) = host_goos_goarch()?;
    let req = proxy::FetchRequest {
        go_version: name.to_string(),
        goos: goos.to_string(),
        goarch: goarch.to_string(),
        dest: goroot.clone(),
        goproxy: cfg.goproxy.clone(),
        gosumdb: cfg.gosumdb.clone(),
    };
    // A failed fetch leaves nothing behind: not even the (then empty) dir.
    let report = match proxy::fetch_toolchain(&req, progress) {
        Ok(r) => r,
        Err(e) => {
            let _ = fs::remove_dir(&dir);
            return Err(e);
        }
    };
    let version = go_version(&goroot)?;
    if version != name {
        let _ = fs::remove_dir_all(&goroot);
        let _ = fs::remove_dir(&dir);
        bail!("the toolchain fetched for {name} reports {version}");
    }
    let sumdb = match &report.sumdb {
        proxy::SumdbCheck::Verified { tree_size } => {
            format!("verified (tree size {tree_size})")
        }
        proxy::SumdbCheck::Unreachable(why) => format!("unreachable: {why}"),
        proxy::SumdbCheck::Off => "off".to_string(),
    };
    let tc = Toolchain {
        name: name.to_string(),
        version,
        goroot,
        source: Source::Proxy,
        module: Some(report.module_version.clone()),
        h1: Some(report.h1.clone()),
        sumdb: Some(sumdb),
        build: None,
        usable: true,
        problem: None,
        lang: None,
        noopt: false,
        mode: None,
    };
    write_meta(home, &tc)?;
    Ok((tc, true))
}

/// Register a toolchain divergo built (`source = "built"`): its metadata is
/// written last, under the registry lock. An existing entry of another source
/// under the same name is not replaced.
pub fn register_built(home: &Path, tc: &Toolchain) -> Result<()> {
    check_name(&tc.name)?;
    if tc.source != Source::Built || tc.build.is_none() {
        bail!("{} is not a built toolchain", tc.name);
    }
    let _l = lock(home, "toolchains")?;
    if let Some(old) = installed(home, &tc.name) {
        if old.source != Source::Built {
            bail!("{}", conflict_message(home, &old));
        }
    }
    write_meta(home, tc)
}

/// Why a name registered from another source cannot take a built toolchain.
pub fn conflict_message(home: &Path, old: &Toolchain) -> String {
    format!(
        "{} is already registered as a {} toolchain ({}); remove {} to replace it with a build",
        old.name,
        format!("{:?}", old.source).to_lowercase(),
        old.goroot.display(),
        toolchains_dir(home).join(&old.name).display()
    )
}

/// Remove the temp files a killed fetch left beside `goroot` in `dir`.
fn remove_stale_fetch_temps(dir: &Path) {
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_name()
                .to_string_lossy()
                .starts_with(".goroot.divergo-")
            {
                let p = e.path();
                let _ = if p.is_dir() {
                    fs::remove_dir_all(&p)
                } else {
                    fs::remove_file(&p)
                };
            }
        }
    }
}

/// Find an installed toolchain by name. `go1.25` picks the newest installed
/// `go1.25.N`.
/// Whether toolchain `name` is `pattern` or, for a pattern like `go1.25`,
/// one of its releases (`go1.25.N`). Used by corpus expectations and known
/// issues.
pub fn name_matches(pattern: &str, name: &str) -> bool {
    pattern == name
        || name
            .strip_prefix(pattern)
            .is_some_and(|rest| rest.starts_with('.'))
}

pub fn find(home: &Path, name: &str) -> Option<Toolchain> {
    if let Some(tc) = installed(home, name) {
        return Some(tc);
    }
    if valid_release_name(name) && name.matches('.').count() == 1 {
        // Releases only: `go1.25` never picks a build like `go1.25.3-2a3b4c5`.
        let prefix = format!("{name}.");
        return all(home)
            .into_iter()
            .filter(|t| t.name.starts_with(&prefix) && valid_release_name(&t.name))
            .max_by(|a, b| crate::toolchain::version::go_version_cmp(&a.name, &b.name));
    }
    None
}

/// The default toolchain set: go1.14.1 when registered, go1.23.11, go1.23.12
/// and the newest installed go1.25.x.
pub fn default_names(home: &Path) -> Vec<String> {
    let mut names = Vec::new();
    if installed(home, "go1.14.1").is_some() {
        names.push("go1.14.1".to_string());
    }
    names.push("go1.23.11".to_string());
    names.push("go1.23.12".to_string());
    names.push(
        find(home, "go1.25")
            .map(|t| t.name)
            .unwrap_or_else(|| "go1.25".to_string()),
    );
    names
}

/// The names `divergo toolchains install` fetches when given none.
pub const DEFAULT_INSTALL: &[&str] = &["go1.23.11", "go1.23.12", "go1.25"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(valid_name("go1.23.11"));
        assert!(valid_name("go1.25"));
        assert!(valid_name("go1.21rc2"));
        assert!(!valid_name("1.23"));
        assert!(!valid_name("go1.23.11; rm -rf /"));
        assert!(!valid_name("go2"));
    }

    #[test]
    fn built_names() {
        for ok in [
            "go1.14.1-2a3b4c5",
            "devel-2a3b4c5d6e7f",
            "go1.22-devel-9f2e1a0",
            "go1.14.1-bisect.3",
        ] {
            assert!(valid_built_name(ok), "{ok}");
            assert!(valid_name(ok), "{ok}");
            assert!(!valid_release_name(ok), "{ok}");
        }
        for bad in [
            "devel",
            "devel-",
            "go1.14.1-",
            "go1.14.1-a/b",
            "go1.14.1-../x",
            "go1.14.1 -x",
            "devel-a;b",
            "go2-abc",
            &format!("devel-{}", "a".repeat(65)),
        ] {
            assert!(!valid_name(bad), "{bad}");
        }
        assert!(valid_release_name("go1.14.1"));
    }

    #[test]
    fn go_version_output() {
        assert_eq!(
            parse_go_version("go version go1.14.1 linux/amd64\n").as_deref(),
            Some("go1.14.1")
        );
        assert_eq!(
            parse_go_version(
                "go version devel +2a3b4c5 Tue Mar 17 20:50:37 2020 +0000 linux/amd64"
            )
            .as_deref(),
            Some("devel +2a3b4c5")
        );
        assert_eq!(
            parse_go_version(
                "go version devel go1.22-2a3b4c5 Tue Jan 2 00:00:00 2024 +0000 linux/amd64"
            )
            .as_deref(),
            Some("devel go1.22-2a3b4c5")
        );
        assert_eq!(parse_go_version("hello world"), None);
    }

    #[test]
    fn user_goroot_with_wrong_name_is_rejected() {
        let home = tempfile::tempdir().unwrap();
        let root = tempfile::tempdir().unwrap();
        let bin = root.path().join("bin");
        fs::create_dir_all(&bin).unwrap();
        let go = bin.join("go");
        fs::write(&go, "#!/bin/sh\necho 'go version go1.22.0 linux/amd64'\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&go, fs::Permissions::from_mode(0o755)).unwrap();
        let err = register_user(home.path(), "go1.14.1", root.path()).unwrap_err();
        assert!(format!("{err:#}").contains("reports go1.22.0"), "{err:#}");
        let tc = register_user(home.path(), "go1.22.0", root.path()).unwrap();
        assert!(tc.usable);
        assert_eq!(
            installed(home.path(), "go1.22.0").unwrap().version,
            "go1.22.0"
        );
    }

    #[test]
    fn stale_fetch_temps_are_removed() {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir_all(d.path().join(".goroot.divergo-tmp-abc/bin")).unwrap();
        fs::write(d.path().join(".goroot.divergo-zip-def"), "partial").unwrap();
        fs::write(d.path().join("toolchain.json"), "{}").unwrap();
        remove_stale_fetch_temps(d.path());
        let left: Vec<_> = fs::read_dir(d.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left, vec!["toolchain.json"]);
    }

    #[test]
    fn broken_goroot_is_unusable() {
        let home = tempfile::tempdir().unwrap();
        let root = tempfile::tempdir().unwrap();
        let err = register_user(home.path(), "go1.14.1", root.path()).unwrap_err();
        assert!(
            format!("{err:#}").contains("bin/go does not exist"),
            "{err:#}"
        );
    }
}

#[cfg(test)]
mod lang_tests {
    use super::*;

    fn tc(name: &str) -> Toolchain {
        Toolchain {
            name: name.to_string(),
            version: name.to_string(),
            goroot: PathBuf::from("/nonexistent"),
            source: Source::User,
            module: None,
            h1: None,
            sumdb: None,
            build: None,
            usable: true,
            problem: None,
            lang: None,
            noopt: false,
            mode: None,
        }
    }

    #[test]
    fn a_language_cell_is_named_by_its_version_and_bounded_by_the_toolchain() {
        assert_eq!(split_lang("go1.23.12+lang"), Some(("go1.23.12", None)));
        assert_eq!(
            split_lang("go1.23.12+lang1.22"),
            Some(("go1.23.12", Some("1.22")))
        );
        assert_eq!(split_lang("go1.23.12"), None);
        assert_eq!(minor_of("go1.14.1-2a3b4c5"), Some((1, 14)));
        assert_eq!(minor_of("go1.25rc1"), Some((1, 25)));
        let t = with_lang(&tc("go1.23.12"), None).unwrap();
        assert_eq!(
            (t.name.as_str(), t.lang.as_deref()),
            ("go1.23.12+lang1.23", Some("1.23"))
        );
        let t = with_lang(&tc("go1.23.12"), Some("1.21")).unwrap();
        assert_eq!(t.name, "go1.23.12+lang1.21");
        let e = with_lang(&tc("go1.23.12"), Some("1.24"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("newer than its own (1.23)"), "{e}");
        let e = with_lang(&tc("go1.14.15"), None).unwrap_err().to_string();
        assert!(e.contains("go 1.14 modules already"), "{e}");
        let e = with_lang(&tc("go1.23.12"), Some("1.x"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("expected a language version"), "{e}");
        assert_eq!(
            gocache(Path::new("/h"), "go1.23.12+lang1.23"),
            gocache(Path::new("/h"), "go1.23.12")
        );
    }
}

//! Building a Go toolchain from source (`divergo toolchains build`).
//!
//! The source is a Go source archive laid out like the official
//! `goX.src.tar.gz` (one top folder `go/`, `go/VERSION`, `go/src/make.bash`) or
//! a Go git checkout (a commit named by `--ref`, default `HEAD`; the checkout
//! itself is never touched: the commit is cloned with `git clone --shared`).
//!
//! Layout under `$DIVERGO_HOME`:
//! ```text
//! src-builds/<key>/build.log     make.bash output of the last build of this source
//! src-builds/<key>/go/           the built GOROOT (moved here only on success)
//! src-builds/<key>/build.json    written last: the build is complete
//! src-builds/<key>/.tmp-<pid>/   a build in progress (or a killed one)
//! ```
//! `<key>` is `sha256-<hex>` of the archive or `git-<commit>`, so building the
//! same source again is a cache hit. All of this happens under the
//! `src-builds` lock; stale `.tmp-*` dirs (and any process still running in
//! them) and GOROOTs without `build.json` are removed under it before each
//! build. The toolchain is registered (`source = "built"`, see
//! [`crate::toolchain::registry::BuildInfo`]) only after its own `bin/go version`
//! reported the expected version from its final place.
//!
//! make.bash runs with a clean environment: `CGO_ENABLED=0`,
//! `GOTOOLCHAIN=local`, `GOENV=off`, `GOPROXY=off`, `GOROOT_BOOTSTRAP`, and
//! HOME, TMPDIR and GOCACHE inside the build dir; nothing else (no GOROOT,
//! GOPATH, GOFLAGS or GOROOT_FINAL) comes from the caller.

use crate::exec::{self, ExecSpec};
use crate::toolchain::registry::{self, BuildInfo, ProxyConfig, Source, Toolchain};
use sha2::{Digest, Sha256};
use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// What to build.
#[derive(Clone, Debug)]
pub struct BuildRequest {
    /// The toolchain name to register (`go1.14.1`, `go1.14.1-2a3b4c5`, `devel-…`).
    pub name: String,
    /// A source archive or a git checkout.
    pub source: PathBuf,
    /// For git checkouts: the commit, tag or branch (default `HEAD`).
    pub git_ref: Option<String>,
    /// GOROOT_BOOTSTRAP toolchain name; picked from the tree's version if `None`.
    pub bootstrap: Option<String>,
    pub proxy: ProxyConfig,
    /// Longest make.bash may run.
    pub timeout: Duration,
}

/// Progress, in order.
#[derive(Clone, Debug)]
pub enum Event {
    /// Another divergo is building a toolchain in this DIVERGO_HOME; waiting.
    WaitingForLock,
    /// The bootstrap toolchain is being fetched from the proxy.
    FetchingBootstrap(String),
    /// make.bash started; its output goes to `log`.
    Started {
        bootstrap: String,
        log: PathBuf,
        version: Option<String>,
    },
    /// One line of make.bash output.
    Line(String),
}

/// A registered build.
#[derive(Clone, Debug)]
pub struct BuildOutcome {
    pub toolchain: Toolchain,
    /// The build was already there; nothing was built.
    pub cached: bool,
}

/// Why nothing was registered.
#[derive(Debug)]
pub enum BuildError {
    /// The request is wrong: no such file, not a Go tree, no such ref, a name
    /// that does not match the tree, an unusable bootstrap.
    BadInput(String),
    /// make.bash failed, or what it built does not report the expected version.
    Failed { message: String, log: PathBuf },
    /// SIGINT/SIGTERM arrived; the partial build was removed.
    Interrupted,
    /// Something around the build failed: the bootstrap download, the disk, git.
    Infra(String),
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BuildError::BadInput(m) | BuildError::Infra(m) => f.write_str(m),
            BuildError::Failed { message, log } => {
                write!(f, "{message} (build log: {})", log.display())
            }
            BuildError::Interrupted => f.write_str("interrupted; nothing was registered"),
        }
    }
}

impl std::error::Error for BuildError {}

type R<T> = std::result::Result<T, BuildError>;

fn bad(m: impl Into<String>) -> BuildError {
    BuildError::BadInput(m.into())
}

fn infra(m: impl Into<String>) -> BuildError {
    BuildError::Infra(m.into())
}

fn io_infra(what: String) -> impl FnOnce(std::io::Error) -> BuildError {
    move |e| infra(format!("{what}: {e}"))
}

/// `$DIVERGO_HOME/src-builds`.
pub fn builds_dir(home: &Path) -> PathBuf {
    home.join("src-builds")
}

/// What the source is, resolved before anything is built.
#[derive(Clone, Debug)]
enum Resolved {
    Archive {
        path: PathBuf,
        sha256: String,
    },
    Git {
        repo: PathBuf,
        commit: String,
        git_ref: String,
        /// VERSION at that commit, if the tree has one.
        version: Option<String>,
    },
}

impl Resolved {
    fn key(&self) -> String {
        match self {
            Resolved::Archive { sha256, .. } => format!("sha256-{sha256}"),
            Resolved::Git { commit, .. } => format!("git-{commit}"),
        }
    }

    fn describe(&self) -> String {
        match self {
            Resolved::Archive { path, sha256 } => {
                format!("{} (sha256 {})", path.display(), &sha256[..12])
            }
            Resolved::Git {
                repo,
                commit,
                git_ref,
                ..
            } => format!("{} at {git_ref} ({})", repo.display(), &commit[..12]),
        }
    }
}

/// The metadata of a finished build (`src-builds/<key>/build.json`).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct BuildRecord {
    /// What `bin/go version` reported after the build.
    version: String,
    info: BuildInfo,
}

/// Build (or find in the cache) and register one toolchain.
pub fn build(home: &Path, req: &BuildRequest, events: &mut dyn FnMut(Event)) -> R<BuildOutcome> {
    if !registry::valid_name(&req.name) {
        return Err(bad(format!(
            "invalid toolchain name {:?}: expected a Go version such as go1.14.1, or for a \
             build of a commit go1.14.1-<commit> or devel-<commit>",
            req.name
        )));
    }
    let resolved = resolve(&req.source, req.git_ref.as_deref())?;
    if let Resolved::Git { version, .. } = &resolved {
        check_name_against(&req.name, version.as_deref(), &resolved)?;
    }
    check_no_conflict(home, &req.name)?;

    let _lock = registry::lock_or_wait(home, "src-builds", &mut || {
        events(Event::WaitingForLock);
    })
    .map_err(|e| infra(format!("{e:#}")))?;
    let root = builds_dir(home);
    clean_stale(&root);
    let key = resolved.key();
    let dir = root.join(&key);

    if let Some(tc) = cached(&dir, &req.name, &resolved)? {
        registry::register_built(home, &tc).map_err(|e| infra(format!("{e:#}")))?;
        return Ok(BuildOutcome {
            toolchain: tc,
            cached: true,
        });
    }

    fs::create_dir_all(&dir).map_err(io_infra(format!("cannot create {}", dir.display())))?;
    let tmp = dir.join(format!(".tmp-{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp).map_err(io_infra(format!("cannot create {}", tmp.display())))?;
    let r = build_in(home, req, &resolved, &dir, &tmp, events);
    if r.is_err() {
        kill_processes_under(&tmp);
        let _ = fs::remove_dir_all(&tmp);
    }
    r
}

fn build_in(
    home: &Path,
    req: &BuildRequest,
    resolved: &Resolved,
    dir: &Path,
    tmp: &Path,
    events: &mut dyn FnMut(Event),
) -> R<BuildOutcome> {
    let tree = tmp.join("go");
    prepare_tree(resolved, tmp, &tree)?;
    if exec::interrupted() {
        return Err(BuildError::Interrupted);
    }
    let version = read_version_file(&tree);
    check_name_against(&req.name, version.as_deref(), resolved)?;
    let minor = tree_minor(version.as_deref(), &tree).ok_or_else(|| {
        bad(format!(
            "{}: cannot tell which Go release the tree is (no VERSION, no \
             src/internal/goversion/goversion.go)",
            resolved.describe()
        ))
    })?;
    let bootstrap = pick_bootstrap(home, minor, req, events)?;
    if exec::interrupted() {
        return Err(BuildError::Interrupted);
    }

    let log = dir.join("build.log");
    let mut env: Vec<(String, String)> = vec![
        ("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into()),
        ("HOME".into(), path_str(&tmp.join("home"))?),
        ("TMPDIR".into(), path_str(&tmp.join("tmp"))?),
        ("GOCACHE".into(), path_str(&tmp.join("gocache"))?),
        ("GOROOT_BOOTSTRAP".into(), path_str(&bootstrap.goroot)?),
        ("CGO_ENABLED".into(), "0".into()),
        ("GOTOOLCHAIN".into(), "local".into()),
        ("GOENV".into(), "off".into()),
        ("GOPROXY".into(), "off".into()),
        ("LANG".into(), "C".into()),
    ];
    env.sort();
    for d in ["home", "tmp", "gocache"] {
        fs::create_dir_all(tmp.join(d))
            .map_err(io_infra(format!("cannot create {}", tmp.join(d).display())))?;
    }
    write_log_header(&log, req, resolved, &bootstrap, &env)?;
    events(Event::Started {
        bootstrap: bootstrap.name.clone(),
        log: log.clone(),
        version: version.clone(),
    });

    let mut spec = ExecSpec::new("/bin/sh", tree.join("src"));
    spec.args = vec![
        "-c".into(),
        "exec ./make.bash >>\"$1\" 2>&1".into(),
        "sh".into(),
        path_str(&log)?,
    ];
    spec.env = env;
    spec.timeout = req.timeout;
    spec.grace = Duration::from_secs(1);
    spec.quit_on_timeout = false;
    spec.output_cap = 64 * 1024;
    let started = Instant::now();
    let res = run_tailing(&spec, &log, events);
    let seconds = started.elapsed().as_secs_f64();
    if res.interrupted || exec::interrupted() {
        return Err(BuildError::Interrupted);
    }
    if let Some(e) = &res.spawn_error {
        return Err(infra(format!("cannot run make.bash: {e}")));
    }
    let failed = |message: String| BuildError::Failed {
        message,
        log: log.clone(),
    };
    if res.timed_out {
        return Err(failed(format!(
            "make.bash did not finish in {:.0} s and was killed",
            req.timeout.as_secs_f64()
        )));
    }
    match res.exit {
        Some(crate::model::ExitStatus::Code(0)) => {}
        other => {
            let how = match other {
                Some(crate::model::ExitStatus::Code(c)) => format!("exited with status {c}"),
                Some(crate::model::ExitStatus::Signal(s)) => format!("was killed by signal {s}"),
                None => "ended in an unknown way".to_string(),
            };
            let last = last_line(&log)
                .map(|l| format!(": {l}"))
                .unwrap_or_default();
            return Err(failed(format!(
                "building {} from {}: make.bash {how}{last}",
                req.name,
                resolved.describe()
            )));
        }
    }
    let reported = registry::go_version(&tree)
        .map_err(|e| failed(format!("the built toolchain does not run: {e:#}")))?;
    expect_reported(&req.name, &reported, version.as_deref()).map_err(failed)?;

    // Move the GOROOT to its final place; build.json is written last.
    for d in ["home", "tmp", "gocache"] {
        let _ = make_writable_and_remove(&tmp.join(d));
    }
    if matches!(resolved, Resolved::Git { .. }) {
        let _ = fs::remove_dir_all(tree.join(".git"));
    }
    let goroot = dir.join("go");
    if goroot.symlink_metadata().is_ok() {
        make_writable_and_remove(&goroot).map_err(io_infra(format!(
            "cannot remove stale {}",
            goroot.display()
        )))?;
    }
    fs::rename(&tree, &goroot).map_err(io_infra(format!(
        "cannot move {} to {}",
        tree.display(),
        goroot.display()
    )))?;
    let _ = fs::remove_dir_all(tmp);
    let moved = registry::go_version(&goroot).map_err(|e| {
        failed(format!(
            "the built toolchain does not run from {}: {e:#}",
            goroot.display()
        ))
    })?;
    if moved != reported {
        return Err(failed(format!(
            "the built toolchain reports {moved} from {}, {reported} before it was moved",
            goroot.display()
        )));
    }
    let info = build_info(resolved, &bootstrap.name, &log, seconds);
    let record = BuildRecord {
        version: reported.clone(),
        info: info.clone(),
    };
    write_atomically(
        &dir.join("build.json"),
        &serde_json::to_vec_pretty(&record).map_err(|e| infra(e.to_string()))?,
    )?;
    let tc = built_toolchain(&req.name, &reported, goroot, info);
    registry::register_built(home, &tc).map_err(|e| infra(format!("{e:#}")))?;
    Ok(BuildOutcome {
        toolchain: tc,
        cached: false,
    })
}

fn built_toolchain(name: &str, version: &str, goroot: PathBuf, info: BuildInfo) -> Toolchain {
    Toolchain {
        name: name.to_string(),
        version: version.to_string(),
        goroot,
        source: Source::Built,
        module: None,
        h1: None,
        sumdb: None,
        build: Some(info),
        usable: true,
        problem: None,
        lang: None,
        noopt: false,
        mode: None,
    }
}

fn build_info(resolved: &Resolved, bootstrap: &str, log: &Path, seconds: f64) -> BuildInfo {
    let (kind, from, sha256, commit, git_ref) = match resolved {
        Resolved::Archive { path, sha256 } => {
            ("archive", path.clone(), Some(sha256.clone()), None, None)
        }
        Resolved::Git {
            repo,
            commit,
            git_ref,
            ..
        } => (
            "git",
            repo.clone(),
            None,
            Some(commit.clone()),
            Some(git_ref.clone()),
        ),
    };
    BuildInfo {
        kind: kind.to_string(),
        from,
        sha256,
        commit,
        git_ref,
        key: resolved.key(),
        bootstrap: bootstrap.to_string(),
        log: log.to_path_buf(),
        build_seconds: (seconds * 10.0).round() / 10.0,
    }
}

/// A finished build of this source, registered under `name` if its
/// `go version` fits the name (and recording where the source is now). A
/// broken or half-written one is removed.
fn cached(dir: &Path, name: &str, resolved: &Resolved) -> R<Option<Toolchain>> {
    let meta = dir.join("build.json");
    let Ok(data) = fs::read(&meta) else {
        return Ok(None);
    };
    let goroot = dir.join("go");
    let record: Option<BuildRecord> = serde_json::from_slice(&data).ok();
    let now = registry::go_version(&goroot).ok();
    match (record, now) {
        (Some(rec), Some(v)) if v == rec.version => {
            let tree_version = read_version_file(&goroot);
            expect_reported(name, &v, tree_version.as_deref()).map_err(bad)?;
            let mut info = rec.info;
            match resolved {
                Resolved::Archive { path, .. } => info.from = path.clone(),
                Resolved::Git { repo, git_ref, .. } => {
                    info.from = repo.clone();
                    info.git_ref = Some(git_ref.clone());
                }
            }
            Ok(Some(built_toolchain(name, &v, goroot, info)))
        }
        _ => {
            // Not usable any more: build it again.
            let _ = fs::remove_file(&meta);
            let _ = make_writable_and_remove(&goroot);
            Ok(None)
        }
    }
}

/// The name must be the tree's VERSION when it has one, or that VERSION with
/// a suffix (`go1.14.1-2a3b4c5`: one commit of a release branch, as commit
/// bisection names them); a tree without one builds a devel toolchain, which
/// must not take a release's name.
fn check_name_against(name: &str, version: Option<&str>, resolved: &Resolved) -> R<()> {
    match version {
        Some(v) if v.starts_with("go") => {
            if !release_build_name(name, v) {
                return Err(bad(format!(
                    "{} is {v} (its VERSION file), not {name}: build it as {v} or {v}-<commit>",
                    resolved.describe()
                )));
            }
        }
        _ => {
            if registry::valid_release_name(name) {
                return Err(bad(format!(
                    "{} has no release VERSION file, so it builds a devel toolchain: name it \
                     like {name}-<commit> or devel-<commit>, not {name}",
                    resolved.describe()
                )));
            }
        }
    }
    Ok(())
}

/// What the built `bin/go version` must report: the name for a release tree,
/// some devel version for a tree without a VERSION file.
fn expect_reported(name: &str, reported: &str, version: Option<&str>) -> Result<(), String> {
    let ok = match version {
        Some(v) if v.starts_with("go") => reported == v && release_build_name(name, v),
        _ => reported.starts_with("devel ") && !registry::valid_release_name(name),
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "the built toolchain reports {reported}, not {name}; nothing was registered"
        ))
    }
}

/// `name` is the release `v` itself, or `v-<suffix>`.
fn release_build_name(name: &str, v: &str) -> bool {
    name == v
        || name
            .strip_prefix(v)
            .is_some_and(|rest| rest.starts_with('-') && registry::valid_built_name(name))
}

fn check_no_conflict(home: &Path, name: &str) -> R<()> {
    if let Some(old) = registry::installed(home, name) {
        if old.source != Source::Built {
            let old = registry::check(old);
            if old.usable {
                return Err(bad(registry::conflict_message(home, &old)));
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Sources

fn resolve(source: &Path, git_ref: Option<&str>) -> R<Resolved> {
    let meta =
        fs::metadata(source).map_err(|e| bad(format!("source {}: {e}", source.display())))?;
    let abs = source
        .canonicalize()
        .map_err(|e| bad(format!("source {}: {e}", source.display())))?;
    if meta.is_file() {
        if git_ref.is_some() {
            return Err(bad(format!(
                "--ref applies to git checkouts; {} is a file (a source archive)",
                source.display()
            )));
        }
        let sha256 = sha256_file(&abs)?;
        return Ok(Resolved::Archive { path: abs, sha256 });
    }
    let not_git = || {
        bad(format!(
            "{} is neither a Go source archive (goX.src.tar.gz) nor a git checkout",
            source.display()
        ))
    };
    // `rev-parse --show-toplevel` fails outside a work tree; a bare
    // repository has a git dir but no top level.
    let inside = git(&abs, &["rev-parse", "--is-inside-work-tree"]).map_err(|_| not_git())?;
    if inside.trim() != "true" {
        return Err(not_git());
    }
    let top = git(&abs, &["rev-parse", "--show-toplevel"]).map_err(|_| not_git())?;
    let repo = PathBuf::from(top.trim());
    if repo != abs {
        return Err(bad(format!(
            "{} is inside the git checkout {}, not its top: pass {}",
            source.display(),
            repo.display(),
            repo.display()
        )));
    }
    let git_ref = git_ref.unwrap_or("HEAD").to_string();
    if git_ref.starts_with('-') || git_ref.is_empty() {
        return Err(bad(format!("--ref {git_ref:?}: not a git ref")));
    }
    let commit = git(
        &repo,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            &format!("{git_ref}^{{commit}}"),
        ],
    )
    .map_err(|_| {
        bad(format!(
            "{}: no commit {git_ref:?} (see git -C {} log / tag)",
            repo.display(),
            repo.display()
        ))
    })?
    .trim()
    .to_string();
    if git(
        &repo,
        &["cat-file", "-e", &format!("{commit}:src/make.bash")],
    )
    .is_err()
    {
        return Err(bad(format!(
            "{} at {git_ref} ({}) is not a Go tree: it has no src/make.bash",
            repo.display(),
            &commit[..12.min(commit.len())]
        )));
    }
    let version = git(&repo, &["show", &format!("{commit}:VERSION")])
        .ok()
        .and_then(|t| first_line(&t));
    Ok(Resolved::Git {
        repo,
        commit,
        git_ref,
        version,
    })
}

/// Run git with a clean git environment; stdout on success.
pub(crate) fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("GIT_OBJECT_DIRECTORY")
        .env_remove("GIT_ALTERNATE_OBJECT_DIRECTORIES")
        .env_remove("GIT_CEILING_DIRECTORIES")
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

fn sha256_file(path: &Path) -> R<String> {
    let mut f =
        fs::File::open(path).map_err(|e| bad(format!("cannot read {}: {e}", path.display())))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| bad(format!("cannot read {}: {e}", path.display())))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Unpack the archive or clone the commit into `tree` (= `tmp/go`).
fn prepare_tree(resolved: &Resolved, tmp: &Path, tree: &Path) -> R<()> {
    match resolved {
        Resolved::Archive { path, .. } => {
            let unpack = tmp.join("unpack");
            fs::create_dir_all(&unpack)
                .map_err(io_infra(format!("cannot create {}", unpack.display())))?;
            let out = Command::new("tar")
                .arg("-xf")
                .arg(path)
                .arg("-C")
                .arg(&unpack)
                .args(["--no-same-owner", "--no-same-permissions"])
                .stdin(std::process::Stdio::null())
                .output()
                .map_err(|e| infra(format!("cannot run tar: {e}")))?;
            if !out.status.success() {
                if exec::interrupted() {
                    return Err(BuildError::Interrupted);
                }
                let err = String::from_utf8_lossy(&out.stderr);
                return Err(bad(format!(
                    "{} is not a Go source archive: tar cannot unpack it ({})",
                    path.display(),
                    err.lines().next().unwrap_or("").trim()
                )));
            }
            let top = unpack.join("go");
            if !top.join("src/make.bash").is_file() {
                return Err(bad(format!(
                    "{} is not a Go source archive: it has no go/src/make.bash (expected the \
                     layout of the official goX.src.tar.gz)",
                    path.display()
                )));
            }
            if !top.join("VERSION").is_file() {
                return Err(bad(format!(
                    "{} has no go/VERSION: make.bash cannot name a tree outside git without \
                     one (build a git checkout instead)",
                    path.display()
                )));
            }
            fs::rename(&top, tree).map_err(io_infra(format!("cannot move {}", top.display())))?;
            let _ = fs::remove_dir_all(&unpack);
            Ok(())
        }
        Resolved::Git { repo, commit, .. } => {
            let t = path_str(tree)?;
            let r = path_str(repo)?;
            git(
                tmp,
                &[
                    "clone",
                    "--quiet",
                    "--shared",
                    "--no-checkout",
                    "--",
                    &r,
                    &t,
                ],
            )
            .map_err(|e| infra(format!("cannot clone {r}: {e}")))?;
            git(
                tree,
                &[
                    "-c",
                    "advice.detachedHead=false",
                    "checkout",
                    "--quiet",
                    "--detach",
                    commit,
                ],
            )
            .map_err(|e| infra(format!("cannot check out {commit}: {e}")))?;
            Ok(())
        }
    }
}

fn first_line(text: &str) -> Option<String> {
    text.lines()
        .next()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
}

/// The first line of `go/VERSION` (`go1.14.1`), if the tree has one.
fn read_version_file(tree: &Path) -> Option<String> {
    fs::read_to_string(tree.join("VERSION"))
        .ok()
        .and_then(|t| first_line(&t))
}

/// The Go 1.N of a tree: from VERSION (`go1.14.1` → 14), else from
/// `src/internal/goversion/goversion.go` (`const Version = 14`).
fn tree_minor(version: Option<&str>, tree: &Path) -> Option<u32> {
    if let Some(m) = version.and_then(release_minor) {
        return Some(m);
    }
    let text = fs::read_to_string(tree.join("src/internal/goversion/goversion.go")).ok()?;
    let re = regex::Regex::new(r"(?m)^\s*const\s+Version\s*=\s*([0-9]+)").unwrap();
    re.captures(&text)?.get(1)?.as_str().parse().ok()
}

/// `go1.14.1` → 14, `go1.22rc1` → 22.
pub fn release_minor(v: &str) -> Option<u32> {
    let rest = v.strip_prefix("go1.")?;
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

// ---------------------------------------------------------------------------
// Bootstrap

/// The oldest GOROOT_BOOTSTRAP a Go 1.`minor` tree accepts, and the release
/// to fetch from the proxy when no installed toolchain fits:
/// go1.5–go1.19 need go1.4 or later (go1.14.15 is fetched), go1.20–go1.21
/// go1.17.13, go1.22–go1.23 go1.20.6 (the final go1.20.14 is fetched),
/// go1.24–go1.25 go1.22.6 (go1.22.12 is fetched), and from go1.26 on the
/// release two before, at .6 (go1.26 and go1.27 need go1.24.6).
pub fn bootstrap_minimum(minor: u32) -> Option<(String, String)> {
    let (min, fetch) = match minor {
        0..=4 => return None,
        5..=19 => ("go1.4".to_string(), "go1.14.15".to_string()),
        20..=21 => ("go1.17.13".to_string(), "go1.17.13".to_string()),
        22..=23 => ("go1.20.6".to_string(), "go1.20.14".to_string()),
        24..=25 => ("go1.22.6".to_string(), "go1.22.12".to_string()),
        m => {
            let base = m - m % 2 - 2;
            (format!("go1.{base}.6"), format!("go1.{base}.6"))
        }
    };
    Some((min, fetch))
}

/// The bootstrap for a Go 1.`minor` tree among usable release toolchains
/// `installed`: the newest one at least the minimum and not newer than the
/// tree's release line; for trees from go1.20 on (built with newer releases
/// routinely), else the oldest one newer than that. `None`: fetch one.
pub fn choose_bootstrap(minor: u32, installed: &[String]) -> Option<String> {
    let (min, _) = bootstrap_minimum(minor)?;
    let fits: Vec<&String> = installed
        .iter()
        .filter(|n| registry::valid_release_name(n))
        .filter(|n| crate::toolchain::version::go_version_cmp(n, &min) != std::cmp::Ordering::Less)
        .collect();
    let within = fits
        .iter()
        .filter(|n| release_minor(n).is_some_and(|m| m <= minor))
        .max_by(|a, b| crate::toolchain::version::go_version_cmp(a, b));
    if let Some(n) = within {
        return Some((*n).clone());
    }
    if minor >= 20 {
        return fits
            .iter()
            .min_by(|a, b| crate::toolchain::version::go_version_cmp(a, b))
            .map(|n| (*n).clone());
    }
    None
}

fn pick_bootstrap(
    home: &Path,
    minor: u32,
    req: &BuildRequest,
    events: &mut dyn FnMut(Event),
) -> R<Toolchain> {
    let (min, fallback) = bootstrap_minimum(minor).ok_or_else(|| {
        bad(format!(
            "go1.{minor} trees are built with C (make.bash before go1.5); not supported"
        ))
    })?;
    let name = match &req.bootstrap {
        Some(b) => {
            if !registry::valid_name(b) {
                return Err(bad(format!("--bootstrap {b:?}: not a toolchain name")));
            }
            if registry::valid_release_name(b)
                && crate::toolchain::version::go_version_cmp(b, &min) == std::cmp::Ordering::Less
            {
                return Err(bad(format!(
                    "--bootstrap {b}: a go1.{minor} tree needs {min} or later"
                )));
            }
            b.clone()
        }
        None => {
            let usable: Vec<String> = registry::all(home)
                .into_iter()
                .map(registry::check)
                .filter(|t| t.usable)
                .map(|t| t.name)
                .collect();
            choose_bootstrap(minor, &usable).unwrap_or(fallback)
        }
    };
    if let Some(tc) = registry::installed(home, &name) {
        let tc = registry::check(tc);
        if tc.usable {
            return Ok(tc);
        }
        if tc.source != Source::Proxy {
            return Err(bad(format!(
                "bootstrap {name} is not usable: {}",
                tc.problem.unwrap_or_default()
            )));
        }
    }
    if !registry::valid_release_name(&name) {
        return Err(bad(format!("bootstrap {name} is not installed")));
    }
    events(Event::FetchingBootstrap(name.clone()));
    let (tc, _) =
        registry::install_from_proxy(home, &name, &req.proxy, &mut |_, _| {}).map_err(|e| {
            infra(format!(
                "fetching the bootstrap toolchain {name}: {e:#} (or name an installed \
                 toolchain, {min} or later, with --bootstrap)"
            ))
        })?;
    Ok(tc)
}

// ---------------------------------------------------------------------------
// Running make.bash

/// Run `spec` on a worker thread (its process group dies with that thread,
/// see [`exec::run`]) while this thread reports new lines of `log`.
fn run_tailing(spec: &ExecSpec, log: &Path, events: &mut dyn FnMut(Event)) -> exec::ExecResult {
    let spec = spec.clone();
    let worker = std::thread::spawn(move || exec::run(&spec));
    let mut pos = fs::metadata(log).map(|m| m.len()).unwrap_or(0);
    let mut partial = String::new();
    let tail = |pos: &mut u64, partial: &mut String, events: &mut dyn FnMut(Event)| {
        let Ok(mut f) = fs::File::open(log) else {
            return;
        };
        if f.seek(SeekFrom::Start(*pos)).is_err() {
            return;
        }
        let mut buf = Vec::new();
        if f.read_to_end(&mut buf).is_err() {
            return;
        }
        *pos += buf.len() as u64;
        partial.push_str(&String::from_utf8_lossy(&buf));
        while let Some(i) = partial.find('\n') {
            let line: String = partial.drain(..=i).collect();
            let line = line.trim_end();
            if !line.is_empty() {
                events(Event::Line(line.to_string()));
            }
        }
    };
    while !worker.is_finished() {
        tail(&mut pos, &mut partial, events);
        std::thread::sleep(Duration::from_millis(200));
    }
    tail(&mut pos, &mut partial, events);
    worker.join().unwrap_or_default()
}

fn write_log_header(
    log: &Path,
    req: &BuildRequest,
    resolved: &Resolved,
    bootstrap: &Toolchain,
    env: &[(String, String)],
) -> R<()> {
    let mut f =
        fs::File::create(log).map_err(io_infra(format!("cannot create {}", log.display())))?;
    let mut text = format!(
        "# divergo {} toolchains build {}\n# source: {}\n# bootstrap: {} ({})\n# started: {}\n",
        env!("CARGO_PKG_VERSION"),
        req.name,
        resolved.describe(),
        bootstrap.name,
        bootstrap.goroot.display(),
        time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    );
    for (k, v) in env {
        text.push_str(&format!("# {k}={v}\n"));
    }
    text.push_str("# ./make.bash\n");
    f.write_all(text.as_bytes())
        .map_err(io_infra(format!("cannot write {}", log.display())))
}

fn last_line(log: &Path) -> Option<String> {
    let text = fs::read_to_string(log).ok()?;
    text.lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("# "))
        .map(|l| l.chars().take(200).collect())
}

fn write_atomically(path: &Path, data: &[u8]) -> R<()> {
    let tmp = path.with_extension("json.tmp");
    fs::write(&tmp, data).map_err(io_infra(format!("cannot write {}", tmp.display())))?;
    fs::rename(&tmp, path).map_err(io_infra(format!("cannot write {}", path.display())))
}

fn path_str(p: &Path) -> R<String> {
    p.to_str()
        .map(str::to_string)
        .ok_or_else(|| bad(format!("path {} is not UTF-8", p.display())))
}

// ---------------------------------------------------------------------------
// Cleaning up after killed builds

/// Remove what killed builds left (called under the `src-builds` lock, so
/// no build is running): every `.tmp-*` dir, after killing any process still
/// working in it, and every GOROOT without `build.json`.
fn clean_stale(root: &Path) {
    let Ok(rd) = fs::read_dir(root) else {
        return;
    };
    for e in rd.flatten() {
        let dir = e.path();
        if !dir.is_dir() {
            continue;
        }
        if let Ok(inner) = fs::read_dir(&dir) {
            for i in inner.flatten() {
                if i.file_name().to_string_lossy().starts_with(".tmp-") {
                    kill_processes_under(&i.path());
                    let _ = make_writable_and_remove(&i.path());
                }
            }
        }
        let _ = fs::remove_file(dir.join("build.json.tmp"));
        if !dir.join("build.json").exists() && dir.join("go").exists() {
            let _ = make_writable_and_remove(&dir.join("go"));
        }
    }
}

/// SIGKILL every process whose working directory or command line is inside
/// `dir` (what a make.bash orphaned by a `kill -9` of divergo left running).
pub fn kill_processes_under(dir: &Path) {
    let Some(prefix) = dir.to_str().map(|s| s.to_string()) else {
        return;
    };
    let me = std::process::id();
    for _round in 0..50 {
        let mut found = false;
        let Ok(rd) = fs::read_dir("/proc") else {
            return;
        };
        for e in rd.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            if pid == me || !exec::process_alive(pid) {
                continue;
            }
            let under = |p: &str| p == prefix || p.starts_with(&format!("{prefix}/"));
            let cwd_in = fs::read_link(format!("/proc/{pid}/cwd"))
                .ok()
                .and_then(|p| p.to_str().map(under))
                .unwrap_or(false);
            let cmd_in = fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| {
                    c.split(|b| *b == 0).any(|a| {
                        let a = String::from_utf8_lossy(a);
                        a == prefix || a.contains(&format!("{prefix}/"))
                    })
                })
                .unwrap_or(false);
            if cwd_in || cmd_in {
                found = true;
                unsafe {
                    libc::kill(pid as i32, libc::SIGKILL);
                }
            }
        }
        if !found {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Remove a tree, first making read-only dirs writable (Go's module cache
/// and some test data are read-only).
fn make_writable_and_remove(p: &Path) -> std::io::Result<()> {
    if fs::remove_dir_all(p).is_ok() || p.symlink_metadata().is_err() {
        return Ok(());
    }
    fn walk(p: &Path) {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(m) = p.symlink_metadata() {
            if m.is_dir() {
                let _ = fs::set_permissions(p, fs::Permissions::from_mode(0o755));
                if let Ok(rd) = fs::read_dir(p) {
                    for e in rd.flatten() {
                        walk(&e.path());
                    }
                }
            }
        }
    }
    walk(p);
    fs::remove_dir_all(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_minimums() {
        assert_eq!(
            bootstrap_minimum(14),
            Some(("go1.4".into(), "go1.14.15".into()))
        );
        assert_eq!(bootstrap_minimum(22).unwrap().0, "go1.20.6");
        assert_eq!(bootstrap_minimum(25).unwrap().0, "go1.22.6");
        assert_eq!(bootstrap_minimum(26).unwrap().0, "go1.24.6");
        assert_eq!(bootstrap_minimum(27).unwrap().0, "go1.24.6");
        assert_eq!(bootstrap_minimum(28).unwrap().0, "go1.26.6");
        assert_eq!(bootstrap_minimum(4), None);
    }

    #[test]
    fn bootstrap_choice() {
        let have: Vec<String> = ["go1.14.15", "go1.23.11", "go1.23.12", "go1.25.4"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        // go1.14 trees: the go1.14 line, never a newer release.
        assert_eq!(choose_bootstrap(14, &have).as_deref(), Some("go1.14.15"));
        assert_eq!(choose_bootstrap(14, &have[1..]), None);
        // go1.22 needs ≥ go1.20.6: nothing in [1.20.6, 1.22.x], so the oldest newer one.
        assert_eq!(choose_bootstrap(22, &have).as_deref(), Some("go1.23.11"));
        // go1.25 needs ≥ go1.22.6: the newest up to go1.25.x.
        assert_eq!(choose_bootstrap(25, &have).as_deref(), Some("go1.25.4"));
        assert_eq!(choose_bootstrap(24, &have).as_deref(), Some("go1.23.12"));
        // go1.26 needs ≥ go1.24.6.
        assert_eq!(choose_bootstrap(26, &have).as_deref(), Some("go1.25.4"));
        assert_eq!(choose_bootstrap(26, &have[..3]), None);
        // Built names are never bootstraps picked by version.
        assert_eq!(
            choose_bootstrap(14, &["go1.14.1-2a3b4c5".to_string()]),
            None
        );
    }

    #[test]
    fn minors() {
        assert_eq!(release_minor("go1.14.1"), Some(14));
        assert_eq!(release_minor("go1.22rc1"), Some(22));
        assert_eq!(release_minor("devel +abc"), None);
        let d = tempfile::tempdir().unwrap();
        fs::create_dir_all(d.path().join("src/internal/goversion")).unwrap();
        fs::write(
            d.path().join("src/internal/goversion/goversion.go"),
            "package goversion\n\n// comment\nconst Version = 23\n",
        )
        .unwrap();
        assert_eq!(tree_minor(None, d.path()), Some(23));
        assert_eq!(tree_minor(Some("go1.14.1"), d.path()), Some(14));
    }

    #[test]
    fn names_against_trees() {
        let r = Resolved::Archive {
            path: "/x.tar.gz".into(),
            sha256: "0".repeat(64),
        };
        assert!(check_name_against("go1.14.1", Some("go1.14.1"), &r).is_ok());
        let e = check_name_against("go1.14.2", Some("go1.14.1"), &r).unwrap_err();
        assert!(e.to_string().contains("build it as go1.14.1"), "{e}");
        assert!(check_name_against("go1.14.1", None, &r).is_err());
        assert!(check_name_against("devel-2a3b4c5", None, &r).is_ok());
        assert!(expect_reported("go1.14.1", "go1.14.1", Some("go1.14.1")).is_ok());
        assert!(expect_reported("go1.14.1", "go1.14.2", Some("go1.14.1")).is_err());
        assert!(expect_reported("devel-2a3b", "devel +2a3b", None).is_ok());
        assert!(expect_reported("devel-2a3b", "go1.14.1", None).is_err());
        // One commit of a release branch, as commit bisection names it.
        assert!(check_name_against("go1.14.1-2a3b4c5", Some("go1.14.1"), &r).is_ok());
        assert!(check_name_against("go1.14.10-2a3b4c5", Some("go1.14.1"), &r).is_err());
        assert!(expect_reported("go1.14.1-2a3b4c5", "go1.14.1", Some("go1.14.1")).is_ok());
        assert!(expect_reported("go1.14.1-2a3b4c5", "go1.14.2", Some("go1.14.1")).is_err());
    }
}

//! The points a bisection searches: the Go releases between two (the
//! proxy's list, the patch releases it serves but does not list, and
//! toolchains registered here), or the first-parent commits of a Go git
//! repository between two refs.

use crate::error::InfraError;
use crate::toolchain::proxy;
use crate::toolchain::registry::{self, ProxyConfig};
use crate::toolchain::source;
use crate::toolchain::version::go_version_cmp;
use anyhow::{anyhow, bail, Result};
use serde::Serialize;
use std::collections::BTreeSet;
use std::path::Path;

/// One point of a bisection.
#[derive(Clone, Debug, Serialize)]
pub struct Point {
    /// The toolchain name (a release, or `<VERSION>-<commit>` / `devel-<commit>`).
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

impl Point {
    /// The name, with the commit and its subject when it has them.
    pub fn describe(&self) -> String {
        match (&self.commit, &self.subject) {
            (Some(c), Some(s)) => format!("{} ({} \"{s}\")", self.name, &c[..12.min(c.len())]),
            _ => self.name.clone(),
        }
    }
}

/// The releases from `from` to `to` that can be had: the proxy's list, names
/// it serves but does not list (probed), and toolchains registered here
/// (e.g. go1.14.1 built from source).
pub fn releases_between(
    home: &Path,
    from: &str,
    to: &str,
    proxy: &ProxyConfig,
) -> Result<Vec<String>> {
    for v in [from, to] {
        if !registry::valid_release_name(v) || v.contains("rc") || v.contains("beta") {
            bail!("{v:?} is not a Go release name (such as go1.23.0 or go1.14)");
        }
    }
    if go_version_cmp(from, to) != std::cmp::Ordering::Less {
        bail!("empty range {from}..{to}: the first release must be older than the second");
    }
    let in_range = |v: &str| {
        go_version_cmp(v, from) != std::cmp::Ordering::Less
            && go_version_cmp(v, to) != std::cmp::Ordering::Greater
    };
    let stable =
        |v: &str| registry::valid_release_name(v) && !v.contains("rc") && !v.contains("beta");
    let mut out: BTreeSet<String> = BTreeSet::new();
    for tc in registry::all(home) {
        if stable(&tc.name) && in_range(&tc.name) {
            out.insert(tc.name);
        }
    }
    let (goos, goarch) = registry::host_goos_goarch()?;
    let listed = proxy::list_toolchain_versions(&proxy.goproxy, goos, goarch)
        .map_err(|e| InfraError(format!("listing toolchain releases: {e:#}")))?;
    for v in &listed {
        if stable(v) && in_range(v) {
            out.insert(v.clone());
        }
    }
    // Probe the patch releases the list may omit.
    let minor = |v: &str| source::release_minor(v);
    let (lo, hi) = (
        minor(from).ok_or_else(|| anyhow!("cannot read the Go minor of {from}"))?,
        minor(to).ok_or_else(|| anyhow!("cannot read the Go minor of {to}"))?,
    );
    for m in lo..=hi {
        let name = |p: u32| {
            if p == 0 && m < 21 {
                format!("go1.{m}")
            } else {
                format!("go1.{m}.{p}")
            }
        };
        let mut p = 0;
        let mut misses = 0;
        // Past the last listed patch of this minor, stop at the first miss.
        let listed_max = listed
            .iter()
            .filter(|v| minor(v) == Some(m) && stable(v))
            .filter_map(|v| v.rsplit('.').next()?.parse::<u32>().ok())
            .max()
            .unwrap_or(0);
        while p <= 99 {
            let v = name(p);
            if go_version_cmp(&v, to) == std::cmp::Ordering::Greater {
                break;
            }
            if in_range(&v) && !out.contains(&v) {
                let has = proxy::toolchain_available(&proxy.goproxy, goos, goarch, &v)
                    .map_err(|e| InfraError(format!("probing {v}: {e:#}")))?;
                if has {
                    out.insert(v);
                } else {
                    misses += 1;
                    if p > listed_max && misses > 0 {
                        break;
                    }
                }
            }
            p += 1;
        }
    }
    let mut v: Vec<String> = out.into_iter().collect();
    v.sort_by(|a, b| go_version_cmp(a, b));
    Ok(v)
}

/// git in `repo` (the source module's clean-environment git), trimmed.
fn git(repo: &Path, args: &[&str]) -> Result<String> {
    crate::toolchain::source::git(repo, args)
        .map(|out| out.trim().to_string())
        .map_err(|e| anyhow::anyhow!("git {} in {}: {e}", args.join(" "), repo.display()))
}

/// The commits from the older ref to the newer one (first-parent history),
/// each named for its build: `<VERSION>-<commit>` or `devel-<commit>`.
pub fn commits_between(repo: &Path, good: &str, bad: &str) -> Result<Vec<Point>> {
    if !repo.join(".git").exists() && git(repo, &["rev-parse", "--git-dir"]).is_err() {
        bail!("{} is not a git repository", repo.display());
    }
    let resolve = |r: &str| {
        git(repo, &["rev-parse", "--verify", &format!("{r}^{{commit}}")])
            .map_err(|_| anyhow!("{}: no commit {r:?}", repo.display()))
    };
    let (g, b) = (resolve(good)?, resolve(bad)?);
    if g == b {
        bail!("--good and --bad name the same commit {g}");
    }
    for c in [&g, &b] {
        if git(repo, &["cat-file", "-e", &format!("{c}:src/make.bash")]).is_err() {
            bail!(
                "{} is not a Go repository: commit {} has no src/make.bash",
                repo.display(),
                &c[..12]
            );
        }
    }
    let is_ancestor = |a: &str, d: &str| git(repo, &["merge-base", "--is-ancestor", a, d]).is_ok();
    let (old, new) = if is_ancestor(&g, &b) {
        (g, b)
    } else if is_ancestor(&b, &g) {
        (b, g)
    } else {
        bail!("neither {good} nor {bad} is an ancestor of the other");
    };
    let list = git(
        repo,
        &[
            "rev-list",
            "--first-parent",
            "--reverse",
            &format!("{old}..{new}"),
        ],
    )?;
    let mut out = Vec::new();
    for c in std::iter::once(old.as_str()).chain(list.lines()) {
        let version = git(repo, &["show", &format!("{c}:VERSION")])
            .ok()
            .and_then(|v| v.lines().next().map(str::to_string))
            .filter(|v| v.starts_with("go") && registry::valid_release_name(v));
        let short = &c[..10];
        let name = match version {
            Some(v) => format!("{v}-{short}"),
            None => format!("devel-{short}"),
        };
        out.push(Point {
            name,
            commit: Some(c.to_string()),
            subject: Some(git(repo, &["log", "-1", "--format=%s", c])?),
        });
    }
    Ok(out)
}

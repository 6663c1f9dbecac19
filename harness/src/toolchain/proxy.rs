//! Fetching official Go toolchains from a Go module proxy, verified against
//! the checksum database — the way `GOTOOLCHAIN=go1.N.M go …` does it.
//!
//! An official toolchain is the module `golang.org/toolchain` at version
//! `v0.0.1-go1.N.M.GOOS-GOARCH`; its zip holds a complete GOROOT under the
//! prefix `golang.org/toolchain@v0.0.1-go1.N.M.GOOS-GOARCH/`.
//!
//! [`fetch_toolchain`] does, in order:
//!
//! 1. **Download** `<proxy>/golang.org/toolchain/@v/<version>.zip` from the
//!    first GOPROXY entry that serves it, following the go command's list
//!    semantics: after a `,` the next entry is tried only when the proxy
//!    answers 404 or 410; after a `|` it is tried on any error. `direct` and
//!    `off` cannot serve toolchains here (the go command would rebuild the
//!    module from `go.dev/dl`, which divergo does not do) and end the list with
//!    a clear error. The zip is streamed to a temporary file next to `dest`.
//! 2. **Hash** the zip with `dirhash.Hash1`, exactly as `dirhash.HashZip` does:
//!    every zip entry (directory entries included, as empty files), sorted by
//!    name, as lines `"<hex sha256>  <name>\n"`, sha256 of that, base64, `h1:`.
//! 3. **Check the checksum database** (unless `GOSUMDB=off`). The database is
//!    reached like the go command does (`cmd/go/internal/modfetch/sumdb.go`):
//!    an explicit URL in GOSUMDB wins; otherwise each GOPROXY entry is asked for
//!    `<proxy>/sumdb/<name>/supported` and the first one answering 200 is used
//!    (404/410 — or any error after `|` — moves to the next entry); with no
//!    proxy left the database is contacted directly at `https://<name>`.
//!    Then `/lookup/<module>@<version>` gives the record and a signed tree
//!    head, and these checks are made:
//!    - the tree head note is signed by the database key (ed25519, the
//!      `golang.org/x/mod/sumdb/note` format; the key of `sum.golang.org` is
//!      built in, copied from `cmd/go/internal/modfetch/key.go`);
//!    - **inclusion proof**: the record is in the signed tree. The hashes
//!      needed for the proof are read from the database's tiles
//!      (`/tile/8/<L>/<N>[.p/<W>]`, height 8, as `golang.org/x/mod/sumdb/tlog`),
//!      the tree hash is recomputed from them with the record's own leaf hash
//!      `SHA256(0x00 || record)` in its place, and it must equal the signed
//!      tree hash. Tile contents are not trusted: any wrong tile changes the
//!      recomputed root;
//!    - the record's `h1:` for the module version equals the zip's `h1:`. A
//!      difference is a hard error naming both hashes; nothing is installed.
//!
//!    Not done (the go command does these with state kept across runs): no
//!    consistency proof against a tree seen earlier (divergo keeps no
//!    "latest tree" file), so a database presenting different forks to
//!    different clients is not detected; no gossip.
//!
//!    A database that cannot be reached (DNS or connection failure, timeout,
//!    5xx or 429 from the server or the proxy in front of it) gives
//!    [`SumdbCheck::Unreachable`] and the install proceeds; the caller
//!    records that. Any other failure — bad signature, failed inclusion proof,
//!    no record, a 404 for the record — is a hard error. Note that the go
//!    command itself refuses to install a toolchain without the database
//!    (even with `GOSUMDB=off`); divergo reports [`SumdbCheck::Off`] instead.
//! 4. **Extract** atomically: into a temporary directory beside `dest`,
//!    checking every entry like `golang.org/x/mod/zip` does (the module
//!    prefix, clean relative paths, no `..`, no absolute paths, allowed
//!    characters, no case-insensitive collisions, at most 500 MiB), stripping
//!    the prefix; then, like `cmd/go/internal/toolchain`, setting the
//!    executable bits (module zips keep no modes) on every file in `pkg/tool`
//!    and `bin` and on `lib/**/go_?*_?*_exec`, and copying each `_go.mod` to
//!    `go.mod` (module zips cannot hold nested `go.mod` files; `src/go.mod` is
//!    needed to build std). Finally the directory is renamed to `dest`
//!    (without replacing anything). On any failure nothing is left at `dest`
//!    and the temporary files are removed.
//!
//! HTTP uses connect/read timeouts, trusts the system's root certificates
//! the way Go's `crypto/x509` finds them (`SSL_CERT_FILE`, `SSL_CERT_DIR`, the
//! usual bundle files), and honours `HTTPS_PROXY`/`HTTP_PROXY` and `NO_PROXY`
//! like Go's `net/http` (loopback addresses never go through a proxy).

use super::http::*;
use super::modzip::*;
use super::sumdb::*;

use crate::toolchain::version::{go_version_cmp, parse_gover, GoVer};
use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::PathBuf;
use std::time::Duration;

/// The module path of official toolchains.
pub const TOOLCHAIN_MODULE: &str = "golang.org/toolchain";
/// The module version prefix of official toolchains (`v0.0.1-go1.N.M.os-arch`).
pub const TOOLCHAIN_MODULE_VERSION: &str = "v0.0.1";
/// The verifier key of sum.golang.org, as in `cmd/go/internal/modfetch/key.go`.
pub const SUM_GOLANG_ORG_KEY: &str =
    "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8";
/// GOPROXY used when the given value is empty (the go command's default).
pub const DEFAULT_GOPROXY: &str = "https://proxy.golang.org,direct";
/// GOSUMDB used when the given value is empty (the go command's default).
pub const DEFAULT_GOSUMDB: &str = "sum.golang.org";
/// Largest module zip, and largest total uncompressed size, accepted
/// (`golang.org/x/mod/zip.MaxZipFile`).
pub const MAX_ZIP_SIZE: u64 = 500 << 20;

pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
pub(crate) const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// Overall limit for small requests (lists, sumdb lookups and tiles).
pub(crate) const SMALL_REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
pub(crate) const SMALL_BODY_LIMIT: u64 = 8 << 20;
pub(crate) const USER_AGENT: &str =
    concat!("divergo/", env!("CARGO_PKG_VERSION"), " (toolchain fetch)");

/// What to fetch and where.
#[derive(Clone, Debug)]
pub struct FetchRequest {
    /// A toolchain version such as `go1.23.11` (not a language version such as
    /// `go1.25`; resolve those with [`list_toolchain_versions`] first).
    pub go_version: String,
    pub goos: String,
    pub goarch: String,
    /// Becomes the GOROOT: `dest/bin/go` exists afterwards. Must not exist
    /// before; its parent is created if needed.
    pub dest: PathBuf,
    /// A GOPROXY value, e.g. `https://proxy.golang.org,direct` (empty: that default).
    pub goproxy: String,
    /// A GOSUMDB value: `sum.golang.org`, `off`, or `name+hash+key [url]`
    /// (empty: `sum.golang.org`).
    pub gosumdb: String,
}

/// What was installed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchReport {
    /// e.g. `v0.0.1-go1.23.11.linux-amd64`
    pub module_version: String,
    /// The zip's dirhash, e.g. `h1:Q2Cuf…=`
    pub h1: String,
    pub sumdb: SumdbCheck,
    /// Size of the downloaded zip.
    pub bytes: u64,
    /// The GOPROXY entry that served the zip.
    pub proxy: String,
}

/// Outcome of the checksum database check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SumdbCheck {
    /// Signature, inclusion proof and h1 all checked, against a signed tree
    /// of this many records.
    Verified { tree_size: u64 },
    /// The database could not be reached; the zip was installed unchecked.
    Unreachable(String),
    /// GOSUMDB=off.
    Off,
}

/// `v0.0.1-go1.23.11.linux-amd64` for (`go1.23.11`, `linux`, `amd64`).
pub fn toolchain_module_version(go_version: &str, goos: &str, goarch: &str) -> String {
    format!("{TOOLCHAIN_MODULE_VERSION}-{go_version}.{goos}-{goarch}")
}

/// Download, verify and install one toolchain; see the module docs.
/// `progress` is called with (bytes downloaded, Content-Length if known).
pub fn fetch_toolchain(
    req: &FetchRequest,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<FetchReport> {
    check_go_version(&req.go_version)?;
    check_os_arch("GOOS", &req.goos)?;
    check_os_arch("GOARCH", &req.goarch)?;
    let module_version = toolchain_module_version(&req.go_version, &req.goos, &req.goarch);
    let what = format!("{TOOLCHAIN_MODULE}@{module_version}");
    let proxies = parse_goproxy(&req.goproxy)?;
    let sumdb_cfg = parse_gosumdb(&req.gosumdb)?;

    let dest = &req.dest;
    if dest.symlink_metadata().is_ok() {
        bail!("destination {} already exists", dest.display());
    }
    let dest_name = dest
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| anyhow!("destination {} has no usable file name", dest.display()))?
        .to_string();
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent)
        .with_context(|| format!("cannot create directory {}", parent.display()))?;

    let http = Http::from_env()?;
    let zip_path = format!("{TOOLCHAIN_MODULE}/@v/{module_version}.zip");
    let ((zipfile, bytes), proxy) = try_proxies(&proxies, &format!("download {what}"), |base| {
        download_to_temp(
            &http,
            &format!("{base}/{zip_path}"),
            &parent,
            &dest_name,
            progress,
        )
    })?;
    let zip_h1 = h1_of_zip(zipfile.path())
        .with_context(|| format!("cannot hash the zip of {what} from {proxy}"))?;

    let sumdb = match &sumdb_cfg {
        None => SumdbCheck::Off,
        Some(cfg) => match sumdb_lookup(&http, cfg, &proxies, TOOLCHAIN_MODULE, &module_version) {
            Ok((tree_size, hashes)) => {
                if hashes.is_empty() {
                    bail!(
                        "checksum database {} has a record for {what} but no h1 line for the zip",
                        cfg.name
                    );
                }
                if let Some(bad) = hashes.iter().find(|h| **h != zip_h1) {
                    bail!(
                        "SECURITY ERROR: {what}: the zip downloaded from {proxy} has {zip_h1}, \
                             but the checksum database {} records {bad}; nothing was installed",
                        cfg.name
                    );
                }
                SumdbCheck::Verified { tree_size }
            }
            Err(SumdbErr::Unreachable(why)) => {
                SumdbCheck::Unreachable(format!("checksum database {}: {why}", cfg.name))
            }
            Err(SumdbErr::Fatal(e)) => {
                return Err(e.context(format!(
                    "verifying {what} against the checksum database {}; nothing was installed",
                    cfg.name
                )))
            }
        },
    };

    let prefix = format!("{what}/");
    extract_toolchain(zipfile.path(), &prefix, dest, &parent, &dest_name)
        .with_context(|| format!("cannot install {what} into {}", dest.display()))?;
    drop(zipfile);
    Ok(FetchReport {
        module_version,
        h1: zip_h1,
        sumdb,
        bytes,
        proxy,
    })
}

/// The toolchain versions (`go1.N[.M][rcK|betaK]`) the first working GOPROXY
/// entry serves for `goos`/`goarch`, sorted by Go version order, without
/// duplicates.
pub fn list_toolchain_versions(goproxy: &str, goos: &str, goarch: &str) -> Result<Vec<String>> {
    check_os_arch("GOOS", goos)?;
    check_os_arch("GOARCH", goarch)?;
    let proxies = parse_goproxy(goproxy)?;
    let http = Http::from_env()?;
    let (body, _) = try_proxies(
        &proxies,
        &format!("list {TOOLCHAIN_MODULE} versions"),
        |base| {
            let url = format!("{base}/{TOOLCHAIN_MODULE}/@v/list");
            http.get_small(&url).map_err(TryErr::Http)
        },
    )?;
    let body = String::from_utf8(body).context("the version list is not UTF-8")?;
    let prefix = format!("{TOOLCHAIN_MODULE_VERSION}-");
    let suffix = format!(".{goos}-{goarch}");
    let mut out: Vec<String> = body
        .lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix(prefix.as_str())?
                .strip_suffix(suffix.as_str())
        })
        .filter(|v| v.starts_with("go") && parse_gover(&v[2..]) != GoVer::default())
        .map(str::to_string)
        .collect();
    out.sort_by(|a, b| go_version_cmp(a, b).then_with(|| a.cmp(b)));
    out.dedup();
    Ok(out)
}

/// Whether the first working GOPROXY entry serves this toolchain version
/// (`@v/<version>.info`); `false` when every proxy asked answers 403, 404 or
/// 410. Use this for a version missing from
/// [`list_toolchain_versions`]: the proxy's `@v/list` of
/// `golang.org/toolchain` is known to be incomplete.
pub fn toolchain_available(
    goproxy: &str,
    goos: &str,
    goarch: &str,
    go_version: &str,
) -> Result<bool> {
    check_go_version(go_version)?;
    check_os_arch("GOOS", goos)?;
    check_os_arch("GOARCH", goarch)?;
    let proxies = parse_goproxy(goproxy)?;
    let http = Http::from_env()?;
    let mv = toolchain_module_version(go_version, goos, goarch);
    let (mut asked, mut other_errors) = (0, 0);
    let r = try_proxies(
        &proxies,
        &format!("look up {TOOLCHAIN_MODULE}@{mv}"),
        |base| {
            asked += 1;
            let url = format!("{base}/{TOOLCHAIN_MODULE}/@v/{mv}.info");
            http.get_small(&url).map_err(|e| {
                if !e.is_unavailable() {
                    other_errors += 1;
                }
                TryErr::Http(e)
            })
        },
    );
    match r {
        Ok(_) => Ok(true),
        // Every proxy asked said 403/404/410.
        Err(_) if asked > 0 && other_errors == 0 => Ok(false),
        Err(e) => Err(e),
    }
}

pub(crate) fn check_go_version(v: &str) -> Result<()> {
    let ok = v.starts_with("go")
        && v[2..]
            .bytes()
            .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase() || c == b'.')
        && parse_gover(&v[2..]) != GoVer::default();
    if !ok {
        bail!("invalid Go toolchain version {v:?}: expected e.g. go1.23.11 or go1.25rc1");
    }
    let g = parse_gover(&v[2..]);
    if g.patch.is_empty() && g.kind.is_empty() {
        // gover.IsLang: since Go 1.21 the first release is go1.N.0.
        bail!(
            "{v} is a language version, not a toolchain version: pick a {v}.N release \
             (see list_toolchain_versions)"
        );
    }
    Ok(())
}

pub(crate) fn check_os_arch(what: &str, v: &str) -> Result<()> {
    if v.is_empty()
        || !v
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    {
        bail!("invalid {what} {v:?}");
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// GOPROXY

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ProxyEntry {
    Url {
        url: String,
        fallback_on_error: bool,
    },
    Direct,
    Off,
}

/// `cmd/go/internal/modfetch.proxyList`, without GONOPROXY.
pub(crate) fn parse_goproxy(goproxy: &str) -> Result<Vec<ProxyEntry>> {
    let mut rest = if goproxy.trim().is_empty() {
        DEFAULT_GOPROXY
    } else {
        goproxy
    };
    let mut list = Vec::new();
    while !rest.is_empty() {
        let (item, fallback_on_error, tail) = match rest.find([',', '|']) {
            Some(i) => (&rest[..i], rest.as_bytes()[i] == b'|', &rest[i + 1..]),
            None => (rest, false, ""),
        };
        rest = tail;
        let item = item.trim();
        match item {
            "" => continue,
            "off" => {
                list.push(ProxyEntry::Off);
                break;
            }
            "direct" => {
                list.push(ProxyEntry::Direct);
                break;
            }
            _ => {}
        }
        let url =
            if item.contains(['.', ':', '/']) && !item.contains(":/") && !item.starts_with('/') {
                format!("https://{item}")
            } else {
                item.to_string()
            };
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            bail!(
                "GOPROXY entry {item:?} is not supported: divergo fetches toolchains over \
                 http(s) only"
            );
        }
        list.push(ProxyEntry::Url {
            url: url.trim_end_matches('/').to_string(),
            fallback_on_error,
        });
    }
    if list.is_empty() {
        bail!("GOPROXY {goproxy:?} is not the empty string, but contains no entries");
    }
    Ok(list)
}

pub(crate) enum TryErr {
    Http(HttpError),
    Fatal(anyhow::Error),
}

/// `TryProxies`: returns the value and the proxy that gave it.
pub(crate) fn try_proxies<T>(
    proxies: &[ProxyEntry],
    what: &str,
    mut f: impl FnMut(&str) -> std::result::Result<T, TryErr>,
) -> Result<(T, String)> {
    let mut errs: Vec<String> = Vec::new();
    let mut terminal: Option<&str> = None;
    let (mut any_http, mut all_unavailable) = (false, true);
    for p in proxies {
        match p {
            ProxyEntry::Off => {
                terminal = Some("GOPROXY=off: module downloads are disabled");
                break;
            }
            ProxyEntry::Direct => {
                terminal = Some(
                    "GOPROXY=direct: divergo cannot fetch toolchains from their origin (the go \
                     command would rebuild the module from go.dev/dl); use a module proxy",
                );
                break;
            }
            ProxyEntry::Url {
                url,
                fallback_on_error,
            } => match f(url) {
                Ok(v) => return Ok((v, url.clone())),
                Err(TryErr::Fatal(e)) => return Err(e.context(format!("{what} from {url}"))),
                Err(TryErr::Http(e)) => {
                    any_http = true;
                    all_unavailable &= e.is_unavailable();
                    errs.push(e.to_string());
                    if !(e.is_not_found() || *fallback_on_error) {
                        break;
                    }
                }
            },
        }
    }
    let mut msg = format!("cannot {what}: {}", errs.join("; "));
    if any_http && all_unavailable {
        msg.push_str(" (403/404/410: this version is not on the proxy)");
    }
    if let Some(t) = terminal {
        if !errs.is_empty() {
            msg.push_str("; ");
        }
        msg.push_str(t);
    }
    Err(anyhow!(msg))
}

// ---------------------------------------------------------------------------
// HTTP

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goproxy_lists() {
        let l = parse_goproxy("https://a.example,b.example|direct,https://never").unwrap();
        assert_eq!(
            l,
            vec![
                ProxyEntry::Url {
                    url: "https://a.example".into(),
                    fallback_on_error: false
                },
                ProxyEntry::Url {
                    url: "https://b.example".into(),
                    fallback_on_error: true
                },
                ProxyEntry::Direct,
            ]
        );
        assert_eq!(parse_goproxy("off").unwrap(), vec![ProxyEntry::Off]);
        assert_eq!(parse_goproxy("").unwrap().len(), 2);
        assert!(parse_goproxy(" , ").is_err());
        assert!(parse_goproxy("file:///tmp/x").is_err());
    }
}

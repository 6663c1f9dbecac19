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

pub use crate::toolchain::version::go_version_cmp;
use crate::toolchain::version::{parse_gover, GoVer};
use anyhow::{anyhow, bail, Context, Result};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ed25519_dalek::Verifier as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
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

const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// Overall limit for small requests (lists, sumdb lookups and tiles).
const SMALL_REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
const SMALL_BODY_LIMIT: u64 = 8 << 20;
const USER_AGENT: &str = concat!("divergo/", env!("CARGO_PKG_VERSION"), " (toolchain fetch)");

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

/// `golang.org/x/mod/sumdb/dirhash.HashZip(path, Hash1)`: every entry of the
/// zip (directory entries as empty files), sorted by name.
pub fn h1_of_zip(path: &Path) -> Result<String> {
    let f = fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut z = zip::ZipArchive::new(io::BufReader::new(f))
        .with_context(|| format!("{} is not a valid zip file", path.display()))?;
    // Like HashZip: a name listed twice is hashed twice, with the content of
    // the last entry of that name.
    let mut last: HashMap<Vec<u8>, usize> = HashMap::new();
    let mut names: Vec<Vec<u8>> = Vec::with_capacity(z.len());
    for i in 0..z.len() {
        let e = z.by_index_raw(i)?;
        let name = e.name_raw().to_vec();
        last.insert(name.clone(), i);
        names.push(name);
    }
    names.sort();
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    for name in &names {
        if name.contains(&b'\n') {
            bail!("dirhash: filenames with newlines are not supported");
        }
        let mut e = z.by_index(last[name])?;
        let mut hf = Sha256::new();
        loop {
            let n = e.read(&mut buf).with_context(|| {
                format!(
                    "cannot read {:?} in {}",
                    String::from_utf8_lossy(name),
                    path.display()
                )
            })?;
            if n == 0 {
                break;
            }
            hf.update(&buf[..n]);
        }
        h.update(hex(&hf.finalize()).as_bytes());
        h.update(b"  ");
        h.update(name);
        h.update(b"\n");
    }
    Ok(format!("h1:{}", B64.encode(h.finalize())))
}

// ---------------------------------------------------------------------------
// Request validation

fn check_go_version(v: &str) -> Result<()> {
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

fn check_os_arch(what: &str, v: &str) -> Result<()> {
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
enum ProxyEntry {
    Url {
        url: String,
        fallback_on_error: bool,
    },
    Direct,
    Off,
}

/// `cmd/go/internal/modfetch.proxyList`, without GONOPROXY.
fn parse_goproxy(goproxy: &str) -> Result<Vec<ProxyEntry>> {
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

enum TryErr {
    Http(HttpError),
    Fatal(anyhow::Error),
}

/// `TryProxies`: returns the value and the proxy that gave it.
fn try_proxies<T>(
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

#[derive(Debug)]
enum HttpError {
    Status {
        url: String,
        code: u16,
        text: String,
        body: String,
    },
    Transport {
        url: String,
        msg: String,
    },
}

impl HttpError {
    /// 404 or 410: the go command's `fs.ErrNotExist`, which lets it try the
    /// next proxy after a `,`.
    fn is_not_found(&self) -> bool {
        matches!(
            self,
            HttpError::Status {
                code: 404 | 410,
                ..
            }
        )
    }

    /// 404, 410, or 403 — proxy.golang.org answers 403 "This module version
    /// is not available" for toolchain versions that do not exist.
    fn is_unavailable(&self) -> bool {
        matches!(
            self,
            HttpError::Status {
                code: 403 | 404 | 410,
                ..
            }
        )
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::Status {
                url,
                code,
                text,
                body,
            } => {
                write!(f, "GET {url}: {code} {text}")?;
                let body = body.trim();
                if !body.is_empty() {
                    let short: String = body.chars().take(300).collect();
                    write!(f, ": {short}")?;
                }
                Ok(())
            }
            HttpError::Transport { url, msg } => write!(f, "GET {url}: {msg}"),
        }
    }
}

struct Http {
    direct: ureq::Agent,
    https_proxy: Option<ureq::Agent>,
    http_proxy: Option<ureq::Agent>,
    no_proxy: Vec<String>,
}

fn env_first(names: &[&str]) -> Option<String> {
    names
        .iter()
        .filter_map(|n| std::env::var(n).ok())
        .find(|v| !v.trim().is_empty())
}

fn build_agent(tls: &Arc<rustls::ClientConfig>, proxy: Option<ureq::Proxy>) -> ureq::Agent {
    let mut b = ureq::AgentBuilder::new()
        .timeout_connect(CONNECT_TIMEOUT)
        .timeout_read(READ_TIMEOUT)
        .timeout_write(READ_TIMEOUT)
        .user_agent(USER_AGENT)
        .tls_config(tls.clone())
        .try_proxy_from_env(false);
    if let Some(p) = proxy {
        b = b.proxy(p);
    }
    b.build()
}

/// Trusted roots as Go's `crypto/x509` finds them on Unix: `$SSL_CERT_FILE`
/// or the first of the usual bundle files, plus the PEM files in
/// `$SSL_CERT_DIR`. Without any, the Mozilla roots of `webpki-roots`.
fn system_roots() -> rustls::RootCertStore {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;
    const CERT_FILES: [&str; 6] = [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/ssl/ca-bundle.pem",
        "/etc/pki/tls/cacert.pem",
        "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
        "/etc/ssl/cert.pem",
    ];
    let mut roots = rustls::RootCertStore::empty();
    let add_file = |roots: &mut rustls::RootCertStore, path: &Path| -> bool {
        let Ok(iter) = CertificateDer::pem_file_iter(path) else {
            return false;
        };
        let (ok, _) = roots.add_parsable_certificates(iter.flatten());
        ok > 0
    };
    match std::env::var_os("SSL_CERT_FILE").filter(|v| !v.is_empty()) {
        Some(f) => {
            add_file(&mut roots, Path::new(&f));
        }
        None => {
            for f in CERT_FILES {
                if add_file(&mut roots, Path::new(f)) {
                    break;
                }
            }
        }
    }
    if let Some(dirs) = std::env::var_os("SSL_CERT_DIR").filter(|v| !v.is_empty()) {
        for dir in std::env::split_paths(&dirs) {
            let Ok(rd) = fs::read_dir(&dir) else { continue };
            for e in rd.flatten() {
                add_file(&mut roots, &e.path());
            }
        }
    }
    if roots.is_empty() {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    roots
}

fn tls_config() -> Result<Arc<rustls::ClientConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS setup")?
        .with_root_certificates(system_roots())
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}

/// The host part of an http(s) URL, lowercased, without port or brackets.
fn url_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let auth = rest.split(['/', '?', '#']).next().unwrap_or("");
    let auth = auth.rsplit_once('@').map_or(auth, |(_, h)| h);
    if let Some(v6) = auth.strip_prefix('[') {
        return v6.split(']').next().unwrap_or("");
    }
    auth.split(':').next().unwrap_or("")
}

impl Http {
    fn from_env() -> Result<Http> {
        let tls = tls_config()?;
        let mk = |names: &[&str]| -> Result<Option<ureq::Agent>> {
            match env_first(names) {
                None => Ok(None),
                Some(v) => {
                    let p = ureq::Proxy::new(v.trim())
                        .with_context(|| format!("invalid proxy {v:?} in ${}", names[0]))?;
                    Ok(Some(build_agent(&tls, Some(p))))
                }
            }
        };
        Ok(Http {
            direct: build_agent(&tls, None),
            https_proxy: mk(&["HTTPS_PROXY", "https_proxy"])?,
            http_proxy: mk(&["HTTP_PROXY", "http_proxy"])?,
            no_proxy: env_first(&["NO_PROXY", "no_proxy"])
                .unwrap_or_default()
                .split(',')
                .map(|s| s.trim().to_ascii_lowercase())
                .filter(|s| !s.is_empty())
                .collect(),
        })
    }

    fn agent(&self, url: &str) -> &ureq::Agent {
        let host = url_host(url).to_ascii_lowercase();
        let loopback = host == "localhost"
            || host.ends_with(".localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        let excluded = loopback
            || self.no_proxy.iter().any(|np| {
                let np = np.split(':').next().unwrap_or(np);
                np == "*" || {
                    let d = np.trim_start_matches('.');
                    host == d || host.ends_with(&format!(".{d}"))
                }
            });
        let proxied = if excluded {
            None
        } else if url.starts_with("https://") {
            self.https_proxy.as_ref()
        } else {
            self.http_proxy.as_ref()
        };
        proxied.unwrap_or(&self.direct)
    }

    fn get(&self, url: &str, timeout: Option<Duration>) -> Result<ureq::Response, HttpError> {
        let mut req = self.agent(url).get(url);
        if let Some(t) = timeout {
            req = req.timeout(t);
        }
        match req.call() {
            Ok(r) => Ok(r),
            Err(ureq::Error::Status(code, resp)) => {
                let text = resp.status_text().to_string();
                let mut body = Vec::new();
                let _ = resp.into_reader().take(4096).read_to_end(&mut body);
                Err(HttpError::Status {
                    url: url.to_string(),
                    code,
                    text,
                    body: String::from_utf8_lossy(&body).into_owned(),
                })
            }
            Err(ureq::Error::Transport(t)) => Err(HttpError::Transport {
                url: url.to_string(),
                msg: transport_message(&t),
            }),
        }
    }

    /// A small body (at most [`SMALL_BODY_LIMIT`]), with an overall timeout.
    fn get_small(&self, url: &str) -> Result<Vec<u8>, HttpError> {
        let resp = self.get(url, Some(SMALL_REQUEST_TIMEOUT))?;
        let mut body = Vec::new();
        resp.into_reader()
            .take(SMALL_BODY_LIMIT + 1)
            .read_to_end(&mut body)
            .map_err(|e| HttpError::Transport {
                url: url.to_string(),
                msg: format!("reading the response: {e}"),
            })?;
        if body.len() as u64 > SMALL_BODY_LIMIT {
            return Err(HttpError::Transport {
                url: url.to_string(),
                msg: format!("response larger than {SMALL_BODY_LIMIT} bytes"),
            });
        }
        Ok(body)
    }
}

fn transport_message(t: &ureq::Transport) -> String {
    let mut msg = format!("{:?}", t.kind());
    if let Some(m) = t.message() {
        msg.push_str(": ");
        msg.push_str(m);
    }
    let mut src = std::error::Error::source(t);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}

/// Stream `url` into a temporary file in `dir`.
fn download_to_temp(
    http: &Http,
    url: &str,
    dir: &Path,
    dest_name: &str,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> std::result::Result<(tempfile::NamedTempFile, u64), TryErr> {
    let resp = http.get(url, None).map_err(TryErr::Http)?;
    let total = resp
        .header("Content-Length")
        .and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(t) = total {
        if t > MAX_ZIP_SIZE {
            return Err(TryErr::Fatal(anyhow!(
                "{url}: the zip is too large ({t} bytes; limit is {MAX_ZIP_SIZE})"
            )));
        }
    }
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{dest_name}.divergo-zip-"))
        .suffix(".zip")
        .tempfile_in(dir)
        .map_err(|e| {
            TryErr::Fatal(anyhow!(e).context(format!(
                "cannot create a temporary file in {}",
                dir.display()
            )))
        })?;
    let mut reader = resp.into_reader();
    let mut buf = vec![0u8; 1 << 16];
    let mut done: u64 = 0;
    let mut reported: u64 = 0;
    progress(0, total);
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(TryErr::Http(HttpError::Transport {
                    url: url.to_string(),
                    msg: format!("download interrupted after {done} bytes: {e}"),
                }))
            }
        };
        done += n as u64;
        if done > MAX_ZIP_SIZE {
            return Err(TryErr::Fatal(anyhow!(
                "{url}: the zip is larger than {MAX_ZIP_SIZE} bytes"
            )));
        }
        tmp.write_all(&buf[..n]).map_err(|e| {
            TryErr::Fatal(anyhow!(e).context(format!("cannot write {}", tmp.path().display())))
        })?;
        if done - reported >= 1 << 20 {
            reported = done;
            progress(done, total);
        }
    }
    if let Some(t) = total {
        if t != done {
            return Err(TryErr::Http(HttpError::Transport {
                url: url.to_string(),
                msg: format!("truncated download: got {done} of {t} bytes"),
            }));
        }
    }
    tmp.as_file_mut()
        .flush()
        .map_err(|e| TryErr::Fatal(anyhow!(e)))?;
    progress(done, total.or(Some(done)));
    Ok((tmp, done))
}

// ---------------------------------------------------------------------------
// Checksum database

enum SumdbErr {
    Unreachable(String),
    Fatal(anyhow::Error),
}

impl From<HttpError> for SumdbErr {
    fn from(e: HttpError) -> Self {
        match &e {
            HttpError::Transport { .. } => SumdbErr::Unreachable(e.to_string()),
            HttpError::Status { code, .. } if *code >= 500 || *code == 429 => {
                SumdbErr::Unreachable(e.to_string())
            }
            HttpError::Status { .. } => SumdbErr::Fatal(anyhow!(e.to_string())),
        }
    }
}

fn fatal(msg: impl fmt::Display) -> SumdbErr {
    SumdbErr::Fatal(anyhow!("{msg}"))
}

#[derive(Clone, Debug)]
struct SumdbConfig {
    name: String,
    verifier: NoteVerifier,
    url: Option<String>,
}

/// `dbDial` of `cmd/go/internal/modfetch/sumdb.go`. `None` for `off`.
fn parse_gosumdb(gosumdb: &str) -> Result<Option<SumdbConfig>> {
    let mut v = gosumdb.trim();
    if v.is_empty() {
        v = DEFAULT_GOSUMDB;
    }
    if v == "off" {
        return Ok(None);
    }
    if v == "sum.golang.google.cn" {
        v = "sum.golang.org https://sum.golang.google.cn";
    }
    let fields: Vec<&str> = v.split_whitespace().collect();
    if fields.len() > 2 {
        bail!("invalid GOSUMDB {gosumdb:?}: too many fields");
    }
    let key = match fields[0] {
        "sum.golang.org" => SUM_GOLANG_ORG_KEY,
        k => k,
    };
    let verifier =
        NoteVerifier::parse(key).with_context(|| format!("invalid GOSUMDB {gosumdb:?}"))?;
    let name = verifier.name.clone();
    if name.ends_with('/') || name.starts_with('/') || name.contains(['?', '#', '@', '\\']) {
        bail!("invalid sumdb name (must be host[/path]): {name}");
    }
    let url = match fields.get(1) {
        Some(u) if u.starts_with("https://") || u.starts_with("http://") => {
            Some(u.trim_end_matches('/').to_string())
        }
        Some(u) => bail!("invalid GOSUMDB URL {u:?}: expected http(s)://…"),
        None => None,
    };
    Ok(Some(SumdbConfig {
        name,
        verifier,
        url,
    }))
}

/// A `golang.org/x/mod/sumdb/note` ed25519 verifier key `name+hash+key`.
#[derive(Clone, Debug)]
struct NoteVerifier {
    name: String,
    key_hash: u32,
    key: ed25519_dalek::VerifyingKey,
}

fn valid_note_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('+') && !name.chars().any(char::is_whitespace)
}

fn note_key_hash(name: &str, key: &[u8]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update(key);
    let sum = h.finalize();
    u32::from_be_bytes([sum[0], sum[1], sum[2], sum[3]])
}

impl NoteVerifier {
    fn parse(vkey: &str) -> Result<NoteVerifier> {
        let (name, rest) = vkey.split_once('+').unwrap_or((vkey, ""));
        let (hash16, key64) = rest.split_once('+').unwrap_or((rest, ""));
        let hash = if hash16.len() == 8 && hash16.bytes().all(|c| c.is_ascii_hexdigit()) {
            u32::from_str_radix(hash16, 16).ok()
        } else {
            None
        };
        let key = B64.decode(key64).ok();
        let (Some(hash), Some(key)) = (hash, key) else {
            bail!("malformed verifier id {vkey:?}");
        };
        if !valid_note_name(name) || key.is_empty() {
            bail!("malformed verifier id {vkey:?}");
        }
        if hash != note_key_hash(name, &key) {
            bail!("invalid verifier hash in {vkey:?}");
        }
        if key[0] != 1 {
            bail!("unknown verifier algorithm {} in {vkey:?}", key[0]);
        }
        let raw: [u8; 32] = key[1..]
            .try_into()
            .map_err(|_| anyhow!("malformed verifier id {vkey:?}: bad key length"))?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&raw)
            .map_err(|e| anyhow!("invalid ed25519 key in {vkey:?}: {e}"))?;
        Ok(NoteVerifier {
            name: name.to_string(),
            key_hash: hash,
            key,
        })
    }
}

/// `note.Open` with one known verifier: returns the note text after checking
/// that it carries a valid signature by `v`.
fn open_note(msg: &[u8], v: &NoteVerifier) -> Result<String> {
    let msg = std::str::from_utf8(msg).map_err(|_| anyhow!("malformed note: not UTF-8"))?;
    if msg.chars().any(|c| c < ' ' && c != '\n') {
        bail!("malformed note: control characters");
    }
    let split = msg
        .rfind("\n\n")
        .ok_or_else(|| anyhow!("malformed note: no signature block"))?;
    let (text, mut sigs) = (&msg[..split + 1], &msg[split + 2..]);
    if sigs.is_empty() || !sigs.ends_with('\n') {
        bail!("malformed note: bad signature block");
    }
    let mut verified = false;
    let mut count = 0;
    while !sigs.is_empty() {
        let i = sigs.find('\n').unwrap_or(sigs.len());
        let line = &sigs[..i];
        sigs = &sigs[(i + 1).min(sigs.len())..];
        let line = line
            .strip_prefix("— ")
            .ok_or_else(|| anyhow!("malformed note: bad signature line {line:?}"))?;
        let (name, b64) = line.split_once(' ').unwrap_or((line, ""));
        let sig = B64.decode(b64).unwrap_or_default();
        if !valid_note_name(name) || b64.is_empty() || sig.len() < 5 {
            bail!("malformed note: bad signature line {line:?}");
        }
        count += 1;
        if count > 100 {
            bail!("malformed note: too many signatures");
        }
        let hash = u32::from_be_bytes([sig[0], sig[1], sig[2], sig[3]]);
        if name != v.name || hash != v.key_hash {
            continue; // a signature by some other key
        }
        let ok = <[u8; 64]>::try_from(&sig[4..])
            .map(|s| ed25519_dalek::Signature::from_bytes(&s))
            .is_ok_and(|s| v.key.verify(text.as_bytes(), &s).is_ok());
        if !ok {
            bail!("invalid signature for key {}+{:08x}", v.name, v.key_hash);
        }
        verified = true;
    }
    if !verified {
        bail!(
            "note has no signature by the checksum database key {}+{:08x}",
            v.name,
            v.key_hash
        );
    }
    Ok(text.to_string())
}

type Hash = [u8; 32];

/// `tlog.ParseTree`: (tree size, root hash).
fn parse_tree(text: &str) -> Result<(u64, Hash)> {
    let bad = || anyhow!("malformed tree note {text:?}");
    let body = text
        .strip_prefix("go.sum database tree\n")
        .ok_or_else(bad)?;
    let mut lines = body.split('\n');
    let n_str = lines.next().ok_or_else(bad)?;
    let h_str = lines.next().ok_or_else(bad)?;
    if lines.next().is_none() || text.len() > 1_000_000 {
        return Err(bad());
    }
    let n: u64 = n_str.parse().map_err(|_| bad())?;
    if n.to_string() != n_str {
        return Err(bad());
    }
    let h = B64.decode(h_str).map_err(|_| bad())?;
    let h: Hash = h.try_into().map_err(|_| bad())?;
    Ok((n, h))
}

/// `tlog.ParseRecord`: (id, record text, rest).
fn parse_record(msg: &[u8]) -> Result<(u64, &[u8], &[u8])> {
    let bad = || anyhow!("malformed record data");
    let i = msg.iter().position(|&c| c == b'\n').ok_or_else(bad)?;
    let id: u64 = std::str::from_utf8(&msg[..i])
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)?;
    let msg = &msg[i + 1..];
    let j = msg.windows(2).position(|w| w == b"\n\n").ok_or_else(bad)?;
    let (text, rest) = (&msg[..j + 1], &msg[j + 2..]);
    let s = std::str::from_utf8(text).map_err(|_| bad())?;
    if s.chars().any(|c| c < ' ' && c != '\n') || s.contains("\n\n") || !s.ends_with('\n') {
        return Err(bad());
    }
    Ok((id, text, rest))
}

fn record_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

fn node_hash(l: &Hash, r: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(l);
    h.update(r);
    h.finalize().into()
}

/// The hash of the subtree whose leaves (at some level) are the 2^k hashes
/// in `data`.
fn tile_hash(data: &[u8]) -> Hash {
    if data.len() == 32 {
        return data.try_into().unwrap();
    }
    let half = data.len() / 2;
    node_hash(&tile_hash(&data[..half]), &tile_hash(&data[half..]))
}

const TILE_HEIGHT: u32 = 8;
const TILE_WIDTH: u64 = 1 << TILE_HEIGHT;

/// `tlog.Tile.Path` for height 8: `tile/8/<level>/x001/x234/067[.p/<width>]`.
fn tile_path(level: u32, n: u64, width: u64) -> String {
    let mut n_str = format!("{:03}", n % 1000);
    let mut m = n;
    while m >= 1000 {
        m /= 1000;
        n_str = format!("x{:03}/{n_str}", m % 1000);
    }
    let p = if width == TILE_WIDTH {
        String::new()
    } else {
        format!(".p/{width}")
    };
    format!("tile/{TILE_HEIGHT}/{level}/{n_str}{p}")
}

/// Hashes of a tree of `tree_size` records, read from tiles.
/// `read` fetches a tile by path; tile contents are not trusted — callers
/// compare what they compute against a signed tree hash.
struct TileHashes<'a> {
    tree_size: u64,
    read: &'a mut dyn FnMut(&str) -> std::result::Result<Vec<u8>, HttpError>,
    cache: HashMap<(u32, u64), Vec<u8>>,
}

impl TileHashes<'_> {
    /// Tile `n` at tile level `level`, as wide as it is in this tree.
    fn tile(&mut self, level: u32, n: u64) -> std::result::Result<&[u8], SumdbErr> {
        if !self.cache.contains_key(&(level, n)) {
            let avail = self.tree_size >> (TILE_HEIGHT * level);
            let start = n * TILE_WIDTH;
            if start >= avail {
                return Err(fatal(format!(
                    "internal error: tile {level}/{n} is beyond tree size {}",
                    self.tree_size
                )));
            }
            let w = (avail - start).min(TILE_WIDTH);
            let path = tile_path(level, n, w);
            let data = match (self.read)(&path) {
                Ok(d) => d,
                // As tlog's client: a partial tile may be gone once the tile
                // is complete; its prefix is the partial tile.
                Err(e) if w < TILE_WIDTH && e.is_not_found() => {
                    let mut full = (self.read)(&tile_path(level, n, TILE_WIDTH))?;
                    full.truncate((w * 32) as usize);
                    full
                }
                Err(e) => return Err(e.into()),
            };
            if data.len() as u64 != w * 32 {
                return Err(fatal(format!(
                    "tile {path} has {} bytes, want {}",
                    data.len(),
                    w * 32
                )));
            }
            self.cache.insert((level, n), data);
        }
        Ok(&self.cache[&(level, n)])
    }

    /// The hash of the complete subtree at tree level `level` (2^level
    /// records) with index `idx`.
    fn stored(&mut self, level: u32, idx: u64) -> std::result::Result<Hash, SumdbErr> {
        let (t, r) = (level / TILE_HEIGHT, level % TILE_HEIGHT);
        let first = idx << r;
        let count = 1usize << r;
        let off = (first % TILE_WIDTH) as usize;
        let tile = self.tile(t, first / TILE_WIDTH)?;
        if (off + count) * 32 > tile.len() {
            return Err(fatal(format!(
                "internal error: hash {level}/{idx} not in its tile (tree size {})",
                self.tree_size
            )));
        }
        Ok(tile_hash(&tile[off * 32..(off + count) * 32]))
    }

    /// The hash of subtree (`level`, `idx`), which contains record `id`,
    /// computed from `leaf` and the sibling hashes along the path.
    fn path_hash(
        &mut self,
        level: u32,
        idx: u64,
        id: u64,
        leaf: &Hash,
    ) -> std::result::Result<Hash, SumdbErr> {
        if level == 0 {
            return Ok(*leaf);
        }
        let left = idx * 2;
        if id >> (level - 1) == left {
            let l = self.path_hash(level - 1, left, id, leaf)?;
            let r = self.stored(level - 1, left + 1)?;
            Ok(node_hash(&l, &r))
        } else {
            let l = self.stored(level - 1, left)?;
            let r = self.path_hash(level - 1, left + 1, id, leaf)?;
            Ok(node_hash(&l, &r))
        }
    }

    /// The tree hash (RFC 6962 MTH) computed with `leaf` as record `id`'s
    /// hash and everything else from tiles. Equal to the signed tree hash
    /// only if the record is in the tree.
    fn root_with_record(&mut self, id: u64, leaf: &Hash) -> std::result::Result<Hash, SumdbErr> {
        let n = self.tree_size;
        if id >= n {
            return Err(fatal(format!(
                "cannot validate record {id} in tree of size {n}"
            )));
        }
        let mut parts = Vec::new();
        let mut lo = 0u64;
        for k in (0..64u32).rev() {
            if (n >> k) & 1 == 1 {
                let size = 1u64 << k;
                let h = if id >= lo && id - lo < size {
                    self.path_hash(k, lo >> k, id, leaf)?
                } else {
                    self.stored(k, lo >> k)?
                };
                parts.push(h);
                lo += size;
            }
        }
        let mut th = parts.pop().expect("tree size > 0");
        while let Some(h) = parts.pop() {
            th = node_hash(&h, &th);
        }
        Ok(th)
    }
}

/// Module path/version escaping of `golang.org/x/mod/module` (`A` → `!a`).
fn escape_module_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_uppercase() {
            out.push('!');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Where to reach the database: `initBase` of `cmd/go/internal/modfetch/sumdb.go`.
fn sumdb_base(
    http: &Http,
    cfg: &SumdbConfig,
    proxies: &[ProxyEntry],
) -> std::result::Result<String, SumdbErr> {
    if let Some(u) = &cfg.url {
        return Ok(u.clone());
    }
    for p in proxies {
        match p {
            ProxyEntry::Direct | ProxyEntry::Off => break,
            ProxyEntry::Url {
                url,
                fallback_on_error,
            } => {
                let base = format!("{url}/sumdb/{}", cfg.name);
                match http.get_small(&format!("{base}/supported")) {
                    Ok(_) => return Ok(base),
                    Err(e) if e.is_not_found() || *fallback_on_error => continue,
                    // "Any other response is treated as the database being
                    // unavailable."
                    Err(e) => return Err(SumdbErr::Unreachable(e.to_string())),
                }
            }
        }
    }
    Ok(format!("https://{}", cfg.name))
}

/// Look `module@version` up in the checksum database and verify the answer
/// (signed tree head, inclusion proof). Returns the tree size and the `h1:`
/// hashes the record gives for the module zip.
fn sumdb_lookup(
    http: &Http,
    cfg: &SumdbConfig,
    proxies: &[ProxyEntry],
    module: &str,
    version: &str,
) -> std::result::Result<(u64, Vec<String>), SumdbErr> {
    let base = sumdb_base(http, cfg, proxies)?;
    let url = format!(
        "{base}/lookup/{}@{}",
        escape_module_text(module),
        escape_module_text(version)
    );
    let data = http.get_small(&url)?;
    verify_lookup(&data, &cfg.verifier, module, version, &mut |path| {
        http.get_small(&format!("{base}/{path}"))
    })
}

/// Verify a `/lookup` response: parse the record, check the note signature,
/// prove the record's inclusion in the signed tree with tiles from `read`.
fn verify_lookup(
    data: &[u8],
    verifier: &NoteVerifier,
    module: &str,
    version: &str,
    read: &mut dyn FnMut(&str) -> std::result::Result<Vec<u8>, HttpError>,
) -> std::result::Result<(u64, Vec<String>), SumdbErr> {
    let (id, text, note) =
        parse_record(data).map_err(|e| SumdbErr::Fatal(e.context("lookup response")))?;
    let tree_text = open_note(note, verifier)
        .map_err(|e| SumdbErr::Fatal(e.context("the signed tree head does not verify")))?;
    let (tree_size, root) = parse_tree(&tree_text).map_err(SumdbErr::Fatal)?;
    let mut tiles = TileHashes {
        tree_size,
        read,
        cache: HashMap::new(),
    };
    let computed = tiles.root_with_record(id, &record_hash(text))?;
    if computed != root {
        return Err(fatal(format!(
            "cannot authenticate record {id} in the tree of size {tree_size}: its inclusion \
             proof does not lead to the signed tree hash"
        )));
    }
    let prefix = format!("{module} {version} ");
    let text = std::str::from_utf8(text).map_err(|_| fatal("record is not UTF-8"))?;
    let hashes = text
        .lines()
        .filter_map(|l| l.strip_prefix(prefix.as_str()))
        .map(str::to_string)
        .collect();
    Ok((tree_size, hashes))
}

// ---------------------------------------------------------------------------
// Extraction

fn file_name_char_ok(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric() || "!#$%&()+,-.=@[]^_{}~ ".contains(c)
    } else {
        c.is_alphabetic()
    }
}

/// `module.CheckFilePath` plus `path.Clean(name) == name`.
fn check_file_path(p: &str) -> Result<()> {
    if p.is_empty() {
        bail!("empty path");
    }
    if p.starts_with('/') {
        bail!("absolute path");
    }
    for elem in p.split('/') {
        if elem.is_empty() {
            bail!("empty path element (double or trailing slash)");
        }
        if elem.bytes().all(|c| c == b'.') {
            bail!("invalid path element {elem:?}");
        }
        if elem.ends_with('.') {
            bail!("trailing dot in path element {elem:?}");
        }
        if let Some(c) = elem.chars().find(|&c| !file_name_char_ok(c)) {
            bail!("invalid char {c:?}");
        }
        let short = elem.split('.').next().unwrap_or(elem);
        const BAD: [&str; 22] = [
            "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7",
            "COM8", "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
        ];
        if BAD.iter().any(|b| b.eq_ignore_ascii_case(short)) {
            bail!("{short:?} disallowed as path element component on Windows");
        }
    }
    Ok(())
}

/// `collisionChecker` of `golang.org/x/mod/zip`.
fn check_collision(
    seen: &mut HashMap<String, (String, bool)>,
    p: &str,
    is_dir: bool,
) -> Result<()> {
    let fold = p.to_lowercase();
    if let Some((other, other_dir)) = seen.get(&fold) {
        if other != p {
            bail!("case-insensitive file name collision: {other:?} and {p:?}");
        }
        if *other_dir != is_dir {
            bail!("entry {p:?} is both a file and a directory");
        }
        if !is_dir {
            bail!("multiple entries for file {p:?}");
        }
    } else {
        seen.insert(fold, (p.to_string(), is_dir));
    }
    match p.rfind('/') {
        Some(i) => check_collision(seen, &p[..i], true),
        None => Ok(()),
    }
}

fn extract_toolchain(
    zip_path: &Path,
    prefix: &str,
    dest: &Path,
    parent: &Path,
    dest_name: &str,
) -> Result<()> {
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{dest_name}.divergo-tmp-"))
        .tempdir_in(parent)
        .with_context(|| {
            format!(
                "cannot create a temporary directory in {}",
                parent.display()
            )
        })?;
    let root = tmp.path();
    let f = fs::File::open(zip_path)?;
    let mut z = zip::ZipArchive::new(io::BufReader::new(f)).context("not a valid zip file")?;

    // Check every entry before writing anything.
    let mut entries: Vec<(usize, String, bool, u64)> = Vec::with_capacity(z.len());
    let mut seen = HashMap::new();
    let mut total: u64 = 0;
    for i in 0..z.len() {
        let e = z.by_index_raw(i)?;
        let raw = e.name_raw();
        let name = std::str::from_utf8(raw).map_err(|_| {
            anyhow!(
                "zip entry {:?}: name is not UTF-8",
                String::from_utf8_lossy(raw)
            )
        })?;
        let rel = name
            .strip_prefix(prefix)
            .ok_or_else(|| anyhow!("zip entry {name:?}: path does not have prefix {prefix:?}"))?;
        if rel.is_empty() {
            continue;
        }
        let (rel, is_dir) = match rel.strip_suffix('/') {
            Some(r) => (r, true),
            None => (rel, false),
        };
        check_file_path(rel).with_context(|| format!("zip entry {name:?} rejected"))?;
        check_collision(&mut seen, rel, is_dir).with_context(|| format!("zip entry {name:?}"))?;
        if !is_dir {
            let base = rel.rsplit('/').next().unwrap_or(rel);
            if base.eq_ignore_ascii_case("go.mod") && rel != "go.mod" {
                bail!("zip entry {name:?}: go.mod file not in module root directory");
            }
            total = total.saturating_add(e.size());
            if total > MAX_ZIP_SIZE {
                bail!("total uncompressed size of the zip is larger than {MAX_ZIP_SIZE} bytes");
            }
        }
        entries.push((i, rel.to_string(), is_dir, e.size()));
    }

    for (i, rel, is_dir, size) in entries {
        let path = root.join(&rel);
        if is_dir {
            fs::create_dir_all(&path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            continue;
        }
        if let Some(p) = path.parent() {
            fs::create_dir_all(p).with_context(|| format!("cannot create {}", p.display()))?;
        }
        let mut out = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        let mut e = z.by_index(i)?;
        let n = io::copy(&mut (&mut e).take(size + 1), &mut out)
            .with_context(|| format!("cannot extract {rel}"))?;
        if n != size {
            bail!("zip entry {rel}: {n} bytes, but the zip declares {size}");
        }
    }

    if !root.join("bin/go").is_file() {
        bail!("the zip has no bin/go: not a Go toolchain");
    }
    // As cmd/go/internal/toolchain: pkg/tool first, lib, then bin.
    allow_exec(&root.join("pkg/tool"), &|_| true)?;
    allow_exec(&root.join("lib"), &is_go_exec_wrapper)?;
    allow_exec(&root.join("bin"), &|_| true)?;
    restore_go_mod_files(root)?;
    set_mode(root, 0o755)?;
    rename_noreplace(root, dest)
        .with_context(|| format!("cannot rename {} to {}", root.display(), dest.display()))?;
    let _ = tmp.keep(); // renamed away; nothing left to remove
    Ok(())
}

/// `filepath.Match("go_?*_?*_exec", name)`.
fn is_go_exec_wrapper(name: &str) -> bool {
    let Some(mid) = name
        .strip_prefix("go_")
        .and_then(|m| m.strip_suffix("_exec"))
    else {
        return false;
    };
    let chars: Vec<char> = mid.chars().collect();
    chars
        .iter()
        .enumerate()
        .any(|(i, &c)| c == '_' && i >= 1 && i + 1 < chars.len())
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot chmod {}", path.display()))
}

/// Add the executable bits to every regular file under `dir` whose name
/// passes `pick`.
fn allow_exec(dir: &Path, pick: &dyn Fn(&str) -> bool) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let Ok(rd) = fs::read_dir(dir) else {
        return Ok(());
    };
    for e in rd {
        let e = e?;
        let path = e.path();
        let meta = fs::symlink_metadata(&path)?;
        if meta.is_dir() {
            allow_exec(&path, pick)?;
        } else if meta.is_file() && pick(&e.file_name().to_string_lossy()) {
            set_mode(&path, (meta.permissions().mode() & 0o777) | 0o111)?;
        }
    }
    Ok(())
}

/// Copy every `_go.mod` to `go.mod` beside it.
fn restore_go_mod_files(dir: &Path) -> Result<()> {
    for e in fs::read_dir(dir)? {
        let e = e?;
        let path = e.path();
        let meta = fs::symlink_metadata(&path)?;
        if meta.is_dir() {
            restore_go_mod_files(&path)?;
        } else if meta.is_file() && e.file_name() == "_go.mod" {
            let target = dir.join("go.mod");
            if target.symlink_metadata().is_err() {
                fs::copy(&path, &target)
                    .with_context(|| format!("cannot copy {} to go.mod", path.display()))?;
            }
        }
    }
    Ok(())
}

/// Rename without replacing an existing `to` (not even an empty directory).
fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::ffi::CString;
        use std::os::unix::ffi::OsStrExt;
        let f = CString::new(from.as_os_str().as_bytes())?;
        let t = CString::new(to.as_os_str().as_bytes())?;
        // SAFETY: both pointers are valid NUL-terminated strings for the call.
        let r = unsafe {
            libc::syscall(
                libc::SYS_renameat2,
                libc::AT_FDCWD,
                f.as_ptr(),
                libc::AT_FDCWD,
                t.as_ptr(),
                libc::RENAME_NOREPLACE,
            )
        };
        if r == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        if !matches!(err.raw_os_error(), Some(libc::ENOSYS) | Some(libc::EINVAL)) {
            return Err(err);
        }
    }
    if to.symlink_metadata().is_ok() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} already exists", to.display()),
        ));
    }
    fs::rename(from, to)
}

fn hex(b: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for &c in b {
        s.push(D[(c >> 4) as usize] as char);
        s.push(D[(c & 15) as usize] as char);
    }
    s
}

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

    #[test]
    fn gosumdb_values() {
        let c = parse_gosumdb("sum.golang.org").unwrap().unwrap();
        assert_eq!(c.name, "sum.golang.org");
        assert_eq!(c.verifier.key_hash, 0x033de0ae);
        assert!(c.url.is_none());
        assert!(parse_gosumdb("off").unwrap().is_none());
        let c = parse_gosumdb(&format!("{SUM_GOLANG_ORG_KEY} https://mirror.example/"))
            .unwrap()
            .unwrap();
        assert_eq!(c.url.as_deref(), Some("https://mirror.example"));
        assert!(parse_gosumdb("sum.example.com").is_err());
        // A key whose hash does not match is rejected.
        let bad = SUM_GOLANG_ORG_KEY.replace("033de0ae", "033de0af");
        assert!(parse_gosumdb(&bad).is_err());
        assert!(parse_gosumdb("a b c").is_err());
    }

    #[test]
    fn tile_paths() {
        // From golang.org/x/mod/sumdb/tlog tile_test.go / Tile.Path docs.
        assert_eq!(tile_path(0, 1234067, 256), "tile/8/0/x001/x234/067");
        assert_eq!(tile_path(0, 1234067, 1), "tile/8/0/x001/x234/067.p/1");
        assert_eq!(tile_path(3, 0, 256), "tile/8/3/000");
        assert_eq!(tile_path(1, 999, 17), "tile/8/1/999.p/17");
        assert_eq!(tile_path(1, 1000, 256), "tile/8/1/x001/000");
    }

    /// RFC 6962 MTH, straight from the definition.
    fn mth(leaves: &[Hash]) -> Hash {
        if leaves.len() == 1 {
            return leaves[0];
        }
        let mut k = 1;
        while k * 2 < leaves.len() {
            k *= 2;
        }
        node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
    }

    /// A tile server for a tree of `n` records, built level by level.
    fn tiles_for(leaves: &[Hash]) -> HashMap<String, Vec<u8>> {
        let mut levels = vec![leaves.to_vec()];
        while levels.last().unwrap().len() > 1 {
            let prev = levels.last().unwrap();
            let next: Vec<Hash> = prev
                .chunks_exact(2)
                .map(|c| node_hash(&c[0], &c[1]))
                .collect();
            levels.push(next);
        }
        let mut tiles = HashMap::new();
        for t in 0..8u32 {
            let Some(lv) = levels.get((8 * t) as usize) else {
                break;
            };
            for (k, chunk) in lv.chunks(256).enumerate() {
                let data: Vec<u8> = chunk.iter().flatten().copied().collect();
                if chunk.len() == 256 {
                    // Complete tiles are served only complete, to exercise
                    // the fallback from a partial tile to the full one.
                    tiles.insert(tile_path(t, k as u64, 256), data);
                } else {
                    for w in 1..=chunk.len() {
                        tiles.insert(tile_path(t, k as u64, w as u64), data[..w * 32].to_vec());
                    }
                }
            }
        }
        tiles
    }

    #[test]
    fn inclusion_proof_from_tiles() {
        for n in [1u64, 2, 3, 255, 256, 257, 1000, 65536, 65537] {
            let leaves: Vec<Hash> = (0..n)
                .map(|i| record_hash(format!("rec {i}\n").as_bytes()))
                .collect();
            let root = mth(&leaves);
            let tiles = tiles_for(&leaves);
            let mut read = |p: &str| {
                tiles.get(p).cloned().ok_or_else(|| HttpError::Status {
                    url: p.to_string(),
                    code: 404,
                    text: "Not Found".into(),
                    body: String::new(),
                })
            };
            let mut th = TileHashes {
                tree_size: n,
                read: &mut read,
                cache: HashMap::new(),
            };
            for id in [0, n / 3, n / 2, n - 1] {
                let leaf = record_hash(format!("rec {id}\n").as_bytes());
                assert_eq!(
                    th.root_with_record(id, &leaf).ok(),
                    Some(root),
                    "n={n} id={id}"
                );
                let wrong = record_hash(format!("rec {id}x\n").as_bytes());
                assert_ne!(
                    th.root_with_record(id, &wrong).ok(),
                    Some(root),
                    "n={n} id={id}"
                );
                if id + 1 < n {
                    // The right record at the wrong index does not verify.
                    assert_ne!(th.root_with_record(id + 1, &leaf).ok(), Some(root));
                }
            }
            assert!(th.root_with_record(n, &leaves[0]).is_err());
        }
    }

    #[test]
    fn partial_tile_falls_back_to_full_tile() {
        let leaves: Vec<Hash> = (0..600u64).map(|i| record_hash(&i.to_be_bytes())).collect();
        let tiles = tiles_for(&leaves);
        // A tree of 300 records, served by a database that has grown to 600:
        // tile 0/1 is only available complete (width 256).
        let root = mth(&leaves[..300]);
        let mut read = |p: &str| {
            tiles.get(p).cloned().ok_or_else(|| HttpError::Status {
                url: p.to_string(),
                code: 404,
                text: "Not Found".into(),
                body: String::new(),
            })
        };
        let mut th = TileHashes {
            tree_size: 300,
            read: &mut read,
            cache: HashMap::new(),
        };
        assert_eq!(th.root_with_record(299, &leaves[299]).ok(), Some(root));
        assert_eq!(th.root_with_record(3, &leaves[3]).ok(), Some(root));
    }

    #[test]
    fn notes_and_records() {
        use ed25519_dalek::{Signer, SigningKey};
        let sk = SigningKey::from_bytes(&[7u8; 32]);
        let mut pk = vec![1u8];
        pk.extend_from_slice(sk.verifying_key().as_bytes());
        let name = "test.example/db";
        let kh = note_key_hash(name, &pk);
        let vkey = format!("{name}+{kh:08x}+{}", B64.encode(&pk));
        let v = NoteVerifier::parse(&vkey).unwrap();
        let text = "go.sum database tree\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
        let sign = |t: &str| {
            let mut s = kh.to_be_bytes().to_vec();
            s.extend_from_slice(&sk.sign(t.as_bytes()).to_bytes());
            B64.encode(s)
        };
        let note = format!(
            "{text}\n— other.example AAAAAAAAAA==\n— {name} {}\n",
            sign(text)
        );
        assert_eq!(open_note(note.as_bytes(), &v).unwrap(), text);
        let (n, h) = parse_tree(text).unwrap();
        assert_eq!((n, h), (5, [0u8; 32]));
        // Signature over different text.
        let forged = format!("{}\n— {name} {}\n", text.replace('5', "6"), sign(text));
        assert!(open_note(forged.as_bytes(), &v).is_err());
        // No signature by our key.
        let unsigned = format!("{text}\n— other.example AAAAAAAAAA==\n");
        assert!(open_note(unsigned.as_bytes(), &v).is_err());

        let rec = b"42\nm v1 h1:x\nm v1/go.mod h1:y\n\nrest";
        let (id, t, rest) = parse_record(rec).unwrap();
        assert_eq!(
            (id, t, rest),
            (42, &b"m v1 h1:x\nm v1/go.mod h1:y\n"[..], &b"rest"[..])
        );
        assert!(parse_record(b"x\na\n\n").is_err());
    }

    #[test]
    fn file_paths() {
        for ok in [
            "bin/go",
            "pkg/tool/linux_amd64/compile",
            "src/a b/c.go",
            "lib/time/zoneinfo.zip",
        ] {
            check_file_path(ok).unwrap();
        }
        for bad in [
            "../x",
            "a/../b",
            "/etc/passwd",
            "a//b",
            "a/./b",
            "a\\b",
            "a/b.",
            "con.txt",
            "a:b",
            "a\nb",
        ] {
            assert!(check_file_path(bad).is_err(), "{bad}");
        }
        let mut seen = HashMap::new();
        check_collision(&mut seen, "a/b", false).unwrap();
        check_collision(&mut seen, "a", true).unwrap();
        assert!(check_collision(&mut seen, "A/c", false).is_err());
        assert!(check_collision(&mut seen, "a/b", false).is_err());
        assert!(check_collision(&mut seen, "a", false).is_err());
        assert!(is_go_exec_wrapper("go_js_wasm_exec"));
        assert!(!is_go_exec_wrapper("go_ios_exec"));
        assert!(!is_go_exec_wrapper("go__x_exec"));
    }
}

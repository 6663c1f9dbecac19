//! HTTP for toolchain fetching: connect/read timeouts, the system's root
//! certificates found the way Go's `crypto/x509` finds them (`SSL_CERT_FILE`,
//! `SSL_CERT_DIR`, the usual bundle files), `HTTPS_PROXY`/`HTTP_PROXY` and
//! `NO_PROXY` like Go's `net/http` (loopback never goes through a proxy),
//! errors sorted into "try the next proxy" and "stop", and streamed
//! downloads to a temporary file.

use super::proxy::*;
use anyhow::{anyhow, Context, Result};
use std::fmt;
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug)]
pub(crate) enum HttpError {
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
    pub(crate) fn is_not_found(&self) -> bool {
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
    pub(crate) fn is_unavailable(&self) -> bool {
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

pub(crate) struct Http {
    direct: ureq::Agent,
    https_proxy: Option<ureq::Agent>,
    http_proxy: Option<ureq::Agent>,
    no_proxy: Vec<String>,
}

pub(crate) fn env_first(names: &[&str]) -> Option<String> {
    names
        .iter()
        .filter_map(|n| std::env::var(n).ok())
        .find(|v| !v.trim().is_empty())
}

pub(crate) fn build_agent(
    tls: &Arc<rustls::ClientConfig>,
    proxy: Option<ureq::Proxy>,
) -> ureq::Agent {
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

/// Trusted roots as Go's `crypto/x509` finds them on Unix (`$SSL_CERT_FILE`
/// or the usual bundle files, plus `$SSL_CERT_DIR`), read by
/// `rustls-native-certs`. Without any, the Mozilla roots of `webpki-roots`.
pub(crate) fn system_roots() -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    if roots.is_empty() {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    roots
}

pub(crate) fn tls_config() -> Result<Arc<rustls::ClientConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS setup")?
        .with_root_certificates(system_roots())
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}

/// The host part of an http(s) URL, lowercased, without port or brackets.
pub(crate) fn url_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let auth = rest.split(['/', '?', '#']).next().unwrap_or("");
    let auth = auth.rsplit_once('@').map_or(auth, |(_, h)| h);
    if let Some(v6) = auth.strip_prefix('[') {
        return v6.split(']').next().unwrap_or("");
    }
    auth.split(':').next().unwrap_or("")
}

impl Http {
    pub(crate) fn from_env() -> Result<Http> {
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

    pub(crate) fn agent(&self, url: &str) -> &ureq::Agent {
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

    pub(crate) fn get(
        &self,
        url: &str,
        timeout: Option<Duration>,
    ) -> Result<ureq::Response, HttpError> {
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
    pub(crate) fn get_small(&self, url: &str) -> Result<Vec<u8>, HttpError> {
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

pub(crate) fn transport_message(t: &ureq::Transport) -> String {
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
pub(crate) fn download_to_temp(
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

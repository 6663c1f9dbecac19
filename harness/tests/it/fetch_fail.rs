//! Failure paths of `fetch_toolchain`, with a fake module proxy on 127.0.0.1
//! that serves small fake toolchain zips.
//!
//! The checksum database tests (`*_real_sumdb`) forward the fake proxy's
//! `/sumdb/sum.golang.org/…` requests to the real proxy.golang.org, so the
//! record, the signed tree head and the tiles are the real ones (optionally
//! tampered with on the way); they need network access. The others are
//! offline.

use divergo::toolchain::proxy::{self, FetchRequest, SumdbCheck};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use zip::write::SimpleFileOptions;

const VERSION: &str = "go1.23.11";
const MODULE_VERSION: &str = "v0.0.1-go1.23.11.linux-amd64";
/// What sum.golang.org records for the real go1.23.11 linux/amd64 zip.
const REAL_H1: &str = "h1:Q2CufDcktTFqsd86pJvHs/DcPFMM40JMHbhzXCNAAak=";
const ZIP_PATH: &str = "/golang.org/toolchain/@v/v0.0.1-go1.23.11.linux-amd64.zip";

// ---------------------------------------------------------------------------
// A tiny HTTP/1.1 server

struct Resp {
    code: u16,
    body: Vec<u8>,
    /// Content-Length to announce, if not the body's length.
    claimed_len: Option<usize>,
}

fn resp(code: u16, body: impl Into<Vec<u8>>) -> Resp {
    Resp {
        code,
        body: body.into(),
        claimed_len: None,
    }
}

struct Fake {
    base: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl Fake {
    fn requests(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

fn fake(route: impl Fn(&str) -> Resp + Send + Sync + 'static) -> Fake {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let log = Arc::new(Mutex::new(Vec::new()));
    let route = Arc::new(route);
    let log2 = log.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let (route, log) = (route.clone(), log2.clone());
            std::thread::spawn(move || handle(stream, &*route, &log));
        }
    });
    Fake { base, log }
}

fn handle(mut s: TcpStream, route: &dyn Fn(&str) -> Resp, log: &Mutex<Vec<String>>) {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 65536 {
        match s.read(&mut b) {
            Ok(1) => head.push(b[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head);
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
    log.lock().unwrap().push(path.clone());
    let r = route(&path);
    let len = r.claimed_len.unwrap_or(r.body.len());
    let _ = write!(
        s,
        "HTTP/1.1 {} X\r\nContent-Length: {len}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
        r.code
    );
    let _ = s.write_all(&r.body);
}

/// GET https://proxy.golang.org<path>, trusting the system roots.
fn real_proxy_get(path: &str) -> Resp {
    static AGENT: OnceLock<ureq::Agent> = OnceLock::new();
    let agent = AGENT.get_or_init(|| {
        use rustls_pki_types::pem::PemObject;
        let file = std::env::var("SSL_CERT_FILE")
            .unwrap_or_else(|_| "/etc/ssl/certs/ca-certificates.crt".into());
        let mut roots = rustls::RootCertStore::empty();
        roots.add_parsable_certificates(
            rustls_pki_types::CertificateDer::pem_file_iter(file)
                .unwrap()
                .flatten(),
        );
        let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        ureq::AgentBuilder::new()
            .tls_config(Arc::new(cfg))
            .timeout(std::time::Duration::from_secs(60))
            .build()
    });
    match agent.get(&format!("https://proxy.golang.org{path}")).call() {
        Ok(r) => {
            let mut body = Vec::new();
            r.into_reader().read_to_end(&mut body).unwrap();
            resp(200, body)
        }
        Err(ureq::Error::Status(code, r)) => resp(code, r.into_string().unwrap_or_default()),
        Err(e) => resp(502, e.to_string()),
    }
}

// ---------------------------------------------------------------------------
// Fake toolchain zips

/// A zip laid out like a toolchain module zip; `names` are relative to the
/// module prefix unless they start with `!`, which is stripped and the name
/// used as is.
fn zip_bytes(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let prefix = format!("golang.org/toolchain@{MODULE_VERSION}/");
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default();
    for (name, content) in entries {
        let full = match name.strip_prefix('!') {
            Some(raw) => raw.to_string(),
            None => format!("{prefix}{name}"),
        };
        z.start_file(full, opts).unwrap();
        z.write_all(content).unwrap();
    }
    z.finish().unwrap().into_inner()
}

const FAKE_GO: &[u8] = b"#!/bin/sh\necho 'go version go1.23.11 linux/amd64'\n";

fn fake_toolchain() -> Vec<u8> {
    zip_bytes(&[
        ("bin/go", FAKE_GO),
        ("bin/gofmt", b"#!/bin/sh\n"),
        ("pkg/tool/linux_amd64/compile", b"#!/bin/sh\n"),
        ("lib/wasm/go_js_wasm_exec", b"#!/bin/sh\n"),
        ("lib/wasm/wasm_exec.js", b"// js\n"),
        ("src/_go.mod", b"module std\n"),
        ("src/cmd/_go.mod", b"module cmd\n"),
        ("src/fmt/print.go", b"package fmt\n"),
        ("VERSION", b"go1.23.11\n"),
    ])
}

fn h1_of_bytes(zip: &[u8]) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("z.zip");
    std::fs::write(&p, zip).unwrap();
    divergo::toolchain::modzip::h1_of_zip(&p).unwrap()
}

/// A proxy serving `zip` for go1.23.11 and forwarding the checksum database
/// to proxy.golang.org through `tamper`.
fn proxy_with_real_sumdb(
    zip: Vec<u8>,
    tamper: impl Fn(&str, Vec<u8>) -> Vec<u8> + Send + Sync + 'static,
) -> Fake {
    fake(move |path| {
        if path == ZIP_PATH {
            resp(200, zip.clone())
        } else if path.starts_with("/sumdb/sum.golang.org/") {
            let mut r = real_proxy_get(path);
            if r.code == 200 {
                r.body = tamper(path, r.body);
            }
            r
        } else {
            resp(404, "not found")
        }
    })
}

fn request(parent: &Path, goproxy: &str, gosumdb: &str) -> FetchRequest {
    FetchRequest {
        go_version: VERSION.into(),
        goos: "linux".into(),
        goarch: "amd64".into(),
        dest: parent.join("goroot"),
        goproxy: goproxy.into(),
        gosumdb: gosumdb.into(),
    }
}

fn fetch(req: &FetchRequest) -> anyhow::Result<proxy::FetchReport> {
    proxy::fetch_toolchain(req, &mut |_, _| {})
}

/// Nothing at dest and no temporary files beside it.
fn assert_nothing_left(parent: &Path) {
    let left: Vec<PathBuf> = std::fs::read_dir(parent)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

fn err_text(r: anyhow::Result<proxy::FetchReport>) -> String {
    let msg = format!("{:#}", r.expect_err("fetch should fail"));
    eprintln!("error: {msg}");
    msg
}

// ---------------------------------------------------------------------------
// Checksum database (real data through the fake proxy)

#[test]
fn tampered_zip_is_rejected_real_sumdb() {
    let zip = fake_toolchain();
    let zip_h1 = h1_of_bytes(&zip);
    let p = proxy_with_real_sumdb(zip, |_, b| b);
    let tmp = tempfile::tempdir().unwrap();
    let msg = err_text(fetch(&request(tmp.path(), &p.base, "sum.golang.org")));
    assert!(msg.contains("SECURITY ERROR"), "{msg}");
    assert!(msg.contains(REAL_H1), "{msg}");
    assert!(msg.contains(&zip_h1), "{msg}");
    assert_nothing_left(tmp.path());
    // The database was asked through the proxy, and tiles were read.
    let reqs = p.requests();
    assert!(
        reqs.iter().any(|r| r == "/sumdb/sum.golang.org/supported"),
        "{reqs:?}"
    );
    assert!(
        reqs.iter()
            .any(|r| r.starts_with("/sumdb/sum.golang.org/lookup/golang.org/toolchain@")),
        "{reqs:?}"
    );
    assert!(
        reqs.iter()
            .any(|r| r.starts_with("/sumdb/sum.golang.org/tile/8/0/")),
        "{reqs:?}"
    );
    assert!(
        reqs.iter()
            .any(|r| r.starts_with("/sumdb/sum.golang.org/tile/8/2/")),
        "{reqs:?}"
    );
}

#[test]
fn tampered_record_fails_inclusion_proof_real_sumdb() {
    // The record is changed to agree with the fake zip; the signed tree head
    // is untouched. Only the inclusion proof can catch this.
    let zip = fake_toolchain();
    let zip_h1 = h1_of_bytes(&zip);
    let h1 = zip_h1.clone();
    let p = proxy_with_real_sumdb(zip, move |path, body| {
        if path.contains("/lookup/") {
            let s = String::from_utf8(body).unwrap();
            assert!(s.contains(REAL_H1), "unexpected record: {s}");
            s.replace(REAL_H1, &h1).into_bytes()
        } else {
            body
        }
    });
    let tmp = tempfile::tempdir().unwrap();
    let msg = err_text(fetch(&request(tmp.path(), &p.base, "sum.golang.org")));
    assert!(msg.contains("cannot authenticate record"), "{msg}");
    assert!(!msg.contains("SECURITY ERROR"), "{msg}");
    assert_nothing_left(tmp.path());
}

#[test]
fn tampered_tiles_fail_inclusion_proof_real_sumdb() {
    let p = proxy_with_real_sumdb(fake_toolchain(), |path, mut body| {
        if path.contains("/tile/") && !body.is_empty() {
            let n = body.len();
            body[n - 1] ^= 1;
        }
        body
    });
    let tmp = tempfile::tempdir().unwrap();
    let msg = err_text(fetch(&request(tmp.path(), &p.base, "sum.golang.org")));
    assert!(msg.contains("cannot authenticate record"), "{msg}");
    assert_nothing_left(tmp.path());
}

#[test]
fn tampered_tree_head_fails_signature_real_sumdb() {
    let p = proxy_with_real_sumdb(fake_toolchain(), |path, body| {
        if !path.contains("/lookup/") {
            return body;
        }
        // Claim a tree one record larger than the one signed.
        let s = String::from_utf8(body).unwrap();
        let (head, rest) = s.split_once("go.sum database tree\n").unwrap();
        let (n, tail) = rest.split_once('\n').unwrap();
        let n: u64 = n.parse().unwrap();
        format!("{head}go.sum database tree\n{}\n{tail}", n + 1).into_bytes()
    });
    let tmp = tempfile::tempdir().unwrap();
    let msg = err_text(fetch(&request(tmp.path(), &p.base, "sum.golang.org")));
    assert!(msg.contains("invalid signature"), "{msg}");
    assert_nothing_left(tmp.path());
}

/// `name+hash+key` for a made-up ed25519 key.
fn other_key(name: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    let sk = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
    let mut pk = vec![1u8];
    pk.extend_from_slice(sk.verifying_key().as_bytes());
    let mut h = sha2::Sha256::new();
    h.update(format!("{name}\n"));
    h.update(&pk);
    let sum = h.finalize();
    format!(
        "{name}+{:08x}+{}",
        u32::from_be_bytes([sum[0], sum[1], sum[2], sum[3]]),
        base64::engine::general_purpose::STANDARD.encode(pk)
    )
}

#[test]
fn wrong_database_key_is_rejected_real_sumdb() {
    let p = proxy_with_real_sumdb(fake_toolchain(), |_, b| b);
    let tmp = tempfile::tempdir().unwrap();
    let msg = err_text(fetch(&request(
        tmp.path(),
        &p.base,
        &other_key("sum.golang.org"),
    )));
    assert!(
        msg.contains("no signature by the checksum database key"),
        "{msg}"
    );
    assert_nothing_left(tmp.path());
}

// ---------------------------------------------------------------------------
// Offline

fn serving(zip: Vec<u8>) -> Fake {
    fake(move |path| {
        if path == ZIP_PATH {
            resp(200, zip.clone())
        } else {
            resp(404, "not found")
        }
    })
}

fn closed_port_url() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}")
}

#[test]
fn unreachable_sumdb_is_reported_and_install_proceeds() {
    let p = serving(fake_toolchain());
    let tmp = tempfile::tempdir().unwrap();
    let gosumdb = format!("{} {}", proxy::SUM_GOLANG_ORG_KEY, closed_port_url());
    let req = request(tmp.path(), &p.base, &gosumdb);
    let report = fetch(&req).unwrap();
    match &report.sumdb {
        SumdbCheck::Unreachable(why) => assert!(why.contains("127.0.0.1"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert!(req.dest.join("bin/go").is_file());

    // A proxy whose sumdb endpoint fails with 5xx: the database is
    // unavailable (as the go command treats it), not a verification failure.
    let zip = fake_toolchain();
    let p = fake(move |path| match path {
        ZIP_PATH => resp(200, zip.clone()),
        "/sumdb/sum.golang.org/supported" => resp(502, "bad gateway"),
        _ => resp(404, "not found"),
    });
    let tmp = tempfile::tempdir().unwrap();
    let report = fetch(&request(tmp.path(), &p.base, "sum.golang.org")).unwrap();
    assert!(
        matches!(report.sumdb, SumdbCheck::Unreachable(ref w) if w.contains("502")),
        "{:?}",
        report.sumdb
    );
}

#[test]
fn gosumdb_off_installs_with_exec_bits_and_go_mod() {
    let zip = fake_toolchain();
    let zip_h1 = h1_of_bytes(&zip);
    let zip_len = zip.len() as u64;
    let p = serving(zip);
    let tmp = tempfile::tempdir().unwrap();
    let req = request(tmp.path(), &p.base, "off");
    let mut seen = Vec::new();
    let report = proxy::fetch_toolchain(&req, &mut |d, t| seen.push((d, t))).unwrap();
    assert_eq!(report.sumdb, SumdbCheck::Off);
    assert_eq!(report.h1, zip_h1);
    assert_eq!(report.bytes, zip_len);
    assert_eq!(report.proxy, p.base);
    assert_eq!(report.module_version, MODULE_VERSION);
    assert_eq!(seen.first(), Some(&(0, Some(zip_len))));
    assert_eq!(seen.last(), Some(&(zip_len, Some(zip_len))));

    let d = &req.dest;
    let mode = |p: &str| std::fs::metadata(d.join(p)).unwrap().permissions().mode() & 0o777;
    for x in [
        "bin/go",
        "bin/gofmt",
        "pkg/tool/linux_amd64/compile",
        "lib/wasm/go_js_wasm_exec",
    ] {
        assert_eq!(mode(x) & 0o111, 0o111, "{x}: {:o}", mode(x));
    }
    for nx in ["lib/wasm/wasm_exec.js", "src/fmt/print.go", "VERSION"] {
        assert_eq!(mode(nx) & 0o111, 0, "{nx}: {:o}", mode(nx));
    }
    assert_eq!(
        std::fs::read(d.join("src/go.mod")).unwrap(),
        b"module std\n"
    );
    assert_eq!(
        std::fs::read(d.join("src/cmd/go.mod")).unwrap(),
        b"module cmd\n"
    );
    let out = std::process::Command::new(d.join("bin/go"))
        .arg("version")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "go version go1.23.11 linux/amd64"
    );
    // Only dest is left in the parent.
    let names: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("goroot")]);
}

#[test]
fn missing_version_is_a_clear_error() {
    let p = fake(|_| resp(404, "not found: no such toolchain"));
    let tmp = tempfile::tempdir().unwrap();
    let msg = err_text(fetch(&request(
        tmp.path(),
        &format!("{},direct", p.base),
        "off",
    )));
    assert!(msg.contains(&format!("{}{ZIP_PATH}", p.base)), "{msg}");
    assert!(msg.contains("404"), "{msg}");
    assert!(msg.contains("not on the proxy"), "{msg}");
    assert!(msg.contains("GOPROXY=direct"), "{msg}");
    assert_nothing_left(tmp.path());

    // proxy.golang.org's answer for toolchains that do not exist.
    let p = fake(|_| resp(403, "This module version is not available."));
    let msg = err_text(fetch(&request(tmp.path(), &p.base, "off")));
    assert!(
        msg.contains("403") && msg.contains("not on the proxy"),
        "{msg}"
    );
    assert_nothing_left(tmp.path());

    // Installing it into a registry leaves no trace there either.
    let home = tempfile::tempdir().unwrap();
    let cfg = divergo::toolchain::registry::ProxyConfig {
        goproxy: p.base.clone(),
        gosumdb: "off".into(),
    };
    let r = divergo::toolchain::registry::install_from_proxy(
        home.path(),
        "go1.23.99",
        &cfg,
        &mut |_, _| {},
    );
    assert!(r.is_err());
    assert!(
        !home.path().join("toolchains/go1.23.99").exists(),
        "a failed install left its dir"
    );

    // A language version is not a toolchain version.
    let mut req = request(tmp.path(), &p.base, "off");
    req.go_version = "go1.25".into();
    let msg = err_text(fetch(&req));
    assert!(msg.contains("language version"), "{msg}");
}

#[test]
fn goproxy_list_semantics() {
    let good = serving(fake_toolchain());
    let missing = fake(|_| resp(404, "not found"));
    let broken = fake(|_| resp(500, "internal error"));
    let tmp = tempfile::tempdir().unwrap();

    // "," moves on after 404 ...
    let r = fetch(&request(
        tmp.path(),
        &format!("{},{}", missing.base, good.base),
        "off",
    ))
    .unwrap();
    assert_eq!(r.proxy, good.base);
    std::fs::remove_dir_all(tmp.path().join("goroot")).unwrap();

    // ... but not after other errors.
    let before = good.requests().len();
    let msg = err_text(fetch(&request(
        tmp.path(),
        &format!("{},{}", broken.base, good.base),
        "off",
    )));
    assert!(msg.contains("500"), "{msg}");
    assert_eq!(
        good.requests().len(),
        before,
        "the second proxy must not be asked"
    );
    assert_nothing_left(tmp.path());

    // "|" moves on after any error.
    let r = fetch(&request(
        tmp.path(),
        &format!("{}|{}", broken.base, good.base),
        "off",
    ))
    .unwrap();
    assert_eq!(r.proxy, good.base);
}

#[test]
fn off_and_direct_cannot_serve_toolchains() {
    let tmp = tempfile::tempdir().unwrap();
    let msg = err_text(fetch(&request(tmp.path(), "off", "off")));
    assert!(msg.contains("GOPROXY=off"), "{msg}");
    let msg = err_text(fetch(&request(tmp.path(), "direct", "off")));
    assert!(msg.contains("GOPROXY=direct"), "{msg}");
    assert_nothing_left(tmp.path());
}

#[test]
fn dotdot_and_foreign_entries_are_rejected() {
    let outside = tempfile::tempdir().unwrap();
    let parent = outside.path().join("p");
    std::fs::create_dir(&parent).unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("../", zip_bytes(&[("bin/go", FAKE_GO), ("../evil", b"x")])),
        (
            "bin/../../",
            zip_bytes(&[("bin/go", FAKE_GO), ("bin/../../evil", b"x")]),
        ),
        (
            "absolute",
            zip_bytes(&[("bin/go", FAKE_GO), ("!/tmp/evil", b"x")]),
        ),
        (
            "outside prefix",
            zip_bytes(&[("bin/go", FAKE_GO), ("!evil", b"x")]),
        ),
        (
            "case collision",
            zip_bytes(&[("bin/go", FAKE_GO), ("bin/Go", b"x")]),
        ),
        (
            "nested go.mod",
            zip_bytes(&[("bin/go", FAKE_GO), ("src/go.mod", b"x")]),
        ),
        ("no bin/go", zip_bytes(&[("bin/gofmt", b"x")])),
    ];
    for (what, zip) in cases {
        let p = serving(zip);
        let msg = err_text(fetch(&request(&parent, &p.base, "off")));
        assert!(
            msg.contains("rejected")
                || msg.contains("prefix")
                || msg.contains("collision")
                || msg.contains("go.mod")
                || msg.contains("no bin/go"),
            "{what}: {msg}"
        );
        assert_nothing_left(&parent);
        let names: Vec<_> = std::fs::read_dir(outside.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("p")], "{what}");
    }
    assert!(!Path::new("/tmp/evil").exists());
}

#[test]
fn truncated_download_is_an_error() {
    let zip = fake_toolchain();
    let p = fake(move |path| {
        if path == ZIP_PATH {
            Resp {
                code: 200,
                body: zip[..zip.len() / 2].to_vec(),
                claimed_len: Some(zip.len()),
            }
        } else {
            resp(404, "")
        }
    });
    let tmp = tempfile::tempdir().unwrap();
    let msg = err_text(fetch(&request(tmp.path(), &p.base, "off")));
    assert!(msg.contains(ZIP_PATH), "{msg}");
    assert_nothing_left(tmp.path());
}

#[test]
fn existing_dest_is_refused_before_any_request() {
    let p = serving(fake_toolchain());
    let tmp = tempfile::tempdir().unwrap();
    let req = request(tmp.path(), &p.base, "off");
    std::fs::create_dir(&req.dest).unwrap();
    let msg = err_text(fetch(&req));
    assert!(msg.contains("already exists"), "{msg}");
    assert!(p.requests().is_empty());
    assert!(std::fs::read_dir(&req.dest).unwrap().next().is_none());
}

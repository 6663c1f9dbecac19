//! Real downloads from the Go module proxy, verified against the real
//! checksum database (sum.golang.org, reached through the proxy).
//!
//! One toolchain download per run: go1.25.0 for the host (linux/amd64: ~64 MB,
//! the smallest recent release). Needs network access to proxy.golang.org.

use divergo::toolchain::proxy::{self, FetchRequest, SumdbCheck};
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::Instant;

const PROXY: &str = "https://proxy.golang.org,direct";

fn host_goarch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "riscv64" => "riscv64",
        "powerpc64" => "ppc64le",
        "s390x" => "s390x",
        other => panic!("no Go toolchain for host arch {other}"),
    }
}

#[test]
#[cfg(target_os = "linux")]
fn fetch_real_toolchain_into_goroot() {
    let version = "go1.25.0";
    let goarch = host_goarch();
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("goroot");
    let req = FetchRequest {
        go_version: version.into(),
        goos: "linux".into(),
        goarch: goarch.into(),
        dest: dest.clone(),
        goproxy: PROXY.into(),
        gosumdb: "sum.golang.org".into(),
    };
    let mut calls = 0u32;
    let mut last = (0u64, None);
    let start = Instant::now();
    let report = proxy::fetch_toolchain(&req, &mut |done, total| {
        calls += 1;
        assert!(done >= last.0, "progress went backwards");
        last = (done, total);
    })
    .expect("fetch go1.25.0");
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "fetched {} ({} bytes) in {secs:.1}s: {} sumdb={:?}",
        report.module_version, report.bytes, report.h1, report.sumdb
    );

    assert_eq!(
        report.module_version,
        format!("v0.0.1-go1.25.0.linux-{goarch}")
    );
    assert!(
        matches!(report.sumdb, SumdbCheck::Verified { tree_size } if tree_size > 40_000_000),
        "{:?}",
        report.sumdb
    );
    assert!(
        report.h1.starts_with("h1:") && report.h1.len() == 47,
        "{}",
        report.h1
    );
    assert!(report.bytes > 50_000_000, "{}", report.bytes);
    assert!(calls > 10, "only {calls} progress calls");
    assert_eq!(last, (report.bytes, Some(report.bytes)));

    // A usable GOROOT, with the modes module zips do not keep.
    let go = dest.join("bin/go");
    let mode = std::fs::metadata(&go).unwrap().permissions().mode();
    assert!(mode & 0o111 == 0o111, "bin/go mode {mode:o}");
    let compile = dest.join(format!("pkg/tool/linux_{goarch}/compile"));
    let mode = std::fs::metadata(&compile).unwrap().permissions().mode();
    assert!(mode & 0o111 == 0o111, "compile mode {mode:o}");
    assert!(
        dest.join("src/go.mod").is_file(),
        "src/_go.mod not copied to go.mod"
    );
    let out = Command::new(&go)
        .arg("version")
        .env_clear()
        .env("GOROOT", &dest)
        .env("GOTOOLCHAIN", "local")
        .env("GOENV", "off")
        .env("HOME", tmp.path())
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout.trim(),
        format!("go version {version} linux/{goarch}")
    );

    // It can build and run a program (exercises pkg/tool and src/go.mod).
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(
        work.join("main.go"),
        "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hello from\", 6*7) }\n",
    )
    .unwrap();
    let out = Command::new(&go)
        .args(["run", "main.go"])
        .current_dir(&work)
        .env_clear()
        .env("GOROOT", &dest)
        .env("GOTOOLCHAIN", "local")
        .env("GOENV", "off")
        .env("GOCACHE", tmp.path().join("gocache"))
        .env("HOME", tmp.path())
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "hello from 42\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Nothing but dest is left beside it (temp zip and temp dir are gone).
    let names: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "work" && n != "gocache" && n != ".config")
        .collect();
    assert_eq!(names, vec!["goroot".to_string()]);

    // dest exists now: a second fetch is refused before downloading.
    let err = proxy::fetch_toolchain(&req, &mut |_, _| {}).unwrap_err();
    assert!(format!("{err:#}").contains("already exists"), "{err:#}");
}

#[test]
fn list_real_toolchain_versions() {
    let v = proxy::list_toolchain_versions(PROXY, "linux", "amd64").unwrap();
    assert!(v.len() > 100, "{v:?}");
    assert!(v.iter().any(|x| x.starts_with("go1.23.")), "{v:?}");
    assert!(v.iter().any(|x| x.starts_with("go1.25.")), "{v:?}");
    for w in v.windows(2) {
        assert_eq!(
            divergo::toolchain::version::go_version_cmp(&w[0], &w[1]),
            std::cmp::Ordering::Less,
            "{} !< {}",
            w[0],
            w[1]
        );
    }
    // Version order, not string order.
    let i9 = v.iter().position(|x| x == "go1.9").unwrap();
    let i10 = v.iter().position(|x| x == "go1.10").unwrap();
    assert!(i9 < i10);
    // Other platforms have their own lists.
    let arm = proxy::list_toolchain_versions(PROXY, "linux", "arm64").unwrap();
    assert!(arm.iter().any(|x| x.starts_with("go1.25.")));
    assert_ne!(arm, v);

    // The proxy's list is not complete: go1.23.11 is missing from it (as of
    // this writing), yet the proxy serves it. Availability of one version is
    // asked directly.
    if !v.iter().any(|x| x == "go1.23.11") {
        eprintln!("note: go1.23.11 is not in the proxy's @v/list");
    }
    assert!(proxy::toolchain_available(PROXY, "linux", "amd64", "go1.23.11").unwrap());
    assert!(proxy::toolchain_available(PROXY, "linux", "amd64", "go1.25.0").unwrap());
    assert!(!proxy::toolchain_available(PROXY, "linux", "amd64", "go1.23.99").unwrap());
}

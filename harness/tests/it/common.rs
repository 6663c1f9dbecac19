//! Helpers shared by the integration tests. They drive the real `divergo`
//! binary against real toolchains (installed by scripts/setup.sh into
//! $DIVERGO_HOME) and real qemu.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn divergo_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_divergo"))
}

pub fn divergo() -> Command {
    let mut c = Command::new(divergo_bin());
    c.env_remove("DIVERGO_QEMU_AARCH64");
    // The tests written before the unoptimised reference cells name their
    // matrix exactly; the tests of that axis ask for it (--opt-axis).
    c.env("DIVERGO_OPT_AXIS", "off");
    // Findings are reduced only where a test asks (--reduce-budget): a
    // reduction of every wrong-output finding would cost each test minutes.
    c.env("DIVERGO_REDUCE_BUDGET", "0");
    // No findings history and no config file unless a test asks: a finding
    // one test (or an earlier run of the suite) recorded would make the next
    // run of it "seen before" and exit 0.
    c.env("DIVERGO_HISTORY", "off");
    c.env("DIVERGO_CONFIG", "none");
    c
}

pub fn home() -> PathBuf {
    divergo::toolchain::registry::home()
}

/// The installed toolchain `name` (`go1.25` = newest go1.25.x), or a panic
/// that says how to install it. Tests never pass silently without it.
pub fn toolchain(name: &str) -> divergo::toolchain::registry::Toolchain {
    divergo::toolchain::registry::find(&home(), name).unwrap_or_else(|| {
        panic!(
            "toolchain {name} is not installed under {}: run scripts/setup.sh (or `divergo toolchains install {name}`)",
            home().display()
        )
    })
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub fn corpus_dir() -> PathBuf {
    repo_root().join("go-corpus")
}

pub fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Read results.jsonl of a results dir.
pub fn records(dir: &Path) -> Vec<divergo::engine::results::Record> {
    let (recs, partial) = divergo::engine::results::read(dir).expect("results.jsonl readable");
    assert!(!partial, "results.jsonl ends with a partial line");
    recs
}

/// Live processes whose command line mentions `needle`.
pub fn processes_mentioning(needle: &str) -> Vec<(u32, String)> {
    let mut out = vec![];
    let me = std::process::id();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if pid == me || !divergo::exec::process_alive(pid) {
            continue;
        }
        if let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            if cmd.contains(needle) {
                out.push((pid, cmd));
            }
        }
    }
    out
}

/// `divergo corpus --quiet [--filter F] --arch ARCHS --toolchains TCS
/// --dir go-corpus --out OUT`; callers add env and further flags.
pub fn corpus_cmd(filter: Option<&str>, archs: &str, toolchains: &str, out: &Path) -> Command {
    let mut c = divergo();
    c.args([
        "corpus",
        "--quiet",
        "--arch",
        archs,
        "--toolchains",
        toolchains,
    ]);
    if let Some(f) = filter {
        c.args(["--filter", f]);
    }
    c.arg("--dir").arg(corpus_dir()).arg("--out").arg(out);
    c
}

/// The run records (not builds) of one cell.
pub fn cell_runs<'a>(
    recs: &'a [divergo::engine::results::Record],
    toolchain: &str,
    arch: divergo::model::Arch,
) -> Vec<&'a divergo::engine::results::Record> {
    recs.iter()
        .filter(|r| {
            r.stage == divergo::engine::results::Stage::Run
                && r.toolchain == toolchain
                && r.arch == arch
        })
        .collect()
}

/// Validate a junit.xml against the JUnit schema in tests/fixtures/junit
/// with xmllint (scripts/test.sh installs libxml2-utils), and return it.
pub fn valid_junit(path: &Path) -> String {
    let xsd = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/junit/junit.xsd");
    let o = Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(&xsd)
        .arg(path)
        .output()
        .expect("xmllint must be installed (scripts/test.sh installs libxml2-utils)");
    let (_, err) = text(&o);
    assert!(
        o.status.success(),
        "{} is not valid JUnit: {err}",
        path.display()
    );
    std::fs::read_to_string(path).unwrap()
}

/// Load `url` in Debian's headless chromium with `args`; asserts it exits 0
/// and logs no console message at all (errors included). Gives (stdout, stderr).
pub fn chromium(args: &[&str], url: &str) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let o = Command::new("timeout")
        .args([
            "120",
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
        ])
        .args(["--enable-logging=stderr", "--v=0", "--no-first-run"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(url)
        .output()
        .expect("chromium must be installed (scripts/test.sh installs it)");
    let (out, err) = text(&o);
    assert!(o.status.success(), "chromium failed: {err}");
    // Console messages (errors included) are logged as INFO:CONSOLE lines.
    let console: Vec<&str> = err.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:?}");
    (out, err)
}

/// The divergent cells of a finding (from `--json`), as `toolchain/arch`.
pub fn divergent(f: &serde_json::Value) -> Vec<String> {
    f["cells"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["divergent"] == true)
        .map(|c| {
            format!(
                "{}/{}",
                c["toolchain"].as_str().unwrap(),
                c["arch"].as_str().unwrap()
            )
        })
        .collect()
}

/// A GOROOT whose `bin/go` answers `go version` with `version` and runs the
/// shell lines `rest` for any other command. Only for failure paths (a
/// broken GOROOT, a compiler that crashes or hangs).
pub fn fake_goroot(version: &str, rest: &str) -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("bin")).unwrap();
    let go = root.path().join("bin/go");
    std::fs::write(
        &go,
        format!(
            "#!/bin/sh\nif [ \"$1\" = version ]; then echo 'go version {version} linux/amd64'; exit 0; fi\n{rest}\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&go, std::fs::Permissions::from_mode(0o755)).unwrap();
    root
}

/// Register the GOROOT `root` as toolchain `name` in the DIVERGO_HOME `home`.
pub fn register(home: &Path, name: &str, root: &Path) {
    let o = divergo()
        .env("DIVERGO_HOME", home)
        .args(["toolchains", "install"])
        .arg(format!("{name}={}", root.display()))
        .output()
        .unwrap();
    assert!(o.status.success(), "{:?}", text(&o));
}

//! `divergo scan` against real binaries: the two arm64 split-SP corpus
//! programs built by the registered toolchains (go1.14.15, go1.23.11,
//! go1.23.12, the newest go1.25.x) for arm64 and amd64, plain and with
//! `-ldflags=-s -w`, scanned by the real divergo binary; and bad inputs.
//!
//! Expected (arm64; amd64 has no window anywhere):
//!
//! | toolchain | arm64-split-sp-73259 | arm64-split-sp-leaf |
//! |-----------|----------------------|---------------------|
//! | go1.14.15 | nothing in main      | nothing in main     |
//! | go1.23.11 | main.bigFrame        | main.bigLeaf        |
//! | go1.23.12 | nothing in main      | main.bigLeaf        |
//! | go1.25.x  | nothing in main      | main.bigLeaf        |
//!
//! go1.14.15 splits both epilogues the same way, but its assembler marks the
//! two-instruction ADD unsafe (PCDATA_RegMapIndex -2: the optab entry lacks
//! NOTUSETMP), so its runtime never preempts there; `--ignore-unsafe-points`
//! shows the split, and the test checks that too.

use crate::common;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// Builds run one at a time (the machine is shared).
static BUILD: Mutex<()> = Mutex::new(());

const PROGS: [&str; 2] = ["arm64-split-sp-73259", "arm64-split-sp-leaf"];

fn build(tc: &str, prog: &str, arch: &str, strip: bool, dir: &Path) -> PathBuf {
    let t = common::toolchain(tc);
    let _g = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    let src = dir.join(format!("{prog}-src"));
    if !src.exists() {
        std::fs::create_dir_all(&src).unwrap();
        for f in ["main.go", "go.mod"] {
            std::fs::copy(common::corpus_dir().join(prog).join(f), src.join(f)).unwrap();
        }
    }
    let out = dir.join(format!(
        "{prog}-{}-{arch}{}",
        t.name,
        if strip { "-s" } else { "" }
    ));
    let home = std::env::var("HOME").unwrap_or_else(|_| "/tmp".into());
    let mut c = Command::new(t.goroot.join("bin/go"));
    c.arg("build");
    if strip {
        c.arg("-ldflags=-s -w");
    }
    c.arg("-o").arg(&out).arg(".");
    c.current_dir(&src).env_clear().envs([
        ("PATH", "/usr/local/bin:/usr/bin:/bin".to_string()),
        ("HOME", home),
        ("GOROOT", t.goroot.display().to_string()),
        ("GOPATH", dir.join("gopath").display().to_string()),
        (
            "GOCACHE",
            divergo::toolchain::registry::gocache(&common::home(), &t.name)
                .display()
                .to_string(),
        ),
        ("GOOS", "linux".into()),
        ("GOARCH", arch.into()),
        ("CGO_ENABLED", "0".into()),
        ("GOTOOLCHAIN", "local".into()),
        ("GOFLAGS", "-mod=mod".into()),
        ("GOPROXY", "off".into()),
        ("GOENV", "off".into()),
        ("GOWORK", "off".into()),
    ]);
    let o = c.output().unwrap();
    assert!(
        o.status.success(),
        "go build of {prog} with {tc} for {arch} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

/// `divergo scan --json FILE [flags]`: (exit code, report, stderr).
fn scan(bin: &Path, flags: &[&str]) -> (i32, Value, String) {
    let o = common::divergo()
        .arg("scan")
        .arg("--json")
        .args(flags)
        .arg(bin)
        .output()
        .unwrap();
    let (out, err) = common::text(&o);
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| {
        panic!(
            "scan --json of {} is not JSON ({e}): {out} {err}",
            bin.display()
        )
    });
    let r = v[0]["report"].clone();
    assert!(r.is_object(), "no report for {}: {v} {err}", bin.display());
    (o.status.code().unwrap_or(-1), r, err)
}

fn flagged(r: &Value, preemptible: bool) -> Vec<String> {
    let mut f: Vec<String> = r["windows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["preemptible"] == preemptible)
        .map(|w| w["function"].as_str().unwrap().to_string())
        .collect();
    f.sort();
    f.dedup();
    f
}

fn expected(tc: &str, prog: &str) -> Vec<String> {
    let fixed_non_leaf = tc != "go1.23.11" && tc != "go1.14.15";
    let v: &[&str] = match (tc, prog) {
        ("go1.14.15", _) => &[],
        (_, "arm64-split-sp-73259") if fixed_non_leaf => &[],
        (_, "arm64-split-sp-73259") => &["main.bigFrame"],
        _ => &["main.bigLeaf"],
    };
    v.iter().map(|s| s.to_string()).collect()
}

fn toolchains() -> Vec<String> {
    let newest = common::toolchain("go1.25").name;
    vec![
        "go1.14.15".into(),
        "go1.23.11".into(),
        "go1.23.12".into(),
        newest,
    ]
}

/// The windows without the fields that legitimately differ between a plain
/// and a stripped build (none should: addresses are the same).
fn windows(r: &Value) -> Value {
    r["windows"].clone()
}

#[test]
fn arm64_table_plain_and_stripped() {
    let dir = tempfile::tempdir().unwrap();
    let mut problems = Vec::new();
    for tc in toolchains() {
        let version = common::toolchain(&tc).version;
        for prog in PROGS {
            let plain = build(&tc, prog, "arm64", false, dir.path());
            let stripped = build(&tc, prog, "arm64", true, dir.path());
            let (code, r, err) = scan(&plain, &[]);
            let want = expected(&tc, prog);
            let got = flagged(&r, true);
            if got != want {
                problems.push(format!("{tc} {prog}: flagged {got:?}, expected {want:?}"));
            }
            assert_eq!(
                code,
                if want.is_empty() { 0 } else { 1 },
                "{tc} {prog}: exit status; {err}"
            );
            assert_eq!(r["arch"], "arm64");
            assert_eq!(r["go_version"], version.as_str(), "{tc} {prog}: build info");
            for w in r["windows"].as_array().unwrap() {
                assert_eq!(w["rule"], "split-sp-epilogue", "{tc} {prog}: {w}");
                assert_eq!(w["bug"], "golang/go#73259");
                let insns = w["insns"].as_array().unwrap();
                assert_eq!(insns.len(), 2, "{w}");
                for i in insns {
                    assert!(
                        i["text"].as_str().unwrap().starts_with("add sp, sp, #"),
                        "{w}"
                    );
                }
                let pc = w["pc"].as_u64().unwrap();
                assert_eq!(
                    pc - w["entry_pc"].as_u64().unwrap(),
                    w["offset"].as_u64().unwrap()
                );
                assert!(w["sp_actual"].as_i64().unwrap() > w["sp_table"].as_i64().unwrap());
            }
            let (scode, sr, serr) = scan(&stripped, &[]);
            assert_eq!(scode, code, "{tc} {prog} stripped: exit status; {serr}");
            assert_eq!(
                sr["go_version"],
                version.as_str(),
                "{tc} {prog} stripped: build info"
            );
            assert_eq!(
                windows(&sr),
                windows(&r),
                "{tc} {prog}: stripped and plain differ"
            );
            if tc == "go1.14.15" {
                // The split is there; only the unsafe-point marks hide it.
                let (code, r, _) = scan(&plain, &["--ignore-unsafe-points"]);
                assert_eq!(code, 0, "not-preemptible windows do not count");
                let hidden: Vec<String> = flagged(&r, false)
                    .into_iter()
                    .filter(|f| f.starts_with("main."))
                    .collect();
                let want = if prog == "arm64-split-sp-leaf" {
                    "main.bigLeaf"
                } else {
                    "main.bigFrame"
                };
                assert_eq!(
                    hidden,
                    vec![want.to_string()],
                    "go1.14.15 {prog} with --ignore-unsafe-points"
                );
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn amd64_is_clean() {
    let dir = tempfile::tempdir().unwrap();
    for tc in toolchains() {
        for prog in PROGS {
            for strip in [false, true] {
                let bin = build(&tc, prog, "amd64", strip, dir.path());
                let (code, r, err) = scan(&bin, &[]);
                assert_eq!(r["arch"], "amd64");
                assert_eq!(
                    r["windows"],
                    Value::Array(vec![]),
                    "{tc} {prog} amd64: {err}"
                );
                assert_eq!(code, 0);
                assert!(r["functions_checked"].as_u64().unwrap() > 500, "{r}");
                assert!(r["instructions_checked"].as_u64().unwrap() > 50_000, "{r}");
            }
        }
    }
}

/// Exit 2 and exactly one line on stderr, no panic.
fn rejects(file: &Path, needle: &str) {
    let o = common::divergo().arg("scan").arg(file).output().unwrap();
    let (out, err) = common::text(&o);
    assert_eq!(o.status.code(), Some(2), "{}: {out} {err}", file.display());
    assert_eq!(
        err.lines().count(),
        1,
        "{}: one line expected: {err}",
        file.display()
    );
    assert!(
        err.contains(needle),
        "{}: expected {needle:?} in {err}",
        file.display()
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn bad_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not a binary\n").unwrap();
    rejects(&text, "not an ELF file");
    rejects(Path::new("/bin/true"), "not a Go binary");
    rejects(&dir.path().join("missing"), "cannot read");

    let newest = common::toolchain("go1.25").name;
    let bin = build(&newest, "arm64-split-sp-leaf", "arm64", false, dir.path());
    let data = std::fs::read(&bin).unwrap();
    // Sanity: the intact binary scans (and has its window).
    assert_eq!(scan(&bin, &[]).0, 1);

    let truncated = dir.path().join("truncated");
    std::fs::write(&truncated, &data[..data.len() / 2]).unwrap();
    rejects(&truncated, "truncated");

    // Locate the function table with the `object` crate directly.
    use object::{Object, ObjectSection};
    let obj = object::File::parse(&*data).unwrap();
    let sec = obj.section_by_name(".gopclntab").unwrap();
    let (off, size) = sec.file_range().unwrap();
    let (off, size) = (off as usize, size as usize);

    // A wrong magic.
    let mut bad = data.clone();
    bad[off..off + 4].copy_from_slice(&[0x12, 0x34, 0x56, 0x78]);
    let p = dir.path().join("bad-magic");
    std::fs::write(&p, &bad).unwrap();
    rejects(&p, "corrupt Go function table");

    // The function table (after the 72-byte header of go1.18+) overwritten.
    let pcln_off = u64::from_le_bytes(data[off + 64..off + 72].try_into().unwrap()) as usize;
    let mut bad = data.clone();
    for b in &mut bad[off + pcln_off..(off + pcln_off + 4096).min(off + size)] {
        *b = 0xa5;
    }
    let p = dir.path().join("bad-ftab");
    std::fs::write(&p, &bad).unwrap();
    rejects(&p, "corrupt Go function table");

    // The pc-value tables overwritten.
    let pctab_off = u64::from_le_bytes(data[off + 56..off + 64].try_into().unwrap()) as usize;
    let mut bad = data.clone();
    for b in &mut bad[off + pctab_off..off + pcln_off] {
        *b = 0xff;
    }
    let p = dir.path().join("bad-pctab");
    std::fs::write(&p, &bad).unwrap();
    rejects(&p, "corrupt Go function table");

    // One bad file among good ones still makes the whole scan exit 2.
    let o = common::divergo()
        .arg("scan")
        .arg(&bin)
        .arg(&text)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(common::text(&o).0.contains("main.bigLeaf"));
}

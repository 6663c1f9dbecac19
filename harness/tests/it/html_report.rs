//! report.html in a real headless browser (Debian's chromium; scripts/test.sh
//! installs it): the page loads with no console message at all, shows the
//! findings and the matrix, its outcome filter works, and a screenshot is
//! kept at target/tmp/report.png for a person to look at.
//!
//! The programs are the verdict fixtures (behaviour certain): on amd64,
//! go125-hang hangs with go1.25.x only; the other three are clean there.

use crate::common;
use common::*;
use std::path::Path;

#[test]
fn report_html_renders_in_headless_chromium() {
    let newest = toolchain("go1.25");
    toolchain("go1.23.12");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let o = divergo()
        .args(["run", "--quiet", "--json", "--no-triage", "--trials", "6"])
        .arg("--corpus")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/verdicts"))
        .args(["--arch", "amd64", "--toolchains"])
        .arg(format!("go1.23.12,{}", newest.name))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let (stdout, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "the hang is a finding: {err}");
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let id = v["findings"][0]["id"].as_str().unwrap().to_string();

    let page = out.join("report.html");
    let html = std::fs::read_to_string(&page).unwrap();
    for needle in ["http://", "https://", "<link", "src=\""] {
        assert!(!html.contains(needle), "not self-contained: {needle}");
    }
    let url = format!("file://{}", page.display());
    let (dom, _) = chromium(&["--dump-dom"], &url);
    assert!(
        dom.contains(&format!("id=\"f-{id}\"")),
        "finding {id} not shown"
    );
    assert!(dom.contains("spinForever") || dom.contains("hang"), "{dom}");
    assert!(dom.contains("repro.sh"));
    assert!(dom.contains("4 of 4 programs"), "{dom}");
    assert_eq!(dom.matches("<tr data-outcomes=").count(), 4);

    // The filter, opened through the URL: only the hanging program stays.
    let (dom, _) = chromium(&["--dump-dom"], &format!("{url}#filter=hang"));
    assert!(dom.contains("1 of 4 programs"), "{dom}");
    assert_eq!(dom.matches("display: none").count(), 3, "{dom}");

    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report.png");
    let _ = std::fs::remove_file(&shot);
    chromium(
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1400,1100",
            "--hide-scrollbars",
        ],
        &url,
    );
    let png = std::fs::read(&shot).expect("a screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "{}",
        png.len()
    );
}

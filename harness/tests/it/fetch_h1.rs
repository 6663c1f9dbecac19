//! `h1_of_zip` against the go command's own hash: a module zip made here is
//! served to the host `go` through a `file://` GOPROXY, and the `Sum` that
//! `go mod download -json` reports is what `h1_of_zip` must give.
//! Offline; needs the host `go` (`$GO`, `go` in PATH, or /usr/local/go/bin/go).

use divergo::toolchain::modzip::h1_of_zip;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use zip::write::SimpleFileOptions;

fn host_go() -> PathBuf {
    if let Some(g) = std::env::var_os("GO") {
        return PathBuf::from(g);
    }
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        let g = dir.join("go");
        if g.is_file() {
            return g;
        }
    }
    let g = PathBuf::from("/usr/local/go/bin/go");
    assert!(g.is_file(), "this test needs the host go command (set $GO)");
    g
}

/// Write a module zip: `(name, Some(content))` is a file, `(name, None)` a
/// directory entry; every name gets the module prefix.
fn write_zip(path: &Path, prefix: &str, entries: &[(&str, Option<&[u8]>)]) {
    let f = std::fs::File::create(path).unwrap();
    let mut z = zip::ZipWriter::new(f);
    for (i, (name, content)) in entries.iter().enumerate() {
        let method = if i % 2 == 0 {
            zip::CompressionMethod::Deflated
        } else {
            zip::CompressionMethod::Stored
        };
        let opts = SimpleFileOptions::default().compression_method(method);
        let full = format!("{prefix}{name}");
        match content {
            Some(c) => {
                z.start_file(full, opts).unwrap();
                z.write_all(c).unwrap();
            }
            None => z.add_directory(full, opts).unwrap(),
        }
    }
    z.finish().unwrap();
}

/// `go mod download -json mod@ver` through a file:// proxy holding `zip`;
/// returns the reported Sum.
fn go_sum_of(zip: &Path, module: &str, version: &str, go_mod: &str) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let vdir = tmp.path().join("proxy").join(module).join("@v");
    std::fs::create_dir_all(&vdir).unwrap();
    std::fs::copy(zip, vdir.join(format!("{version}.zip"))).unwrap();
    std::fs::write(vdir.join(format!("{version}.mod")), go_mod).unwrap();
    std::fs::write(
        vdir.join(format!("{version}.info")),
        format!("{{\"Version\":\"{version}\"}}"),
    )
    .unwrap();
    std::fs::write(vdir.join("list"), format!("{version}\n")).unwrap();
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let out = Command::new(host_go())
        .args(["mod", "download", "-json", &format!("{module}@{version}")])
        .current_dir(&work)
        .env_clear()
        .env("HOME", tmp.path())
        .env("PATH", "/usr/bin:/bin")
        .env(
            "GOPROXY",
            format!("file://{}", tmp.path().join("proxy").display()),
        )
        .env("GOSUMDB", "off")
        .env("GOMODCACHE", tmp.path().join("modcache"))
        .env("GOFLAGS", "-modcacherw")
        .env("GOTOOLCHAIN", "local")
        .env("GOENV", "off")
        .env("GOTELEMETRY", "off")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "go mod download: {e}: {stdout} {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(v.get("Error").is_none(), "go mod download: {stdout}");
    v["Sum"].as_str().expect("Sum in go output").to_string()
}

#[test]
fn h1_matches_the_go_command() {
    let tmp = tempfile::tempdir().unwrap();
    let module = "example.com/divergo/hashtest";
    let version = "v1.2.3";
    let prefix = format!("{module}@{version}/");
    let go_mod = format!("module {module}\n");
    let big: Vec<u8> = (0..300_000u32).map(|i| (i * 7919 % 251) as u8).collect();
    // Names chosen so that byte order, "a/b" vs "a.b" vs "a-b", upper/lower
    // case and non-ASCII all matter; directory entries are hashed too.
    let entries: Vec<(&str, Option<&[u8]>)> = vec![
        ("go.mod", Some(go_mod.as_bytes())),
        ("z.txt", Some(b"last\n")),
        ("a/", None),
        ("a/b.go", Some(b"package a\n")),
        ("a.b", Some(b"")),
        ("a-b", Some(b"dash")),
        ("B.txt", Some(b"upper")),
        ("bin/", None),
        ("bin/tool", Some(&big)),
        ("sub/\u{fc}ber.txt", Some(b"unicode name")),
        ("sub/space name.txt", Some(b"space\r\n")),
    ];
    let zip = tmp.path().join("m.zip");
    write_zip(&zip, &prefix, &entries);
    let ours = h1_of_zip(&zip).unwrap();
    let go = go_sum_of(&zip, module, version, &go_mod);
    assert_eq!(ours, go);

    // A one-byte change in one file changes the hash (and Go agrees).
    let mut changed = entries.clone();
    changed[1] = ("z.txt", Some(b"lasT\n"));
    let zip2 = tmp.path().join("m2.zip");
    write_zip(&zip2, &prefix, &changed);
    let ours2 = h1_of_zip(&zip2).unwrap();
    assert_ne!(ours2, ours);
    assert_eq!(ours2, go_sum_of(&zip2, module, version, &go_mod));

    // Without the directory entries the hash differs too (they count).
    let no_dirs: Vec<_> = entries
        .iter()
        .filter(|(_, c)| c.is_some())
        .cloned()
        .collect();
    let zip3 = tmp.path().join("m3.zip");
    write_zip(&zip3, &prefix, &no_dirs);
    let ours3 = h1_of_zip(&zip3).unwrap();
    assert_ne!(ours3, ours);
    assert_eq!(ours3, go_sum_of(&zip3, module, version, &go_mod));
}

#[test]
fn h1_of_a_non_zip_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("x.zip");
    std::fs::write(&p, b"not a zip").unwrap();
    assert!(h1_of_zip(&p).is_err());
    assert!(h1_of_zip(&tmp.path().join("missing.zip")).is_err());
}

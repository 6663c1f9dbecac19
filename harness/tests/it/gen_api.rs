//! Generated programs use no standard-library API added after go1.14: every
//! `pkg.Symbol` use is checked against the api/go1.15.txt ... go1.N.txt
//! files of a Go installation (DIVERGO_GO_API_DIR, else /usr/local/go/api,
//! else the api/ directory of the newest registered go1.25.x). Methods are
//! checked by name: a method added after go1.14 whose name no type of the
//! imported packages had in go1.14 must not be called. (A method whose name an
//! older type already had, such as Ticker.Reset beside Timer.Reset, is left
//! to the go1.14.15 build and to the newest `go vet` in gen_validity.)

use divergo::gen::{self, generate, std_selectors, Family};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn api_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("DIVERGO_GO_API_DIR").filter(|v| !v.is_empty()) {
        return PathBuf::from(d);
    }
    let host = Path::new("/usr/local/go/api");
    if host.join("go1.15.txt").is_file() {
        return host.to_path_buf();
    }
    if let Some(tc) =
        divergo::toolchain::registry::find(&divergo::toolchain::registry::home(), "go1.25")
    {
        let d = tc.goroot.join("api");
        if d.join("go1.15.txt").is_file() {
            return d;
        }
    }
    panic!(
        "no Go api/ directory with go1.15.txt: set DIVERGO_GO_API_DIR, install Go under \
         /usr/local/go, or run scripts/setup.sh to register go1.25"
    );
}

/// Version files go1.A.txt in `dir` with minor version in `range`.
fn api_files(dir: &Path, range: std::ops::RangeInclusive<u32>) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(minor) = name
            .strip_prefix("go1.")
            .and_then(|s| s.strip_suffix(".txt"))
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if range.contains(&minor) {
            out.push((minor, std::fs::read_to_string(e.path()).unwrap()));
        }
    }
    out.sort();
    out
}

struct Api {
    /// (package, symbol) -> first version (minor) that added it.
    added: BTreeMap<(String, String), u32>,
    /// (package, method name) -> first version after 1.14.
    new_methods: BTreeMap<(String, String), u32>,
    /// (package, method name) present in go1.14 or earlier.
    old_methods: BTreeSet<(String, String)>,
}

/// Parse `pkg P, func|type|var|const NAME ...` and `pkg P, method (R) NAME(...)`.
fn parse_line(l: &str) -> Option<(String, &'static str, String)> {
    let rest = l.strip_prefix("pkg ")?;
    let (pkg, decl) = rest.split_once(", ")?;
    let pkg = pkg.split(' ').next()?.to_string(); // "syscall (linux-386)" -> "syscall"
    for kind in ["func", "type", "var", "const"] {
        if let Some(d) = decl.strip_prefix(kind).and_then(|d| d.strip_prefix(' ')) {
            let name: String = d
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            return Some((pkg, if kind == "type" { "type" } else { "ident" }, name));
        }
    }
    let d = decl.strip_prefix("method (")?;
    let (_, after) = d.split_once(") ")?;
    let name: String = after
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    Some((pkg, "method", name))
}

fn load_api() -> Api {
    let dir = api_dir();
    let newer = api_files(&dir, 15..=99);
    assert!(
        newer.len() >= 10,
        "{}: expected go1.15.txt .. go1.25.txt at least, found {}",
        dir.display(),
        newer.len()
    );
    let mut api = Api {
        added: BTreeMap::new(),
        new_methods: BTreeMap::new(),
        old_methods: BTreeSet::new(),
    };
    for (minor, text) in &newer {
        for l in text.lines() {
            if let Some((pkg, kind, name)) = parse_line(l) {
                // A type's field or method line also starts "type T ..."; only
                // the bare type name is the symbol.
                let key = (pkg, name);
                if kind == "method" {
                    api.new_methods.entry(key).or_insert(*minor);
                } else {
                    api.added.entry(key).or_insert(*minor);
                }
            }
        }
    }
    // go1.txt and go1.1 .. go1.14: what go1.14 already had.
    let mut older = api_files(&dir, 1..=14);
    if let Ok(t) = std::fs::read_to_string(dir.join("go1.txt")) {
        older.push((0, t));
    }
    assert!(
        older.len() >= 10,
        "{}: go1.txt .. go1.14.txt missing",
        dir.display()
    );
    for (_, text) in &older {
        for l in text.lines() {
            if let Some((pkg, kind, name)) = parse_line(l) {
                if kind == "method" {
                    api.old_methods.insert((pkg.clone(), name.clone()));
                }
                // Symbols that existed before 1.15 (e.g. re-listed with a new
                // signature) are not additions.
                api.added.remove(&(pkg, name));
            }
        }
    }
    api
}

/// `.Name(` selector calls in a source (method calls and qualified calls).
fn called_names(src: &str) -> BTreeSet<String> {
    let stripped = gen::check::strip(src);
    let re = regex::Regex::new(r"\.([A-Z]\w*)\(").unwrap();
    re.captures_iter(&stripped)
        .map(|c| c[1].to_string())
        .collect()
}

fn violations(api: &Api, src: &str) -> Vec<String> {
    let mut bad = Vec::new();
    for (pkg, sym) in std_selectors(src) {
        if let Some(v) = api.added.get(&(pkg.clone(), sym.clone())) {
            bad.push(format!("{pkg}.{sym} (go1.{v})"));
        }
    }
    let pkgs = gen::check::imports(src);
    for name in called_names(src) {
        // The receiver's type is unknown here: a name some imported package
        // already had as a method in go1.14 is fine.
        let old = pkgs
            .iter()
            .any(|p| api.old_methods.contains(&(p.clone(), name.clone())));
        if old {
            continue;
        }
        for pkg in &pkgs {
            if let Some(v) = api.new_methods.get(&(pkg.clone(), name.clone())) {
                bad.push(format!("method {name} of {pkg} (go1.{v})"));
            }
        }
    }
    bad
}

#[test]
fn generated_programs_use_only_go1_14_api() {
    let api = load_api();
    let mut uses = BTreeSet::new();
    let mut check = |what: String, src: &str| {
        let bad = violations(&api, src);
        assert!(bad.is_empty(), "{what} uses API newer than go1.14: {bad:?}");
        uses.extend(std_selectors(src));
    };
    for seed in 0..400u64 {
        check(format!("seed {seed}"), &generate(seed, &[]).main_go);
    }
    for &f in Family::ALL {
        for seed in 0..40u64 {
            check(format!("{f} seed {seed}"), &generate(seed, &[f]).main_go);
        }
    }
    // The scan saw the API the families are built from.
    for want in [
        ("time", "NewTimer"),
        ("time", "AfterFunc"),
        ("time", "NewTicker"),
        ("runtime", "GC"),
        ("runtime", "Goexit"),
        ("runtime", "LockOSThread"),
        ("runtime/debug", "SetGCPercent"),
        ("sync", "WaitGroup"),
        ("os/signal", "Ignore"),
        ("io/ioutil", "WriteFile"),
    ] {
        assert!(
            uses.contains(&(want.0.to_string(), want.1.to_string())),
            "no program used {}.{}",
            want.0,
            want.1
        );
    }
}

#[test]
fn the_api_scan_catches_newer_symbols() {
    let api = load_api();
    let src = "package main\n\nimport (\n\t\"os\"\n\t\"sync\"\n\t\"time\"\n)\n\nfunc main() {\n\
               \tos.WriteFile(\"x\", nil, 0644)\n\tvar wg sync.WaitGroup\n\twg.Go(func() {})\n\
               \t_ = time.UnixMilli(0)\n}\n";
    let bad = violations(&api, src);
    assert!(
        bad.iter().any(|b| b.starts_with("os.WriteFile (go1.16)")),
        "{bad:?}"
    );
    assert!(
        bad.iter().any(|b| b.starts_with("time.UnixMilli")),
        "{bad:?}"
    );
    assert!(
        bad.iter().any(|b| b.contains("method Go of sync")),
        "{bad:?}"
    );
    let ok = "package main\n\nimport \"time\"\n\nfunc main() {\n\tt := time.NewTimer(1)\n\tt.Reset(2)\n}\n";
    assert!(violations(&api, ok).is_empty());
}

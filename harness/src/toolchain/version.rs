//! Go version strings, parsed and ordered in one place, as Go's own
//! `go/version` (`internal/gover`) does; and the toolchain names divergo
//! accepts. Every other module asks this one.

use std::cmp::Ordering;
use std::sync::OnceLock;

/// Go version order, as `go/version.Compare` / `internal/gover.Compare`:
/// `go1.9 < go1.10 < go1.21 < go1.21rc1 < go1.21.0 < go1.23.11`,
/// `beta < rc < release`. A leading `go` is optional; a `-suffix` is ignored.
/// Invalid versions compare equal to each other and below all valid ones.
pub fn go_version_cmp(a: &str, b: &str) -> Ordering {
    let (x, y) = (parse_gover(strip_go(a)), parse_gover(strip_go(b)));
    cmp_int(x.major, y.major)
        .then_with(|| cmp_int(x.minor, y.minor))
        .then_with(|| cmp_int(x.patch, y.patch))
        .then_with(|| x.kind.cmp(y.kind))
        .then_with(|| cmp_int(x.pre, y.pre))
}

// ---------------------------------------------------------------------------
// Go version order (internal/gover)

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct GoVer<'a> {
    pub(crate) major: &'a str,
    pub(crate) minor: &'a str,
    pub(crate) patch: &'a str,
    pub(crate) kind: &'a str,
    pub(crate) pre: &'a str,
}

fn strip_go(s: &str) -> &str {
    let s = s.strip_prefix("go").unwrap_or(s);
    s.split('-').next().unwrap_or(s)
}

fn cut_int(x: &str) -> Option<(&str, &str)> {
    let i = x.bytes().take_while(u8::is_ascii_digit).count();
    if i == 0 || (x.as_bytes()[0] == b'0' && i != 1) {
        return None;
    }
    Some((&x[..i], &x[i..]))
}

/// `gover.Parse`; the zero value for invalid input.
pub(crate) fn parse_gover(x: &str) -> GoVer<'_> {
    fn parse(x: &str) -> Option<GoVer<'_>> {
        let mut v = GoVer::default();
        let (major, x) = cut_int(x)?;
        v.major = major;
        if x.is_empty() {
            v.minor = "0";
            v.patch = "0";
            return Some(v);
        }
        let x = x.strip_prefix('.')?;
        let (minor, x) = cut_int(x)?;
        v.minor = minor;
        if x.is_empty() {
            if cmp_int(minor, "21") == Ordering::Less {
                v.patch = "0";
            }
            return Some(v);
        }
        if let Some(x) = x.strip_prefix('.') {
            let (patch, rest) = cut_int(x)?;
            if !rest.is_empty() {
                return None;
            }
            v.patch = patch;
            return Some(v);
        }
        let i = x.bytes().take_while(u8::is_ascii_lowercase).count();
        if i == 0 || x[i..].bytes().next().is_some_and(|c| !c.is_ascii_digit()) {
            return None;
        }
        v.kind = &x[..i];
        let x = &x[i..];
        if x.is_empty() {
            return Some(v);
        }
        let (pre, rest) = cut_int(x)?;
        if !rest.is_empty() {
            return None;
        }
        v.pre = pre;
        Some(v)
    }
    parse(x).unwrap_or_default()
}

fn cmp_int(x: &str, y: &str) -> Ordering {
    x.len().cmp(&y.len()).then_with(|| x.cmp(y))
}

/// The language version (`1.23`) of a Go version string (`go1.23.12`,
/// `go1.25rc1`, `go1.14.1-2a3b4c5`).
pub fn minor_of(version: &str) -> Option<(u32, u32)> {
    let v = version.strip_prefix("go")?;
    let mut it = v.split(|c: char| !c.is_ascii_digit());
    let major = it.next()?.parse().ok()?;
    let minor = it.next()?.parse().ok()?;
    Some((major, minor))
}

/// A release name: `go1.N`, `go1.N.M`, `go1.NrcK`, `go1.NbetaK` (what the
/// proxy serves and a release's `go version` reports).
pub fn valid_release_name(name: &str) -> bool {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    RE.get_or_init(|| regex::Regex::new(r"^go1(\.[0-9]+){1,2}((rc|beta)[0-9]+)?$").unwrap())
        .is_match(name)
}

/// A built toolchain's name beyond the release names: a release name with a
/// `-suffix` (`go1.14.1-2a3b4c5`, `go1.22-devel-9f2e1a0`) or `devel-<suffix>`
/// (`devel-2a3b4c5d`). Suffixes are letters, digits, `.`, `_`, `-` and `+`,
/// at most 64 of them, so commit bisection can name one build per commit.
pub fn valid_built_name(name: &str) -> bool {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(
            r"^(go1(\.[0-9]+){1,2}((rc|beta)[0-9]+)?|devel)-[0-9A-Za-z][0-9A-Za-z._+-]{0,63}$",
        )
        .unwrap()
    })
    .is_match(name)
}

/// Any toolchain name the registry accepts: a release name or a built name.
pub fn valid_name(name: &str) -> bool {
    valid_release_name(name) || valid_built_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_order() {
        let sorted = [
            "go1",
            "go1.2.2",
            "go1.9",
            "go1.10",
            "go1.20",
            "go1.21",
            "go1.21rc1",
            "go1.21rc2",
            "go1.21.0",
            "go1.21.1",
            "go1.22beta1",
            "go1.22rc1",
            "go1.22.0",
            "go1.23.9",
            "go1.23.10",
            "go1.23.11",
            "go1.25.0",
            "go1.25.14",
            "go2",
        ];
        for (i, a) in sorted.iter().enumerate() {
            for (j, b) in sorted.iter().enumerate() {
                assert_eq!(go_version_cmp(a, b), i.cmp(&j), "{a} vs {b}");
            }
        }
        assert_eq!(go_version_cmp("go1.20", "go1.20.0"), Ordering::Equal);
        assert_eq!(go_version_cmp("go1.21", "go1.21.0"), Ordering::Less);
        assert_eq!(go_version_cmp("1.23.1", "go1.23.1"), Ordering::Equal);
        assert_eq!(
            go_version_cmp("go1.22.1-custom", "go1.22.1"),
            Ordering::Equal
        );
        // Invalid versions sort below valid ones, as in gover.
        assert_eq!(go_version_cmp("bogus", "go1.2"), Ordering::Less);
        assert_eq!(go_version_cmp("go1.02", "go1.2"), Ordering::Less);
        assert_eq!(
            parse_gover("1.21rc"),
            GoVer {
                major: "1",
                minor: "21",
                kind: "rc",
                ..GoVer::default()
            }
        );
        assert_eq!(parse_gover("1.21.x"), GoVer::default());
        assert_eq!(parse_gover("1.21-rc1"), GoVer::default());
    }

    #[test]
    fn names() {
        assert!(valid_release_name("go1.23.11") && valid_release_name("go1.25rc1"));
        assert!(!valid_release_name("go1.23.11-x") && valid_built_name("go1.14.1-2a3b4c5"));
        assert!(valid_name("devel-2a3b4c5d") && !valid_name("gopher"));
        assert_eq!(minor_of("go1.14.1-2a3b4c5"), Some((1, 14)));
        assert_eq!(minor_of("go1.25rc1"), Some((1, 25)));
    }
}

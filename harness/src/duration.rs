//! Durations written as Go writes them (`time.ParseDuration`): a sequence of
//! decimal numbers, each with an optional fraction and a unit, such as
//! `90s`, `1h30m`, `1.5h`, `300ms` or `2m45.5s`. Units: `ns`, `us` (`µs`,
//! `μs`), `ms`, `s`, `m`, `h`. A bare number is seconds (divergo's older
//! flags took seconds), and so is `0`.

use std::time::Duration;

const UNITS: &[(&str, f64)] = &[
    ("ns", 1e-9),
    ("us", 1e-6),
    ("µs", 1e-6),
    ("μs", 1e-6),
    ("ms", 1e-3),
    ("s", 1.0),
    ("m", 60.0),
    ("h", 3600.0),
];

/// Parse `s` as a Go duration (see the module doc). Negative durations are
/// an error.
pub fn parse(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let bad = || format!("{s:?}: expected a duration such as 90s, 1h30m or 1.5h");
    if t.is_empty() {
        return Err(bad());
    }
    if t.starts_with('-') {
        return Err(format!("{s:?}: a duration cannot be negative"));
    }
    let t = t.strip_prefix('+').unwrap_or(t);
    if let Ok(secs) = t.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 && t.chars().all(|c| c.is_ascii_digit() || c == '.') {
            return Ok(Duration::from_secs_f64(secs));
        }
    }
    let mut rest = t;
    let mut total = 0.0f64;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("{s:?}: missing unit after {rest:?} (ns, us, ms, s, m, h)"))?;
        let num = &rest[..num_len];
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return Err(bad());
        }
        let value: f64 = num.parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        let scale = UNITS
            .iter()
            .find(|(u, _)| *u == unit)
            .map(|(_, k)| *k)
            .ok_or_else(|| format!("{s:?}: unknown unit {unit:?} (ns, us, ms, s, m, h)"))?;
        total += value * scale;
        rest = &rest[unit_len..];
    }
    if !total.is_finite() || total > 1e12 {
        return Err(format!("{s:?}: too long"));
    }
    Ok(Duration::from_secs_f64(total))
}

/// [`parse`], and more than zero (a budget or a timeout).
pub fn parse_positive(s: &str) -> Result<Duration, String> {
    let d = parse(s)?;
    if d.is_zero() {
        return Err(format!("{s:?}: the duration must be positive"));
    }
    Ok(d)
}

/// A duration as Go prints it, to the millisecond: `1h30m0s`, `1.5s`.
pub fn format(d: Duration) -> String {
    let ms = d.as_millis();
    let (h, m, s) = (ms / 3_600_000, ms / 60_000 % 60, ms % 60_000);
    let secs = if s % 1000 == 0 {
        format!("{}s", s / 1000)
    } else {
        let t = format!("{}.{:03}", s / 1000, s % 1000);
        format!("{}s", t.trim_end_matches('0'))
    };
    match (h, m) {
        (0, 0) => secs,
        (0, m) => format!("{m}m{secs}"),
        (h, m) => format!("{h}h{m}m{secs}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_parse() {
        let secs = |s: &str| parse(s).unwrap().as_secs_f64();
        assert_eq!(secs("90s"), 90.0);
        assert_eq!(secs("1h30m"), 5400.0);
        assert_eq!(secs("1.5h"), 5400.0);
        assert_eq!(secs("2m45.5s"), 165.5);
        assert_eq!(secs("300ms"), 0.3);
        assert_eq!(secs("10m"), 600.0);
        assert_eq!(secs("1h0m0s"), 3600.0);
        assert_eq!(secs(".5s"), 0.5);
        assert_eq!(secs("90"), 90.0);
        assert_eq!(secs("0"), 0.0);
        assert_eq!(secs("1.5"), 1.5);
        assert!((secs("250us") - 0.00025).abs() < 1e-12);
    }

    #[test]
    fn bad_durations_say_why() {
        for (s, why) in [
            ("", "expected a duration"),
            ("-5s", "negative"),
            ("5x", "unknown unit \"x\""),
            ("1h30", "missing unit"),
            ("s", "expected a duration"),
            ("1..5s", "expected a duration"),
            ("ten", "expected a duration"),
        ] {
            let e = parse(s).unwrap_err();
            assert!(e.contains(why), "{s:?}: {e}");
        }
        assert!(parse_positive("0s")
            .unwrap_err()
            .contains("must be positive"));
        assert!(parse_positive("1ms").is_ok());
    }

    #[test]
    fn durations_print_as_go_does() {
        assert_eq!(format(Duration::from_secs(5400)), "1h30m0s");
        assert_eq!(format(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format(Duration::from_secs(600)), "10m0s");
        assert_eq!(format(Duration::from_secs(0)), "0s");
        for d in ["1h30m0s", "1.5s", "10m0s", "2h0m12.25s"] {
            assert_eq!(format(parse(d).unwrap()), d);
        }
    }
}

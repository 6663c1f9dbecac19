//! Arbitrary bytes -> spec -> Go source; the rendering invariants hold
//! (deterministic, balanced, identifiers declared once, bounded size, ...)
//! and the spec survives JSON. Nothing is built.
#![no_main]

use divergo::gen::{check_invariants, render, spec_from_bytes, Family, ProgramSpec};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte chooses the family set (bit i: Family::ALL[i]; none:
    // the default set), the rest drives the spec.
    let (sel, rest) = match data.split_first() {
        Some((a, b)) => (*a, b),
        None => (0, data),
    };
    let fams: Vec<Family> = Family::ALL
        .iter()
        .enumerate()
        .filter(|(i, _)| sel & (1 << i) != 0)
        .map(|(_, f)| *f)
        .collect();
    let Ok(spec) = spec_from_bytes(rest, &fams) else {
        return;
    };
    let p = render(&spec);
    if let Err(e) = check_invariants(&p) {
        panic!("invariant broken: {e}\nspec: {spec:?}\n{}", p.main_go);
    }
    let json = serde_json::to_string(&p.spec).expect("spec serialises");
    let back: ProgramSpec = serde_json::from_str(&json).expect("spec deserialises");
    assert_eq!(render(&back), p, "JSON round trip changes the program");
});

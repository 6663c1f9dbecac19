//! Structural shrinking: strictly smaller variants of a spec, for a reducer
//! that keeps whichever still shows the behaviour of interest.

use super::ProgramSpec;

/// Variants of `spec` that are each strictly smaller by
/// [`ProgramSpec::weight`]: a case dropped, a knob turned down, a
/// construct simplified. Each candidate is normalised. Order: the biggest
/// cuts first.
pub fn shrink_candidates(spec: &ProgramSpec) -> Vec<ProgramSpec> {
    let mut spec = spec.clone();
    spec.normalize();
    let base = spec.weight();
    let mut out: Vec<ProgramSpec> = Vec::new();
    if spec.hostile.is_some() {
        return out;
    }

    // Drop whole cases (keeping at least one).
    if spec.case_count() > 1 {
        for k in 0..spec.bigstack.len() {
            let mut s = spec.clone();
            s.bigstack.remove(k);
            out.push(s);
        }
        for k in 0..spec.closures.len() {
            let mut s = spec.clone();
            s.closures.remove(k);
            out.push(s);
        }
        for k in 0..spec.timers.len() {
            let mut s = spec.clone();
            s.timers.remove(k);
            out.push(s);
        }
        for k in 0..spec.deferpanic.len() {
            let mut s = spec.clone();
            s.deferpanic.remove(k);
            out.push(s);
        }
        for k in 0..spec.stackgrow.len() {
            let mut s = spec.clone();
            s.stackgrow.remove(k);
            out.push(s);
        }
        for k in 0..spec.expr.len() {
            let mut s = spec.clone();
            s.expr.remove(k);
            out.push(s);
        }
        for k in 0..spec.smith.len() {
            let mut s = spec.clone();
            s.smith.remove(k);
            out.push(s);
        }
    }
    if spec.concurrent {
        let mut s = spec.clone();
        s.concurrent = false;
        out.push(s);
    }
    if spec.gomaxprocs.is_some() {
        let mut s = spec.clone();
        s.gomaxprocs = None;
        out.push(s);
    }
    for p in spec.pressure.shrink() {
        let mut s = spec.clone();
        s.pressure = p;
        out.push(s);
    }
    for k in 0..spec.bigstack.len() {
        for c in spec.bigstack[k].shrink() {
            let mut s = spec.clone();
            s.bigstack[k] = c;
            out.push(s);
        }
    }
    for k in 0..spec.closures.len() {
        for c in spec.closures[k].shrink() {
            let mut s = spec.clone();
            s.closures[k] = c;
            out.push(s);
        }
    }
    for k in 0..spec.timers.len() {
        for c in spec.timers[k].shrink() {
            let mut s = spec.clone();
            s.timers[k] = c;
            out.push(s);
        }
    }
    for k in 0..spec.deferpanic.len() {
        for c in spec.deferpanic[k].shrink() {
            let mut s = spec.clone();
            s.deferpanic[k] = c;
            out.push(s);
        }
    }
    for k in 0..spec.stackgrow.len() {
        for c in spec.stackgrow[k].shrink() {
            let mut s = spec.clone();
            s.stackgrow[k] = c;
            out.push(s);
        }
    }
    for k in 0..spec.expr.len() {
        for c in spec.expr[k].shrink() {
            let mut s = spec.clone();
            s.expr[k] = c;
            out.push(s);
        }
    }
    for k in 0..spec.smith.len() {
        for c in spec.smith[k].shrink() {
            let mut s = spec.clone();
            s.smith[k] = c;
            out.push(s);
        }
    }

    let mut kept: Vec<ProgramSpec> = Vec::new();
    for mut s in out {
        s.normalize();
        if s.weight() < base && s != spec && !kept.contains(&s) {
            kept.push(s);
        }
    }
    kept
}

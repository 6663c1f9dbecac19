#!/usr/bin/env bash
# Benchmark: what the README's default job finds, and in how long.
#
# Runs `divergo run` with no flags N times (default 5; each run draws its own
# clock-derived seed), from the repository root so go-corpus/known.toml
# applies, and prints per run: the matrix line, the elapsed time, every finding
# (new or known) with its scope, bug and triage line, and whether the run
# reported the arm64 split-SP window (golang/go#73259 or its leaf-function
# variant: a crash in runtime.(*unwinder).next or the static split-sp-epilogue
# window). Then how many runs reported it and the median time.
#
# Usage: scripts/default-job.sh [N]
# Env:   DIVERGO (binary, default target/release/divergo), KEEP (a dir: keep the
#        results dirs there instead of deleting them)
set -euo pipefail
# A measurement: it judges from its own results, and leaves the findings history alone.
export DIVERGO_HISTORY=${DIVERGO_HISTORY:-off}
cd "$(dirname "$0")/.."
N=${1:-5}
DIVERGO=${DIVERGO:-target/release/divergo}
[ -x "$DIVERGO" ] || cargo build --release --quiet -p divergo
if [ -n "${KEEP:-}" ]; then
  tmp=$KEEP
  mkdir -p "$tmp"
else
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
fi
for i in $(seq 1 "$N"); do
  set +e
  "$DIVERGO" run --json --out "$tmp/run$i/results" >"$tmp/run$i.json" 2>"$tmp/run$i.err"
  echo "$?" >"$tmp/run$i.rc"
  set -e
  # Different clock seeds: the seed is drawn from the clock in seconds.
  sleep 1
done
python3 - "$tmp" "$N" <<'PY'
import json, os, statistics, sys
tmp, n = sys.argv[1], int(sys.argv[2])
def split_sp(f):
    b = f.get("bug", "") or f.get("signature", "")
    return b.startswith("runtime fault in runtime.(*unwinder).next") or b.startswith(
        "unsafe window: split-sp-epilogue")
hits, times = 0, []
for i in range(1, n + 1):
    rc = open(f"{tmp}/run{i}.rc").read().strip()
    err = open(f"{tmp}/run{i}.err").read().splitlines()
    seeds = next((l for l in err if l.startswith("seeds ")), "seeds ?")
    matrix = next((l for l in err if l.startswith("matrix")), "matrix ?")
    try:
        s = json.load(open(f"{tmp}/run{i}.json"))
    except ValueError:
        print(f"run {i}: no JSON summary (exit {rc}); stderr tail:")
        print("\n".join("  " + l for l in err[-5:]))
        continue
    times.append(s["elapsed_s"])
    found = False
    print(f'run {i}: {seeds}, {s["programs"]} programs, {s["elapsed_s"]:.0f} s, exit {rc}')
    print(f"  {matrix}")
    for f in s["findings"] + s["known_findings"]:
        tag = "known" if f.get("known") else "NEW"
        sp = split_sp(f)
        found |= sp
        tri = (f.get("triage") or {}).get("line", "no triage")
        print(f'  {tag} {f["kind"]} scope {f["scope"]}{" [split-SP]" if sp else ""}: '
              f'{f.get("bug") or f["signature"]} ({f["count"]} program(s)); triage: {tri}')
    hits += found
    print(f"  split-SP window reported: {'yes' if found else 'no'}")
med = statistics.median(times) if times else float("nan")
print(f"split-SP reported in {hits} of {n} runs; elapsed median {med:.0f} s "
      f"(min {min(times, default=0):.0f}, max {max(times, default=0):.0f})")
PY

#!/usr/bin/env bash
# False-positive check: runs N generated programs (default 1000) on two
# toolchains that should behave the same for them (two adjacent go1.25 patch
# releases, amd64, native) and prints how many divergences divergo reports.
# The figure must be 0: every reported finding here is a false positive.
#
# Usage: scripts/false-positives.sh [COUNT] [SEED]
# Env:   DIVERGO (binary), PAIR (default "go1.25.13,go1.25.14")
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${1:-1000}
SEED=${2:-1000}
PAIR=${PAIR:-go1.25.13,go1.25.14}
DIVERGO=${DIVERGO:-target/release/divergo}
[ -x "$DIVERGO" ] || cargo build --release --quiet -p divergo
# shellcheck disable=SC2046
"$DIVERGO" toolchains install $(echo "$PAIR" | tr , ' ') 2>/dev/null
out=$(mktemp -d /tmp/divergo-fp.XXXXXX)
set +e
"$DIVERGO" run --quiet --json --toolchains "$PAIR" --arch amd64 --seed "$SEED" --count "$COUNT" \
  --out "$out/results" >"$out/summary.json" 2>"$out/stderr.txt"
st=$?
set -e
python3 - "$out/summary.json" "$out/results/results.jsonl" "$PAIR" "$st" <<'PY'
import collections, json, sys
summary = json.load(open(sys.argv[1]))
runs = collections.Counter()
for line in open(sys.argv[2]):
    r = json.loads(line)
    if r["stage"] == "run" or r["outcome"] != "ok":
        runs[(r["toolchain"], r["outcome"])] += 1
print(f'programs: {summary["programs"]} on {sys.argv[3]} (amd64, native), {summary["elapsed_s"]:.0f} s, divergo exit {sys.argv[4]}')
for (tc, outcome), n in sorted(runs.items()):
    print(f"  {tc} {outcome}: {n}")
fs = [f for f in summary["findings"] if f["scope"] != "all"]
print(f"divergences reported: {len(fs)}")
for f in fs:
    print(f'  {f["id"]} {f["kind"]} {f["program"]} {f["signature"]}')
everywhere = [f for f in summary["findings"] if f["scope"] == "all"]
if everywhere:
    print(f"(also {len(everywhere)} finding(s) where every cell behaves the same way, scope all: not divergences)")
    for f in everywhere:
        print(f'  {f["id"]} {f["kind"]} {f["program"]} {f["signature"]}')
PY
echo "results: $out/results"

#!/usr/bin/env bash
# False-positive check: runs N generated programs (default 300) on two
# toolchains that should behave the same for them (two adjacent go1.25 patch
# releases), on amd64 (native) and arm64 (qemu-user, one instruction per
# translation block), from the repository root so the shipped known-issues
# file applies, and prints the findings by scope. New toolchain-scope
# findings must be 0: each one is a false "regression". Known issues and
# cross-arch findings (a bug on one arch, both toolchains) are listed apart.
#
# Usage: scripts/false-positives.sh [COUNT] [SEED]
#        scripts/false-positives.sh --resume RESULTS_DIR   (finish an interrupted check)
# Env:   DIVERGO (binary), PAIR (default "go1.25.13,go1.25.14"),
#        ARCHS (default "amd64,arm64"), TEMPLATES (default: run's default)
set -euo pipefail
# A measurement: it judges from its own results, and leaves the findings history alone.
export DIVERGO_HISTORY=${DIVERGO_HISTORY:-off}
cd "$(dirname "$0")/.."
RESUME=
if [ "${1:-}" = --resume ]; then
  RESUME=${2:?usage: $0 --resume RESULTS_DIR}
  [ -f "$RESUME/run.json" ] || { echo "$RESUME: not a results dir (no run.json)" >&2; exit 2; }
  # The pair and archs are the interrupted run's own.
  PAIR=$(python3 -c 'import json,sys; print(",".join(json.load(open(sys.argv[1]))["toolchains"]))' "$RESUME/run.json")
  ARCHS=$(python3 -c 'import json,sys; print(",".join(json.load(open(sys.argv[1]))["archs"]))' "$RESUME/run.json")
fi
COUNT=${1:-300}
SEED=${2:-1000}
PAIR=${PAIR:-go1.25.13,go1.25.14}
ARCHS=${ARCHS:-amd64,arm64}
DIVERGO=${DIVERGO:-target/release/divergo}
[ -x "$DIVERGO" ] || cargo build --release --quiet -p divergo
# shellcheck disable=SC2046
"$DIVERGO" toolchains install $(echo "$PAIR" | tr , ' ') 2>/dev/null
templates=()
[ -z "${TEMPLATES:-}" ] || templates=(--templates "$TEMPLATES")
set +e
if [ -n "$RESUME" ]; then
  out=$(dirname "$RESUME")
  [ "$(basename "$RESUME")" = results ] || out=$(mktemp -d /tmp/divergo-fp.XXXXXX)
  "$DIVERGO" run --quiet --json --resume "$RESUME" >"$out/summary.json" 2>"$out/stderr.txt"
  st=$?
  [ -e "$out/results" ] || ln -s "$(cd "$RESUME" && pwd)" "$out/results"
else
  out=$(mktemp -d /tmp/divergo-fp.XXXXXX)
  "$DIVERGO" run --quiet --json --toolchains "$PAIR" --arch "$ARCHS" --seed "$SEED" --count "$COUNT" \
    "${templates[@]}" --out "$out/results" >"$out/summary.json" 2>"$out/stderr.txt"
  st=$?
fi
set -e
python3 - "$out/summary.json" "$out/results/results.jsonl" "$PAIR" "$ARCHS" "$st" <<'PY'
import collections, json, sys
summary = json.load(open(sys.argv[1]))
runs = collections.Counter()
for line in open(sys.argv[2]):
    r = json.loads(line)
    if r["stage"] == "run" or r["outcome"] != "ok":
        runs[(r["toolchain"], r["arch"], r["outcome"])] += 1
print(f'programs: {summary["programs"]} on {sys.argv[3]} ({sys.argv[4]}), {summary["elapsed_s"]:.0f} s, divergo exit {sys.argv[5]}')
for (tc, arch, outcome), n in sorted(runs.items()):
    print(f"  {tc}/{arch} {outcome}: {n}")
def cells(f):
    return ", ".join(f'{c["toolchain"]}/{c["arch"]} {" ".join(f"{k} {n}" for k, n in c["outcomes"].items())}'
                     + (" *" if c["divergent"] else "") for c in f["cells"])
new = summary["findings"]
known = summary["known_findings"]
by_scope = collections.Counter(f["scope"] for f in new)
print(f'new toolchain-scope findings (false regressions): {by_scope.get("toolchain", 0)}')
for scope in ["cross-arch", "arch", "all"]:
    print(f'new {scope} findings: {by_scope.get(scope, 0)}')
print(f'known-issue findings: {len(known)}')
for title, fs in [("new", new), ("known", known)]:
    for f in fs:
        progs = f.get("programs") or [f["program"]]
        print(f'  [{title} {f["scope"]}] {f["id"]} {f["kind"]} in {len(progs)} programs (first {f["program"]}) p={f["p_value"]} {f["signature"][:100]}')
        print(f'      programs: {" ".join(progs)}')
        print(f'      {cells(f)}')
PY
echo "results: $out/results"

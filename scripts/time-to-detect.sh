#!/usr/bin/env bash
# Benchmark: time for divergo to find golang/go#73259 from generated programs.
#
# For each seed, from a cold start of divergo (toolchains already installed), runs
#   divergo run --toolchains go1.23.11,go1.23.12 --arch amd64,arm64 \
#               --templates bigstack --seed S --stop-on-first --no-triage --json
# and prints the time to the first finding (go1.23.11/arm64 crashes, go1.23.12/arm64 does not;
# or, when the run stopped on a program without that crash finding, the static window finding
# of go1.23.11/arm64's build alone, marked "found statically"), then the median. For
# comparison it runs the published reproducer shape (64 KiB buffer filled by loops,
# scripts/bench/published-73259) built with go1.23.11 for arm64 under the same qemu mode
# with a bounded budget, and prints its time to crash (or "none in N s").
#
# MODE=timers: time for divergo to find the go1.14.1 timer deadlock (golang/go#38023) instead.
# For each seed, cold, runs
#   divergo run --toolchains go1.14.1,go1.23.12 --arch amd64 --templates timers \
#               --seed S --stop-on-first --no-triage --json
# and prints its time and whether a finding with go1.14.1/amd64 hanging and go1.23.12/amd64
# not hanging was reported, then the median (a seed without one counts as infinite).
# go1.14.1 must be registered (scripts/setup.sh builds it from source).
#
# Usage: scripts/time-to-detect.sh [SEED...]   (default seeds: 1 2 3 4 5; MODE=timers: 1..10)
# Triage (--no-triage) is left out: these figures time the detection, not the diagnosis.
# Env:   DIVERGO (binary, default target/release/divergo), BUDGET (published shape, s, default 120),
#        MODE (73259, the default, or timers), EXTRA (more `divergo run` flags, e.g.
#        "--emulated-cpus 1"), PUBLISHED (0: skip the published reproducer shape)
set -euo pipefail
# A measurement: it judges from its own results, and leaves the findings history alone.
export DIVERGO_HISTORY=${DIVERGO_HISTORY:-off}
cd "$(dirname "$0")/.."
DIVERGO=${DIVERGO:-target/release/divergo}
BUDGET=${BUDGET:-120}
MODE=${MODE:-73259}
read -r -a extra <<<"${EXTRA:-}"
seeds=("$@")
[ -x "$DIVERGO" ] || cargo build --release --quiet -p divergo
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

median() {
  python3 -c '
import sys
v = sorted(float(x) for x in sys.stdin.read().split())
m = v[len(v)//2] if len(v) % 2 else (v[len(v)//2-1] + v[len(v)//2]) / 2
print(f"{m:.1f} s")'
}

if [ "$MODE" = timers ]; then
  [ ${#seeds[@]} -gt 0 ] || seeds=(1 2 3 4 5 6 7 8 9 10)
  times=()
  for s in "${seeds[@]}"; do
    start=$(date +%s.%N)
    "$DIVERGO" run --quiet --toolchains go1.14.1,go1.23.12 --arch amd64 \
      --templates timers --seed "$s" --count 20 --stop-on-first --no-triage --json --out "$tmp/run-$s" "${extra[@]}" \
      >"$tmp/out-$s.json" 2>"$tmp/err-$s.txt" || true
    end=$(date +%s.%N)
    t=$(echo "$end - $start" | bc)
    verdict=$(python3 - "$tmp/out-$s.json" <<'PY'
import json, sys
try:
    v = json.load(open(sys.argv[1]))
except Exception as e:
    print("no JSON output"); sys.exit()
for f in v["findings"]:
    cells = {(c["toolchain"], c["arch"]): c for c in f["cells"]}
    a, b = cells.get(("go1.14.1", "amd64")), cells.get(("go1.23.12", "amd64"))
    if a and b and a["divergent"] and a["outcomes"].get("hang", 0) > 0 and b["outcomes"].get("hang", 0) == 0:
        print(f'found in {f["program"]} ({v["programs"]} program(s)): go1.14.1/amd64 {a["outcomes"]} vs go1.23.12/amd64 {b["outcomes"]}, p={f["p_value"]:.1e}')
        sys.exit()
print(f'no go1.14.1 hang finding in {v["programs"]} program(s)')
PY
)
    printf 'seed %-4s %6.1f s  %s\n' "$s" "$t" "$verdict"
    case "$verdict" in found*) times+=("$t") ;; *) times+=("inf") ;; esac
  done
  echo "median time to first go1.14.1 timer-hang finding over ${#seeds[@]} seeds: $(printf '%s\n' "${times[@]}" | median)"
  exit 0
fi

[ ${#seeds[@]} -gt 0 ] || seeds=(1 2 3 4 5)

times=()
for s in "${seeds[@]}"; do
  start=$(date +%s.%N)
  "$DIVERGO" run --quiet --toolchains go1.23.11,go1.23.12 --arch amd64,arm64 \
    --templates bigstack --seed "$s" --count 20 --stop-on-first --no-triage --json --out "$tmp/run-$s" "${extra[@]}" \
    >"$tmp/out-$s.json" 2>"$tmp/err-$s.txt" || true
  end=$(date +%s.%N)
  t=$(echo "$end - $start" | bc)
  verdict=$(python3 - "$tmp/out-$s.json" <<'PY'
import json, sys
try:
    v = json.load(open(sys.argv[1]))
except Exception as e:
    print("no JSON output"); sys.exit()
for f in v["findings"]:
    cells = {(c["toolchain"], c["arch"]): c for c in f["cells"]}
    bad = lambda c: sum(n for k, n in c["outcomes"].items() if k in ("fatal", "signal", "panic"))
    a, b = cells.get(("go1.23.11", "arm64")), cells.get(("go1.23.12", "arm64"))
    if a and b and a["divergent"] and bad(a) > 0 and bad(b) == 0:
        print(f'found in {f["program"]} ({v["programs"]} program(s)): go1.23.11/arm64 {a["outcomes"]} vs go1.23.12/arm64 {b["outcomes"]}, p={f["p_value"]:.1e}')
        sys.exit()
# No crash finding: the build's window alone (the static oracle) is #73259 too.
for f in v["findings"]:
    cells = {(c["toolchain"], c["arch"]): c for c in f["cells"]}
    a, b = cells.get(("go1.23.11", "arm64")), cells.get(("go1.23.12", "arm64"))
    if f["kind"] == "unsafe-window" and a and b and a["divergent"] and not b["divergent"]:
        print(f'found statically in {f["program"]} ({v["programs"]} program(s)): {f["signature"]}, no crash finding')
        sys.exit()
print(f'no #73259 finding in {v["programs"]} program(s)')
PY
)
  printf 'seed %-4s %6.1f s  %s\n' "$s" "$t" "$verdict"
  case "$verdict" in found*) times+=("$t") ;; *) times+=("inf") ;; esac
done
median=$(printf '%s\n' "${times[@]}" | python3 -c '
import sys
v = sorted(float(x) for x in sys.stdin.read().split())
m = v[len(v)//2] if len(v) % 2 else (v[len(v)//2-1] + v[len(v)//2]) / 2
print(f"{m:.1f} s")')
echo "median time to first finding over ${#seeds[@]} seeds: $median"

[ "${PUBLISHED:-1}" = 0 ] && exit 0
# The published reproducer shape, same emulator mode, bounded budget.
goroot=$("$DIVERGO" toolchains list --json | python3 -c '
import json, sys
print(next(t["goroot"] for t in json.load(sys.stdin) if t["name"] == "go1.23.11"))')
(cd scripts/bench/published-73259 && env -i PATH=/usr/bin:/bin HOME="$tmp" GOROOT="$goroot" \
  GOCACHE="$tmp/gocache" GOTOOLCHAIN=local GOFLAGS=-mod=mod GOPROXY=off CGO_ENABLED=0 \
  GOARCH=arm64 "$goroot/bin/go" build -o "$tmp/published" .)
start=$(date +%s.%N)
set +e
env -i PATH=/usr/bin:/bin QEMU_SINGLESTEP=1 QEMU_ONE_INSN_PER_TB=1 GOTRACEBACK=system \
  timeout -s KILL "$BUDGET" qemu-aarch64-static "$tmp/published" >"$tmp/pub.out" 2>&1
st=$?
set -e
end=$(date +%s.%N)
t=$(echo "$end - $start" | bc)
if [ "$st" -eq 137 ]; then
  echo "published reproducer shape (go1.23.11/arm64, one insn per TB): none in $BUDGET s"
else
  printf 'published reproducer shape (go1.23.11/arm64, one insn per TB): crashed after %.1f s: %s\n' \
    "$t" "$(grep -m1 -E 'fatal error|SIGSEGV' "$tmp/pub.out")"
fi

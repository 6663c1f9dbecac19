#!/usr/bin/env bash
# Benchmark: does the `expr` family re-find real compiler bugs, and how fast?
#
# For each bad/fixed patch-release pair below (compiler bugs whose reproducer is
# a plain Go 1.14 program, each checked by hand on this machine to fail on the
# bad release and pass on the fixed one), runs
#   divergo run --templates expr --toolchains BAD,FIXED --arch ARCH \
#               --qemu-mode plain --seed SEED --count COUNT --stop-on-first \
#               --no-triage --no-known --json
# (plain qemu: these bugs are deterministic, no preemption window involved) and
# prints whether it stopped on a finding whose divergent cells are BAD's alone
# (or a self-check on BAD), after how many programs and seconds, and the
# finding's signature. A pair it does not re-find in COUNT programs prints
# "missed": the shape the family lacks is in the table's last column.
#
# Usage: scripts/expr-refind.sh [PAIR...]    (default: every pair)
# Env:   COUNT (programs per pair, default 300), SEED (default 1),
#        DIVERGO (binary, default target/release/divergo)
# Toolchains are installed as needed (`divergo toolchains install`).
set -euo pipefail
# A measurement: it judges from its own results, and leaves the findings history alone.
export DIVERGO_HISTORY=${DIVERGO_HISTORY:-off}
cd "$(dirname "$0")/.."
DIVERGO=${DIVERGO:-target/release/divergo}
COUNT=${COUNT:-300}
SEED=${SEED:-1}
[ -x "$DIVERGO" ] || cargo build --release --quiet -p divergo

# name bad fixed arch shape
PAIRS=(
  "79182 go1.26.3 go1.26.4 amd64 (x+x)<<31 on uint32: a shift rule without a width guard"
  "66066 go1.22.1 go1.22.2 arm64 uint64(x%3) of a uint32 x: the zero extension dropped"
  "48473 go1.17.2 go1.17.3 arm64 x - x<<c<<4 with c a non-constant byte: a wrong simplification"
  "68227 go1.22.5 go1.22.6 arm64 int32(int16(a>>k))*int32(int16(b>>k)) live across a call"
)

want=("$@")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '| bug | bad → fixed | arch | result | programs | time | signature |\n|---|---|---|---|---|---|---|\n'
for p in "${PAIRS[@]}"; do
  read -r name bad fixed arch shape <<<"$p"
  if [ "${#want[@]}" -gt 0 ] && [[ ! " ${want[*]} " == *" $name "* ]]; then
    continue
  fi
  "$DIVERGO" toolchains install "$bad" "$fixed" >/dev/null
  out="$tmp/$name"
  start=$(date +%s.%N)
  set +e
  "$DIVERGO" run --quiet --templates expr --toolchains "$bad,$fixed" --arch "$arch" \
    --qemu-mode plain --seed "$SEED" --count "$COUNT" --stop-on-first --no-triage \
    --no-known --json --out "$out" >"$tmp/$name.json" 2>"$tmp/$name.err"
  set -e
  end=$(date +%s.%N)
  python3 - "$tmp/$name.json" "$out" "$bad" "$arch" "$start" "$end" "$name" "$bad → $fixed" "$shape" <<'EOF'
import json, sys, os
path, out, bad, arch, start, end, name, pair, shape = sys.argv[1:]
secs = float(end) - float(start)
try:
    v = json.load(open(path))
except Exception as e:
    print(f"| #{name} | {pair} | {arch} | error: {e} | | {secs:.0f} s | |")
    sys.exit(0)
progs = sum(1 for l in open(os.path.join(out, "results.jsonl")) if '"stage":"build"' in l and f'"toolchain":"{bad}"' in l)
hit = None
for f in v.get("findings", []):
    div = [c["toolchain"] for c in f["cells"] if c["divergent"]]
    if div and all(t == bad for t in div) or "self-check" in f["signature"] and bad in div:
        hit = f
        break
if hit:
    sig = hit["signature"].replace("|", "\\|")
    print(f"| #{name} | {pair} | {arch} | found ({hit['kind']}, {hit['scope']}) | {progs} | {secs:.0f} s | `{sig[:90]}` |")
else:
    other = "; ".join(f["signature"][:60] for f in v.get("findings", []))
    print(f"| #{name} | {pair} | {arch} | missed{' (other: ' + other + ')' if other else ''} | {progs} | {secs:.0f} s | lacks: {shape} |")
EOF
done

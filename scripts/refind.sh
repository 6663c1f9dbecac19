#!/usr/bin/env bash
# Benchmark: does default generation re-find real bugs fixed in Go patch releases?
#
# For each bad/fixed pair below (each with a reproducer in refind/<dir>/main.go,
# checked on this machine to fail on the bad release and pass on the fixed one;
# refind/PAIRS.md says how), runs default generation (no --templates) on the pair:
#   divergo run --toolchains BAD,FIXED --arch ARCH --qemu-mode plain --seed SEED \
#               --count COUNT --stop-on-first --no-triage --no-known --json
# (with the default --opt-axis newest, so FIXED+noopt is a third cell) and prints
# whether it stopped on a finding that blames the bad release alone, after how
# many programs and seconds, with the finding's kind, scope and signature. A hit
# is a bug of BAD that FIXED does not have: the table says which bug it is only
# where the finding's program was checked by hand (see the README). A pair it
# does not re-find in COUNT programs prints "missed".
#
# Usage: scripts/refind.sh [DIR...]     (default: every pair)
# Env:   COUNT (programs per pair, default 300), SEED (default 1), TEMPLATES
#        (default: none, the default families), DIVERGO (binary, default
#        target/release/divergo), OUT (keep each run's results under OUT/<dir>)
# Toolchains are installed as needed (`divergo toolchains install`).
set -euo pipefail
# A measurement: it judges from its own results, and leaves the findings history alone.
export DIVERGO_HISTORY=${DIVERGO_HISTORY:-off}
cd "$(dirname "$0")/.."
DIVERGO=${DIVERGO:-target/release/divergo}
COUNT=${COUNT:-300}
SEED=${SEED:-1}
TEMPLATES=${TEMPLATES:-}
[ -x "$DIVERGO" ] || cargo build --release --quiet -p divergo

# dir bad fixed arch class
PAIRS=(
  "complit-addrtaken-52953 go1.18.4 go1.18.6 amd64 compiler/front-end"
  "rolw-spill-59367 go1.20.2 go1.20.4 amd64 compiler/rewrite-rules"
  "memcombine-u16-store go1.21.5 go1.21.6 amd64 compiler/memcombine"
  "append-conv-ice-66096 go1.22.1 go1.22.2 amd64 compiler/front-end-ICE"
  "tighten-irreducible-75569 go1.24.7 go1.24.8 amd64 compiler/tighten"
  "expandcalls-ice-61992 go1.21.0 go1.21.1 amd64 compiler/expand-calls-ICE"
  "opendefer-ice-49282 go1.17.4 go1.17.6 amd64 compiler/open-defer-ICE"
  "writebarrier-move-71228 go1.23.5 go1.23.6 amd64 runtime-GC/writebarrier"
  "append-zero-gc-67255 go1.22.3 go1.22.4 amd64 runtime-GC/append"
  "duffcopy-nil-recover-73748 go1.24.4 go1.24.5 amd64 runtime-panic-recover"
)

want=("$@")
tmp=${OUT:-$(mktemp -d)}
mkdir -p "$tmp"
printf '| pair | class | bad → fixed | arch | result | programs | time | finding |\n|---|---|---|---|---|---|---|---|\n'
for p in "${PAIRS[@]}"; do
  read -r dir bad fixed arch class <<<"$p"
  if [ "${#want[@]}" -gt 0 ] && [[ ! " ${want[*]} " == *" $dir "* ]]; then
    continue
  fi
  "$DIVERGO" toolchains install "$bad" "$fixed" >/dev/null
  out="$tmp/$dir"
  rm -rf "$out"
  tmpl=()
  [ -n "$TEMPLATES" ] && tmpl=(--templates "$TEMPLATES")
  start=$(date +%s.%N)
  set +e
  "$DIVERGO" run --quiet "${tmpl[@]}" --toolchains "$bad,$fixed" --arch "$arch" \
    --qemu-mode plain --seed "$SEED" --count "$COUNT" --stop-on-first --no-triage \
    --no-known --json --out "$out" >"$tmp/$dir.json" 2>"$tmp/$dir.err"
  set -e
  end=$(date +%s.%N)
  python3 - "$tmp/$dir.json" "$out" "$bad" "$start" "$end" "$dir" "$bad → $fixed" "$arch" "$class" <<'EOF'
import json, sys, os
path, out, bad, start, end, name, pair, arch, cls = sys.argv[1:]
secs = float(end) - float(start)
row = f"| `{name}` | {cls} | {pair} | {arch} |"
try:
    v = json.load(open(path))
except Exception as e:
    print(f"{row} error: {e} | | {secs:.0f} s | |")
    sys.exit(0)
progs = sum(1 for l in open(os.path.join(out, "results.jsonl"))
            if '"stage":"build"' in l and f'"toolchain":"{bad}"' in l)
hit = None
for f in v.get("findings", []):
    div = [c["toolchain"] for c in f["cells"] if c["divergent"]]
    if div and all(t == bad for t in div):
        hit = f
        break
if hit:
    sig = hit["signature"].replace("|", "\\|")[:80]
    prog = (hit.get("programs") or ["?"])[0]
    print(f"{row} found ({hit['kind']}, {hit['scope']}) | {progs} | {secs:.0f} s | `{sig}` in {prog} |")
else:
    other = "; ".join(f"{f['kind']}/{f['scope']}" for f in v.get("findings", []))
    print(f"{row} missed{' (other: ' + other + ')' if other else ''} | {progs} | {secs:.0f} s | |")
EOF
done

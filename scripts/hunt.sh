#!/usr/bin/env bash
# A resumable hunt: default generation (no --templates) against the newest patch
# release of the two newest Go minors, amd64, with the unoptimised reference
# cell for both (--opt-axis all), in chunks of DURATION. Each call runs one chunk
# whose seeds follow the previous chunk's, and appends a line to HUNT/ledger.tsv:
#   chunk  first-seed  programs  seconds  findings  (ids, kind/scope: signature)
# A chunk that was cut short (the machine went away) has a dir and no ledger
# line: the next call resumes it (`divergo run --resume`) instead.
# The hours hunted are the sum of the seconds column.
#
# Usage: scripts/hunt.sh [DURATION]      (default 30m)
# Env:   HUNT (dir, default hunt-runs), TOOLCHAINS (default go1.27.4,go1.26.11),
#        ARCH (default amd64), SEED0 (first seed of the first chunk, default 1000000),
#        DIVERGO (binary, default target/release/divergo), JOBS (default: cores)
set -euo pipefail
# A measurement: it judges from its own results, and leaves the findings history alone.
export DIVERGO_HISTORY=${DIVERGO_HISTORY:-off}
cd "$(dirname "$0")/.."
DUR=${1:-30m}
HUNT=${HUNT:-hunt-runs}
TOOLCHAINS=${TOOLCHAINS:-go1.27.4,go1.26.11}
ARCH=${ARCH:-amd64}
SEED0=${SEED0:-1000000}
DIVERGO=${DIVERGO:-target/release/divergo}
JOBS=${JOBS:-$(nproc)}
[ -x "$DIVERGO" ] || cargo build --release --quiet -p divergo
mkdir -p "$HUNT"
ledger="$HUNT/ledger.tsv"
[ -f "$ledger" ] || printf 'chunk\tfirst-seed\tprograms\tseconds\tfindings\n' >"$ledger"
IFS=, read -r -a tcs <<<"$TOOLCHAINS"
"$DIVERGO" toolchains install "${tcs[@]}" >/dev/null

done_chunks=$(($(wc -l <"$ledger") - 1))
chunk=$((done_chunks + 1))
out="$HUNT/chunk-$chunk"
start=$(date +%s.%N)
set +e
if [ -f "$out/run.json" ]; then
  "$DIVERGO" run --quiet --resume "$out" --duration "$DUR" --json >"$out.json" 2>"$out.err"
else
  seed=$(awk -F'\t' 'NR>1 {s=$2+$3} END {print s+0}' "$ledger")
  [ "$seed" -eq 0 ] && seed=$SEED0
  "$DIVERGO" run --quiet --toolchains "$TOOLCHAINS" --arch "$ARCH" --opt-axis all \
    --jobs "$JOBS" --seed "$seed" --duration "$DUR" --json --out "$out" \
    >"$out.json" 2>"$out.err"
fi
rc=$?
set -e
end=$(date +%s.%N)
python3 - "$out.json" "$out" "$chunk" "$start" "$end" "$rc" >>"$ledger" <<'EOF'
import json, sys
path, out, chunk, start, end, rc = sys.argv[1:]
v = json.load(open(path))
plan = json.load(open(f"{out}/run.json"))
seed = plan["programs"]["seed"]
fs = "; ".join(f'{f["id"]} {f["kind"]}/{f["scope"]}: {f["signature"][:80]}'
               for f in v.get("findings", [])) or "-"
print(f'{chunk}\t{seed}\t{v["programs"]}\t{v["elapsed_s"]:.0f}\t{fs}')
EOF
tail -1 "$ledger"

#!/usr/bin/env bash
# Soak: runs divergo for a bounded time on generated programs with the hostile
# template mixed in (programs that print gigabytes, allocate without bound,
# spawn thousands of threads, ignore SIGQUIT, write files, never end), then
# stops it with SIGTERM and prints:
#   runs completed, orphans found (processes started by divergo still alive),
#   peak RSS of divergo, disk left behind (scratch dirs under the results dir).
#
# Usage: scripts/soak.sh [SECONDS]   (default 300)
# Env:   DIVERGO (binary), TOOLCHAINS (default go1.23.12,go1.25), SEED (default 1)
set -euo pipefail
# A measurement: it judges from its own results, and leaves the findings history alone.
export DIVERGO_HISTORY=${DIVERGO_HISTORY:-off}
cd "$(dirname "$0")/.."
SECS=${1:-300}
DIVERGO=${DIVERGO:-target/release/divergo}
[ -x "$DIVERGO" ] || cargo build --release --quiet -p divergo
out=$(mktemp -d /tmp/divergo-soak.XXXXXX)
"$DIVERGO" run --quiet --json --toolchains "${TOOLCHAINS:-go1.23.12,go1.25}" --arch amd64 \
  --templates hostile,bigstack,closures,timers,deferpanic --seed "${SEED:-1}" --count 100000 \
  --trials 2 --memory-limit-mib 1024 --out "$out/results" >"$out/summary.json" 2>"$out/stderr.txt" &
pid=$!
peak=0
end=$((SECONDS + SECS))
while [ $SECONDS -lt $end ] && kill -0 $pid 2>/dev/null; do
  hwm=$(awk '/VmHWM/ {print $2}' /proc/$pid/status 2>/dev/null || echo 0)
  [ -n "$hwm" ] && [ "$hwm" -gt "$peak" ] && peak=$hwm
  sleep 1
done
kill -TERM $pid 2>/dev/null || true
set +e
wait $pid
st=$?
set -e
sleep 2
orphans=$(python3 - "$out" <<'PY'
import os, sys
n = 0
for p in os.listdir("/proc"):
    if not p.isdigit() or int(p) == os.getpid():
        continue
    try:
        cmd = open(f"/proc/{p}/cmdline", "rb").read().decode(errors="replace")
    except OSError:
        continue
    if sys.argv[1] in cmd:
        n += 1
        print(f"  orphan {p}: {cmd.replace(chr(0), ' ')[:200]}", file=sys.stderr)
print(n)
PY
)
runs=$(grep -c '"stage":"run"' "$out/results/results.jsonl" || true)
builds=$(grep -c '"stage":"build"' "$out/results/results.jsonl" || true)
classes=$(python3 -c '
import json, sys, collections
c = collections.Counter(json.loads(l)["outcome"] for l in open(sys.argv[1]) if "\"run\"" in l)
print(", ".join(f"{k} {v}" for k, v in c.most_common()))' "$out/results/results.jsonl")
left=$(find "$out/results" -maxdepth 1 -name '.work-*' | wc -l)
left_bytes=$(find "$out/results" -maxdepth 1 -name '.work-*' -exec du -sb {} + | awk '{s+=$1} END {print s+0}')
echo "soak: ${SECS}s, divergo exit status $st (130 = stopped by SIGTERM as planned)"
echo "runs completed: $runs ($classes); builds: $builds"
echo "orphans found: $orphans"
echo "peak RSS of divergo: $((peak / 1024)) MiB"
echo "disk left behind: $left scratch dir(s), $left_bytes bytes; results dir $(du -sh "$out/results" | cut -f1) kept at $out/results"

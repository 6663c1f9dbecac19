#!/usr/bin/env bash
# Peak memory of `divergo report` merging N records (default 100000) spread
# over 4 shard dirs. The records are those of a real results dir (SRC, default
# a fresh 3-program run of go1.23.11/go1.23.12 on amd64), repeated under new
# program names (seed-S .. seed-S+k), each shard holding its slice of them.
# Prints records, programs, wall time and divergo's peak RSS (VmHWM).
# Usage: scripts/bench/merge-rss.sh [N] [SRC]
set -euo pipefail
# A measurement: it judges from its own results, and leaves the findings history alone.
export DIVERGO_HISTORY=${DIVERGO_HISTORY:-off}
cd "$(dirname "$0")/../.."
n=${1:-100000}
src=${2:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
divergo=target/release/divergo
if [ -z "$src" ]; then
  src=$tmp/src
  "$divergo" run --quiet --no-triage --toolchains go1.23.11,go1.23.12 --arch amd64 \
    --templates closures --seed 1 --count 3 --out "$src" >/dev/null 2>&1 || true
fi
python3 - "$src" "$tmp" "$n" <<'PY'
import json, sys, os
src, tmp, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
plan = json.load(open(os.path.join(src, "run.json")))
recs = [json.loads(l) for l in open(os.path.join(src, "results.jsonl")) if l.strip()]
by_prog = {}
for r in recs:
    r.pop("log", None)
    by_prog.setdefault(r["program"], []).append(r)
template = list(by_prog.values())
per = sum(len(t) for t in template) / len(template)
programs = int(n / per) + 1
assert plan["programs"]["kind"] == "generated", "SRC must be a run of generated programs"
seed = plan["programs"]["seed"]
plan["programs"]["count"] = programs
shards = 4
outs = []
for i in range(shards):
    d = os.path.join(tmp, f"shard-{i+1}")
    os.makedirs(d)
    p = dict(plan, shard={"index": i + 1, "count": shards})
    json.dump(p, open(os.path.join(d, "run.json"), "w"))
    outs.append(open(os.path.join(d, "results.jsonl"), "w"))
written = 0
for k in range(programs):
    for r in template[k % len(template)]:
        if written >= n:
            break
        r = dict(r, program=f"seed-{seed + k}")
        outs[k % shards].write(json.dumps(r) + "\n")
        written += 1
for o in outs:
    o.close()
print(f"{written} records of {programs} programs in {shards} shards", file=sys.stderr)
PY
start=$(date +%s.%N)
/usr/bin/time -f "%M" -o "$tmp/rss" "$divergo" report "$tmp"/shard-* --out "$tmp/merged" --json \
  >"$tmp/out.json" 2>"$tmp/err" || true
end=$(date +%s.%N)
python3 - "$tmp" "$start" "$end" <<'PY'
import json, sys
tmp, start, end = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
v = json.load(open(f"{tmp}/out.json"))
rss = int(open(f"{tmp}/rss").read().split()[-1])
recs = sum(1 for _ in open(f"{tmp}/merged/results.jsonl"))
print(f"merged {recs} records, {v['programs']} programs in {end - start:.1f} s; "
      f"peak RSS {rss / 1024:.0f} MiB (divergo VmHWM {v['peak_rss_bytes'] / 2**20:.0f} MiB)")
PY

#!/usr/bin/env bash
# Generates a Go program with N functions (default 40000; each a loop over a
# switch, a few with frames over 64 KiB), builds it for GOARCH (default arm64)
# with a registered toolchain (default the newest go1.25.x) and times
# `divergo scan` on it.
#
#   scripts/bench/scan-big.sh [N] [toolchain] [arch]
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-40000}
TC=${2:-go1.25}
ARCH=${3:-arm64}
DIVERGO=${DIVERGO:-target/release/divergo}
[ -x "$DIVERGO" ] || cargo build --release --quiet -p divergo
goroot=$("$DIVERGO" toolchains list --json | python3 -c '
import json, sys
want = sys.argv[1]
ts = [t for t in json.load(sys.stdin) if t["usable"] and (t["name"] == want or t["name"].startswith(want + "."))]
ts.sort(key=lambda t: [int(x) for x in t["name"][2:].split(".")])
print(ts[-1]["goroot"] if ts else "")' "$TC")
[ -n "$goroot" ] || { echo "toolchain $TC is not registered" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$N" "$work" <<'PY'
import sys, os
n, d = int(sys.argv[1]), sys.argv[2]
per = 2000
open(os.path.join(d, "go.mod"), "w").write("module big\n\ngo 1.14\n")
calls = []
for f in range(0, n, per):
    out = ["package main\n"]
    for i in range(f, min(n, f + per)):
        big = i % 97 == 0
        out.append("//go:noinline\nfunc f%d(x int) int {\n" % i)
        if big:
            out.append("\tvar a [9000]int\n\ta[x&8191] = x\n")
        out.append("\ts := x\n\tfor k := 0; k < 3; k++ {\n\t\tswitch (s + k) % 7 {\n")
        for c in range(7):
            out.append("\t\tcase %d:\n\t\t\ts = s*%d + %d\n" % (c, c + 3, i % 13))
        out.append("\t\t}\n\t}\n")
        out.append("\treturn s%s\n}\n\n" % (" + a[(x+1)&8191]" if big else ""))
        calls.append("f%d" % i)
    open(os.path.join(d, "f%06d.go" % f), "w").write("".join(out))
m = ["package main\n\nimport \"os\"\n\nvar fs = []func(int) int{\n"]
m += ["\t%s,\n" % c for c in calls]
m.append("}\n\nfunc main() {\n\ts := 0\n\tfor _, f := range fs {\n\t\ts += f(len(os.Args))\n\t}\n\tos.Exit(s & 1)\n}\n")
open(os.path.join(d, "main.go"), "w").write("".join(m))
PY
t0=$(date +%s.%N)
(cd "$work" && env -u GOFLAGS GOROOT="$goroot" PATH="$goroot/bin:$PATH" GOOS=linux GOARCH="$ARCH" CGO_ENABLED=0 \
  GOTOOLCHAIN=local GOPROXY=off GOENV=off GOCACHE="$work/cache" go build -o big .)
t1=$(date +%s.%N)
size=$(stat -c %s "$work/big")
set +e
/usr/bin/time -f '%e %M' -o "$work/time" "$DIVERGO" scan "$work/big" > "$work/out"
rc=$?
set -e
read -r secs kb < <(tail -n 1 "$work/time")
head -n 1 "$work/out"
printf 'functions generated: %s; build %.0f s; binary %.1f MB; scan %s s (exit %s), peak RSS %.0f MiB, %.1f MB/s\n' \
  "$N" "$(echo "$t1 - $t0" | bc)" "$(echo "$size / 1000000" | bc -l)" "$secs" "$rc" "$(echo "$kb / 1024" | bc -l)" \
  "$(echo "$size / 1000000 / $secs" | bc -l)"

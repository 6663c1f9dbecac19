#!/usr/bin/env bash
# Builds go-corpus/arm64-split-sp-73259 and go-corpus/arm64-split-sp-leaf with
# each toolchain for arm64, runs `divergo scan` on them and prints which main.*
# functions have a window, as a Markdown table.
#
#   scripts/scan-table.sh [go1.14.15 go1.23.11 ...]   (default: every registered toolchain)
#
# Toolchains come from the divergo registry ($DIVERGO_HOME, default ~/.cache/divergo).
# SCAN_ARCH=amd64 builds for amd64 instead; SCAN_LDFLAGS="-s -w" strips the binaries.
set -euo pipefail
cd "$(dirname "$0")/.."
DIVERGO=${DIVERGO:-target/release/divergo}
ARCH=${SCAN_ARCH:-arm64}
[ -x "$DIVERGO" ] || cargo build --release --quiet -p divergo
if [ $# -eq 0 ]; then
  mapfile -t tcs < <("$DIVERGO" toolchains list --json | python3 -c '
import json, sys
for t in json.load(sys.stdin):
    if t["usable"]: print(t["name"])')
else
  tcs=("$@")
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
progs=(arm64-split-sp-73259 arm64-split-sp-leaf)
printf '| toolchain | %s | %s |\n|---|---|---|\n' "${progs[@]}"
for tc in "${tcs[@]}"; do
  goroot=$("$DIVERGO" toolchains list --json | python3 -c '
import json, sys
for t in json.load(sys.stdin):
    if t["name"] == sys.argv[1]: print(t["goroot"])' "$tc")
  [ -n "$goroot" ] || { echo "toolchain $tc is not registered" >&2; exit 2; }
  row="| $tc |"
  for p in "${progs[@]}"; do
    cp -r "go-corpus/$p" "$work/$p-$tc"
    bin="$work/$p-$tc.bin"
    (cd "$work/$p-$tc" && env GOROOT="$goroot" PATH="$goroot/bin:$PATH" GOOS=linux GOARCH="$ARCH" \
      CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod GOPROXY=off \
      GOCACHE="${DIVERGO_HOME:-$HOME/.cache/divergo}/gocache/$tc" \
      go build -ldflags="${SCAN_LDFLAGS:-}" -o "$bin" .)
    set +e
    json=$("$DIVERGO" scan --json "$bin")
    rc=$?
    set -e
    [ $rc -le 1 ] || { echo "scan of $bin failed (exit $rc)" >&2; exit 3; }
    cell=$(python3 -c '
import json, sys
r = json.loads(sys.argv[1])[0]["report"]
fs = sorted({w["function"] for w in r["windows"] if w["function"].startswith("main.")})
other = len([w for w in r["windows"] if not w["function"].startswith("main.")])
s = ", ".join(fs) + " flagged" if fs else "nothing in main"
if other: s += " (+%d outside main)" % other
print(s)' "$json")
    row="$row $cell |"
  done
  echo "$row"
done

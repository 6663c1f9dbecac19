#!/usr/bin/env bash
# Builds this program for ppc64 and ppc64le with each toolchain named (a
# divergo toolchain name, resolved under $DIVERGO_HOME, or a GOROOT) and says
# whether the link failed with "bad DS reloc".
#   usage: found/ppc64x-stmp-align-ds/check.sh go1.26.11 go1.27.0 go1.27.4
set -euo pipefail
cd "$(dirname "$0")"
home=${DIVERGO_HOME:-$HOME/.cache/divergo}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for tc in "$@"; do
  root=$tc
  if [ ! -x "$root/bin/go" ]; then
    # A registered toolchain: its toolchain.json says where its GOROOT is.
    root=$(sed -n 's/.*"goroot": *"\(.*\)".*/\1/p' "$home/toolchains/$tc/toolchain.json")
  fi
  for arch in ppc64 ppc64le; do
    if out=$(GOROOT="$root" GOARCH=$arch GOOS=linux CGO_ENABLED=0 GOFLAGS=-mod=mod \
      GOCACHE="$tmp/cache" GOPATH="$tmp/gopath" GOTOOLCHAIN=local \
      "$root/bin/go" build -o "$tmp/p" . 2>&1); then
      echo "$tc $arch: builds"
    elif grep -q "bad DS reloc" <<<"$out"; then
      echo "$tc $arch: FAILS: $(grep -m1 'bad DS reloc' <<<"$out")"
    else
      echo "$tc $arch: other error: $(tail -1 <<<"$out")"
    fi
  done
done

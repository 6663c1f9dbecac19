#!/usr/bin/env bash
# Sets up (scripts/setup.sh, plus go1.14.15 as the oldest toolchain the
# generated programs must build with, and go1.14.2, the fix of the go1.14.1
# timer hang in go-corpus/timer-reset-38023) and runs every check: formatting,
# clippy, and the unit and integration tests against real toolchains and qemu.
set -euo pipefail
cd "$(dirname "$0")/.."
DIVERGO_EXTRA_TOOLCHAINS="go1.14.15 go1.14.2 ${DIVERGO_EXTRA_TOOLCHAINS:-}" scripts/setup.sh
# xmllint validates junit.xml against the JUnit schema in the tests; a
# headless chromium loads report.html.
missing=()
command -v xmllint >/dev/null 2>&1 || missing+=(libxml2-utils)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "[test] installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# The release test build and the programs the tests build need several GB;
# a full disk shows up as a linker killed by SIGBUS, so say it first.
mkdir -p target
free_kib=$(df -Pk target | awk 'NR==2 {print $4}')
if [ "${free_kib:-0}" -lt $((8 * 1024 * 1024)) ]; then
  echo "[test] warning: $((free_kib / 1024)) MiB free under target/; the suite needs about 8 GiB (a full disk fails the link with a bus error)" >&2
fi
echo "[test] cargo fmt --check" >&2
cargo fmt --all -- --check
echo "[test] cargo clippy" >&2
cargo clippy --release --quiet -p divergo --all-targets -- -D warnings
echo "[test] cargo test" >&2
cargo test --release -p divergo -- --test-threads 2

#!/usr/bin/env bash
# Sets up everything divergo needs on a fresh machine, idempotently:
#   - qemu-user-static (Debian package) for running arm64 binaries on x86
#   - the divergo binary (cargo build --release)
#   - the default Go toolchains under $DIVERGO_HOME (default ~/.cache/divergo),
#     fetched from the Go module proxy and verified against the checksum database
# Extra toolchains: DIVERGO_EXTRA_TOOLCHAINS="go1.14.15 go1.24.5" scripts/setup.sh
# go1.14.1 (in no registry) is built from source (`divergo toolchains build`, cached
# under $DIVERGO_HOME/src-builds): from DIVERGO_GO1141_SRC (a go1.14.1.src.tar.gz or a Go
# git checkout, built at DIVERGO_GO1141_REF, default tag go1.14.1), else from
# ../shared/go-src/go1.14.1.src.tar.gz beside the repository when present; without
# either it says how to get one and goes on. A go1.14.1 GOROOT you already have:
# DIVERGO_GO1141_GOROOT=/path/to/go scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*" >&2; }

if ! command -v qemu-aarch64-static >/dev/null 2>&1; then
  log "installing qemu-user-static"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq qemu-user-static >/dev/null
fi
log "qemu: $(qemu-aarch64-static --version | head -n1)"

if ! command -v cargo >/dev/null 2>&1; then
  log "cargo not found: install Rust (https://rustup.rs) and run this again"
  exit 1
fi
log "building divergo (release)"
cargo build --release --quiet -p divergo
DIVERGO=target/release/divergo

# shellcheck disable=SC2086
"$DIVERGO" toolchains install go1.23.11 go1.23.12 go1.25 ${DIVERGO_EXTRA_TOOLCHAINS:-}
if [ -n "${DIVERGO_GO1141_GOROOT:-}" ]; then
  "$DIVERGO" toolchains install "go1.14.1=$DIVERGO_GO1141_GOROOT"
else
  go1141_src="${DIVERGO_GO1141_SRC:-}"
  if [ -z "$go1141_src" ] && [ -f ../shared/go-src/go1.14.1.src.tar.gz ]; then
    go1141_src=../shared/go-src/go1.14.1.src.tar.gz
  fi
  if [ -n "$go1141_src" ]; then
    ref=()
    [ -d "$go1141_src" ] && ref=(--ref "${DIVERGO_GO1141_REF:-go1.14.1}")
    log "go1.14.1 from source: $go1141_src${ref[*]:+ ${ref[*]}} (make.bash takes minutes the first time; cached after)"
    "$DIVERGO" toolchains build go1.14.1 --source "$go1141_src" "${ref[@]}"
  elif [[ "$("$DIVERGO" toolchains list --json)" != *'"name": "go1.14.1"'* ]]; then
    log "go1.14.1 is not set up (no registry serves it): get the source archive"
    log "  https://go.dev/dl/go1.14.1.src.tar.gz (or a Go git checkout at tag go1.14.1), then"
    log "  $DIVERGO toolchains build go1.14.1 --source go1.14.1.src.tar.gz"
    log "  (or DIVERGO_GO1141_SRC=/path/to/it scripts/setup.sh); going on without it"
  fi
fi
"$DIVERGO" toolchains list

#!/usr/bin/env bash
# Sets up everything divergo needs on a fresh machine, idempotently:
#   - qemu-user-static (Debian package) for running arm64 binaries on x86
#   - the divergo binary (cargo build --release)
#   - the default Go toolchains under $DIVERGO_HOME (default ~/.cache/divergo),
#     fetched from the Go module proxy and verified against the checksum database
# Extra toolchains: DIVERGO_EXTRA_TOOLCHAINS="go1.14.15 go1.24.5" scripts/setup.sh
# A go1.14.1 GOROOT (in no registry): DIVERGO_GO1141_GOROOT=/path/to/go scripts/setup.sh
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
fi
"$DIVERGO" toolchains list

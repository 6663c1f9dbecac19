#!/usr/bin/env bash
# One shard of the nightly run, as .github/workflows/nightly.yml runs it (and
# harness/tests/workflows.rs runs it locally). Environment:
#   SEED      first seed; the same on every runner of one nightly run
#   SHARD     i/n
#   ARCH      amd64 or arm64 (native on its own runner; under qemu elsewhere)
#   OUT       the results dir to write (uploaded as an artifact)
#   COUNT     programs in the whole run [the config's run.count, else divergo's default]
#   TOOLCHAINS, TEMPLATES   comma-separated [divergo's defaults]
#   DIVERGO   the divergo binary [target/release/divergo]
#   DIVERGO_CONFIG  the settings file (.github/divergo.toml in the workflow)
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${SEED:?}" "${SHARD:?}" "${ARCH:?}" "${OUT:?}"
args=(run --seed "$SEED" --shard "$SHARD" --arch "$ARCH" --out "$OUT")
[ -n "${COUNT:-}" ] && args+=(--count "$COUNT")
[ -n "${TOOLCHAINS:-}" ] && args+=(--toolchains "$TOOLCHAINS")
[ -n "${TEMPLATES:-}" ] && args+=(--templates "$TEMPLATES")
status=0
"${DIVERGO:-target/release/divergo}" "${args[@]}" || status=$?
# Exit 1 means findings: the merge job judges all shards together.
if [ "$status" -gt 1 ]; then
  exit "$status"
fi

#!/usr/bin/env bash
# One shard of the nightly run, as .github/workflows/nightly.yml runs it (and
# harness/tests/it/workflows.rs runs it locally). Environment:
#   SEED      first seed; the same on every runner of one nightly run
#   SHARD     i/n
#   ARCH      amd64 or arm64 (native on its own runner; under qemu elsewhere)
#   OUT       the results dir to write (uploaded as an artifact)
#   COUNT     programs in the whole run [the config's run.count, else divergo's default]
#   TOOLCHAINS, TEMPLATES   comma-separated [divergo's defaults]
#   COMPILE_ARCH, COMPILE_MODE  compile-only archs and build modes, comma-separated
#             [none]; the workflow gives the x86-64 runner every arch but amd64 and
#             arm64 (which the two runners run), and both runners every mode
#   DIVERGO   the divergo binary [target/release/divergo]
#   DIVERGO_CONFIG  the settings file (.github/divergo.toml in the workflow)
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${SEED:?}" "${SHARD:?}" "${ARCH:?}" "${OUT:?}"
args=(run --seed "$SEED" --shard "$SHARD" --arch "$ARCH" --out "$OUT")
[ -n "${COUNT:-}" ] && args+=(--count "$COUNT")
[ -n "${TOOLCHAINS:-}" ] && args+=(--toolchains "$TOOLCHAINS")
[ -n "${TEMPLATES:-}" ] && args+=(--templates "$TEMPLATES")
[ -n "${COMPILE_ARCH:-}" ] && args+=(--compile-arch "$COMPILE_ARCH")
[ -n "${COMPILE_MODE:-}" ] && args+=(--compile-mode "$COMPILE_MODE")
status=0
"${DIVERGO:-target/release/divergo}" "${args[@]}" || status=$?
# Exit 1 means findings: the merge job judges all shards together.
if [ "$status" -gt 1 ]; then
  exit "$status"
fi

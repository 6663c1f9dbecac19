#!/usr/bin/env bash
# The final job of the nightly run: merge every shard's results dir into one
# (divergo merge), record it in the findings history the config names, put
# summary.md in the GitHub step summary when there is one, and exit 1 on new
# or regressed findings. Usage: OUT=dir nightly-merge.sh SHARD_DIR...
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${OUT:?}"
status=0
"${DIVERGO:-target/release/divergo}" merge "$@" --out "$OUT" || status=$?
if [ -n "${GITHUB_STEP_SUMMARY:-}" ] && [ -f "$OUT/summary.md" ]; then
  # The step summary holds at most 1 MiB.
  head -c 1000000 "$OUT/summary.md" >>"$GITHUB_STEP_SUMMARY"
fi
exit "$status"

#!/usr/bin/env bash
# Generator sweep: generate many seeds, build each program with the oldest
# and the newest toolchain, run both natively (amd64) and report build
# failures, non-ok outcomes (non-zero exit, timeout, no checksum line) and
# output/checksum mismatches between the two builds.
#
# usage: scripts/gen-sweep.sh [SEEDS [FROM]]        (default: 2000 seeds from 0)
#
# Environment:
#   OLD_GOROOT, NEW_GOROOT  GOROOTs to use (default: the registered go1.14.15
#                           and the newest registered go1.25.x under
#                           $DIVERGO_HOME, default ~/.cache/divergo)
#   JOBS      programs in flight (default: number of CPUs)
#   TIMEOUT   seconds per run (default 60)
#   FAMILIES  comma list of template families (default: the default set)
#   VET       1: also `go vet -shift=false` every program with both toolchains
#             (slower; expr shifts past the width on purpose)
#   ARCH32    a 32-bit GOARCH the newest toolchain also builds every program
#             for, run natively (386) or under qemu-user (arm, mips, mipsle);
#             its output must be the amd64 output (default 386; off: none)
#   OUT       results directory (default: a new dir under ${TMPDIR:-/tmp})
#   DIVERGO   the divergo binary (default: target/release/divergo, built if missing)
#
# Output: OUT/results.tsv (one line per seed), OUT/failed/<seed>/ (program,
# build logs, outputs) for every seed that was not clean, and a summary on
# stdout. Exit status 0 only when every seed was clean. Two kinds of mismatch
# count as clean (the program is right; the old release is not), each checked
# per seed and listed: golang/go#52953 (agrees once the self-referencing
# literals go through a temporary) and other miscompiles of the old release
# (its -N -l build prints what the new toolchain prints).
set -euo pipefail
# A measurement: it judges from its own results, and leaves the findings history alone.
export DIVERGO_HISTORY=${DIVERGO_HISTORY:-off}
cd "$(dirname "$0")/.."
ROOT=$PWD

SEEDS=${1:-2000}
FROM=${2:-0}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
TIMEOUT=${TIMEOUT:-60}
FAMILIES=${FAMILIES:-}
VET=${VET:-0}
ARCH32=${ARCH32:-386}
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/divergo-gen-sweep.XXXXXX")}
HOME_DIR=${DIVERGO_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/divergo}

die() { echo "gen-sweep: $*" >&2; exit 2; }

# A registered toolchain's GOROOT: exact name, or newest NAME.x for go1.N.
registered_goroot() {
  local name=$1 dir best=""
  for dir in "$HOME_DIR"/toolchains/*/; do
    local n
    n=$(basename "$dir")
    if [ "$n" = "$name" ] || [[ "$n" == "$name".* ]]; then
      if [ -z "$best" ] || [ "$(printf '%s\n%s\n' "$best" "$n" | sort -V | tail -1)" = "$n" ]; then
        best=$n
      fi
    fi
  done
  [ -n "$best" ] || return 1
  sed -n 's/^ *"goroot": *"\(.*\)",*$/\1/p' "$HOME_DIR/toolchains/$best/toolchain.json"
}

OLD_GOROOT=${OLD_GOROOT:-$(registered_goroot go1.14.15 || true)}
NEW_GOROOT=${NEW_GOROOT:-$(registered_goroot go1.25 || true)}
[ -x "$OLD_GOROOT/bin/go" ] || die "no oldest toolchain: set OLD_GOROOT or run DIVERGO_EXTRA_TOOLCHAINS=go1.14.15 scripts/setup.sh"
[ -x "$NEW_GOROOT/bin/go" ] || die "no newest toolchain: set NEW_GOROOT or run scripts/setup.sh (installs go1.25)"
OLD_V=$(head -1 "$OLD_GOROOT/VERSION")
NEW_V=$(head -1 "$NEW_GOROOT/VERSION")

DIVERGO=${DIVERGO:-$ROOT/target/release/divergo}
if [ ! -x "$DIVERGO" ]; then
  cargo build --release --quiet -p divergo
fi
"$DIVERGO" gen --help >/dev/null 2>&1 || die "$DIVERGO has no gen subcommand"

mkdir -p "$OUT/work" "$OUT/failed" "$OUT/cache-old" "$OUT/cache-new" "$OUT/cache-32"
echo "gen-sweep: $SEEDS seeds from $FROM, $OLD_V vs $NEW_V (and $NEW_V on ${ARCH32}), $JOBS jobs, timeout ${TIMEOUT}s -> $OUT" >&2

export OLD_GOROOT NEW_GOROOT TIMEOUT VET OUT DIVERGO FAMILIES ARCH32

# One seed: generate, [vet,] build with both, run both, compare. Prints one
# TSV line: seed status families old_rc new_rc old_ms new_ms detail
one_seed() {
  local seed=$1 d="$OUT/work/$1"
  local tflags=()
  if [ -n "$FAMILIES" ]; then
    local f
    for f in ${FAMILIES//,/ }; do tflags+=(--template "$f"); done
  fi
  rm -rf "$d"; mkdir -p "$d"
  if ! "$DIVERGO" gen --seed "$seed" "${tflags[@]}" -o "$d" 2>"$d/gen.log"; then
    printf '%s\tgen_error\t-\t-\t-\t-\t-\t%s\n' "$seed" "$(head -c 200 "$d/gen.log" | tr '\n\t' '  ')"
    mkdir -p "$OUT/failed/$seed" && cp -r "$d"/. "$OUT/failed/$seed/"
    rm -rf "$d"; return
  fi
  local fams
  fams=$(sed -n 's/^  "\(bigstack\|closures\|timers\|deferpanic\|stackgrow\|expr\|smith\|hostile\)".*/\1/p' "$d/spec.json" | paste -sd, -)
  local status=ok detail="" rc_old=- rc_new=- ms_old=- ms_new=-
  local which root cache
  for which in old new; do
    if [ $which = old ]; then root=$OLD_GOROOT; cache=$OUT/cache-old; else root=$NEW_GOROOT; cache=$OUT/cache-new; fi
    local envs=(env -i PATH=/usr/bin:/bin HOME="$d" GOROOT="$root" GOTOOLCHAIN=local GOFLAGS=-mod=mod
      GO111MODULE=on GOPROXY=off GOSUMDB=off CGO_ENABLED=0 GOOS=linux GOARCH=amd64 GOCACHE="$cache"
      GOPATH="$d/gopath")
    if [ "$VET" = 1 ] && ! (cd "$d" && "${envs[@]}" "$root/bin/go" vet -shift=false . >"vet-$which.log" 2>&1); then
      status=vet_error; detail="$which: $(head -c 300 "$d/vet-$which.log" | tr '\n\t' '  ')"
      break
    fi
    if ! (cd "$d" && "${envs[@]}" "$root/bin/go" build -o "prog-$which" . >"build-$which.log" 2>&1); then
      status=build_error; detail="$which: $(head -c 300 "$d/build-$which.log" | tr '\n\t' '  ')"
      break
    fi
    local t0 t1 rc
    t0=$(date +%s%N)
    set +e
    (cd "$d" && env -u GOMAXPROCS -u GOGC -u GODEBUG timeout -s KILL "$TIMEOUT" "./prog-$which" >"out-$which.txt" 2>"err-$which.txt")
    rc=$?
    set -e
    t1=$(date +%s%N)
    local ms=$(( (t1 - t0) / 1000000 ))
    if [ $which = old ]; then rc_old=$rc; ms_old=$ms; else rc_new=$rc; ms_new=$ms; fi
    rm -f "$d/prog-$which"
    if [ $rc = 137 ]; then
      status=timeout; detail="$which: no exit after ${TIMEOUT}s"
    elif [ $rc != 0 ]; then
      status=exit_$rc; detail="$which: $(grep -m1 -E '^(fatal error|panic|SIG|unexpected|runtime)' "$d/err-$which.txt" | head -c 200)"
    elif ! tail -1 "$d/out-$which.txt" | grep -Eq '^checksum: [0-9a-f]{16}$'; then
      status=no_checksum; detail="$which: last line $(tail -1 "$d/out-$which.txt" | head -c 80)"
    fi
    [ $status = ok ] || break
  done
  # The same program on a 32-bit arch must print the same (generator >= 11).
  if [ $status = ok ] && [ "$ARCH32" != off ]; then
    local run32=() q=$ARCH32
    case $ARCH32 in 386) ;; mipsle) q=mipsel ;; esac
    [ "$ARCH32" = 386 ] || run32=("qemu-$q-static")
    if ! (cd "$d" && env -i PATH=/usr/bin:/bin HOME="$d" GOROOT="$NEW_GOROOT" GOTOOLCHAIN=local GOFLAGS=-mod=mod \
          GO111MODULE=on GOPROXY=off GOSUMDB=off CGO_ENABLED=0 GOOS=linux GOARCH="$ARCH32" \
          GOCACHE="$OUT/cache-32" GOPATH="$d/gopath" "$NEW_GOROOT/bin/go" build -o prog-32 . >build-32.log 2>&1); then
      status=build_error_$ARCH32; detail="$(head -c 300 "$d/build-32.log" | tr '\n\t' '  ')"
    elif ! (cd "$d" && env -u GOMAXPROCS -u GOGC -u GODEBUG timeout -s KILL "$TIMEOUT" "${run32[@]}" ./prog-32 >out-32.txt 2>err-32.txt); then
      status=exit_$ARCH32; detail="$(grep -m1 -E '^(fatal error|panic|SIG|unexpected|runtime)' "$d/err-32.txt" | head -c 200)"
    elif ! cmp -s "$d/out-new.txt" "$d/out-32.txt"; then
      status=mismatch_$ARCH32; detail="$(tail -1 "$d/out-new.txt") vs $ARCH32 $(tail -1 "$d/out-32.txt")"
    fi
    rm -f "$d/prog-32"
  fi
  if [ $status = ok ] && ! cmp -s "$d/out-old.txt" "$d/out-new.txt"; then
    status=mismatch
    detail="$(tail -1 "$d/out-old.txt") vs $(tail -1 "$d/out-new.txt")"
    # golang/go#52953 (releases before go1.18.6): `x = T{f1: p.f0}` with
    # p := &x reads the new x. When the program has that shape and the old
    # build agrees once each such literal goes through a temporary, the
    # mismatch is that known bug.
    if grep -Eq '^\s+x[0-9]+ = sm[0-9]S[0-9]+\{.*p[0-9]+\.f' "$d/main.go"; then
      local k="$d/k52953"
      mkdir -p "$k" && cp "$d/go.mod" "$k/"
      perl -pe 'if (/^(\t+)(x\d+) = (sm\dS\d+\{.*p\d+\.f.*\})$/) { $n++; $_ = "$1tmpz$n := $3\n$1$2 = tmpz$n\n"; }' "$d/main.go" >"$k/main.go"
      if (cd "$k" && env -i PATH=/usr/bin:/bin HOME="$d" GOROOT="$OLD_GOROOT" GOTOOLCHAIN=local GOFLAGS=-mod=mod \
            GO111MODULE=on GOPROXY=off GOSUMDB=off CGO_ENABLED=0 GOOS=linux GOARCH=amd64 \
            GOCACHE="$OUT/cache-old" GOPATH="$d/gopath" "$OLD_GOROOT/bin/go" build -o prog . >build.log 2>&1) &&
         (cd "$k" && timeout -s KILL "$TIMEOUT" ./prog >out.txt 2>/dev/null) &&
         cmp -s "$k/out.txt" "$d/out-new.txt"; then
        status=known_52953
        detail="golang/go#52953: agrees once the self-referencing literals go through a temporary"
      fi
    fi
    # Another miscompile of the old release (golang/go#59367 and its kin
    # among them): its unoptimised build (-N -l) prints what the new
    # toolchain prints. Not a generator error; counted apart, kept in failed/.
    if [ $status = mismatch ]; then
      local n="$d/noopt-old"
      mkdir -p "$n" && cp "$d/go.mod" "$d/main.go" "$n/"
      if (cd "$n" && env -i PATH=/usr/bin:/bin HOME="$d" GOROOT="$OLD_GOROOT" GOTOOLCHAIN=local GOFLAGS=-mod=mod \
            GO111MODULE=on GOPROXY=off GOSUMDB=off CGO_ENABLED=0 GOOS=linux GOARCH=amd64 \
            GOCACHE="$OUT/cache-old" GOPATH="$d/gopath" "$OLD_GOROOT/bin/go" build -gcflags='all=-N -l' -o prog . >build.log 2>&1) &&
         (cd "$n" && timeout -s KILL "$TIMEOUT" ./prog >out.txt 2>/dev/null) &&
         cmp -s "$n/out.txt" "$d/out-new.txt"; then
        status=old_miscompile
        detail="the old release's -N -l build prints the new output: a miscompile of the old release"
      fi
    fi
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$seed" "$status" "${fams:--}" "$rc_old" "$rc_new" "$ms_old" "$ms_new" "$detail"
  if [ $status != ok ]; then
    mkdir -p "$OUT/failed/$seed" && cp -r "$d"/. "$OUT/failed/$seed/"
  fi
  rm -rf "$d"
}
export -f one_seed

seq "$FROM" $((FROM + SEEDS - 1)) | xargs -P "$JOBS" -I{} bash -c 'one_seed {}' > "$OUT/results.tsv"

# Summary.
R=$OUT/results.tsv
total=$(wc -l < "$R")
echo
echo "gen-sweep: $total seeds, $OLD_V vs $NEW_V (results: $R)"
echo "outcomes:"
cut -f2 "$R" | sort | uniq -c | sort -rn | sed 's/^/  /'
echo "programs per family (a program may have several):"
cut -f3 "$R" | tr ',' '\n' | sort | uniq -c | sort -rn | sed 's/^/  /'
stats() { # column -> median / p95 / max of run times in ms
  awk -F'\t' -v c="$1" '$2=="ok"{print $c}' "$R" | sort -n | awk '{a[NR]=$1} END{if(NR){p=int(NR*0.95); if(p<1)p=1; printf "median %d ms, p95 %d ms, max %d ms", a[int((NR+1)/2)], a[p], a[NR]}}'
}
echo "run time (ok seeds): $OLD_V: $(stats 6); $NEW_V: $(stats 7)"
known=$(awk -F'\t' '$2=="known_52953"' "$R" | wc -l)
[ "$known" = 0 ] || echo "known: $known seeds show golang/go#52953 in $OLD_V (fixed in go1.18.6), each checked as above"
oldmc=$(awk -F'\t' '$2=="old_miscompile" {print $1}' "$R" | sort -n | tr '\n' ' ')
[ -z "$oldmc" ] || echo "old miscompiles: seeds $oldmc differ only in $OLD_V's optimised build (its -N -l build agrees with $NEW_V); kept in $OUT/failed/"
bad=$(awk -F'\t' '$2!="ok" && $2!="known_52953" && $2!="old_miscompile"' "$R" | sort -n)
if [ -n "$bad" ]; then
  echo "not clean (programs kept in $OUT/failed/):"
  echo "$bad" | awk -F'\t' '{printf "  seed %s: %s [%s] %s\n", $1, $2, $3, $8}'
  rm -rf "$OUT/work" "$OUT/cache-old" "$OUT/cache-new" "$OUT/cache-32"
  exit 1
fi
rm -rf "$OUT/work" "$OUT/cache-old" "$OUT/cache-new" "$OUT/cache-32"
echo "all $total seeds clean"

#!/usr/bin/env bash
# Capture real build/run outputs for the classifier fixtures.
#
# For every program under harness/tests/fixtures/classify/programs/<name>/
# (main.go + expect), build it with each toolchain for amd64 and arm64, run it
# (arm64 under qemu-user) and record what it left behind:
#
#   runs/<name>/<toolchain>-<arch>-tb<GOTRACEBACK>-r<N>/{stdout,stderr,meta}
#   builds/<name>/<toolchain>-<arch>/{output,meta}        (failed builds only)
#   infra/<case>/{stdout,stderr,meta}                     (executor failures)
#
# `meta` is key=value lines: program, toolchain, arch, traceback, exit
# (code:N, signal:N or none), timed_out and expect (the class the program's
# expect file gives for that toolchain/arch).
#
# expect keys: class=<class> (required), class@<toolchain>[/<arch>]=<class>
# (a toolchain that really behaves differently), runs=N, tracebacks=a,b (GOTRACEBACK
# values, default system), timeout=SECONDS (then SIGQUIT, 5 s later SIGKILL),
# targets=<toolchain>/<arch>,... (restrict), env=K=V (extra environment),
# rlimit_as=BYTES (address-space cap). `same=all|none|max:N` (how many
# distinct signatures the program's fixtures may have; default all = 1) is
# read by harness/tests/it/classify_fixtures.rs, not by this script.
#
# Usage: scripts/capture-classify-fixtures.sh [program ...]
# Re-runnable: a program's fixture directories are replaced on each capture.
# Environment: DEVTC (toolchain root, default /root/devtc/golang.org),
# TOOLCHAINS (default "go1.14.15 go1.23.11 go1.23.12 go1.25.14"),
# ARCHS (default "amd64 arm64"), QEMU (default /usr/bin/qemu-aarch64-static).
set -euo pipefail
# A measurement: it judges from its own results, and leaves the findings history alone.
export DIVERGO_HISTORY=${DIVERGO_HISTORY:-off}

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
FIX="$ROOT/harness/tests/fixtures/classify"
DEVTC="${DEVTC:-/root/devtc/golang.org}"
TOOLCHAINS="${TOOLCHAINS:-go1.14.15 go1.23.11 go1.23.12 go1.25.14}"
ARCHS="${ARCHS:-amd64 arm64}"
QEMU="${QEMU:-/usr/bin/qemu-aarch64-static}"
CAP=65536

WORK="$(mktemp -d /tmp/classify-capture.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

# The runner: exact exit status (code vs signal), timeout with SIGQUIT then
# SIGKILL, output capped at $CAP bytes (cut at a line boundary).
cat >"$WORK/run.py" <<'PY'
import os, resource, signal, subprocess, sys, time
out_dir, timeout, rlimit, cap = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
argv = sys.argv[5:]
def limit():
    if rlimit > 0:
        resource.setrlimit(resource.RLIMIT_AS, (rlimit, rlimit))
so = open(os.path.join(out_dir, "stdout.full"), "wb")
se = open(os.path.join(out_dir, "stderr.full"), "wb")
timed_out = False
try:
    p = subprocess.Popen(argv, stdout=so, stderr=se, stdin=subprocess.DEVNULL, preexec_fn=limit)
except OSError as e:
    se.write(("spawn failed: %s\n" % e).encode()); se.close(); so.close()
    status = "none"
else:
    try:
        rc = p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        p.send_signal(signal.SIGQUIT)
        try:
            rc = p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            rc = p.wait()
    status = "code:%d" % rc if rc >= 0 else "signal:%d" % -rc
so.close(); se.close()
for name in ("stdout", "stderr"):
    data = open(os.path.join(out_dir, name + ".full"), "rb").read()
    if len(data) > cap:
        cut = data.rfind(b"\n", 0, cap)
        data = data[: cut + 1 if cut > 0 else cap]
    open(os.path.join(out_dir, name), "wb").write(data)
    os.remove(os.path.join(out_dir, name + ".full"))
print(status, "true" if timed_out else "false")
PY

goroot() { echo "$DEVTC/toolchain@v0.0.1-$1.linux-amd64"; }

gobuild() { # version arch srcdir out -> prints output, returns status
	local v=$1 arch=$2 src=$3 out=$4 r
	r="$(goroot "$v")"
	# Build in a throwaway module (language version go1.14, the oldest
	# toolchain) so every toolchain sees the same source tree.
	local mod="$WORK/mod-$(basename "$src")"
	rm -rf "$mod" && mkdir -p "$mod" && cp "$src/main.go" "$mod/"
	printf 'module prog\n\ngo 1.14\n' >"$mod/go.mod"
	(cd "$mod" && env -i PATH="$r/bin:/usr/bin:/bin" HOME="$WORK/home" GOROOT="$r" \
		GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0 GOPROXY=off \
		GOPATH="$WORK/gopath" GOCACHE="/tmp/gocache-$v" GOOS=linux GOARCH="$arch" \
		"$r/bin/go" build -o "$out" . 2>&1)
}

expect_get() { # file key default
	local v
	v="$(grep -E "^$2=" "$1" | head -1 | cut -d= -f2- || true)"
	echo "${v:-$3}"
}

write_meta() { # dir key=value...
	local d=$1
	shift
	printf '%s\n' "$@" >"$d/meta"
}

capture_program() {
	local name=$1 dir="$FIX/programs/$1" exp class runs tbs timeout targets envs rl
	exp="$dir/expect"
	class="$(expect_get "$exp" class "")"
	runs="$(expect_get "$exp" runs 1)"
	tbs="$(expect_get "$exp" tracebacks system)"
	timeout="$(expect_get "$exp" timeout 20)"
	targets="$(expect_get "$exp" targets "")"
	envs="$(expect_get "$exp" env "")"
	rl="$(expect_get "$exp" rlimit_as 0)"
	rm -rf "$FIX/runs/$name" "$FIX/builds/$name"
	for v in $TOOLCHAINS; do
		for arch in $ARCHS; do
			if [ -n "$targets" ] && ! grep -qw "$v/$arch" <<<"${targets//,/ }"; then
				continue
			fi
			local bin="$WORK/bin-$name-$v-$arch" out status cls
			# class@<toolchain>/<arch> or class@<toolchain> overrides class.
			cls="$(expect_get "$exp" "class@$v/$arch" "")"
			cls="${cls:-$(expect_get "$exp" "class@$v" "$class")}"
			if ! out="$(gobuild "$v" "$arch" "$dir" "$bin")"; then
				local bd="$FIX/builds/$name/$v-$arch"
				mkdir -p "$bd"
				printf '%s\n' "$out" | head -c $CAP >"$bd/output"
				write_meta "$bd" "program=$name" "toolchain=$v" "arch=$arch" "exit=code:1" "expect=$cls"
				echo "build  $name $v $arch: failed (recorded)"
				continue
			fi
			if [ "$class" = build_error ] || [ "$class" = ice ]; then
				echo "build  $name $v $arch: ok (nothing to record)"
				continue
			fi
			local cmd=("$bin")
			[ "$arch" = arm64 ] && cmd=("$QEMU" "$bin")
			for tb in ${tbs//,/ }; do
				for ((i = 1; i <= runs; i++)); do
					local rd="$FIX/runs/$name/$v-$arch-tb$tb-r$i"
					mkdir -p "$rd"
					local tbenv=()
					[ "$tb" != single ] && tbenv=(GOTRACEBACK="$tb")
					# shellcheck disable=SC2086
					read -r status to < <(cd "$WORK" && env -i PATH=/usr/bin:/bin "${tbenv[@]}" $envs \
						python3 "$WORK/run.py" "$rd" "$timeout" "$rl" "$CAP" "${cmd[@]}")
					write_meta "$rd" "program=$name" "toolchain=$v" "arch=$arch" "traceback=$tb" \
						"exit=$status" "timed_out=$to" "expect=$cls"
					echo "run    $name $v $arch tb=$tb #$i: $status timed_out=$to"
				done
			done
		done
	done
}

capture_infra() {
	local d r
	rm -rf "$FIX/infra"
	# (qemu 7.2 given a missing or non-ELF file exits 1 without a word, and a
	# truncated ELF makes qemu itself die of SIGBUS: nothing in the output
	# says "executor", so those are not fixtures; the harness must notice.)
	# qemu-aarch64 given an amd64 binary.
	d="$FIX/infra/qemu_wrong_arch"
	mkdir -p "$d"
	gobuild go1.23.11 amd64 "$FIX/programs/ok_checksum" "$WORK/amd64prog" >/dev/null
	read -r status to < <(python3 "$WORK/run.py" "$d" 10 0 $CAP "$QEMU" "$WORK/amd64prog")
	write_meta "$d" "program=" "toolchain=" "arch=arm64" "exit=$status" "timed_out=$to" "expect=infra"
	# qemu cannot reserve the guest address space.
	d="$FIX/infra/qemu_address_space"
	mkdir -p "$d"
	gobuild go1.23.11 arm64 "$FIX/programs/ok_checksum" "$WORK/arm64prog" >/dev/null
	read -r status to < <(python3 "$WORK/run.py" "$d" 10 $((64 << 20)) $CAP "$QEMU" "$WORK/arm64prog")
	write_meta "$d" "program=" "toolchain=" "arch=arm64" "exit=$status" "timed_out=$to" "expect=infra"
	# The go command with a broken GOROOT.
	d="$FIX/infra/go_bad_goroot"
	mkdir -p "$d"
	r="$(goroot go1.23.11)"
	(cd "$FIX/programs/ok_checksum" && env -i PATH=/usr/bin:/bin HOME="$WORK/home" GOROOT=/nonexistent/goroot \
		GOTOOLCHAIN=local GOCACHE=/tmp/gocache-go1.23.11 "$r/bin/go" build -o "$WORK/x" main.go >"$d/output" 2>&1) &&
		status=code:0 || status="code:$?"
	write_meta "$d" "program=" "toolchain=go1.23.11" "arch=amd64" "exit=$status" "expect=infra" "kind=build"
	echo "infra  fixtures captured"
}

if [ ! -e /root/devtc/done ] && [ "$DEVTC" = /root/devtc/golang.org ]; then
	echo "toolchains not ready (/root/devtc/done missing)" >&2
	exit 1
fi

if [ $# -gt 0 ]; then
	for p in "$@"; do
		if [ "$p" = infra ]; then capture_infra; else capture_program "$p"; fi
	done
else
	for d in "$FIX"/programs/*/; do
		# Harvested fixtures (scripts/harvest-fixtures.py) have no main.go.
		[ -f "$d/main.go" ] || continue
		capture_program "$(basename "$d")"
	done
	capture_infra
fi

#!/usr/bin/env bash
# Commit bisection, end to end: a git history from go1.14.1 to go1.14.2 with
# one commit per changed source file, bisected for the go1.14.1 timer
# deadlock (go-corpus/timer-reset-38023, golang/go#38023). The bisection must
# land on the commit that changes src/runtime/time.go.
#
# The history: the go1.14.1 source archive as the first commit, then each file
# of src/ that go1.14.2 changes, adds or removes (taken from the go1.14.2
# toolchain zip, which carries its src/; files make.bash generates and the
# zip's renamed go.mod files are left out), one commit each in path order,
# and VERSION last. Commit dates are fixed, so the commits (and divergo's
# builds of them, cached by commit) are the same on every run. Each probed
# commit is built with make.bash (about 4 minutes each for go1.14 on 2 cores;
# a commit that does not build on its own is skipped by the bisection).
#
# Usage: scripts/bisect-commits-38023.sh [WORKDIR]
# Env:   DIVERGO (binary, default target/release/divergo),
#        DIVERGO_GO1141_SRC (default ../shared/go-src/go1.14.1.src.tar.gz)
set -euo pipefail
cd "$(dirname "$0")/.."
DIVERGO=${DIVERGO:-target/release/divergo}
ARCHIVE=${DIVERGO_GO1141_SRC:-../shared/go-src/go1.14.1.src.tar.gz}
[ -x "$DIVERGO" ] || cargo build --release --quiet -p divergo
[ -f "$ARCHIVE" ] || { echo "no go1.14.1 source archive at $ARCHIVE (set DIVERGO_GO1141_SRC)" >&2; exit 2; }
work=${1:-$(mktemp -d /tmp/divergo-bisect-commits.XXXXXX)}
mkdir -p "$work"
"$DIVERGO" toolchains install go1.14.2 >/dev/null
new=$("$DIVERGO" toolchains list --json | python3 -c '
import json, sys
print(next(t["goroot"] for t in json.load(sys.stdin) if t["name"] == "go1.14.2"))')

repo=$work/go
if [ ! -d "$repo/.git" ]; then
  rm -rf "$repo"
  tar xzf "$ARCHIVE" -C "$work"
  export GIT_AUTHOR_NAME=divergo GIT_AUTHOR_EMAIL=divergo@localhost \
    GIT_COMMITTER_NAME=divergo GIT_COMMITTER_EMAIL=divergo@localhost \
    GIT_AUTHOR_DATE="2020-04-08T00:00:00Z" GIT_COMMITTER_DATE="2020-04-08T00:00:00Z"
  git -C "$repo" init -q -b main
  git -C "$repo" add -A
  git -C "$repo" commit -qm "go1.14.1 (source archive)"
  python3 - "$repo" "$new" <<'PY'
import filecmp, os, shutil, subprocess, sys
repo, new = sys.argv[1], sys.argv[2]
generated = {"zdefaultcc.go", "zosarch.go", "zbootstrap.go", "zcgo.go", "zversion.go"}
def files(root):
    out = set()
    for d, _, fs in os.walk(os.path.join(root, "src")):
        for f in fs:
            out.add(os.path.relpath(os.path.join(d, f), root))
    return out
def skip(p):
    b = os.path.basename(p)
    return b in generated or b in ("_go.mod", "go.mod", "go.sum") or b.endswith((".a", ".syso"))
old_f, new_f = files(repo), files(new)
changes = sorted(p for p in (old_f | new_f) if not skip(p) and not (
    p in old_f and p in new_f and filecmp.cmp(os.path.join(repo, p), os.path.join(new, p), shallow=False)))
for p in changes:
    dst = os.path.join(repo, p)
    if p in new_f:
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(os.path.join(new, p), dst)
        what = "go1.14.2 version" if p in old_f else "add (go1.14.2)"
    else:
        os.remove(dst)
        what = "remove (as go1.14.2)"
    subprocess.run(["git", "-C", repo, "add", "-A"], check=True)
    subprocess.run(["git", "-C", repo, "commit", "-qm", f"{p}: {what}"], check=True)
shutil.copyfile(os.path.join(new, "VERSION"), os.path.join(repo, "VERSION"))
subprocess.run(["git", "-C", repo, "commit", "-qam", "VERSION: go1.14.2"], check=True)
print(f"{len(changes) + 1} commits after go1.14.1")
PY
fi
first=$(git -C "$repo" rev-list --max-parents=0 HEAD)
echo "history: $(git -C "$repo" rev-list --count HEAD) commits in $repo"
start=$(date +%s)
set +e
"$DIVERGO" bisect go-corpus/timer-reset-38023 --arch amd64 --go-repo "$repo" --bad "$first" --good HEAD \
  --json --out "$work/out" >"$work/bisect.json"
st=$?
set -e
echo "divergo bisect exit $st in $(( $(date +%s) - start )) s"
python3 - "$work/bisect.json" "$repo" <<'PY'
import json, subprocess, sys
r = json.load(open(sys.argv[1]))
fg = r.get("first_good")
if not fg:
    print("no first good commit found"); sys.exit(1)
files = subprocess.run(["git", "-C", sys.argv[2], "show", "--name-only", "--format=", fg["commit"]],
                       capture_output=True, text=True, check=True).stdout.split()
print(f'first good: {fg["commit"][:12]} "{fg["subject"]}" (last bad: {r["last_bad"]["subject"]})')
print(f'steps: {len(r["steps"])}, unknown in between: {[p["subject"] for p in r["unknown_between"]]}')
for s in r["steps"]:
    print(f'  {s["point"]["name"]:<24} {s["verdict"]:<8} {s["runs"]:>3} runs {s["seconds"]:>6.0f} s  {s["point"]["subject"]}  {s.get("why") or ""}')
ok = "src/runtime/time.go" in files
print("lands on the src/runtime/time.go commit" if ok else f"lands elsewhere: {files}")
sys.exit(0 if ok else 1)
PY

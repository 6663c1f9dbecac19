#!/usr/bin/env python3
"""Turn the failing-run logs of divergo results dirs into classifier fixtures.

Usage: scripts/harvest-fixtures.py NAME CLASS[,CLASS...] RESULTS_DIR... [--max N]
       [--per-program K] [--add] [--new-programs]

Every `logs/<program>/<toolchain>-<arch>-trial<N>-<CLASS>.log` of the given
results dirs becomes harness/tests/fixtures/classify/runs/NAME/<program>-
<toolchain>-<arch>-tbcrash-r<N>/{stdout,stderr,meta} (divergo runs with
GOTRACEBACK=crash). These are dumps of one bug from many generated programs:
the fixtures test that they group into one bug key (`bug=1` in
programs/NAME/expect, read by harness/tests/classify_fixtures.rs).
--max N: N fixtures in all; --per-program K: at most K per program; --add:
keep the fixtures already in runs/NAME (by default they are replaced);
--new-programs (with --add): take only programs that have no fixture in
runs/NAME yet, so the fixtures grow by programs, not by more dumps of one.
"""
import os, re, sys, shutil

args = sys.argv[1:]
def option(flag, default=None):
    if flag not in args:
        return default
    i = args.index(flag)
    v = args[i + 1]
    del args[i : i + 2]
    return int(v)
limit = option("--max")
per_program = option("--per-program")
add = "--add" in args
if add:
    args.remove("--add")
new_programs = "--new-programs" in args
if new_programs:
    args.remove("--new-programs")
if len(args) < 3:
    sys.exit(__doc__)
name, classes, dirs = args[0], args[1].split(","), args[2:]
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness/tests/fixtures/classify")
out = os.path.join(root, "runs", name)
if not add:
    shutil.rmtree(out, ignore_errors=True)
case_re = re.compile(r"^(.+)-[^-]+-(?:amd64|arm64)-tbcrash-r\d+$")
had = {m.group(1) for m in map(case_re.match, os.listdir(out) if os.path.isdir(out) else []) if m}
n = 0
header = re.compile(r"^# (\S+) (\S+) (.*) trial (\d+)$")
exitre = re.compile(r"^# timeout (\S+), (.*)$")
for d in dirs:
    logs = os.path.join(d, "logs")
    for prog in sorted(os.listdir(logs)) if os.path.isdir(logs) else []:
        if new_programs and prog in had:
            continue
        taken = 0
        for f in sorted(os.listdir(os.path.join(logs, prog))):
            if per_program and taken >= per_program:
                break
            m = re.match(r"(.+)-(amd64|arm64)-trial(\d+)-(\w+)\.log$", f)
            if not m or m.group(4) not in classes:
                continue
            cls = m.group(4)
            text = open(os.path.join(logs, prog, f), encoding="utf-8", errors="replace").read()
            lines = text.split("\n", 3)
            ex = exitre.match(lines[2]) if len(lines) > 2 else None
            if not ex or "--- stderr ---\n" not in text:
                continue
            status = ex.group(2)
            if status.startswith("exit "):
                exit_ = "code:" + status.split()[1]
            elif status.startswith("signal "):
                exit_ = "signal:" + status.split()[1]
            else:
                exit_ = "none"
            body = text.split("--- stdout ---\n", 1)[1]
            stdout, stderr = body.split("\n--- stderr ---\n", 1)
            tc, arch, trial = m.group(1), m.group(2), m.group(3)
            case = os.path.join(out, f"{prog}-{tc}-{arch}-tbcrash-r{trial}")
            if os.path.exists(case):
                continue
            os.makedirs(case)
            open(os.path.join(case, "stdout"), "w").write(stdout)
            open(os.path.join(case, "stderr"), "w").write(stderr)
            open(os.path.join(case, "meta"), "w").write(
                f"program={name}\ntoolchain={tc}\narch={arch}\ntraceback=crash\nexit={exit_}\n"
                f"timed_out={'true' if cls == 'hang' else 'false'}\nexpect={cls}\n"
            )
            n += 1
            taken += 1
            if limit and n >= limit:
                break
        if limit and n >= limit:
            break
print(f"{n} fixtures in {out}")

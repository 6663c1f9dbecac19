//! Classifier rules on hand-written outputs (formats that the real fixtures
//! do not cover) and on hostile input: it must never panic.

use divergo::model::{Class, ExitStatus, Outcome};
use divergo::oracle::classify::{
    bounded, bug_key, classify_build, classify_run, hang_signature, normalize_build_message,
    normalize_frame, normalize_message, RunEvidence, MAX_SIGNATURE_LEN, WINDOW,
};
use std::fs;
use std::path::Path;

fn run(exit: Option<ExitStatus>, stderr: &str) -> Outcome {
    classify_run(&RunEvidence {
        exit,
        stderr,
        ..RunEvidence::default()
    })
}

fn code(n: i32) -> Option<ExitStatus> {
    Some(ExitStatus::Code(n))
}

// ---------------------------------------------------------------------------
// Run classes

#[test]
fn ok_takes_the_last_checksum() {
    let o = classify_run(&RunEvidence {
        exit: code(0),
        stdout: "checksum: 00aa\nnoise\nchecksum: DEADbeef01  \ntrailer\n",
        ..RunEvidence::default()
    });
    assert_eq!(o.class, Class::Ok);
    assert_eq!(o.signature, "");
    assert_eq!(o.checksum.as_deref(), Some("DEADbeef01"));
    let o = classify_run(&RunEvidence {
        exit: code(0),
        stdout: "checksum: xyz\n",
        ..RunEvidence::default()
    });
    assert_eq!(o.checksum, None);
}

#[test]
fn timeout_is_a_hang_whatever_the_output() {
    let o = classify_run(&RunEvidence {
        exit: code(0),
        timed_out: true,
        stderr: "panic: boom\n\ngoroutine 1 [running]:\nmain.main()\n",
        ..RunEvidence::default()
    });
    assert_eq!(o.class, Class::Hang);
    let o = classify_run(&RunEvidence {
        timed_out: true,
        ..RunEvidence::default()
    });
    assert_eq!(o, Outcome::new(Class::Hang, "hang: no goroutine dump"));
}

#[test]
fn oom_from_flag_or_runtime_message() {
    let o = classify_run(&RunEvidence {
        exit: Some(ExitStatus::Signal(9)),
        oom: true,
        ..RunEvidence::default()
    });
    assert_eq!(o, Outcome::new(Class::Oom, "out of memory"));
    let e = "runtime: out of memory: cannot allocate 4294967296-byte block (3221225472 in use)\n\
             fatal error: out of memory\n\ngoroutine 1 [running]:\nruntime.throw(...)\nruntime.mallocgc(0x1, 0x2)\nmain.grow(...)\n\t/x.go:9 +0x1\nmain.main()\n";
    let o = run(code(2), e);
    assert_eq!(
        o,
        Outcome::new(
            Class::Oom,
            "fatal error: out of memory in main.grow < main.main"
        )
    );
    let o = run(
        code(2),
        "fatal error: runtime: out of memory\n\ngoroutine 1 [running]:\nmain.main()\n",
    );
    assert_eq!(
        o,
        Outcome::new(Class::Oom, "fatal error: out of memory in main.main")
    );
}

#[test]
fn exit_without_report() {
    assert_eq!(
        run(code(1), ""),
        Outcome::new(Class::Fatal, "exit status 1")
    );
    assert_eq!(
        run(code(7), "starting\nerror: bad value 0x1f at 12\n\n"),
        Outcome::new(Class::Fatal, "exit status 7: error: bad value 0xN at N")
    );
}

#[test]
fn death_by_signal_native_and_under_qemu_agree() {
    let native = run(Some(ExitStatus::Signal(11)), "");
    let qemu = run(
        Some(ExitStatus::Signal(11)),
        "some output\nqemu: uncaught target signal 11 (Segmentation fault) - core dumped\n",
    );
    assert_eq!(native, Outcome::new(Class::Signal, "killed by SIGSEGV"));
    assert_eq!(native, qemu);
    // Some wrappers report qemu's own death as an exit code.
    assert_eq!(
        run(
            code(139),
            "qemu: uncaught target signal 11 (Segmentation fault) - core dumped\n"
        ),
        native
    );
    assert_eq!(
        run(Some(ExitStatus::Signal(9)), "").signature,
        "killed by SIGKILL"
    );
    assert_eq!(
        run(Some(ExitStatus::Signal(64)), "").signature,
        "killed by signal 64"
    );
    assert_eq!(
        run(Some(ExitStatus::Signal(-3)), "").signature,
        "killed by signal -3"
    );
}

#[test]
fn go_report_beats_the_exit_signal() {
    // GOTRACEBACK=crash: the report is followed by an abort (and, under qemu,
    // by qemu's own line).
    let e = "panic: boom\n\ngoroutine 1 gp=0xc000002380 m=0 mp=0x571ce0 [running]:\npanic({0x4a, 0xc0})\n\t/r/panic.go:1 +0x1\nmain.main()\n\t/x.go:3 +0x1\n\nSIGABRT: abort\nPC=0x46ee2e m=0 sigcode=18446744073709551610\n\ngoroutine 0 [idle]:\nruntime.raise()\n\nqemu: uncaught target signal 6 (Aborted) - core dumped\n";
    assert_eq!(
        run(Some(ExitStatus::Signal(6)), e),
        Outcome::new(Class::Panic, "panic: boom in main.main")
    );
}

#[test]
fn qemu_unhandled_cpu_exception_is_a_guest_crash() {
    let o = run(
        Some(ExitStatus::Signal(6)),
        "qemu: unhandled CPU exception 0x8 - aborting\nR00=00000000\n",
    );
    assert_eq!(
        o,
        Outcome::new(Class::Signal, "qemu: unhandled CPU exception")
    );
}

#[test]
fn executor_failures_are_infra() {
    assert_eq!(run(None, ""), Outcome::infra("no exit status"));
    assert_eq!(
        run(None, "spawn: No such file or directory\n").class,
        Class::Infra
    );
    let o = run(
        code(1),
        "qemu-aarch64-static: Could not open '/tmp/x/prog': No such file or directory\n",
    );
    assert_eq!(
        o,
        Outcome::infra("qemu: Could not open PATH: No such file or directory")
    );
    let o = run(code(1), "/usr/bin/qemu-aarch64: Unable to reserve 0x10000000000 bytes of virtual address space at 0x1000 (Success) for use as guest address space\n");
    assert_eq!(o.class, Class::Infra);
    assert!(!o.signature.contains("0x1"), "{}", o.signature);
    assert_eq!(
        run(Some(ExitStatus::Signal(6)), "qemu: fatal: unknown opcode\n").class,
        Class::Infra
    );
    assert_eq!(
        run(
            code(126),
            "bash: ./prog: cannot execute binary file: Exec format error\n"
        )
        .class,
        Class::Infra
    );
}

#[test]
fn nil_dereference_is_a_panic_fault_in_runtime_is_a_signal() {
    let nil = "panic: runtime error: invalid memory address or nil pointer dereference\n[signal SIGSEGV: segmentation violation code=0x1 addr=0x8 pc=0x47f0c3]\n\ngoroutine 1 [running]:\nmain.walk(...)\n\t/x.go:17\nmain.main()\n\t/x.go:25 +0x1d\n";
    assert_eq!(
        run(code(2), nil),
        Outcome::new(Class::Panic, "panic: runtime error: invalid memory address or nil pointer dereference in main.walk < main.main")
    );
    // The #73259 crash can also show up as a fault inside the unwinder.
    let unwinder = "fatal error: unexpected signal during runtime execution\n[signal SIGSEGV: segmentation violation code=0x1 addr=0x118 pc=0x64a8c]\n\nruntime stack:\nruntime.throw({0xd5044?, 0x0?})\n\t/r/panic.go:1073 +0x38 fp=0x1 sp=0x2 pc=0x3\nruntime.sigpanic()\n\t/r/signal_unix.go:914 +0x26c\nruntime.(*unwinder).next(0x4000059d10?)\n\t/r/traceback.go:461 +0x2ac\nruntime.scanstack(0x40000021c0, 0x400002b250)\n\t/r/mgcmark.go:887 +0x290\nruntime.markroot.func1()\n\t/r/mgcmark.go:238 +0xa8\nruntime.markroot(0x1, 0x14, 0x1)\nruntime.systemstack(0x4000056000)\n\ngoroutine 19 gp=0x4000084380 m=3 mp=0x4000042e08 [GC worker (active)]:\nruntime.systemstack_switch()\nruntime.gcBgMarkWorker(0x400008a070)\n";
    assert_eq!(
        run(code(2), unwinder),
        Outcome::new(
            Class::Signal,
            "fatal error: unexpected signal during runtime execution [SIGSEGV] in runtime.(*unwinder).next < runtime.scanstack < runtime.markroot.func"
        )
    );
}

#[test]
fn traceback_throw_same_signature_old_and_new_unwinder() {
    let new = "runtime: g1: frame.sp=0x400010bed0 top=0x400011ffd0\n\tstack=[0x4000100000-0x4000120000\nfatal error: traceback did not unwind completely\n\nruntime stack:\nruntime.throw({0xd5044?, 0x4000059d98?})\n\t/r/panic.go:1073 +0x38 fp=0x4000059bf0 sp=0x4000059bc0 pc=0x764d8\nruntime.(*unwinder).finishInternal(0x4000059c58?)\n\t/r/traceback.go:566 +0x110\nruntime.(*unwinder).next(0x4000059d10?)\n\t/r/traceback.go:447 +0x2ac\nruntime.scanstack(0x40000021c0, 0x400002b250)\n\t/r/mgcmark.go:887 +0x290\nruntime.markroot.func1()\n\t/r/mgcmark.go:238 +0xa8\n\ngoroutine 19 gp=0x4000084380 m=3 mp=0x4000042e08 [GC worker (active)]:\nruntime.systemstack_switch()\n";
    let old = "runtime: unexpected return pc for main.big called from 0x0\nfatal error: traceback did not unwind completely\n\nruntime stack:\nruntime.throw(0x9a9f4, 0x2b)\n\t/r/panic.go:1116 +0x54 fp=0x1 sp=0x2 pc=0x3\nruntime.gentraceback(0xffffffffffffffff, 0xffffffffffffffff, 0x0, 0x40000001a0, 0x0, 0x0, 0x7fffffff, 0xa1b18, 0x4000031e48, 0x0, ...)\n\t/r/traceback.go:491 +0x13ac\nruntime.scanstack(0x40000001a0, 0x4000024698)\n\t/r/mgcmark.go:815 +0x144\nruntime.markroot.func1()\n\t/r/mgcmark.go:245 +0xb0\nruntime.markroot(0x4000024698, 0x14)\n";
    let a = run(code(2), new);
    let b = run(code(2), old);
    assert_eq!(a.class, Class::Fatal);
    assert_eq!(
        a.signature,
        "fatal error: traceback did not unwind completely in runtime.(*unwinder).next < runtime.scanstack < runtime.markroot.func"
    );
    assert_eq!(a, b);
}

#[test]
fn repanic_wording_across_releases() {
    let old = "panic: first failure [recovered]\n\tpanic: first failure\n\ngoroutine 1 [running]:\nmain.run.func1()\n\t/x.go:10 +0x5d\npanic(0x45d9a0, 0x48bfb0)\n\t/r/panic.go:969 +0x1b9\nmain.run(0x1)\n\t/x.go:14 +0x5b\nmain.main()\n";
    let new = "panic: first failure [recovered, repanicked]\n\ngoroutine 1 gp=0xc000002380 m=0 mp=0x574c80 [running]:\nmain.run.func1()\n\t/x.go:10 +0x5d\npanic({0x45d9a0?, 0x48bfb0?})\n\t/r/panic.go:783 +0x132\nmain.run(0xc000002380?)\n\t/x.go:14 +0x5b\nmain.main()\n";
    assert_eq!(run(code(2), old), run(code(2), new));
    assert_eq!(
        run(code(2), old).signature,
        "panic: first failure in main.run.func < main.run < main.main"
    );
    let chain =
        "panic: first 1 [recovered]\n\tpanic: second 2\n\ngoroutine 1 [running]:\nmain.main()\n";
    assert_eq!(
        run(code(2), chain).signature,
        "panic: first N -> second N in main.main"
    );
}

#[test]
fn goroutine_header_and_closure_variants() {
    let a = "panic: x\n\ngoroutine 7 [running]:\nmain.work(0xc0000b4000, 0x3, 0x3)\n\t/x.go:9 +0x1\nmain.main.func1(0xc00001c0c0)\n\t/x.go:15 +0x2\ncreated by main.main\n\t/x.go:13 +0x3\n";
    let b = "panic: x\n\ngoroutine 18 gp=0xc000102380 m=4 mp=0xc000100008 [running]:\nmain.work({0xc0000b4000?, 0x3?, 0x3?})\n\t/x.go:9 +0x1\nmain.main.func1.1()\n\t/x.go:15 +0x2\nmain.main.gowrap1()\n\t/x.go:16 +0x2\nruntime.goexit({})\ncreated by main.main in goroutine 1\n\t/x.go:13 +0x3\n";
    assert_eq!(run(code(2), a), run(code(2), b));
    assert_eq!(
        run(code(2), a).signature,
        "panic: x in main.work < main.main.func"
    );
    assert_eq!(
        normalize_frame("main.(*T[...]).M.func2.3"),
        "main.(*T[...]).M.func"
    );
    assert_eq!(
        normalize_frame("main.Map[go.shape.int,go.shape.[]string]"),
        "main.Map[...]"
    );
    assert_eq!(normalize_frame("main.glob..func1"), "main.init.func");
    assert_eq!(
        normalize_frame("runtime.mapassign_faststr"),
        "runtime.mapassign"
    );
    assert_eq!(normalize_frame("runtime.lockWithRank"), "runtime.lock");
}

#[test]
fn elided_frames_and_recursion() {
    let mut e = String::from("runtime: goroutine stack exceeds 1000000000-byte limit\nruntime: sp=0xc0200e0390 stack=[0xc0200e0000, 0xc0400e0000]\nfatal error: stack overflow\n\nruntime stack:\nruntime.throw(0x4b7b4a, 0xe)\nruntime.newstack()\nruntime.morestack()\n\ngoroutine 1 [running]:\n");
    for _ in 0..100 {
        e.push_str(
            "main.descend(0x1)\n\t/x.go:12 +0x4c fp=0xc0200e03a0 sp=0xc0200e0398 pc=0x491d4c\n",
        );
    }
    e.push_str("...additional frames elided...\nmain.other()\nmain.main()\n");
    assert_eq!(
        run(code(2), &e),
        Outcome::new(Class::Fatal, "fatal error: stack overflow in main.descend")
    );
}

#[test]
fn interleaved_throws() {
    let e = "fatal error: fatal error: concurrent map writesconcurrent map writes\n\ngoroutine 3 [running]:\nruntime.fatal({0x937f1?, 0x8be40?})\nruntime.mapassign_fast64(0x87520, 0x4000012030, 0x0)\nmain.writer(0x0)\n";
    assert_eq!(
        run(code(2), e).signature,
        "fatal error: concurrent map writes in main.writer"
    );
    let e = "fatal error: fatal error: \nconcurrent map writes\n\ngoroutine 3 [running]:\nmain.writer(0x0)\n";
    assert_eq!(
        run(code(2), e).signature,
        "fatal error: concurrent map writes in main.writer"
    );
}

#[test]
fn user_sent_signal_report() {
    let e = "SIGSEGV: segmentation violation\nPC=0x46ee2e m=0 sigcode=0 addr=0x7ed4\n\ngoroutine 1 gp=0xc0000061c0 m=0 mp=0x556a00 [running]:\nsyscall.Kill(0x27?, 0x0?)\nmain.main()\n";
    assert_eq!(
        run(code(2), e),
        Outcome::new(Class::Signal, "SIGSEGV: segmentation violation")
    );
    let e = "SIGABRT: abort\nPC=0x46ee2e m=0 sigcode=18446744073709551610\n\ngoroutine 1 [running]:\nmain.main()\n";
    assert_eq!(
        run(code(2), e),
        Outcome::new(Class::Signal, "SIGABRT: abort")
    );
    let e = "SIGILL: illegal instruction\nPC=0x46ee2e m=0 sigcode=2\ninstruction bytes: 0xf 0xb 0x0\n\ngoroutine 1 [running]:\nmain.asmthing()\nmain.main()\n";
    assert_eq!(
        run(code(2), e).signature,
        "SIGILL: illegal instruction in main.asmthing < main.main"
    );
}

// ---------------------------------------------------------------------------
// Hangs

#[test]
fn hang_timer_spin_go1_14_1_style() {
    // go1.14.1: a goroutine resetting a timer spins in osyield under modtimer.
    let dump = "SIGQUIT: quit\nPC=0x45f1e1 m=3 sigcode=0\n\ngoroutine 0 [idle]:\nruntime.futex(0x5a3a88, 0x80, 0x0, 0x0, 0x0, 0x7ffd4d9ad0e8, 0x43ce83, 0xc00002c000, 0x7ffd4d9ad108, 0x40af4f, ...)\nruntime.futexsleep(0x5a3a88, 0x0, 0xffffffffffffffff)\nruntime.notesleep(0x5a3a88)\nruntime.stopm()\nruntime.findrunnable(0xc00002c000, 0x0)\nruntime.schedule()\nruntime.park_m(0xc000000180)\nruntime.mcall(0x0)\n\ngoroutine 6 [running]:\nruntime.osyield()\n\t/r/sys_linux_amd64.s:683 +0x1d fp=0xc000045d48 sp=0xc000045d40 pc=0x45f26d\nruntime.modtimer(0xc0000aa000, 0x12e5c3a4f39, 0x0, 0x4c6d18, 0x4b3a40, 0xc0000aa000, 0x0)\n\t/r/time.go:424 +0x134\nruntime.resettimer(...)\nruntime.resetTimer(...)\ntime.resetTimer(...)\ntime.(*Timer).Reset(0xc0000aa000, 0x3e8, 0xc00005e000)\n\t/t/sleep.go:126 +0x6c\nmain.loop(0xc00005e000)\n\t/x.go:20 +0x42\ncreated by main.main\n\t/x.go:30 +0x5c\n\ngoroutine 1 [chan receive]:\nruntime.gopark(0x4c7838, 0xc00005e058, 0x170d, 0x2)\nmain.main()\n";
    let sig = hang_signature(&dump.lines().collect::<Vec<_>>());
    assert_eq!(
        sig,
        "hang: runtime.osyield < runtime.modtimer < runtime.resettimer"
    );
    let o = classify_run(&RunEvidence {
        exit: code(2),
        timed_out: true,
        stderr: dump,
        ..RunEvidence::default()
    });
    assert_eq!(o, Outcome::new(Class::Hang, sig));
}

/// One bug, one signature: the go1.14.1 timer deadlock (golang/go#38023)
/// dumped with a goroutine that spins in user code around Gosched and with
/// a GC worker in mark termination beside the stuck thread. Only the stuck
/// runtime frames name it.
#[test]
fn hang_signature_drops_user_spinners_and_gc_helpers() {
    let stuck = "goroutine 6 [running]:\nruntime.osyield()\n\t/r/sys_linux_amd64.s:683 +0x1d\nruntime.wakeNetPoller(0x12e5c3a4f39)\n\t/r/proc.go:2367 +0x2a\nruntime.addInitializedTimer(0xc0000aa000)\n\t/r/time.go:279\nruntime.modtimer(0xc0000aa000, 0x12e5c3a4f39, 0x0, 0x4c6d18, 0x4b3a40, 0xc0000aa000, 0x0)\n\t/r/time.go:424 +0x134\ntime.(*Timer).Reset(0xc0000aa000, 0x3e8)\nmain.tm0worker.func1(0xc00005e000)\n\t/x.go:20 +0x42\ncreated by main.main\n\t/x.go:30 +0x5c\n\n";
    let spinner = "goroutine 7 [runnable]:\nruntime.Gosched(...)\n\t/r/proc.go:271\nmain.spinner(0xc00005e000)\n\t/x.go:40 +0x42\ncreated by main.main\n\t/x.go:31 +0x5c\n\n";
    let gc = "goroutine 20 [running]:\nruntime.gcMarkDone()\n\t/r/mgc.go:1490 +0x2a\nruntime.gcBgMarkWorker(0xc00002c000)\n\t/r/mgc.go:1990 +0x1f1\ncreated by runtime.gcBgMarkStartWorkers\n\n";
    let user = "goroutine 8 [running]:\nmain.tm0worker.func2(0xc00005e000)\n\t/x.go:50 +0x42\ncreated by main.main\n\t/x.go:32 +0x5c\n\n";
    let alloc = "goroutine 9 [running]:\nruntime.mallocgc(0x10, 0x4b3a40, 0x1)\n\t/r/malloc.go:1000 +0x42\nruntime.newobject(0x4b3a40)\n\t/r/malloc.go:1100 +0x42\nmain.churn(0xc00005e000)\n\t/x.go:60 +0x42\ncreated by main.main\n\t/x.go:33 +0x5c\n\n";
    let head = "SIGQUIT: quit\nPC=0x45f1e1 m=3 sigcode=0\n\n";
    let tail = "goroutine 1 [chan receive]:\nruntime.gopark(0x4c7838, 0xc00005e058, 0x170d, 0x2)\nmain.main()\n";
    let sig = |parts: &[&str]| {
        let dump = format!("{head}{}{tail}", parts.concat());
        hang_signature(&dump.lines().collect::<Vec<_>>())
    };
    let want = "hang: runtime.osyield < runtime.wakeNetPoller < runtime.addInitializedTimer";
    assert_eq!(sig(&[stuck]), want);
    assert_eq!(sig(&[spinner, stuck]), want);
    assert_eq!(sig(&[user, gc, stuck]), want);
    assert_eq!(sig(&[gc, spinner, user, stuck]), want);
    // A goroutine caught allocating is user code in a runtime call.
    assert_eq!(sig(&[alloc, stuck]), want);
    // A GC start waiting for the world to stop is a victim, not the cause.
    let gcstart = "goroutine 10 [running]:\nruntime.gcStart(0x0, 0x0)\n\t/r/mgc.go:1300 +0x42\nruntime.mallocgc(0x10, 0x4b3a40, 0x1)\n\t/r/malloc.go:1000 +0x42\nruntime.makeslice(0x4b3a40, 0x10, 0x10)\n\t/r/slice.go:40 +0x42\nmain.churn(0xc00005e000)\n\t/x.go:60 +0x42\ncreated by main.main\n\t/x.go:34 +0x5c\n\n";
    assert_eq!(sig(&[gcstart, stuck]), want);
    assert_eq!(
        sig(&[gcstart, user]),
        "hang: runtime.gcStart < runtime.mallocgc < runtime.makeslice"
    );
    assert_eq!(
        sig(&[alloc, user]),
        "hang: main.tm0worker.func; runtime.mallocgc < runtime.newobject < main.churn"
    );
    // Nothing stuck in the runtime: the user code that spins names it, and
    // GC helpers only when nothing else runs.
    assert_eq!(sig(&[gc, user]), "hang: main.tm0worker.func");
    assert_eq!(
        sig(&[gc]),
        "hang: runtime.gcMarkDone < runtime.gcBgMarkWorker"
    );
}

/// One bug, one key: the split-SP window makes the unwinder throw or fault
/// in the same place; user panics keep their own signatures.
#[test]
fn bug_key_groups_the_forms_of_one_runtime_fault() {
    let forms = [
        "fatal error: traceback did not unwind completely in runtime.(*unwinder).next < runtime.scanstack < runtime.markroot.func",
        "fatal error: unexpected signal during runtime execution [SIGSEGV] in runtime.(*unwinder).next < runtime.scanstack < runtime.markroot.func",
        "SIGSEGV: segmentation violation in runtime.(*unwinder).next < runtime.scanstack < runtime.markroot",
        "fatal error: unknown caller pc in runtime.(*unwinder).next < runtime.scanstack",
    ];
    for f in forms {
        assert_eq!(
            bug_key(f),
            "runtime fault in runtime.(*unwinder).next < runtime.scanstack",
            "{f}"
        );
    }
    for own in [
        "panic: runtime error: index out of range [N] with length N in main.walk < main.main",
        "panic: boom in main.f",
        "fatal error: out of memory in runtime.mallocgc < main.grow",
        "hang: blocked in main.nap < main.main",
        "exit status 3",
    ] {
        assert_eq!(bug_key(own), own);
    }
    // The timer deadlock entered from Reset (modtimer) or from NewTimer
    // (addtimer) is one stuck spin.
    for h in [
        "hang: runtime.wakeNetPoller < runtime.addInitializedTimer < runtime.modtimer",
        "hang: runtime.wakeNetPoller < runtime.addInitializedTimer < runtime.addtimer; runtime.wakeNetPoller < runtime.addInitializedTimer < runtime.modtimer",
    ] {
        assert_eq!(bug_key(h), "hang: runtime.wakeNetPoller < runtime.addInitializedTimer");
    }
}

#[test]
fn hang_merges_crash_mode_thread_dumps() {
    // GOTRACEBACK=system shows the spinning goroutine as "stack unavailable";
    // GOTRACEBACK=crash adds a per-thread dump with its stack.
    let system = "SIGQUIT: quit\nPC=0x834d0 m=0 sigcode=0\n\ngoroutine 1 gp=0x40000021c0 m=nil [chan receive]:\nruntime.gopark(0x1?, 0x2?)\nruntime.chanrecv1(0x0?, 0x0?)\nmain.main()\n\ngoroutine 18 gp=0x40000a21c0 m=2 mp=0x4000036808 [running]:\n\tgoroutine running on other thread; stack unavailable\ncreated by main.main in goroutine 1\n\t/x.go:19 +0x4c\n";
    let crash = format!(
        "{system}\n-----\n\nSIGQUIT: quit\nPC=0xa3360 m=2 sigcode=0\n\ngoroutine 18 gp=0x40000a21c0 m=2 mp=0x4000036808 [running]:\nmain.spin(0xfb6d8?)\n\t/x.go:12 +0x10\nmain.main.func1()\n\t/x.go:20 +0x20\nruntime.goexit({{}})\ncreated by main.main in goroutine 1\n"
    );
    let sys_lines: Vec<&str> = system.lines().collect();
    let crash_lines: Vec<&str> = crash.lines().collect();
    assert_eq!(
        hang_signature(&sys_lines),
        "hang: goroutine created by main.main"
    );
    assert_eq!(
        hang_signature(&crash_lines),
        "hang: main.spin < main.main.func"
    );
}

#[test]
fn hang_blocked_only() {
    let dump = "SIGQUIT: quit\nPC=0x45db3d m=1 sigcode=0\n\ngoroutine 0 [idle]:\nruntime.usleep(0x2710)\nruntime.sysmon()\n\ngoroutine 1 [sleep]:\nruntime.gopark(0x1, 0x2)\ntime.Sleep(0x34630b8a000)\nmain.nap(...)\nmain.main()\n";
    assert_eq!(
        hang_signature(&dump.lines().collect::<Vec<_>>()),
        "hang: blocked in main.nap < main.main"
    );
    let only_runtime = "SIGQUIT: quit\nPC=0x1 m=0 sigcode=0\n\ngoroutine 2 [force gc (idle)]:\nruntime.gopark(0x1)\nruntime.forcegchelper()\n";
    assert_eq!(
        hang_signature(&only_runtime.lines().collect::<Vec<_>>()),
        "hang: no running goroutine"
    );
}

// ---------------------------------------------------------------------------
// Builds

#[test]
fn build_wording_unified() {
    let pairs = [
        ("undeclared name: x", "undefined: x"),
        ("undefined: x", "undefined: x"),
        ("x declared but not used", "declared and not used: x"),
        ("x declared and not used", "declared and not used: x"),
        ("declared and not used: x", "declared and not used: x"),
        (
            "imported and not used: \"os\"",
            "\"os\" imported and not used",
        ),
        (
            "\"os\" imported but not used",
            "\"os\" imported and not used",
        ),
        (
            "\"os\" imported and not used",
            "\"os\" imported and not used",
        ),
        (
            "imported and not used: \"os\" as xos",
            "\"os\" imported as xos and not used",
        ),
        (
            "\"os\" imported as xos and not used",
            "\"os\" imported as xos and not used",
        ),
        (
            "cannot use \"s\" (type untyped string) as type int in assignment",
            "cannot use \"s\" as int",
        ),
        (
            "cannot use \"s\" (untyped string constant) as int value in variable declaration",
            "cannot use \"s\" as int",
        ),
        (
            "cannot use f(1) (value of type string) as int value in return statement",
            "cannot use f(N) as int",
        ),
        ("missing return at end of function", "missing return"),
        (
            "syntax error: unexpected [, expecting (",
            "syntax error: unexpected [, expected (",
        ),
        (
            "package slices is not in GOROOT (/usr/go/src/slices)",
            "package slices is not in std",
        ),
        (
            "package slices is not in std (/usr/go/src/slices)",
            "package slices is not in std",
        ),
        (
            "type parameter requires go1.18 or later (-lang was set to go1.14; check go.mod)",
            "type parameter requires go1.N or later",
        ),
    ];
    for (raw, want) in pairs {
        assert_eq!(normalize_build_message(raw), want, "{raw}");
    }
    let old = "# prog\n./main.go:7:6: cannot use \"seven\" (type untyped string) as type int in assignment\n";
    let new = "# prog\n./main.go:7:14: cannot use \"seven\" (untyped string constant) as int value in variable declaration\n";
    assert_eq!(classify_build(code(2), old), classify_build(code(1), new));
    assert_eq!(classify_build(code(2), old).class, Class::BuildError);
    assert_eq!(classify_build(code(0), "").class, Class::Ok);
    assert_eq!(
        classify_build(code(1), "something odd happened\n"),
        Outcome::new(Class::BuildError, "something odd happened")
    );
}

#[test]
fn ice_and_compiler_crashes() {
    let ice = "# prog\n./prog.go:4:16: internal compiler error: 'f': value v42 (Copy) incorrectly live at entry in b7\n\nPlease file a bug report including a short program that triggers the error.\nhttps://go.dev/issue/new\n";
    assert_eq!(
        classify_build(code(1), ice),
        Outcome::new(
            Class::Ice,
            "internal compiler error: 'f': value vN (Copy) incorrectly live at entry in bN"
        )
    );
    let panicky = "# prog\nprog.go:4:16: internal compiler error: panic during layout while compiling f:\n\nruntime error: index out of range\n\ngoroutine 7 [running]:\ncmd/compile/internal/ssa.Compile.func1(0xc4203f3288, 0xc42000e500)\n\t/c/compile.go:38 +0xc8\npanic(0xbbc700, 0xf9d830)\n\t/r/panic.go:502 +0x229\ncmd/compile/internal/ssa.layout(0xc42000e500)\n\t/c/layout.go:68 +0xdca\ncmd/compile/internal/ssa.Compile(0xc42000e500)\n\t/c/compile.go:70 +0x2bb\ncmd/compile/internal/gc.buildssa(0xc)\n";
    assert_eq!(
        classify_build(code(1), panicky),
        Outcome::new(
            Class::Ice,
            "internal compiler error: panic during layout while compiling f: in cmd/compile/internal/ssa.layout < cmd/compile/internal/ssa.Compile"
        )
    );
    let crash = "# prog\npanic: runtime error: invalid memory address or nil pointer dereference\n[signal SIGSEGV: segmentation violation code=0x1 addr=0x10 pc=0xa5b1c2]\n\ngoroutine 1 [running]:\ncmd/compile/internal/types2.(*Checker).expr(0xc000, 0x0)\n\t/c/expr.go:1 +0x1\ncmd/compile/internal/types2.(*Checker).stmt(0xc000)\n";
    let o = classify_build(code(2), crash);
    assert_eq!(o.class, Class::Ice);
    assert!(
        o.signature
            .starts_with("compiler crash: panic: runtime error: invalid memory address"),
        "{}",
        o.signature
    );
    assert!(
        o.signature.contains("types2.(*Checker).expr"),
        "{}",
        o.signature
    );
    let sig = "# prog\nunexpected signal during runtime execution\n[signal SIGSEGV]\n";
    assert_eq!(classify_build(code(2), sig).class, Class::Ice);
}

#[test]
fn broken_toolchain_is_infra() {
    assert_eq!(classify_build(None, "").class, Class::Infra);
    assert_eq!(
        classify_build(code(2), "go: cannot find GOROOT directory: /nonexistent\n"),
        Outcome::infra("go: cannot find GOROOT")
    );
    assert_eq!(
        classify_build(
            code(1),
            "go: cannot find main module, but found .git/config in /x\n"
        )
        .class,
        Class::Infra
    );
    assert_eq!(
        classify_build(
            code(1),
            "go: go.mod requires go >= 1.24 (running go 1.23.11; GOTOOLCHAIN=local)\n"
        )
        .class,
        Class::Infra
    );
    assert_eq!(
        classify_build(
            code(1),
            "# prog\nfork/exec /x/pkg/tool/linux_amd64/compile: no such file or directory\n"
        )
        .class,
        Class::Infra
    );
    assert_eq!(
        classify_build(Some(ExitStatus::Signal(9)), "").class,
        Class::Infra
    );
    assert_eq!(
        classify_build(code(1), "# prog\ncompile: signal: killed\n").class,
        Class::Infra
    );
}

// ---------------------------------------------------------------------------
// Normalisation

#[test]
fn message_normalisation() {
    assert_eq!(normalize_message("boom 42"), "boom N");
    assert_eq!(normalize_message("at 0xc000012345, id=-7"), "at 0xN, id=-N");
    assert_eq!(
        normalize_message("hash deadbeef01 and word deadbeef"),
        "hash H and word deadbeef"
    );
    assert_eq!(
        normalize_message("func1 int64 go1.22 42ms"),
        "func1 int64 go1.N Nms"
    );
    assert_eq!(normalize_message("  a \t b\n c  "), "a b c");
    assert!(normalize_message(&"x".repeat(10_000)).len() <= 120);
}

// ---------------------------------------------------------------------------
// Hostile input

/// A small deterministic generator (no external crates needed).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn exits() -> Vec<Option<ExitStatus>> {
    vec![
        None,
        code(0),
        code(1),
        code(2),
        code(-1),
        Some(ExitStatus::Signal(11)),
        Some(ExitStatus::Signal(i32::MIN)),
    ]
}

fn check_all(text: &str) {
    for exit in exits() {
        for timed_out in [false, true] {
            for oom in [false, true] {
                let o = classify_run(&RunEvidence {
                    exit,
                    timed_out,
                    oom,
                    stdout: text,
                    stderr: text,
                });
                assert!(o.signature.len() <= MAX_SIGNATURE_LEN, "{:?}", o.signature);
            }
        }
        let o = classify_build(exit, text);
        assert!(o.signature.len() <= MAX_SIGNATURE_LEN, "{:?}", o.signature);
    }
    let _ = hang_signature(&text.lines().collect::<Vec<_>>());
    let _ = normalize_message(text);
    let _ = normalize_build_message(text);
    let _ = normalize_frame(text);
}

#[test]
fn empty_and_degenerate_inputs() {
    for t in [
        "",
        "\n",
        "\r\n\r\n",
        "\0\0\0",
        "panic:",
        "panic: ",
        "fatal error:",
        "fatal error: fatal error: ",
        "fatal error: \n",
        "goroutine",
        "goroutine 1 [",
        "goroutine 99999999999999999999999 [running]:\nmain.main()\n",
        "goroutine 1 [running]:\n(",
        "goroutine 1 [running]:\n)",
        "goroutine 1 [running]:\n()",
        "goroutine 1 [running]:\n.()\ncreated by \n",
        "SIGSEGV: x\nPC=",
        "SIGSEGV: x\nPC=0x1 m=0 sigcode=99999999999999999999999999\n",
        "runtime stack:\n",
        "qemu: uncaught target signal 99999999999999999999 (x)\n",
        "qemu-: \n",
        "./x.go:1:1: \n",
        "internal compiler error",
        "checksum: \n",
        "é",
        "\u{10FFFF}\u{FFFD}",
    ] {
        check_all(t);
    }
}

#[test]
fn binary_garbage_does_not_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..300 {
        let len = rng.below(4096);
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        check_all(&String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn multibyte_text_around_the_window_edges() {
    // Make every multi-byte char straddle the WINDOW cuts at some offset.
    for shift in 0..4 {
        let mut s = "x".repeat(shift);
        while s.len() < 2 * WINDOW + 4096 {
            s.push_str("é😀\u{800}panic: ü 😀 goroutine 1 [running]:\n");
        }
        let b = bounded(&s);
        assert!(b.len() <= 2 * WINDOW + 1);
        check_all(&s);
    }
}

#[test]
fn huge_input_is_bounded() {
    let mut s = String::from("panic: first\n\ngoroutine 1 [running]:\nmain.a()\n");
    let filler = "main.f(0x1, 0x2)\n\t/x.go:1 +0x1\n".repeat(400_000); // ~12 MB
    s.push_str(&filler);
    s.push_str("\ngoroutine 2 [running]:\nmain.b()\n");
    let o = run(code(2), &s);
    assert_eq!(o.class, Class::Panic);
    check_all(&s[..s.len().min(3 * WINDOW)]);
}

#[test]
fn truncated_real_dumps_do_not_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/classify/runs");
    let mut picked = Vec::new();
    for prog in [
        "fatal_unwind_73259",
        "hang_spin_goroutine",
        "panic_repanic",
        "fatal_concmap",
        "signal_runtime",
    ] {
        if let Ok(rd) = fs::read_dir(root.join(prog)) {
            let mut dirs: Vec<_> = rd.filter_map(|e| e.ok()).map(|e| e.path()).collect();
            dirs.sort();
            picked.extend(dirs.into_iter().take(2));
        }
    }
    assert!(!picked.is_empty(), "no fixtures under {}", root.display());
    let mut rng = Rng(12345);
    for dir in picked {
        let Ok(bytes) = fs::read(dir.join("stderr")) else {
            continue;
        };
        let mut cuts: Vec<usize> = (0..40).map(|_| rng.below(bytes.len() + 1)).collect();
        cuts.extend([0, 1, bytes.len() / 2, bytes.len()]);
        for cut in cuts {
            // Cut anywhere, including inside a UTF-8 sequence.
            let text = String::from_utf8_lossy(&bytes[..cut.min(bytes.len())]);
            check_all(&text);
            // And the tail end only (a dump whose head was lost).
            let text = String::from_utf8_lossy(&bytes[cut.min(bytes.len())..]);
            check_all(&text);
        }
    }
}

#[test]
fn shuffled_report_lines_do_not_panic() {
    let pool = [
        "panic: boom [recovered]",
        "\tpanic: again",
        "fatal error: fatal error: x",
        "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x0]",
        "goroutine 1 [running]:",
        "goroutine 0 gp=0x1 m=0 mp=0x2 [idle]:",
        "goroutine 5 [runnable]:",
        "\tgoroutine running on other thread; stack unavailable",
        "runtime stack:",
        "main.main()",
        "runtime.gopark(0x1?)",
        "main.main.func1.2(...)",
        "created by main.main in goroutine 1",
        "...additional frames elided...",
        "SIGQUIT: quit",
        "PC=0x1 m=0 sigcode=0",
        "qemu: uncaught target signal 6 (Aborted) - core dumped",
        "qemu-aarch64: Could not open 'x'",
        "./a.go:1:2: internal compiler error: x",
        "",
        "\t/x.go:1 +0x1",
        "checksum: 0a",
    ];
    let mut rng = Rng(777);
    for _ in 0..2000 {
        let n = rng.below(24);
        let text: Vec<&str> = (0..n).map(|_| pool[rng.below(pool.len())]).collect();
        check_all(&text.join("\n"));
    }
}

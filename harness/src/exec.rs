//! Running one child process under divergo's rules.
//!
//! Every child gets its own process group, so that the whole group (a Go
//! program, `go build` and its compiler processes, qemu and its guest) can be
//! signalled at once. Output is captured up to a cap, keeping the head and the
//! tail (a goroutine dump printed at the end survives a program that printed
//! gigabytes first). On timeout the group gets `SIGQUIT` (the Go runtime then
//! prints every goroutine's stack) and, after a grace period, `SIGKILL`.
//! A memory cap is enforced by sampling the resident set size of the child.
//! Ctrl-C / SIGTERM (see [`interrupted`]) kills every live group at once.
//! A child may be pinned to a few CPUs ([`ExecSpec::cpus`]): each run gets
//! the least used of the CPUs divergo may use, so parallel runs spread out.

use crate::model::ExitStatus;
use std::collections::HashSet;
use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};
use wait_timeout::ChildExt;

/// What to run and under which limits.
#[derive(Clone, Debug)]
pub struct ExecSpec {
    pub program: PathBuf,
    pub args: Vec<String>,
    /// The complete environment of the child (nothing is inherited).
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
    pub timeout: Duration,
    /// Time between SIGQUIT and SIGKILL on timeout.
    pub grace: Duration,
    /// Bytes kept of each of stdout and stderr (head and tail halves).
    pub output_cap: usize,
    /// Kill the group when the child's resident set exceeds this many bytes.
    pub memory_limit: Option<u64>,
    /// Send SIGQUIT before SIGKILL on timeout (Go programs); otherwise kill at once.
    pub quit_on_timeout: bool,
    /// Pin the child (and the threads it starts) to this many CPUs, the
    /// least used by divergo's live children; 0 leaves it unpinned.
    pub cpus: usize,
}

impl ExecSpec {
    pub fn new(program: impl Into<PathBuf>, cwd: impl Into<PathBuf>) -> Self {
        ExecSpec {
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
            cwd: cwd.into(),
            timeout: Duration::from_secs(60),
            grace: Duration::from_secs(3),
            output_cap: 1 << 20,
            memory_limit: None,
            quit_on_timeout: true,
            cpus: 0,
        }
    }
}

/// What happened.
#[derive(Clone, Debug, Default)]
pub struct ExecResult {
    /// `None` when the process could not be started (see `spawn_error`).
    pub exit: Option<ExitStatus>,
    pub spawn_error: Option<String>,
    pub timed_out: bool,
    /// Killed for exceeding the memory limit.
    pub oom: bool,
    /// Killed because divergo was interrupted; not a program outcome.
    pub interrupted: bool,
    pub stdout: String,
    pub stderr: String,
    pub stdout_dropped: u64,
    pub stderr_dropped: u64,
    pub duration: Duration,
    /// Peak resident set size seen by sampling, in bytes.
    pub peak_rss: u64,
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

fn live_groups() -> &'static Mutex<HashSet<i32>> {
    static GROUPS: OnceLock<Mutex<HashSet<i32>>> = OnceLock::new();
    GROUPS.get_or_init(|| Mutex::new(HashSet::new()))
}

/// True once SIGINT or SIGTERM reached divergo (after [`install_signal_handlers`]).
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Mark the process as interrupted and kill every live child group.
pub fn interrupt() {
    INTERRUPTED.store(true, Ordering::SeqCst);
    kill_all_groups();
}

/// SIGKILL every process group divergo started and has not reaped yet.
pub fn kill_all_groups() {
    let groups: Vec<i32> = live_groups()
        .lock()
        .map(|g| g.iter().copied().collect())
        .unwrap_or_default();
    for pgid in groups {
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
    }
}

extern "C" fn on_terminating_signal(_sig: libc::c_int) {
    // Only async-signal-safe work here: set the flag. Workers poll it and kill
    // their own groups within one polling interval.
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Route SIGINT and SIGTERM to the interrupted flag. Children are killed by the
/// workers that own them as soon as they notice.
pub fn install_signal_handlers() {
    unsafe {
        let handler = on_terminating_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
}

/// Head-and-tail capture of one stream.
struct Capture {
    head: Vec<u8>,
    tail: std::collections::VecDeque<u8>,
    half: usize,
    dropped: u64,
}

impl Capture {
    fn new(cap: usize) -> Self {
        let half = (cap / 2).max(1);
        Capture {
            head: Vec::new(),
            tail: std::collections::VecDeque::new(),
            half,
            dropped: 0,
        }
    }

    fn push(&mut self, mut data: &[u8]) {
        if self.head.len() < self.half {
            let n = (self.half - self.head.len()).min(data.len());
            self.head.extend_from_slice(&data[..n]);
            data = &data[n..];
        }
        if data.len() >= self.half {
            self.dropped += (self.tail.len() + data.len() - self.half) as u64;
            self.tail.clear();
            self.tail.extend(&data[data.len() - self.half..]);
            return;
        }
        let overflow = (self.tail.len() + data.len()).saturating_sub(self.half);
        self.dropped += overflow as u64;
        self.tail.drain(..overflow);
        self.tail.extend(data);
    }

    fn finish(self) -> (String, u64) {
        let mut out = self.head;
        if self.dropped > 0 {
            out.extend_from_slice(
                format!("\n[divergo: {} bytes dropped here]\n", self.dropped).as_bytes(),
            );
        }
        out.extend(self.tail);
        (String::from_utf8_lossy(&out).into_owned(), self.dropped)
    }
}

fn reader<R: Read + Send + 'static>(mut r: R, cap: usize) -> thread::JoinHandle<Capture> {
    thread::spawn(move || {
        let mut c = Capture::new(cap);
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match r.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => c.push(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        c
    })
}

/// Resident set size of one process, in bytes.
fn rss_bytes(pid: u32) -> Option<u64> {
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * page_size())
}

fn page_size() -> u64 {
    static PS: OnceLock<u64> = OnceLock::new();
    *PS.get_or_init(|| {
        let v = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        if v > 0 {
            v as u64
        } else {
            4096
        }
    })
}

/// Run a process to completion under the spec's limits.
pub fn run(spec: &ExecSpec) -> ExecResult {
    let start = Instant::now();
    let mut cmd = Command::new(&spec.program);
    cmd.args(&spec.args)
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .current_dir(&spec.cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let lease = (spec.cpus > 0).then(|| CpuLease::take(spec.cpus));
    let affinity = lease.as_ref().map(|l| l.set);
    unsafe {
        cmd.pre_exec(move || {
            // Own process group, so the whole group can be signalled.
            if libc::setpgid(0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if let Some(set) = &affinity {
                if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), set) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            // Die with the harness thread that started us (kill -9 included).
            libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            );
            // No core files (GOTRACEBACK=crash aborts with SIGABRT).
            let no_core = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            libc::setrlimit(libc::RLIMIT_CORE, &no_core);
            // Restore default dispositions the harness may have changed.
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            libc::signal(libc::SIGTERM, libc::SIG_DFL);
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
            Ok(())
        });
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return ExecResult {
                spawn_error: Some(format!("cannot start {}: {e}", spec.program.display())),
                duration: start.elapsed(),
                ..Default::default()
            }
        }
    };
    let pid = child.id();
    let pgid = pid as i32;
    live_groups().lock().unwrap().insert(pgid);
    // A SIGINT that arrived between the check in the caller and the insert
    // above must still reach this group.
    let out_h = reader(child.stdout.take().unwrap(), spec.output_cap);
    let err_h = reader(child.stderr.take().unwrap(), spec.output_cap);

    let poll = Duration::from_millis(20);
    let mut res = ExecResult::default();
    let mut quit_at: Option<Instant> = None;
    let status = loop {
        match child.wait_timeout(poll) {
            Ok(Some(st)) => break Some(st),
            Ok(None) => {}
            Err(_) => break None,
        }
        if let Some(rss) = rss_bytes(pid) {
            res.peak_rss = res.peak_rss.max(rss);
            if let Some(limit) = spec.memory_limit {
                if rss > limit && !res.oom {
                    res.oom = true;
                    signal_group(pgid, libc::SIGKILL);
                }
            }
        }
        if interrupted() && !res.interrupted {
            res.interrupted = true;
            signal_group(pgid, libc::SIGKILL);
        }
        let elapsed = start.elapsed();
        match quit_at {
            None if elapsed >= spec.timeout => {
                res.timed_out = true;
                if spec.quit_on_timeout {
                    signal_group(pgid, libc::SIGQUIT);
                    quit_at = Some(Instant::now());
                } else {
                    signal_group(pgid, libc::SIGKILL);
                    quit_at = Some(Instant::now() - spec.grace);
                }
            }
            Some(t) if t.elapsed() >= spec.grace => {
                signal_group(pgid, libc::SIGKILL);
            }
            _ => {}
        }
    };
    // Whatever the child left in its group (threads are in-process; other
    // processes are not) goes too, so no reader blocks on an inherited pipe.
    signal_group(pgid, libc::SIGKILL);
    // Wait (bounded) until nothing of the group is left alive.
    let gone_by = Instant::now() + Duration::from_secs(5);
    while !group_members(pgid).is_empty() && Instant::now() < gone_by {
        thread::sleep(Duration::from_millis(5));
        signal_group(pgid, libc::SIGKILL);
    }
    live_groups().lock().unwrap().remove(&pgid);
    res.duration = start.elapsed();
    res.exit = status.map(|st| match (st.code(), st.signal()) {
        (Some(c), _) => ExitStatus::Code(c),
        (None, Some(s)) => ExitStatus::Signal(s),
        (None, None) => ExitStatus::Code(-1),
    });
    let (stdout, sd) = out_h.join().map(Capture::finish).unwrap_or_default();
    let (stderr, ed) = err_h.join().map(Capture::finish).unwrap_or_default();
    res.stdout = stdout;
    res.stderr = stderr;
    res.stdout_dropped = sd;
    res.stderr_dropped = ed;
    res
}

/// CPUs held by live pinned children: how many children use each CPU.
fn cpu_use() -> &'static Mutex<Vec<(usize, u32)>> {
    static USE: OnceLock<Mutex<Vec<(usize, u32)>>> = OnceLock::new();
    USE.get_or_init(|| Mutex::new(allowed_cpus().into_iter().map(|c| (c, 0)).collect()))
}

/// The CPUs this process may run on.
pub fn allowed_cpus() -> Vec<usize> {
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return vec![0];
        }
        let n = 8 * std::mem::size_of::<libc::cpu_set_t>();
        let v: Vec<usize> = (0..n).filter(|&c| libc::CPU_ISSET(c, &set)).collect();
        if v.is_empty() {
            vec![0]
        } else {
            v
        }
    }
}

/// A child's share of the CPUs, given back when the run ends.
struct CpuLease {
    cpus: Vec<usize>,
    set: libc::cpu_set_t,
}

impl CpuLease {
    /// The `n` least used CPUs (lowest number first among equals).
    fn take(n: usize) -> CpuLease {
        let mut used = cpu_use().lock().unwrap();
        let mut order: Vec<usize> = (0..used.len()).collect();
        order.sort_by_key(|&i| (used[i].1, used[i].0));
        order.truncate(n.min(used.len()));
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        let mut cpus = Vec::new();
        for i in order {
            used[i].1 += 1;
            cpus.push(used[i].0);
            unsafe { libc::CPU_SET(used[i].0, &mut set) };
        }
        CpuLease { cpus, set }
    }
}

impl Drop for CpuLease {
    fn drop(&mut self) {
        let mut used = cpu_use().lock().unwrap();
        for c in &self.cpus {
            if let Some(e) = used.iter_mut().find(|e| e.0 == *c) {
                e.1 = e.1.saturating_sub(1);
            }
        }
    }
}

fn signal_group(pgid: i32, sig: libc::c_int) {
    unsafe {
        libc::kill(-pgid, sig);
    }
}

/// Whether a process exists and is not a zombie (killed but not yet reaped).
pub fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// Live (non-zombie) processes whose process group is `pgid`.
pub fn group_members(pgid: i32) -> Vec<u32> {
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    rd.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| {
                    let (_, rest) = stat.rsplit_once(')')?;
                    let mut f = rest.split_whitespace();
                    let state = f.next()?;
                    let _ppid = f.next()?;
                    let pgrp: i32 = f.next()?.parse().ok()?;
                    Some(pgrp == pgid && state != "Z" && state != "X")
                })
                .unwrap_or(false)
        })
        .collect()
}

/// Shared flag handed to long loops that should stop early.
pub type StopFlag = Arc<AtomicBool>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_keeps_head_and_tail() {
        let mut c = Capture::new(8);
        c.push(b"abcd");
        c.push(b"efgh");
        c.push(b"ijkl");
        c.push(b"mn");
        let (s, dropped) = c.finish();
        assert_eq!(dropped, 6);
        assert!(s.starts_with("abcd"), "{s}");
        assert!(s.ends_with("klmn"), "{s}");
        assert!(s.contains("6 bytes dropped"), "{s}");
    }

    #[test]
    fn capture_large_single_chunk() {
        let mut c = Capture::new(4);
        c.push(b"0123456789");
        let (s, dropped) = c.finish();
        assert_eq!(dropped, 6);
        assert!(s.starts_with("01"));
        assert!(s.ends_with("89"));
    }

    fn sh(script: &str, timeout_ms: u64) -> ExecResult {
        let mut spec = ExecSpec::new("/bin/sh", std::env::temp_dir());
        spec.args = vec!["-c".into(), script.into()];
        spec.env = vec![("PATH".into(), "/usr/bin:/bin".into())];
        spec.timeout = Duration::from_millis(timeout_ms);
        spec.grace = Duration::from_millis(300);
        run(&spec)
    }

    #[test]
    fn a_pinned_child_runs_on_one_cpu_and_parallel_leases_spread() {
        let mut spec = ExecSpec::new("/bin/sh", std::env::temp_dir());
        spec.args = vec![
            "-c".into(),
            "grep Cpus_allowed_list /proc/self/status".into(),
        ];
        spec.env = vec![("PATH".into(), "/usr/bin:/bin".into())];
        spec.cpus = 1;
        let r = run(&spec);
        let list = r.stdout.split(':').nth(1).unwrap_or("").trim().to_string();
        assert!(
            !list.is_empty() && list.parse::<usize>().is_ok(),
            "{}",
            r.stdout
        );
        assert!(allowed_cpus().contains(&list.parse().unwrap()));
        let all = allowed_cpus();
        if all.len() >= 2 {
            let a = CpuLease::take(1);
            let b = CpuLease::take(1);
            assert_ne!(a.cpus, b.cpus);
            drop((a, b));
        }
        spec.cpus = 0;
        let r = run(&spec);
        assert!(r.stdout.contains("Cpus_allowed_list"), "{}", r.stdout);
    }

    #[test]
    fn exit_code_and_output() {
        let r = sh("echo out; echo err >&2; exit 3", 5000);
        assert_eq!(r.exit, Some(ExitStatus::Code(3)));
        assert_eq!(r.stdout, "out\n");
        assert_eq!(r.stderr, "err\n");
        assert!(!r.timed_out);
    }

    #[test]
    fn timeout_kills_whole_group() {
        // The shell starts a background sleeper in the same group; both must go.
        let r = sh("sleep 30 & echo $!; wait", 300);
        assert!(r.timed_out);
        let pid: u32 = r.stdout.trim().parse().unwrap();
        assert!(r.duration < Duration::from_secs(5), "{:?}", r.duration);
        assert!(!process_alive(pid), "background child {pid} survived");
    }

    #[test]
    fn a_child_that_exits_leaves_nothing_behind_in_its_group() {
        // The shell exits at once; its background sleeper (same group, holding
        // the output pipe) must be killed, or it would outlive the run.
        let t = Instant::now();
        let r = sh("sleep 30 & echo $!", 10_000);
        assert_eq!(r.exit, Some(ExitStatus::Code(0)));
        assert!(!r.timed_out);
        let pid: u32 = r.stdout.trim().parse().unwrap();
        assert!(!process_alive(pid), "background child {pid} survived");
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    }

    #[test]
    fn spawn_error_is_reported() {
        let spec = ExecSpec::new("/nonexistent/divergo-test", std::env::temp_dir());
        let r = run(&spec);
        assert!(r.exit.is_none());
        assert!(r.spawn_error.unwrap().contains("/nonexistent/divergo-test"));
    }
}

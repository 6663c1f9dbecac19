//! `hostile`: programs that misbehave on purpose, one variant each, for the
//! reliability soak of the harness (never in the default family set). They
//! are still valid Go for go1.14 and later.

use super::src::{Src, Unit};
use arbitrary::Arbitrary;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Arbitrary)]
#[serde(rename_all = "snake_case")]
pub enum HostileKind {
    /// Print gigabytes to stdout (8 GiB, then exit 0).
    BigOutput,
    /// Allocate and touch memory until the process is killed or runs out.
    AllocForever,
    /// Thousands of goroutines, and thousands of OS threads held by
    /// goroutines that called runtime.LockOSThread and then block; never ends.
    ThreadBomb,
    /// Ignore SIGQUIT, then spin forever.
    IgnoreQuit,
    /// Write files into the current directory, then exit 0.
    WriteFiles,
    /// Sleep forever (no deadlock: a timer is always pending).
    NeverEnd,
}

impl HostileKind {
    pub const ALL: [HostileKind; 6] = [
        HostileKind::BigOutput,
        HostileKind::AllocForever,
        HostileKind::ThreadBomb,
        HostileKind::IgnoreQuit,
        HostileKind::WriteFiles,
        HostileKind::NeverEnd,
    ];

    pub fn name(self) -> &'static str {
        match self {
            HostileKind::BigOutput => "big_output",
            HostileKind::AllocForever => "alloc_forever",
            HostileKind::ThreadBomb => "thread_bomb",
            HostileKind::IgnoreQuit => "ignore_quit",
            HostileKind::WriteFiles => "write_files",
            HostileKind::NeverEnd => "never_end",
        }
    }

    /// A construct every program of this variant contains.
    pub fn marker(self) -> &'static str {
        match self {
            HostileKind::BigOutput => "os.Stdout.Write(",
            HostileKind::AllocForever => "keep = append(keep, b)",
            HostileKind::ThreadBomb => "runtime.LockOSThread()",
            HostileKind::IgnoreQuit => "signal.Ignore(syscall.SIGQUIT)",
            HostileKind::WriteFiles => "ioutil.WriteFile(",
            HostileKind::NeverEnd => "time.Sleep(time.Second)",
        }
    }
}

pub(crate) fn render(kind: HostileKind) -> String {
    let mut unit = Unit::default();
    unit.import("fmt");
    let mut m = Src::new();
    m.open("func main() {");
    m.line(format!("fmt.Println(\"hostile: {}\")", kind.name()));
    match kind {
        HostileKind::BigOutput => {
            unit.import("os");
            m.line("buf := make([]byte, 1<<20)");
            m.open("for i := range buf {");
            m.line("buf[i] = 'x'");
            m.close("}");
            m.line("buf[len(buf)-1] = '\\n'");
            m.open("for i := 0; i < 8192; i++ {");
            m.line("os.Stdout.Write(buf)");
            m.close("}");
        }
        HostileKind::AllocForever => {
            m.line("var keep [][]byte");
            m.open("for {");
            m.line("b := make([]byte, 64<<20)");
            m.open("for i := 0; i < len(b); i += 4096 {");
            m.line("b[i] = 1");
            m.close("}");
            m.line("keep = append(keep, b)");
            m.line("fmt.Println(\"allocated MiB:\", len(keep)*64)");
            m.close("}");
        }
        HostileKind::ThreadBomb => {
            unit.import("runtime");
            unit.import("time");
            m.line("block := make(chan int)");
            m.open("for i := 0; i < 3000; i++ {");
            m.open("go func() {");
            m.line("runtime.LockOSThread()");
            m.line("<-block");
            m.close("}()");
            m.close("}");
            m.open("for i := 0; i < 20000; i++ {");
            m.open("go func() {");
            m.line("<-block");
            m.close("}()");
            m.close("}");
            m.line("fmt.Println(\"goroutines:\", runtime.NumGoroutine())");
            m.open("for {");
            m.line("time.Sleep(time.Second)");
            m.close("}");
        }
        HostileKind::IgnoreQuit => {
            unit.import("os/signal");
            unit.import("syscall");
            m.line("signal.Ignore(syscall.SIGQUIT)");
            m.line("x := 1");
            m.open("for {");
            m.line("x = x*31 + 7");
            m.open("if x == 0 {");
            m.line("fmt.Println(x)");
            m.close("}");
            m.close("}");
        }
        HostileKind::WriteFiles => {
            unit.import("io/ioutil");
            m.line("data := make([]byte, 1<<16)");
            m.open("for i := 0; i < 64; i++ {");
            m.line("name := fmt.Sprintf(\"divergo-hostile-%d.txt\", i)");
            m.open("if err := ioutil.WriteFile(name, data, 0644); err != nil {");
            m.line("fmt.Println(err)");
            m.close("}");
            m.close("}");
            m.line("fmt.Println(\"checksum: 0000000000000000\")");
        }
        HostileKind::NeverEnd => {
            unit.import("time");
            m.open("for {");
            m.line("time.Sleep(time.Second)");
            m.close("}");
        }
    }
    m.close("}");
    unit.decl(m);
    unit.assemble()
}

//! Executors: how a binary built for one GOARCH runs on this host.
//!
//! `native` runs the host's own arch. `qemu-user` runs the foreign arch under
//! the distribution's qemu-user-static. qemu-user delivers signals only between
//! translation blocks, so by default divergo asks for one instruction per block
//! (qemu 7.2: `QEMU_SINGLESTEP=1`; qemu >= 8.1: `QEMU_ONE_INSN_PER_TB=1`):
//! without it an asynchronous preemption can never land between two
//! instructions of one block and bugs that live in such windows are invisible.

use crate::model::Arch;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum QemuMode {
    /// One guest instruction per translation block: signals can land anywhere.
    #[default]
    OneInsnPerTb,
    /// qemu's default block chaining: fast, but blind to intra-block windows.
    Plain,
    /// Decided per program and arch once its builds are scanned: one insn
    /// per TB when a build of that arch has a preemptible window the static
    /// scan knows, plain otherwise ([`Executor::resolved`]).
    Auto,
}

impl std::str::FromStr for QemuMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "one-insn-per-tb" | "singlestep" => Ok(QemuMode::OneInsnPerTb),
            "plain" => Ok(QemuMode::Plain),
            "auto" => Ok(QemuMode::Auto),
            _ => Err(format!(
                "unknown qemu mode {s:?} (expected auto, one-insn-per-tb or plain)"
            )),
        }
    }
}

/// A resolved way of running binaries of one arch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Executor {
    pub arch: Arch,
    #[serde(flatten)]
    pub kind: ExecutorKind,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "executor", rename_all = "kebab-case")]
pub enum ExecutorKind {
    Native,
    QemuUser {
        path: PathBuf,
        version: (u32, u32, u32),
        mode: QemuMode,
    },
}

impl Executor {
    /// Human label used in every result line and report, e.g.
    /// `arm64 (qemu-user 7.2, one insn per TB)` or `amd64 (native)`.
    pub fn label(&self) -> String {
        format!("{} ({})", self.arch, self.kind_label())
    }

    /// The executor part of the label: `native` or `qemu-user 7.2, one insn per TB`.
    pub fn kind_label(&self) -> String {
        match &self.kind {
            ExecutorKind::Native => "native".to_string(),
            ExecutorKind::QemuUser { version, mode, .. } => format!(
                "qemu-user {}.{}, {}",
                version.0,
                version.1,
                match mode {
                    QemuMode::OneInsnPerTb => "one insn per TB",
                    QemuMode::Plain => "plain",
                    QemuMode::Auto => "auto: one insn per TB only where the scan finds a window",
                }
            ),
        }
    }

    /// Whether programs run under an emulator here (qemu-user).
    pub fn is_emulated(&self) -> bool {
        matches!(self.kind, ExecutorKind::QemuUser { .. })
    }

    /// This executor for one program: an `auto` qemu executor becomes one
    /// insn per TB when `windows` (a build of this arch has a preemptible
    /// window), plain otherwise; any other executor is itself.
    pub fn resolved(&self, windows: bool) -> Executor {
        let mut e = self.clone();
        if let ExecutorKind::QemuUser { mode, .. } = &mut e.kind {
            if *mode == QemuMode::Auto {
                *mode = if windows {
                    QemuMode::OneInsnPerTb
                } else {
                    QemuMode::Plain
                };
            }
        }
        e
    }

    /// How many times slower than native a program runs here (for timeouts).
    pub fn slowdown(&self) -> f64 {
        match &self.kind {
            ExecutorKind::Native => 1.0,
            ExecutorKind::QemuUser { mode, .. } => match mode {
                QemuMode::OneInsnPerTb | QemuMode::Auto => 60.0,
                QemuMode::Plain => 4.0,
            },
        }
    }

    /// The program, its arguments and extra environment to run `binary`.
    pub fn command(&self, binary: &Path) -> (PathBuf, Vec<String>, Vec<(String, String)>) {
        match &self.kind {
            ExecutorKind::Native => (binary.to_path_buf(), vec![], vec![]),
            ExecutorKind::QemuUser {
                path,
                version,
                mode,
            } => {
                let mut env = vec![];
                // An unresolved auto executor runs as the slow, thorough mode.
                if matches!(mode, QemuMode::OneInsnPerTb | QemuMode::Auto) {
                    if *version >= (8, 1, 0) {
                        env.push(("QEMU_ONE_INSN_PER_TB".to_string(), "1".to_string()));
                    } else {
                        env.push(("QEMU_SINGLESTEP".to_string(), "1".to_string()));
                    }
                }
                (path.clone(), vec![binary.display().to_string()], env)
            }
        }
    }
}

/// The qemu-user binary names for an arch (Debian's `-static` first).
fn qemu_names(arch: Arch) -> [String; 2] {
    let base = match arch {
        Arch::Amd64 => "x86_64",
        Arch::Arm64 => "aarch64",
        Arch::I386 => "i386",
        Arch::Arm => "arm",
        Arch::Loong64 => "loongarch64",
        Arch::Mips => "mips",
        Arch::Mipsle => "mipsel",
        Arch::Mips64 => "mips64",
        Arch::Mips64le => "mips64el",
        Arch::Ppc64 => "ppc64",
        Arch::Ppc64le => "ppc64le",
        Arch::Riscv64 => "riscv64",
        Arch::S390x => "s390x",
    };
    [format!("qemu-{base}-static"), format!("qemu-{base}")]
}

/// The variable that names an arch's emulator: `DIVERGO_QEMU_AARCH64`,
/// `DIVERGO_QEMU_MIPSEL`, ... (the qemu name, upper case).
fn env_override(arch: Arch) -> String {
    let [_, name] = qemu_names(arch);
    format!("DIVERGO_{}", name.to_uppercase().replace('-', "_"))
}

/// A 96-byte static i386 ELF executable that exits with status 7
/// (`mov eax,1; mov ebx,7; int 0x80`): whether the kernel runs 32-bit x86
/// binaries (IA-32 emulation) is found by running it, not assumed.
const I386_PROBE: [u8; 96] = {
    let mut b = [0u8; 96];
    let head: [u8; 52] = [
        0x7f, b'E', b'L', b'F', 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, // e_ident
        2, 0, 3, 0, // ET_EXEC, EM_386
        1, 0, 0, 0, // e_version
        0x54, 0x80, 0x04, 0x08, // e_entry 0x08048054
        52, 0, 0, 0, // e_phoff
        0, 0, 0, 0, // e_shoff
        0, 0, 0, 0, // e_flags
        52, 0, 32, 0, 1, 0, // e_ehsize, e_phentsize, e_phnum
        0, 0, 0, 0, 0, 0, // e_shentsize, e_shnum, e_shstrndx
    ];
    let phdr: [u8; 32] = [
        1, 0, 0, 0, // PT_LOAD
        0, 0, 0, 0, // p_offset
        0x00, 0x80, 0x04, 0x08, // p_vaddr
        0x00, 0x80, 0x04, 0x08, // p_paddr
        96, 0, 0, 0, // p_filesz
        96, 0, 0, 0, // p_memsz
        5, 0, 0, 0, // PF_R | PF_X
        0, 0x10, 0, 0, // p_align
    ];
    let code: [u8; 12] = [
        0xb8, 1, 0, 0, 0, // mov eax, 1 (exit)
        0xbb, 7, 0, 0, 0, // mov ebx, 7
        0xcd, 0x80, // int 0x80
    ];
    let mut i = 0;
    while i < 52 {
        b[i] = head[i];
        i += 1;
    }
    while i < 84 {
        b[i] = phdr[i - 52];
        i += 1;
    }
    while i < 96 {
        b[i] = code[i - 84];
        i += 1;
    }
    b
};

/// Whether this host runs 386 binaries natively: an x86-64 host whose
/// kernel runs [`I386_PROBE`]. Asked once per process.
pub fn native_386() -> Result<(), String> {
    static ANSWER: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    ANSWER
        .get_or_init(|| {
            if Arch::host() != Some(Arch::Amd64) {
                return Err(format!(
                    "the host is {}, not x86-64",
                    std::env::consts::ARCH
                ));
            }
            let dir = tempfile::tempdir().map_err(|e| format!("no temporary dir: {e}"))?;
            let probe = dir.path().join("probe-386");
            std::fs::write(&probe, I386_PROBE).map_err(|e| format!("cannot write a probe: {e}"))?;
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&probe, std::fs::Permissions::from_mode(0o755))
                .map_err(|e| format!("cannot make the probe executable: {e}"))?;
            match Command::new(&probe).status() {
                Ok(s) if s.code() == Some(7) => Ok(()),
                Ok(s) => Err(format!("a 32-bit x86 probe binary exited with {s}")),
                Err(e) => Err(format!(
                    "this x86-64 kernel does not run 32-bit x86 binaries (no IA-32 emulation: {e})"
                )),
            }
        })
        .clone()
}

fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Parse `qemu-aarch64 version 7.2.22 (Debian ...)`.
pub fn parse_qemu_version(text: &str) -> Option<(u32, u32, u32)> {
    let rest = text.split("version").nth(1)?;
    let v = rest.split_whitespace().next()?;
    let mut it = v.split('.').map(|p| {
        p.chars()
            .take_while(|c| c.is_ascii_digit())
            .collect::<String>()
            .parse::<u32>()
    });
    let major = it.next()?.ok()?;
    let minor = it.next().and_then(|r| r.ok()).unwrap_or(0);
    let patch = it.next().and_then(|r| r.ok()).unwrap_or(0);
    Some((major, minor, patch))
}

/// Resolve the executor for `arch` on this host. An `Err` is an infrastructure
/// problem: the message says what is missing and how to install it.
pub fn detect(arch: Arch, mode: QemuMode) -> Result<Executor, String> {
    if Arch::host() == Some(arch) {
        return Ok(Executor {
            arch,
            kind: ExecutorKind::Native,
        });
    }
    let var = env_override(arch);
    if arch == Arch::I386 && std::env::var_os(&var).is_none() {
        // qemu-i386 (7.2) stops every Go program at start-up ("fatal:
        // morestack on gsignal"): 386 runs natively or not at all.
        return native_386()
            .map(|()| Executor {
                arch,
                kind: ExecutorKind::Native,
            })
            .map_err(|why| {
                format!(
                    "386 does not run here: {why}; qemu-i386 cannot run Go programs (set {var} to \
                     try another emulator)"
                )
            });
    }
    let names = qemu_names(arch);
    let path = match std::env::var_os(&var) {
        Some(p) => PathBuf::from(p),
        None => names
            .iter()
            .find_map(|n| find_in_path(n))
            .ok_or_else(|| {
                format!(
                    "no qemu-user for {arch} on this {} host ({} not found on PATH); install it with `apt-get install qemu-user-static` or set {var}",
                    Arch::host().map(|a| a.to_string()).unwrap_or_else(|| std::env::consts::ARCH.to_string()),
                    names[0],
                )
            })?,
    };
    let out = Command::new(&path)
        .arg("--version")
        .output()
        .map_err(|e| format!("cannot run {}: {e}", path.display()))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(format!(
            "{} --version failed ({}): {}",
            path.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let version = parse_qemu_version(&text).ok_or_else(|| {
        format!(
            "cannot read the version of {} from {:?}",
            path.display(),
            text.lines().next().unwrap_or("")
        )
    })?;
    // The scan reads only some archs' binaries; elsewhere `auto` has no
    // window to look for and is plain from the start (and says so).
    let mode = if mode == QemuMode::Auto && !arch.scanned() {
        QemuMode::Plain
    } else {
        mode
    };
    if mode == QemuMode::OneInsnPerTb && version < (7, 0, 0) {
        return Err(format!(
            "{} is qemu {}.{}: one-instruction-per-block mode needs qemu >= 7.0 (or use --qemu-mode plain)",
            path.display(),
            version.0,
            version.1
        ));
    }
    Ok(Executor {
        arch,
        kind: ExecutorKind::QemuUser {
            path,
            version,
            mode,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_resolves_by_windows_and_leaves_other_modes_alone() {
        let qemu = |mode| Executor {
            arch: Arch::Arm64,
            kind: ExecutorKind::QemuUser {
                path: PathBuf::from("/usr/bin/qemu-aarch64-static"),
                version: (7, 2, 0),
                mode,
            },
        };
        let mode = |e: Executor| match e.kind {
            ExecutorKind::QemuUser { mode, .. } => mode,
            ExecutorKind::Native => panic!("native"),
        };
        assert_eq!(
            mode(qemu(QemuMode::Auto).resolved(true)),
            QemuMode::OneInsnPerTb
        );
        assert_eq!(mode(qemu(QemuMode::Auto).resolved(false)), QemuMode::Plain);
        for m in [QemuMode::OneInsnPerTb, QemuMode::Plain] {
            assert_eq!(mode(qemu(m).resolved(true)), m);
            assert_eq!(mode(qemu(m).resolved(false)), m);
        }
        let native = Executor {
            arch: Arch::Amd64,
            kind: ExecutorKind::Native,
        };
        assert_eq!(native.resolved(true), native);
        assert_eq!("auto".parse::<QemuMode>(), Ok(QemuMode::Auto));
    }

    #[test]
    fn parses_qemu_versions() {
        assert_eq!(
            parse_qemu_version("qemu-aarch64 version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\n"),
            Some((7, 2, 22))
        );
        assert_eq!(
            parse_qemu_version("qemu-aarch64 version 8.2.2 (Debian)"),
            Some((8, 2, 2))
        );
        assert_eq!(
            parse_qemu_version("qemu-aarch64 version 9.0"),
            Some((9, 0, 0))
        );
        assert_eq!(parse_qemu_version("garbage"), None);
    }

    #[test]
    fn single_step_flag_depends_on_version() {
        let old = Executor {
            arch: Arch::Arm64,
            kind: ExecutorKind::QemuUser {
                path: "/q".into(),
                version: (7, 2, 0),
                mode: QemuMode::OneInsnPerTb,
            },
        };
        let (_, _, env) = old.command(Path::new("/b"));
        assert_eq!(env, vec![("QEMU_SINGLESTEP".into(), "1".into())]);
        let new = Executor {
            arch: Arch::Arm64,
            kind: ExecutorKind::QemuUser {
                path: "/q".into(),
                version: (8, 1, 0),
                mode: QemuMode::OneInsnPerTb,
            },
        };
        let (_, _, env) = new.command(Path::new("/b"));
        assert_eq!(env, vec![("QEMU_ONE_INSN_PER_TB".into(), "1".into())]);
        assert_eq!(new.label(), "arm64 (qemu-user 8.1, one insn per TB)");
    }
}

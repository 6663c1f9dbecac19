//! `divergo.toml`: a team's defaults for the flags of every command.
//!
//! The file is found like Cargo's: `--config FILE` (or `DIVERGO_CONFIG`),
//! else `divergo.toml` in the working directory or the nearest parent that has
//! one. Its keys are the commands' own long flag names (`-` or `_`), at the top
//! level (every command that has that flag) or under a section named after a
//! command (`[run]`, `[qualify]`, `[corpus]`, `[merge]`, …), which wins over
//! the top level. A flag on the command line, or its environment variable,
//! wins over both.
//!
//! Values are handed to the command's own flag parser, so a value the flag
//! refuses is refused with the flag's message, prefixed by the file and line.

use anyhow::{anyhow, bail, Context, Result};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The file name looked for in the working directory and its parents.
pub const FILE_NAME: &str = "divergo.toml";

/// A loaded config file.
#[derive(Debug, Clone)]
pub struct Config {
    pub path: PathBuf,
    /// `section → key → (value, line)`; the top level is section "".
    pub sections: BTreeMap<String, BTreeMap<String, (toml::Value, usize)>>,
}

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Default,
    Flag,
    Env(String),
    /// The file and line.
    File(PathBuf, usize),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::Flag => f.write_str("flag"),
            Source::Env(v) => write!(f, "env {v}"),
            Source::File(p, l) => write!(f, "{}:{l}", p.display()),
        }
    }
}

/// The config file to read: `explicit` (a `--config` value; `none` reads
/// none), else `divergo.toml` in `cwd` or its nearest parent that has one.
pub fn locate(explicit: Option<&Path>, cwd: &Path) -> Result<Option<PathBuf>> {
    if let Some(p) = explicit {
        if p.as_os_str() == "none" {
            return Ok(None);
        }
        if !p.is_file() {
            bail!("--config {}: no such file", p.display());
        }
        return Ok(Some(p.to_path_buf()));
    }
    Ok(cwd
        .ancestors()
        .map(|d| d.join(FILE_NAME))
        .find(|p| p.is_file()))
}

/// Read and parse a config file (syntax only: keys are checked against a
/// command by [`args_for`]).
pub fn load(path: &Path) -> Result<Config> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse(path, &text)
}

/// Parse config text read from `path` (named in messages).
pub fn parse(path: &Path, text: &str) -> Result<Config> {
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        let line = e.span().map(|s| line_of(text, s.start)).unwrap_or_default();
        anyhow!(
            "{}:{line}: {}",
            path.display(),
            e.message().lines().next().unwrap_or("not valid TOML")
        )
    })?;
    let mut sections: BTreeMap<String, BTreeMap<String, (toml::Value, usize)>> = BTreeMap::new();
    for (k, v) in table {
        match v {
            toml::Value::Table(t) => {
                let sec = sections.entry(k.clone()).or_default();
                for (kk, vv) in t {
                    if let toml::Value::Table(_) = vv {
                        bail!(
                            "{}:{}: [{k}.{kk}]: sections do not nest",
                            path.display(),
                            key_line(text, &k, &kk)
                        );
                    }
                    let line = key_line(text, &k, &kk);
                    sec.insert(normalise(&kk), (vv, line));
                }
            }
            v => {
                let line = key_line(text, "", &k);
                sections
                    .entry(String::new())
                    .or_default()
                    .insert(normalise(&k), (v, line));
            }
        }
    }
    Ok(Config {
        path: path.to_path_buf(),
        sections,
    })
}

fn normalise(key: &str) -> String {
    key.replace('_', "-")
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The line of `key` in `[section]` ("" for the top level): the first line
/// of that section that assigns it.
fn key_line(text: &str, section: &str, key: &str) -> usize {
    let mut current = String::new();
    let forms = [
        key.to_string(),
        key.replace('_', "-"),
        key.replace('-', "_"),
    ];
    for (i, raw) in text.lines().enumerate() {
        let l = raw.trim();
        if let Some(h) = l.strip_prefix('[') {
            current = h
                .trim_end_matches(|c: char| c == ']' || c.is_whitespace())
                .trim()
                .to_string();
            continue;
        }
        if current != section {
            continue;
        }
        let Some((lhs, _)) = l.split_once('=') else {
            continue;
        };
        let lhs = lhs.trim().trim_matches('"');
        if forms.iter().any(|f| f == lhs) {
            return i + 1;
        }
    }
    0
}

/// One setting the file gives a command: its flag and the argument words.
#[derive(Debug, Clone)]
pub struct Setting {
    /// The flag's long name, without dashes.
    pub flag: String,
    pub words: Vec<OsString>,
    pub line: usize,
    /// The section it came from ("" for the top level).
    pub section: String,
}

/// The settings `config` gives the subcommand `cmd` (its clap definition),
/// each as the argument words of its flag: the top level first, then the
/// command's section over it. Unknown keys and sections are errors with the
/// file and line. `all` is every subcommand (to tell a top-level key that
/// some other command takes from one no command takes).
pub fn args_for(
    config: &Config,
    name: &str,
    cmd: &clap::Command,
    all: &clap::Command,
) -> Result<Vec<Setting>> {
    let names: Vec<&str> = all
        .get_subcommands()
        .flat_map(|c| std::iter::once(c.get_name()).chain(c.get_all_aliases()))
        .collect();
    for (sec, keys) in &config.sections {
        if !sec.is_empty() && !names.contains(&sec.as_str()) {
            let line = keys.values().map(|(_, l)| *l).min().unwrap_or(0);
            bail!(
                "{}:{}: unknown section [{sec}] (sections are commands: {})",
                config.path.display(),
                line.saturating_sub(1).max(1),
                names.join(", ")
            );
        }
    }
    // Top-level keys must be a flag of some command.
    if let Some(top) = config.sections.get("") {
        for (k, (_, line)) in top {
            let known = all
                .get_subcommands()
                .any(|c| flag(c, k).is_some() || c.get_subcommands().any(|s| flag(s, k).is_some()));
            if !known {
                bail!(
                    "{}:{line}: unknown key `{k}`: no command has a --{k} flag",
                    config.path.display()
                );
            }
        }
    }
    let mut out: BTreeMap<String, Setting> = BTreeMap::new();
    let own = [name.to_string()]
        .into_iter()
        .chain(cmd.get_all_aliases().map(str::to_string));
    let sections: Vec<String> = std::iter::once(String::new()).chain(own).collect();
    for sec in &sections {
        let Some(keys) = config.sections.get(sec) else {
            continue;
        };
        for (k, (v, line)) in keys {
            let Some(arg) = flag(cmd, k) else {
                if sec.is_empty() {
                    continue; // another command's flag
                }
                bail!(
                    "{}:{line}: unknown key `{k}` in [{sec}]: `divergo {name}` has no --{k} flag",
                    config.path.display()
                );
            };
            let long = arg.get_long().unwrap_or(k).to_string();
            let words = words(&long, arg, v).map_err(|e| {
                anyhow!(
                    "{}:{line}: {}: {e}",
                    config.path.display(),
                    key_name(sec, k)
                )
            })?;
            out.insert(
                long.clone(),
                Setting {
                    flag: long,
                    words,
                    line: *line,
                    section: sec.clone(),
                },
            );
        }
    }
    Ok(out.into_values().collect())
}

fn key_name(sec: &str, k: &str) -> String {
    if sec.is_empty() {
        k.to_string()
    } else {
        format!("{sec}.{k}")
    }
}

/// The settable flag of `cmd` named `key` (its long name or an alias).
fn flag<'a>(cmd: &'a clap::Command, key: &str) -> Option<&'a clap::Arg> {
    if matches!(key, "help" | "version" | "config") {
        return None;
    }
    cmd.get_arguments().find(|a| {
        a.get_long() == Some(key) || a.get_all_aliases().is_some_and(|al| al.contains(&key))
    })
}

/// The argument words for one flag from a TOML value.
fn words(long: &str, arg: &clap::Arg, v: &toml::Value) -> Result<Vec<OsString>, String> {
    let takes_value = arg.get_action().takes_values();
    if !takes_value {
        return match v {
            toml::Value::Boolean(true) => Ok(vec![format!("--{long}").into()]),
            toml::Value::Boolean(false) => Ok(Vec::new()),
            _ => Err("expected true or false".into()),
        };
    }
    let scalar = |v: &toml::Value| -> Result<String, String> {
        match v {
            toml::Value::String(s) => Ok(s.clone()),
            toml::Value::Integer(i) => Ok(i.to_string()),
            toml::Value::Float(f) => Ok(f.to_string()),
            toml::Value::Boolean(b) => Ok(b.to_string()),
            _ => Err("expected a string, a number or a list of them".into()),
        }
    };
    let value = match v {
        toml::Value::Array(items) => {
            let parts = items.iter().map(scalar).collect::<Result<Vec<_>, _>>()?;
            if arg.get_value_delimiter().is_none() && parts.len() > 1 {
                // A repeatable flag without a delimiter: one flag per item.
                return Ok(parts
                    .into_iter()
                    .map(|p| OsString::from(format!("--{long}={p}")))
                    .collect());
            }
            parts.join(",")
        }
        v => scalar(v)?,
    };
    Ok(vec![format!("--{long}={value}").into()])
}

/// Whether `argv` (after the subcommand) sets the flag `arg` itself.
pub fn given_on_command_line(argv: &[OsString], arg: &clap::Arg) -> bool {
    let mut longs: Vec<String> = arg.get_long().map(str::to_string).into_iter().collect();
    if let Some(al) = arg.get_all_aliases() {
        longs.extend(al.into_iter().map(str::to_string));
    }
    let short = arg.get_short();
    for w in argv {
        let Some(w) = w.to_str() else { continue };
        if w == "--" {
            break;
        }
        if let Some(rest) = w.strip_prefix("--") {
            let name = rest.split('=').next().unwrap_or(rest);
            if longs.iter().any(|l| l == name) {
                return true;
            }
        } else if let (Some(s), Some(rest)) = (short, w.strip_prefix('-')) {
            if rest.starts_with(s) {
                return true;
            }
        }
    }
    false
}

/// Whether the flag's environment variable is set (it then wins over the file).
pub fn env_set(arg: &clap::Arg) -> Option<String> {
    let var = arg.get_env()?;
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(|_| var.to_string_lossy().into_owned())
}

/// Insert the config's settings for the subcommand into `argv` (the whole
/// command line, program name first) where neither the command line nor the
/// environment sets them. Returns the new argv and the settings used
/// (flag → file line), to name the file in a refused value's message.
pub fn augment(
    argv: Vec<OsString>,
    root: &clap::Command,
    config: &Config,
) -> Result<(Vec<OsString>, BTreeMap<String, usize>)> {
    // The subcommand: the first word that names one (global --config VALUE skipped).
    let mut i = 1;
    let mut sub = None;
    while i < argv.len() {
        let w = argv[i].to_string_lossy();
        if w == "--config" {
            i += 2;
            continue;
        }
        if w.starts_with('-') {
            i += 1;
            continue;
        }
        sub = root
            .get_subcommands()
            .find(|c| c.get_name() == w || c.get_all_aliases().any(|a| a == w));
        break;
    }
    let Some(mut cmd) = sub else {
        return Ok((argv, BTreeMap::new()));
    };
    let section = cmd.get_name().to_string();
    // A nested subcommand (findings ack, toolchains install) takes the
    // settings of its parent's section and the top level.
    if cmd.has_subcommands() {
        let parent = cmd;
        let mut j = i + 1;
        let mut leaf = None;
        while j < argv.len() {
            let w = argv[j].to_string_lossy();
            if !w.starts_with('-') {
                leaf = parent.get_subcommands().find(|c| c.get_name() == w);
                break;
            }
            j += 1;
        }
        let Some(leaf) = leaf else {
            return Ok((argv, BTreeMap::new()));
        };
        cmd = leaf;
        i = j;
    }
    let settings = args_for(config, &section, cmd, root)?;
    let rest = &argv[i + 1..];
    let mut extra = Vec::new();
    let mut used = BTreeMap::new();
    for s in settings {
        let arg = flag(cmd, &s.flag).expect("args_for checked the flag");
        if given_on_command_line(rest, arg) || env_set(arg).is_some() {
            continue;
        }
        // A setting that conflicts with a flag given (a resumed run takes
        // its programs from its run.json, not from --families) stands aside.
        let conflicts = cmd.get_arguments().any(|other| {
            given_on_command_line(rest, other)
                && (cmd
                    .get_arg_conflicts_with(arg)
                    .iter()
                    .any(|c| c.get_id() == other.get_id())
                    || cmd
                        .get_arg_conflicts_with(other)
                        .iter()
                        .any(|c| c.get_id() == arg.get_id()))
        });
        if conflicts {
            continue;
        }
        used.insert(s.flag.clone(), s.line);
        extra.extend(s.words);
    }
    // Settings go right after the subcommand: before any `--` or positional tail.
    let mut out: Vec<OsString> = argv[..=i].to_vec();
    out.extend(extra);
    out.extend_from_slice(rest);
    Ok((out, used))
}

/// Every setting of `cmd` with its effective value and where it came from,
/// for `divergo config` (no command line: defaults, environment, file).
pub fn effective(
    name: &str,
    cmd: &clap::Command,
    root: &clap::Command,
    config: Option<&Config>,
) -> Result<Vec<(String, String, Source)>> {
    let settings = match config {
        Some(c) => args_for(c, name, cmd, root)?,
        None => Vec::new(),
    };
    let mut out = Vec::new();
    for arg in cmd.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if matches!(long, "help" | "version" | "config") {
            continue;
        }
        if let Some(var) = env_set(arg) {
            let v = std::env::var(&var).unwrap_or_default();
            out.push((long.to_string(), v, Source::Env(var)));
            continue;
        }
        if let Some(s) = settings.iter().find(|s| s.flag == long) {
            let v = s
                .words
                .iter()
                .map(|w| {
                    let w = w.to_string_lossy();
                    w.split_once('=')
                        .map_or("true".into(), |(_, v)| v.to_string())
                })
                .collect::<Vec<_>>()
                .join(",");
            let path = config.map(|c| c.path.clone()).unwrap_or_default();
            out.push((long.to_string(), v, Source::File(path, s.line)));
            continue;
        }
        let d: Vec<String> = arg
            .get_default_values()
            .iter()
            .map(|v| v.to_string_lossy().into_owned())
            .collect();
        let v = if d.is_empty() {
            if arg.get_action().takes_values() {
                "(unset)".to_string()
            } else {
                "false".to_string()
            }
        } else {
            d.join(",")
        };
        out.push((long.to_string(), v, Source::Default));
    }
    Ok(out)
}

/// `divergo config [COMMAND]`: print the command's effective settings and
/// where each came from.
pub fn show(command: &str, explicit: Option<&Path>) -> Result<i32> {
    use clap::CommandFactory;
    let root = crate::commands::cli::Cli::command();
    let Some(cmd) = root
        .get_subcommands()
        .find(|c| c.get_name() == command || c.get_all_aliases().any(|a| a == command))
    else {
        bail!(
            "unknown command {command:?} (one of: {})",
            root.get_subcommands()
                .map(|c| c.get_name())
                .collect::<Vec<_>>()
                .join(", ")
        );
    };
    let path = locate(explicit, &std::env::current_dir()?)?;
    let cfg = path.as_deref().map(load).transpose()?;
    let rows = effective(cmd.get_name(), cmd, &root, cfg.as_ref())?;
    match &path {
        Some(p) => println!("# config file: {}", p.display()),
        None => println!("# config file: none (no divergo.toml here or in a parent)"),
    }
    println!("# divergo {} settings: flag, value, source", cmd.get_name());
    let w = rows.iter().map(|(k, _, _)| k.len()).max().unwrap_or(0);
    let vw = rows
        .iter()
        .map(|(_, v, _)| v.chars().count())
        .max()
        .unwrap_or(0)
        .min(40);
    for (k, v, src) in rows {
        println!("--{k:<w$}  {v:<vw$}  {src}");
    }
    Ok(crate::error::EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_of_keys_follow_sections() {
        let text =
            "jobs = 2\n\n[run]\n# c\nfamilies = [\"smith\"]\ntrials=5\n[qualify]\ntrials = 7\n";
        let c = parse(Path::new("d.toml"), text).unwrap();
        assert_eq!(c.sections[""]["jobs"].1, 1);
        assert_eq!(c.sections["run"]["families"].1, 5);
        assert_eq!(c.sections["run"]["trials"].1, 6);
        assert_eq!(c.sections["qualify"]["trials"].1, 8);
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let e = parse(Path::new("d.toml"), "[run]\ntrials = \n").unwrap_err();
        assert!(e.to_string().starts_with("d.toml:2: "), "{e}");
    }

    #[test]
    fn locate_walks_up_and_none_reads_nothing() {
        let t = tempfile::tempdir().unwrap();
        let deep = t.path().join("a/b");
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(t.path().join(FILE_NAME), "").unwrap();
        assert_eq!(locate(None, &deep).unwrap(), Some(t.path().join(FILE_NAME)));
        assert_eq!(locate(Some(Path::new("none")), &deep).unwrap(), None);
        assert!(locate(Some(&t.path().join("x.toml")), &deep).is_err());
    }
}

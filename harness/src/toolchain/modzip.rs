//! Module zips: the `h1:` hash of a zip (`dirhash.Hash1`), entry checks like
//! `golang.org/x/mod/zip`, atomic extraction of a toolchain's GOROOT with the
//! executable bits and `go.mod` files the go command restores, and a rename
//! that never replaces.

use super::proxy::*;
use anyhow::{anyhow, bail, Context, Result};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs;
use std::io::{self, Read};
use std::path::Path;

/// `golang.org/x/mod/sumdb/dirhash.HashZip(path, Hash1)`: every entry of the
/// zip (directory entries as empty files), sorted by name.
pub fn h1_of_zip(path: &Path) -> Result<String> {
    let f = fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut z = zip::ZipArchive::new(io::BufReader::new(f))
        .with_context(|| format!("{} is not a valid zip file", path.display()))?;
    // Like HashZip: a name listed twice is hashed twice, with the content of
    // the last entry of that name.
    let mut last: HashMap<Vec<u8>, usize> = HashMap::new();
    let mut names: Vec<Vec<u8>> = Vec::with_capacity(z.len());
    for i in 0..z.len() {
        let e = z.by_index_raw(i)?;
        let name = e.name_raw().to_vec();
        last.insert(name.clone(), i);
        names.push(name);
    }
    names.sort();
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    for name in &names {
        if name.contains(&b'\n') {
            bail!("dirhash: filenames with newlines are not supported");
        }
        let mut e = z.by_index(last[name])?;
        let mut hf = Sha256::new();
        loop {
            let n = e.read(&mut buf).with_context(|| {
                format!(
                    "cannot read {:?} in {}",
                    String::from_utf8_lossy(name),
                    path.display()
                )
            })?;
            if n == 0 {
                break;
            }
            hf.update(&buf[..n]);
        }
        h.update(format!("{:x}", hf.finalize()).as_bytes());
        h.update(b"  ");
        h.update(name);
        h.update(b"\n");
    }
    Ok(format!("h1:{}", B64.encode(h.finalize())))
}

// ---------------------------------------------------------------------------
// Request validation

pub(crate) fn file_name_char_ok(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric() || "!#$%&()+,-.=@[]^_{}~ ".contains(c)
    } else {
        c.is_alphabetic()
    }
}

/// `module.CheckFilePath` plus `path.Clean(name) == name`.
pub(crate) fn check_file_path(p: &str) -> Result<()> {
    if p.is_empty() {
        bail!("empty path");
    }
    if p.starts_with('/') {
        bail!("absolute path");
    }
    for elem in p.split('/') {
        if elem.is_empty() {
            bail!("empty path element (double or trailing slash)");
        }
        if elem.bytes().all(|c| c == b'.') {
            bail!("invalid path element {elem:?}");
        }
        if elem.ends_with('.') {
            bail!("trailing dot in path element {elem:?}");
        }
        if let Some(c) = elem.chars().find(|&c| !file_name_char_ok(c)) {
            bail!("invalid char {c:?}");
        }
        let short = elem.split('.').next().unwrap_or(elem);
        const BAD: [&str; 22] = [
            "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7",
            "COM8", "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
        ];
        if BAD.iter().any(|b| b.eq_ignore_ascii_case(short)) {
            bail!("{short:?} disallowed as path element component on Windows");
        }
    }
    Ok(())
}

/// `collisionChecker` of `golang.org/x/mod/zip`.
pub(crate) fn check_collision(
    seen: &mut HashMap<String, (String, bool)>,
    p: &str,
    is_dir: bool,
) -> Result<()> {
    let fold = p.to_lowercase();
    if let Some((other, other_dir)) = seen.get(&fold) {
        if other != p {
            bail!("case-insensitive file name collision: {other:?} and {p:?}");
        }
        if *other_dir != is_dir {
            bail!("entry {p:?} is both a file and a directory");
        }
        if !is_dir {
            bail!("multiple entries for file {p:?}");
        }
    } else {
        seen.insert(fold, (p.to_string(), is_dir));
    }
    match p.rfind('/') {
        Some(i) => check_collision(seen, &p[..i], true),
        None => Ok(()),
    }
}

pub(crate) fn extract_toolchain(
    zip_path: &Path,
    prefix: &str,
    dest: &Path,
    parent: &Path,
    dest_name: &str,
) -> Result<()> {
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{dest_name}.divergo-tmp-"))
        .tempdir_in(parent)
        .with_context(|| {
            format!(
                "cannot create a temporary directory in {}",
                parent.display()
            )
        })?;
    let root = tmp.path();
    let f = fs::File::open(zip_path)?;
    let mut z = zip::ZipArchive::new(io::BufReader::new(f)).context("not a valid zip file")?;

    // Check every entry before writing anything.
    let mut entries: Vec<(usize, String, bool, u64)> = Vec::with_capacity(z.len());
    let mut seen = HashMap::new();
    let mut total: u64 = 0;
    for i in 0..z.len() {
        let e = z.by_index_raw(i)?;
        let raw = e.name_raw();
        let name = std::str::from_utf8(raw).map_err(|_| {
            anyhow!(
                "zip entry {:?}: name is not UTF-8",
                String::from_utf8_lossy(raw)
            )
        })?;
        let rel = name
            .strip_prefix(prefix)
            .ok_or_else(|| anyhow!("zip entry {name:?}: path does not have prefix {prefix:?}"))?;
        if rel.is_empty() {
            continue;
        }
        let (rel, is_dir) = match rel.strip_suffix('/') {
            Some(r) => (r, true),
            None => (rel, false),
        };
        check_file_path(rel).with_context(|| format!("zip entry {name:?} rejected"))?;
        check_collision(&mut seen, rel, is_dir).with_context(|| format!("zip entry {name:?}"))?;
        if !is_dir {
            let base = rel.rsplit('/').next().unwrap_or(rel);
            if base.eq_ignore_ascii_case("go.mod") && rel != "go.mod" {
                bail!("zip entry {name:?}: go.mod file not in module root directory");
            }
            total = total.saturating_add(e.size());
            if total > MAX_ZIP_SIZE {
                bail!("total uncompressed size of the zip is larger than {MAX_ZIP_SIZE} bytes");
            }
        }
        entries.push((i, rel.to_string(), is_dir, e.size()));
    }

    for (i, rel, is_dir, size) in entries {
        let path = root.join(&rel);
        if is_dir {
            fs::create_dir_all(&path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            continue;
        }
        if let Some(p) = path.parent() {
            fs::create_dir_all(p).with_context(|| format!("cannot create {}", p.display()))?;
        }
        let mut out = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        let mut e = z.by_index(i)?;
        let n = io::copy(&mut (&mut e).take(size + 1), &mut out)
            .with_context(|| format!("cannot extract {rel}"))?;
        if n != size {
            bail!("zip entry {rel}: {n} bytes, but the zip declares {size}");
        }
    }

    if !root.join("bin/go").is_file() {
        bail!("the zip has no bin/go: not a Go toolchain");
    }
    // As cmd/go/internal/toolchain: pkg/tool first, lib, then bin.
    allow_exec(&root.join("pkg/tool"), &|_| true)?;
    allow_exec(&root.join("lib"), &is_go_exec_wrapper)?;
    allow_exec(&root.join("bin"), &|_| true)?;
    restore_go_mod_files(root)?;
    set_mode(root, 0o755)?;
    rename_noreplace(root, dest)
        .with_context(|| format!("cannot rename {} to {}", root.display(), dest.display()))?;
    let _ = tmp.keep(); // renamed away; nothing left to remove
    Ok(())
}

/// `filepath.Match("go_?*_?*_exec", name)`.
pub(crate) fn is_go_exec_wrapper(name: &str) -> bool {
    let Some(mid) = name
        .strip_prefix("go_")
        .and_then(|m| m.strip_suffix("_exec"))
    else {
        return false;
    };
    let chars: Vec<char> = mid.chars().collect();
    chars
        .iter()
        .enumerate()
        .any(|(i, &c)| c == '_' && i >= 1 && i + 1 < chars.len())
}

pub(crate) fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot chmod {}", path.display()))
}

/// Add the executable bits to every regular file under `dir` whose name
/// passes `pick`.
pub(crate) fn allow_exec(dir: &Path, pick: &dyn Fn(&str) -> bool) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let Ok(rd) = fs::read_dir(dir) else {
        return Ok(());
    };
    for e in rd {
        let e = e?;
        let path = e.path();
        let meta = fs::symlink_metadata(&path)?;
        if meta.is_dir() {
            allow_exec(&path, pick)?;
        } else if meta.is_file() && pick(&e.file_name().to_string_lossy()) {
            set_mode(&path, (meta.permissions().mode() & 0o777) | 0o111)?;
        }
    }
    Ok(())
}

/// Copy every `_go.mod` to `go.mod` beside it.
pub(crate) fn restore_go_mod_files(dir: &Path) -> Result<()> {
    for e in fs::read_dir(dir)? {
        let e = e?;
        let path = e.path();
        let meta = fs::symlink_metadata(&path)?;
        if meta.is_dir() {
            restore_go_mod_files(&path)?;
        } else if meta.is_file() && e.file_name() == "_go.mod" {
            let target = dir.join("go.mod");
            if target.symlink_metadata().is_err() {
                fs::copy(&path, &target)
                    .with_context(|| format!("cannot copy {} to go.mod", path.display()))?;
            }
        }
    }
    Ok(())
}

/// Rename without replacing an existing `to` (not even an empty directory):
/// `renameat2(RENAME_NOREPLACE)` through rustix, or, on a kernel or file
/// system without it, a check then a rename.
pub(crate) fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    match renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE) {
        Ok(()) => return Ok(()),
        Err(e) if e == rustix::io::Errno::NOSYS || e == rustix::io::Errno::INVAL => {}
        Err(e) => return Err(e.into()),
    }
    if to.symlink_metadata().is_ok() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} already exists", to.display()),
        ));
    }
    fs::rename(from, to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_paths() {
        for ok in [
            "bin/go",
            "pkg/tool/linux_amd64/compile",
            "src/a b/c.go",
            "lib/time/zoneinfo.zip",
        ] {
            check_file_path(ok).unwrap();
        }
        for bad in [
            "../x",
            "a/../b",
            "/etc/passwd",
            "a//b",
            "a/./b",
            "a\\b",
            "a/b.",
            "con.txt",
            "a:b",
            "a\nb",
        ] {
            assert!(check_file_path(bad).is_err(), "{bad}");
        }
        let mut seen = HashMap::new();
        check_collision(&mut seen, "a/b", false).unwrap();
        check_collision(&mut seen, "a", true).unwrap();
        assert!(check_collision(&mut seen, "A/c", false).is_err());
        assert!(check_collision(&mut seen, "a/b", false).is_err());
        assert!(check_collision(&mut seen, "a", false).is_err());
        assert!(is_go_exec_wrapper("go_js_wasm_exec"));
        assert!(!is_go_exec_wrapper("go_ios_exec"));
        assert!(!is_go_exec_wrapper("go__x_exec"));
    }
}

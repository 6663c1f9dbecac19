//! The checksum database: GOSUMDB values, signed notes (ed25519, the
//! `golang.org/x/mod/sumdb/note` format), tlog tiles and inclusion proofs
//! (`golang.org/x/mod/sumdb/tlog`, height 8), and the lookup of a module
//! version's `h1:` hash (see [`super::proxy`] for the order of the checks).

use super::http::*;
use super::proxy::*;
use anyhow::{anyhow, bail, Context, Result};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ed25519_dalek::Verifier as _;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt;

pub(crate) enum SumdbErr {
    Unreachable(String),
    Fatal(anyhow::Error),
}

impl From<HttpError> for SumdbErr {
    fn from(e: HttpError) -> Self {
        match &e {
            HttpError::Transport { .. } => SumdbErr::Unreachable(e.to_string()),
            HttpError::Status { code, .. } if *code >= 500 || *code == 429 => {
                SumdbErr::Unreachable(e.to_string())
            }
            HttpError::Status { .. } => SumdbErr::Fatal(anyhow!(e.to_string())),
        }
    }
}

pub(crate) fn fatal(msg: impl fmt::Display) -> SumdbErr {
    SumdbErr::Fatal(anyhow!("{msg}"))
}

#[derive(Clone, Debug)]
pub(crate) struct SumdbConfig {
    pub(crate) name: String,
    pub(crate) verifier: NoteVerifier,
    pub(crate) url: Option<String>,
}

/// `dbDial` of `cmd/go/internal/modfetch/sumdb.go`. `None` for `off`.
pub(crate) fn parse_gosumdb(gosumdb: &str) -> Result<Option<SumdbConfig>> {
    let mut v = gosumdb.trim();
    if v.is_empty() {
        v = DEFAULT_GOSUMDB;
    }
    if v == "off" {
        return Ok(None);
    }
    if v == "sum.golang.google.cn" {
        v = "sum.golang.org https://sum.golang.google.cn";
    }
    let fields: Vec<&str> = v.split_whitespace().collect();
    if fields.len() > 2 {
        bail!("invalid GOSUMDB {gosumdb:?}: too many fields");
    }
    let key = match fields[0] {
        "sum.golang.org" => SUM_GOLANG_ORG_KEY,
        k => k,
    };
    let verifier =
        NoteVerifier::parse(key).with_context(|| format!("invalid GOSUMDB {gosumdb:?}"))?;
    let name = verifier.name.clone();
    if name.ends_with('/') || name.starts_with('/') || name.contains(['?', '#', '@', '\\']) {
        bail!("invalid sumdb name (must be host[/path]): {name}");
    }
    let url = match fields.get(1) {
        Some(u) if u.starts_with("https://") || u.starts_with("http://") => {
            Some(u.trim_end_matches('/').to_string())
        }
        Some(u) => bail!("invalid GOSUMDB URL {u:?}: expected http(s)://…"),
        None => None,
    };
    Ok(Some(SumdbConfig {
        name,
        verifier,
        url,
    }))
}

/// A `golang.org/x/mod/sumdb/note` ed25519 verifier key `name+hash+key`.
#[derive(Clone, Debug)]
pub(crate) struct NoteVerifier {
    name: String,
    key_hash: u32,
    key: ed25519_dalek::VerifyingKey,
}

pub(crate) fn valid_note_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('+') && !name.chars().any(char::is_whitespace)
}

pub(crate) fn note_key_hash(name: &str, key: &[u8]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update(key);
    let sum = h.finalize();
    u32::from_be_bytes([sum[0], sum[1], sum[2], sum[3]])
}

impl NoteVerifier {
    pub(crate) fn parse(vkey: &str) -> Result<NoteVerifier> {
        let (name, rest) = vkey.split_once('+').unwrap_or((vkey, ""));
        let (hash16, key64) = rest.split_once('+').unwrap_or((rest, ""));
        let hash = if hash16.len() == 8 && hash16.bytes().all(|c| c.is_ascii_hexdigit()) {
            u32::from_str_radix(hash16, 16).ok()
        } else {
            None
        };
        let key = B64.decode(key64).ok();
        let (Some(hash), Some(key)) = (hash, key) else {
            bail!("malformed verifier id {vkey:?}");
        };
        if !valid_note_name(name) || key.is_empty() {
            bail!("malformed verifier id {vkey:?}");
        }
        if hash != note_key_hash(name, &key) {
            bail!("invalid verifier hash in {vkey:?}");
        }
        if key[0] != 1 {
            bail!("unknown verifier algorithm {} in {vkey:?}", key[0]);
        }
        let raw: [u8; 32] = key[1..]
            .try_into()
            .map_err(|_| anyhow!("malformed verifier id {vkey:?}: bad key length"))?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&raw)
            .map_err(|e| anyhow!("invalid ed25519 key in {vkey:?}: {e}"))?;
        Ok(NoteVerifier {
            name: name.to_string(),
            key_hash: hash,
            key,
        })
    }
}

/// `note.Open` with one known verifier: returns the note text after checking
/// that it carries a valid signature by `v`.
pub(crate) fn open_note(msg: &[u8], v: &NoteVerifier) -> Result<String> {
    let msg = std::str::from_utf8(msg).map_err(|_| anyhow!("malformed note: not UTF-8"))?;
    if msg.chars().any(|c| c < ' ' && c != '\n') {
        bail!("malformed note: control characters");
    }
    let split = msg
        .rfind("\n\n")
        .ok_or_else(|| anyhow!("malformed note: no signature block"))?;
    let (text, mut sigs) = (&msg[..split + 1], &msg[split + 2..]);
    if sigs.is_empty() || !sigs.ends_with('\n') {
        bail!("malformed note: bad signature block");
    }
    let mut verified = false;
    let mut count = 0;
    while !sigs.is_empty() {
        let i = sigs.find('\n').unwrap_or(sigs.len());
        let line = &sigs[..i];
        sigs = &sigs[(i + 1).min(sigs.len())..];
        let line = line
            .strip_prefix("— ")
            .ok_or_else(|| anyhow!("malformed note: bad signature line {line:?}"))?;
        let (name, b64) = line.split_once(' ').unwrap_or((line, ""));
        let sig = B64.decode(b64).unwrap_or_default();
        if !valid_note_name(name) || b64.is_empty() || sig.len() < 5 {
            bail!("malformed note: bad signature line {line:?}");
        }
        count += 1;
        if count > 100 {
            bail!("malformed note: too many signatures");
        }
        let hash = u32::from_be_bytes([sig[0], sig[1], sig[2], sig[3]]);
        if name != v.name || hash != v.key_hash {
            continue; // a signature by some other key
        }
        let ok = <[u8; 64]>::try_from(&sig[4..])
            .map(|s| ed25519_dalek::Signature::from_bytes(&s))
            .is_ok_and(|s| v.key.verify(text.as_bytes(), &s).is_ok());
        if !ok {
            bail!("invalid signature for key {}+{:08x}", v.name, v.key_hash);
        }
        verified = true;
    }
    if !verified {
        bail!(
            "note has no signature by the checksum database key {}+{:08x}",
            v.name,
            v.key_hash
        );
    }
    Ok(text.to_string())
}

pub(crate) type Hash = [u8; 32];

/// `tlog.ParseTree`: (tree size, root hash).
pub(crate) fn parse_tree(text: &str) -> Result<(u64, Hash)> {
    let bad = || anyhow!("malformed tree note {text:?}");
    let body = text
        .strip_prefix("go.sum database tree\n")
        .ok_or_else(bad)?;
    let mut lines = body.split('\n');
    let n_str = lines.next().ok_or_else(bad)?;
    let h_str = lines.next().ok_or_else(bad)?;
    if lines.next().is_none() || text.len() > 1_000_000 {
        return Err(bad());
    }
    let n: u64 = n_str.parse().map_err(|_| bad())?;
    if n.to_string() != n_str {
        return Err(bad());
    }
    let h = B64.decode(h_str).map_err(|_| bad())?;
    let h: Hash = h.try_into().map_err(|_| bad())?;
    Ok((n, h))
}

/// `tlog.ParseRecord`: (id, record text, rest).
pub(crate) fn parse_record(msg: &[u8]) -> Result<(u64, &[u8], &[u8])> {
    let bad = || anyhow!("malformed record data");
    let i = msg.iter().position(|&c| c == b'\n').ok_or_else(bad)?;
    let id: u64 = std::str::from_utf8(&msg[..i])
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)?;
    let msg = &msg[i + 1..];
    let j = msg.windows(2).position(|w| w == b"\n\n").ok_or_else(bad)?;
    let (text, rest) = (&msg[..j + 1], &msg[j + 2..]);
    let s = std::str::from_utf8(text).map_err(|_| bad())?;
    if s.chars().any(|c| c < ' ' && c != '\n') || s.contains("\n\n") || !s.ends_with('\n') {
        return Err(bad());
    }
    Ok((id, text, rest))
}

pub(crate) fn record_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

pub(crate) fn node_hash(l: &Hash, r: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(l);
    h.update(r);
    h.finalize().into()
}

/// The hash of the subtree whose leaves (at some level) are the 2^k hashes
/// in `data`.
pub(crate) fn tile_hash(data: &[u8]) -> Hash {
    if data.len() == 32 {
        return data.try_into().unwrap();
    }
    let half = data.len() / 2;
    node_hash(&tile_hash(&data[..half]), &tile_hash(&data[half..]))
}

pub(crate) const TILE_HEIGHT: u32 = 8;
pub(crate) const TILE_WIDTH: u64 = 1 << TILE_HEIGHT;

/// `tlog.Tile.Path` for height 8: `tile/8/<level>/x001/x234/067[.p/<width>]`.
pub(crate) fn tile_path(level: u32, n: u64, width: u64) -> String {
    let mut n_str = format!("{:03}", n % 1000);
    let mut m = n;
    while m >= 1000 {
        m /= 1000;
        n_str = format!("x{:03}/{n_str}", m % 1000);
    }
    let p = if width == TILE_WIDTH {
        String::new()
    } else {
        format!(".p/{width}")
    };
    format!("tile/{TILE_HEIGHT}/{level}/{n_str}{p}")
}

/// Hashes of a tree of `tree_size` records, read from tiles.
/// `read` fetches a tile by path; tile contents are not trusted — callers
/// compare what they compute against a signed tree hash.
pub(crate) struct TileHashes<'a> {
    tree_size: u64,
    read: &'a mut dyn FnMut(&str) -> std::result::Result<Vec<u8>, HttpError>,
    cache: HashMap<(u32, u64), Vec<u8>>,
}

impl TileHashes<'_> {
    /// Tile `n` at tile level `level`, as wide as it is in this tree.
    pub(crate) fn tile(&mut self, level: u32, n: u64) -> std::result::Result<&[u8], SumdbErr> {
        if !self.cache.contains_key(&(level, n)) {
            let avail = self.tree_size >> (TILE_HEIGHT * level);
            let start = n * TILE_WIDTH;
            if start >= avail {
                return Err(fatal(format!(
                    "internal error: tile {level}/{n} is beyond tree size {}",
                    self.tree_size
                )));
            }
            let w = (avail - start).min(TILE_WIDTH);
            let path = tile_path(level, n, w);
            let data = match (self.read)(&path) {
                Ok(d) => d,
                // As tlog's client: a partial tile may be gone once the tile
                // is complete; its prefix is the partial tile.
                Err(e) if w < TILE_WIDTH && e.is_not_found() => {
                    let mut full = (self.read)(&tile_path(level, n, TILE_WIDTH))?;
                    full.truncate((w * 32) as usize);
                    full
                }
                Err(e) => return Err(e.into()),
            };
            if data.len() as u64 != w * 32 {
                return Err(fatal(format!(
                    "tile {path} has {} bytes, want {}",
                    data.len(),
                    w * 32
                )));
            }
            self.cache.insert((level, n), data);
        }
        Ok(&self.cache[&(level, n)])
    }

    /// The hash of the complete subtree at tree level `level` (2^level
    /// records) with index `idx`.
    pub(crate) fn stored(&mut self, level: u32, idx: u64) -> std::result::Result<Hash, SumdbErr> {
        let (t, r) = (level / TILE_HEIGHT, level % TILE_HEIGHT);
        let first = idx << r;
        let count = 1usize << r;
        let off = (first % TILE_WIDTH) as usize;
        let tile = self.tile(t, first / TILE_WIDTH)?;
        if (off + count) * 32 > tile.len() {
            return Err(fatal(format!(
                "internal error: hash {level}/{idx} not in its tile (tree size {})",
                self.tree_size
            )));
        }
        Ok(tile_hash(&tile[off * 32..(off + count) * 32]))
    }

    /// The hash of subtree (`level`, `idx`), which contains record `id`,
    /// computed from `leaf` and the sibling hashes along the path.
    pub(crate) fn path_hash(
        &mut self,
        level: u32,
        idx: u64,
        id: u64,
        leaf: &Hash,
    ) -> std::result::Result<Hash, SumdbErr> {
        if level == 0 {
            return Ok(*leaf);
        }
        let left = idx * 2;
        if id >> (level - 1) == left {
            let l = self.path_hash(level - 1, left, id, leaf)?;
            let r = self.stored(level - 1, left + 1)?;
            Ok(node_hash(&l, &r))
        } else {
            let l = self.stored(level - 1, left)?;
            let r = self.path_hash(level - 1, left + 1, id, leaf)?;
            Ok(node_hash(&l, &r))
        }
    }

    /// The tree hash (RFC 6962 MTH) computed with `leaf` as record `id`'s
    /// hash and everything else from tiles. Equal to the signed tree hash
    /// only if the record is in the tree.
    pub(crate) fn root_with_record(
        &mut self,
        id: u64,
        leaf: &Hash,
    ) -> std::result::Result<Hash, SumdbErr> {
        let n = self.tree_size;
        if id >= n {
            return Err(fatal(format!(
                "cannot validate record {id} in tree of size {n}"
            )));
        }
        let mut parts = Vec::new();
        let mut lo = 0u64;
        for k in (0..64u32).rev() {
            if (n >> k) & 1 == 1 {
                let size = 1u64 << k;
                let h = if id >= lo && id - lo < size {
                    self.path_hash(k, lo >> k, id, leaf)?
                } else {
                    self.stored(k, lo >> k)?
                };
                parts.push(h);
                lo += size;
            }
        }
        let mut th = parts.pop().expect("tree size > 0");
        while let Some(h) = parts.pop() {
            th = node_hash(&h, &th);
        }
        Ok(th)
    }
}

/// Module path/version escaping of `golang.org/x/mod/module` (`A` → `!a`).
pub(crate) fn escape_module_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_uppercase() {
            out.push('!');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Where to reach the database: `initBase` of `cmd/go/internal/modfetch/sumdb.go`.
pub(crate) fn sumdb_base(
    http: &Http,
    cfg: &SumdbConfig,
    proxies: &[ProxyEntry],
) -> std::result::Result<String, SumdbErr> {
    if let Some(u) = &cfg.url {
        return Ok(u.clone());
    }
    for p in proxies {
        match p {
            ProxyEntry::Direct | ProxyEntry::Off => break,
            ProxyEntry::Url {
                url,
                fallback_on_error,
            } => {
                let base = format!("{url}/sumdb/{}", cfg.name);
                match http.get_small(&format!("{base}/supported")) {
                    Ok(_) => return Ok(base),
                    Err(e) if e.is_not_found() || *fallback_on_error => continue,
                    // "Any other response is treated as the database being
                    // unavailable."
                    Err(e) => return Err(SumdbErr::Unreachable(e.to_string())),
                }
            }
        }
    }
    Ok(format!("https://{}", cfg.name))
}

/// Look `module@version` up in the checksum database and verify the answer
/// (signed tree head, inclusion proof). Returns the tree size and the `h1:`
/// hashes the record gives for the module zip.
pub(crate) fn sumdb_lookup(
    http: &Http,
    cfg: &SumdbConfig,
    proxies: &[ProxyEntry],
    module: &str,
    version: &str,
) -> std::result::Result<(u64, Vec<String>), SumdbErr> {
    let base = sumdb_base(http, cfg, proxies)?;
    let url = format!(
        "{base}/lookup/{}@{}",
        escape_module_text(module),
        escape_module_text(version)
    );
    let data = http.get_small(&url)?;
    verify_lookup(&data, &cfg.verifier, module, version, &mut |path| {
        http.get_small(&format!("{base}/{path}"))
    })
}

/// Verify a `/lookup` response: parse the record, check the note signature,
/// prove the record's inclusion in the signed tree with tiles from `read`.
pub(crate) fn verify_lookup(
    data: &[u8],
    verifier: &NoteVerifier,
    module: &str,
    version: &str,
    read: &mut dyn FnMut(&str) -> std::result::Result<Vec<u8>, HttpError>,
) -> std::result::Result<(u64, Vec<String>), SumdbErr> {
    let (id, text, note) =
        parse_record(data).map_err(|e| SumdbErr::Fatal(e.context("lookup response")))?;
    let tree_text = open_note(note, verifier)
        .map_err(|e| SumdbErr::Fatal(e.context("the signed tree head does not verify")))?;
    let (tree_size, root) = parse_tree(&tree_text).map_err(SumdbErr::Fatal)?;
    let mut tiles = TileHashes {
        tree_size,
        read,
        cache: HashMap::new(),
    };
    let computed = tiles.root_with_record(id, &record_hash(text))?;
    if computed != root {
        return Err(fatal(format!(
            "cannot authenticate record {id} in the tree of size {tree_size}: its inclusion \
             proof does not lead to the signed tree hash"
        )));
    }
    let prefix = format!("{module} {version} ");
    let text = std::str::from_utf8(text).map_err(|_| fatal("record is not UTF-8"))?;
    let hashes = text
        .lines()
        .filter_map(|l| l.strip_prefix(prefix.as_str()))
        .map(str::to_string)
        .collect();
    Ok((tree_size, hashes))
}

// ---------------------------------------------------------------------------
// Extraction

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gosumdb_values() {
        let c = parse_gosumdb("sum.golang.org").unwrap().unwrap();
        assert_eq!(c.name, "sum.golang.org");
        assert_eq!(c.verifier.key_hash, 0x033de0ae);
        assert!(c.url.is_none());
        assert!(parse_gosumdb("off").unwrap().is_none());
        let c = parse_gosumdb(&format!("{SUM_GOLANG_ORG_KEY} https://mirror.example/"))
            .unwrap()
            .unwrap();
        assert_eq!(c.url.as_deref(), Some("https://mirror.example"));
        assert!(parse_gosumdb("sum.example.com").is_err());
        // A key whose hash does not match is rejected.
        let bad = SUM_GOLANG_ORG_KEY.replace("033de0ae", "033de0af");
        assert!(parse_gosumdb(&bad).is_err());
        assert!(parse_gosumdb("a b c").is_err());
    }

    #[test]
    fn tile_paths() {
        // From golang.org/x/mod/sumdb/tlog tile_test.go / Tile.Path docs.
        assert_eq!(tile_path(0, 1234067, 256), "tile/8/0/x001/x234/067");
        assert_eq!(tile_path(0, 1234067, 1), "tile/8/0/x001/x234/067.p/1");
        assert_eq!(tile_path(3, 0, 256), "tile/8/3/000");
        assert_eq!(tile_path(1, 999, 17), "tile/8/1/999.p/17");
        assert_eq!(tile_path(1, 1000, 256), "tile/8/1/x001/000");
    }

    /// RFC 6962 MTH, straight from the definition.
    fn mth(leaves: &[Hash]) -> Hash {
        if leaves.len() == 1 {
            return leaves[0];
        }
        let mut k = 1;
        while k * 2 < leaves.len() {
            k *= 2;
        }
        node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
    }

    /// A tile server for a tree of `n` records, built level by level.
    fn tiles_for(leaves: &[Hash]) -> HashMap<String, Vec<u8>> {
        let mut levels = vec![leaves.to_vec()];
        while levels.last().unwrap().len() > 1 {
            let prev = levels.last().unwrap();
            let next: Vec<Hash> = prev
                .chunks_exact(2)
                .map(|c| node_hash(&c[0], &c[1]))
                .collect();
            levels.push(next);
        }
        let mut tiles = HashMap::new();
        for t in 0..8u32 {
            let Some(lv) = levels.get((8 * t) as usize) else {
                break;
            };
            for (k, chunk) in lv.chunks(256).enumerate() {
                let data: Vec<u8> = chunk.iter().flatten().copied().collect();
                if chunk.len() == 256 {
                    // Complete tiles are served only complete, to exercise
                    // the fallback from a partial tile to the full one.
                    tiles.insert(tile_path(t, k as u64, 256), data);
                } else {
                    for w in 1..=chunk.len() {
                        tiles.insert(tile_path(t, k as u64, w as u64), data[..w * 32].to_vec());
                    }
                }
            }
        }
        tiles
    }

    #[test]
    fn inclusion_proof_from_tiles() {
        for n in [1u64, 2, 3, 255, 256, 257, 1000, 65536, 65537] {
            let leaves: Vec<Hash> = (0..n)
                .map(|i| record_hash(format!("rec {i}\n").as_bytes()))
                .collect();
            let root = mth(&leaves);
            let tiles = tiles_for(&leaves);
            let mut read = |p: &str| {
                tiles.get(p).cloned().ok_or_else(|| HttpError::Status {
                    url: p.to_string(),
                    code: 404,
                    text: "Not Found".into(),
                    body: String::new(),
                })
            };
            let mut th = TileHashes {
                tree_size: n,
                read: &mut read,
                cache: HashMap::new(),
            };
            for id in [0, n / 3, n / 2, n - 1] {
                let leaf = record_hash(format!("rec {id}\n").as_bytes());
                assert_eq!(
                    th.root_with_record(id, &leaf).ok(),
                    Some(root),
                    "n={n} id={id}"
                );
                let wrong = record_hash(format!("rec {id}x\n").as_bytes());
                assert_ne!(
                    th.root_with_record(id, &wrong).ok(),
                    Some(root),
                    "n={n} id={id}"
                );
                if id + 1 < n {
                    // The right record at the wrong index does not verify.
                    assert_ne!(th.root_with_record(id + 1, &leaf).ok(), Some(root));
                }
            }
            assert!(th.root_with_record(n, &leaves[0]).is_err());
        }
    }

    #[test]
    fn partial_tile_falls_back_to_full_tile() {
        let leaves: Vec<Hash> = (0..600u64).map(|i| record_hash(&i.to_be_bytes())).collect();
        let tiles = tiles_for(&leaves);
        // A tree of 300 records, served by a database that has grown to 600:
        // tile 0/1 is only available complete (width 256).
        let root = mth(&leaves[..300]);
        let mut read = |p: &str| {
            tiles.get(p).cloned().ok_or_else(|| HttpError::Status {
                url: p.to_string(),
                code: 404,
                text: "Not Found".into(),
                body: String::new(),
            })
        };
        let mut th = TileHashes {
            tree_size: 300,
            read: &mut read,
            cache: HashMap::new(),
        };
        assert_eq!(th.root_with_record(299, &leaves[299]).ok(), Some(root));
        assert_eq!(th.root_with_record(3, &leaves[3]).ok(), Some(root));
    }

    #[test]
    fn notes_and_records() {
        use ed25519_dalek::{Signer, SigningKey};
        let sk = SigningKey::from_bytes(&[7u8; 32]);
        let mut pk = vec![1u8];
        pk.extend_from_slice(sk.verifying_key().as_bytes());
        let name = "test.example/db";
        let kh = note_key_hash(name, &pk);
        let vkey = format!("{name}+{kh:08x}+{}", B64.encode(&pk));
        let v = NoteVerifier::parse(&vkey).unwrap();
        let text = "go.sum database tree\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
        let sign = |t: &str| {
            let mut s = kh.to_be_bytes().to_vec();
            s.extend_from_slice(&sk.sign(t.as_bytes()).to_bytes());
            B64.encode(s)
        };
        let note = format!(
            "{text}\n— other.example AAAAAAAAAA==\n— {name} {}\n",
            sign(text)
        );
        assert_eq!(open_note(note.as_bytes(), &v).unwrap(), text);
        let (n, h) = parse_tree(text).unwrap();
        assert_eq!((n, h), (5, [0u8; 32]));
        // Signature over different text.
        let forged = format!("{}\n— {name} {}\n", text.replace('5', "6"), sign(text));
        assert!(open_note(forged.as_bytes(), &v).is_err());
        // No signature by our key.
        let unsigned = format!("{text}\n— other.example AAAAAAAAAA==\n");
        assert!(open_note(unsigned.as_bytes(), &v).is_err());

        let rec = b"42\nm v1 h1:x\nm v1/go.mod h1:y\n\nrest";
        let (id, t, rest) = parse_record(rec).unwrap();
        assert_eq!(
            (id, t, rest),
            (42, &b"m v1 h1:x\nm v1/go.mod h1:y\n"[..], &b"rest"[..])
        );
        assert!(parse_record(b"x\na\n\n").is_err());
    }
}

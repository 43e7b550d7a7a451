//! The last commit (`git log -1`) and where the repository is (`git rev-parse`), read from the
//! repository's own files when they are in the plain forms read here: a `.git` directory or
//! file found upwards on one filesystem and owned by this user, `HEAD` naming a branch or a
//! commit, the branch in a loose ref or `packed-refs`, the commit a loose object or a whole
//! object in a pack. Anything else (a shallow or grafted history, replaced objects, alternates,
//! a delta, an `encoding` header, SHA-256, git settings from the environment) answers `None`,
//! and the caller asks `git`: reading the files is an optimisation, never a guess.

use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

/// Where a repository is: `git rev-parse --show-toplevel --absolute-git-dir --git-common-dir`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Located {
    /// The work tree's root.
    pub root: PathBuf,
    /// The repository's directory (a worktree's own one for a linked worktree).
    pub git_dir: PathBuf,
    /// The directory shared by every worktree: objects, refs, config.
    pub common_dir: PathBuf,
}

/// The last commit: `git log -1 --format=%H%x00%P%x00%an%x00%ae%x00%B`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Commit {
    pub sha: String,
    pub parents: Vec<String>,
    pub author_name: String,
    pub author_email: String,
    /// The message as written, ending newlines removed.
    pub message: String,
}

/// Environment variables with which git would find or read the repository differently.
const GIT_ENV: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_COMMON_DIR",
    "GIT_CEILING_DIRECTORIES",
    "GIT_DISCOVERY_ACROSS_FILESYSTEM",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_REPLACE_REF_BASE",
    "GIT_NO_REPLACE_OBJECTS",
    "GIT_GRAFT_FILE",
    "GIT_SHALLOW_FILE",
    "GIT_NAMESPACE",
    "GIT_CONFIG_COUNT",
    "GIT_CONFIG_PARAMETERS",
];

fn env_is_plain() -> bool {
    !GIT_ENV.iter().any(|v| std::env::var_os(v).is_some())
}

/// The repository holding `dir`, found as git finds it, when nothing unusual is in the way.
pub(super) fn locate(dir: &Path) -> Option<Located> {
    if !env_is_plain() {
        return None;
    }
    let dir = dir.canonicalize().ok()?;
    // Inside a repository's own directory git has no work tree.
    if dir.components().any(|c| c.as_os_str() == ".git") {
        return None;
    }
    let mut here = dir.as_path();
    let mut device = here.metadata().ok()?.dev();
    loop {
        let dot_git = here.join(".git");
        if let Ok(meta) = std::fs::symlink_metadata(&dot_git) {
            return located(here, &dot_git, &meta);
        }
        let parent = here.parent()?;
        // git stops at a filesystem's boundary.
        let parent_device = parent.metadata().ok()?.dev();
        if parent_device != device {
            return None;
        }
        device = parent_device;
        here = parent;
    }
}

/// The repository of work tree `root`, whose `.git` is `dot_git`.
fn located(root: &Path, dot_git: &Path, meta: &std::fs::Metadata) -> Option<Located> {
    let git_dir = if meta.is_dir() {
        dot_git.to_path_buf()
    } else if meta.is_file() {
        let text = std::fs::read_to_string(dot_git).ok()?;
        let target = text
            .strip_prefix("gitdir: ")?
            .trim_end_matches(['\n', '\r']);
        root.join(target).canonicalize().ok()?
    } else {
        return None;
    };
    let common_dir = match std::fs::read_to_string(git_dir.join("commondir")) {
        Ok(text) => git_dir
            .join(text.trim_end_matches(['\n', '\r']))
            .canonicalize()
            .ok()?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => git_dir.clone(),
        Err(_) => return None,
    };
    // What git checks before it calls a directory a repository, and its ownership check
    // (`safe.directory`), which only git itself can weigh.
    let mine = std::fs::metadata("/proc/self").ok()?.uid();
    let owned = |p: &Path| p.metadata().is_ok_and(|m| m.uid() == mine);
    if !git_dir.join("HEAD").is_file()
        || !common_dir.join("objects").is_dir()
        || !owned(root)
        || !owned(&git_dir)
    {
        return None;
    }
    // A work tree or bareness set in the configuration, or an include that could set them.
    let config = std::fs::read_to_string(common_dir.join("config")).ok()?;
    let lower = config.to_ascii_lowercase();
    if lower.contains("worktree") || lower.contains("include") || says_bare(&lower) {
        return None;
    }
    Some(Located {
        root: root.to_path_buf(),
        git_dir,
        common_dir,
    })
}

/// True when a `config` text (in lower case) sets `bare` to anything but false (git's
/// `bare` alone, `yes`, `on` and `1` are true too).
fn says_bare(config: &str) -> bool {
    config.lines().any(|line| {
        let line: String = line
            .split(['#', ';'])
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        match line.split_once('=') {
            Some((key, value)) => {
                key == "bare" && !matches!(value, "false" | "no" | "off" | "0" | "")
            }
            None => line == "bare",
        }
    })
}

/// The commit `HEAD` is at, read from the object store.
pub(super) fn head_commit(located: &Located) -> Option<Commit> {
    let common = &located.common_dir;
    let plain_history = ![
        "shallow",
        "info/grafts",
        "objects/info/alternates",
        "reftable",
    ]
    .iter()
    .any(|f| common.join(f).exists());
    let replaced = std::fs::read_dir(common.join("refs/replace"))
        .is_ok_and(|mut entries| entries.next().is_some());
    if !env_is_plain() || !plain_history || replaced {
        return None;
    }
    let packed = std::fs::read_to_string(common.join("packed-refs")).unwrap_or_default();
    if packed.contains(" refs/replace/") {
        return None;
    }
    let sha = head_sha(located, &packed)?;
    let body = loose_object(common, &sha).or_else(|| packed_object(common, &sha))?;
    parse_commit(sha, &body)
}

/// True for 40 hexadecimal digits (a SHA-1 object name).
fn is_sha1(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The object name `HEAD` resolves to, through one branch.
fn head_sha(located: &Located, packed: &str) -> Option<String> {
    let head = std::fs::read_to_string(located.git_dir.join("HEAD")).ok()?;
    let head = head.trim_end_matches(['\n', '\r']);
    if is_sha1(head) {
        return Some(head.to_ascii_lowercase());
    }
    let name = head.strip_prefix("ref: ")?;
    // Refs of a worktree's own live in its own directory; only shared ones are read here.
    if !name.starts_with("refs/heads/") || name.contains("..") {
        return None;
    }
    let sha = match std::fs::read_to_string(located.common_dir.join(name)) {
        Ok(text) => text.trim_end_matches(['\n', '\r']).to_string(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => packed
            .lines()
            .filter(|l| !l.starts_with(['#', '^']))
            .find_map(|l| {
                let (sha, r) = l.split_once(' ')?;
                (r == name).then(|| sha.to_string())
            })?,
        Err(_) => return None,
    };
    is_sha1(&sha).then(|| sha.to_ascii_lowercase())
}

/// A loose object's content when it is a commit.
fn loose_object(common: &Path, sha: &str) -> Option<Vec<u8>> {
    let path = common.join("objects").join(&sha[..2]).join(&sha[2..]);
    let compressed = std::fs::read(path).ok()?;
    let raw =
        miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(&compressed, MAX_COMMIT).ok()?;
    let nul = raw.iter().position(|b| *b == 0)?;
    let size: usize = std::str::from_utf8(raw[..nul].strip_prefix(b"commit ")?)
        .ok()?
        .parse()
        .ok()?;
    let body = &raw[nul + 1..];
    (body.len() == size).then(|| body.to_vec())
}

/// The largest commit read here (a commit is a few hundred bytes; git reads any).
const MAX_COMMIT: usize = 1 << 20;

/// A packed object's content when it is stored whole (not as a delta) and is a commit.
fn packed_object(common: &Path, sha: &str) -> Option<Vec<u8>> {
    let name: Vec<u8> = (0..20)
        .map(|i| u8::from_str_radix(&sha[2 * i..2 * i + 2], 16))
        .collect::<Result<_, _>>()
        .ok()?;
    let packs = std::fs::read_dir(common.join("objects/pack")).ok()?;
    for entry in packs.flatten() {
        let idx = entry.path();
        if idx.extension().is_none_or(|e| e != "idx") {
            continue;
        }
        if let Some(offset) = index_offset(&idx, &name)? {
            return pack_entry(&idx.with_extension("pack"), offset);
        }
    }
    None
}

fn read_u32(file: &File, at: u64) -> Option<u32> {
    let mut b = [0u8; 4];
    file.read_exact_at(&mut b, at).ok()?;
    Some(u32::from_be_bytes(b))
}

/// Where object `name` is in the pack of index `idx` (version 2): `Some(None)` when it is not
/// in this pack, `None` when the index cannot be read this way.
fn index_offset(idx: &Path, name: &[u8]) -> Option<Option<u64>> {
    let file = File::open(idx).ok()?;
    if read_u32(&file, 0)? != 0xff74_4f63 || read_u32(&file, 4)? != 2 {
        return None;
    }
    let fanout = |i: usize| read_u32(&file, 8 + 4 * i as u64);
    let count = u64::from(fanout(255)?);
    let first = name[0] as usize;
    let mut lo = if first == 0 {
        0
    } else {
        u64::from(fanout(first - 1)?)
    };
    let mut hi = u64::from(fanout(first)?);
    let names = 8 + 256 * 4;
    let mut found = None;
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let mut here = [0u8; 20];
        file.read_exact_at(&mut here, names + 20 * mid).ok()?;
        match here.as_slice().cmp(name) {
            std::cmp::Ordering::Equal => {
                found = Some(mid);
                break;
            }
            std::cmp::Ordering::Less => lo = mid + 1,
            std::cmp::Ordering::Greater => hi = mid,
        }
    }
    let Some(i) = found else { return Some(None) };
    let offsets = names + 24 * count;
    let small = read_u32(&file, offsets + 4 * i)?;
    if small & 0x8000_0000 == 0 {
        return Some(Some(u64::from(small)));
    }
    let mut b = [0u8; 8];
    let large = offsets + 4 * count + 8 * u64::from(small & 0x7fff_ffff);
    file.read_exact_at(&mut b, large).ok()?;
    Some(Some(u64::from_be_bytes(b)))
}

/// The content of the pack entry at `offset` when it is a whole commit.
fn pack_entry(pack: &Path, offset: u64) -> Option<Vec<u8>> {
    let file = File::open(pack).ok()?;
    let mut header = [0u8; 16];
    let len = file.metadata().ok()?.len();
    let n = usize::try_from((len.checked_sub(offset)?).min(16)).ok()?;
    file.read_exact_at(&mut header[..n], offset).ok()?;
    // Type in bits 4-6 of the first byte, the size in 4 bits then 7 per further byte.
    const COMMIT: u8 = 1;
    if (header[0] >> 4) & 7 != COMMIT {
        return None;
    }
    let mut size = u64::from(header[0] & 0x0f);
    let mut shift = 4;
    let mut at = 0;
    while header[at] & 0x80 != 0 {
        at += 1;
        if at >= n || shift > 56 {
            return None;
        }
        size |= u64::from(header[at] & 0x7f) << shift;
        shift += 7;
    }
    let size = usize::try_from(size).ok().filter(|s| *s <= MAX_COMMIT)?;
    let start = offset + at as u64 + 1;
    // Deflate never grows data by more than a few bytes per block.
    let room = u64::try_from(size + size / 8 + 256).ok()?;
    let mut compressed = vec![0u8; usize::try_from(room.min(len.checked_sub(start)?)).ok()?];
    file.read_exact_at(&mut compressed, start).ok()?;
    let body =
        miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(&compressed, size + 1).ok()?;
    (body.len() == size).then_some(body)
}

/// The commit of `sha` from its content, as `git log -1 --format=%H%x00%P%x00%an%x00%ae%x00%B`
/// gives it; `None` for an encoding other than UTF-8 or an author git would read differently.
fn parse_commit(sha: String, body: &[u8]) -> Option<Commit> {
    let split = body.windows(2).position(|w| w == b"\n\n");
    let (headers, message) = match split {
        Some(i) => (&body[..i], &body[i + 2..]),
        None => (body, &[][..]),
    };
    let headers = std::str::from_utf8(headers).ok()?;
    let mut parents = Vec::new();
    let mut author = None;
    for line in headers.lines() {
        if line.starts_with(' ') {
            continue; // a continued header (a signature)
        }
        let (key, value) = line.split_once(' ')?;
        match key {
            "parent" => parents.push(value.to_string()),
            "author" => author = Some(value),
            "encoding" => return None,
            _ => {}
        }
    }
    // `Name <email> time zone`.
    let author = author?;
    let (name, rest) = author.split_once('<')?;
    let (email, _) = rest.split_once('>')?;
    if name.contains('>') || email.contains('<') {
        return None;
    }
    let message = String::from_utf8_lossy(message);
    Some(Commit {
        sha,
        parents,
        author_name: name.trim().to_string(),
        author_email: email.to_string(),
        message: message.trim_end().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_as_git_log_gives_them() {
        let body = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\
parent 1111111111111111111111111111111111111111\n\
parent 2222222222222222222222222222222222222222\n\
author A U Thor <a@example.com> 1700000000 +0100\n\
committer C O Mitter <c@example.com> 1700000000 +0100\n\
gpgsig -----BEGIN PGP SIGNATURE-----\n \n abc\n -----END PGP SIGNATURE-----\n\
\n\
Subject\n\nBody line\n\n";
        let c = parse_commit("a".repeat(40), body).unwrap();
        assert_eq!(c.parents.len(), 2);
        assert_eq!(
            (c.author_name.as_str(), c.author_email.as_str()),
            ("A U Thor", "a@example.com")
        );
        assert_eq!(c.message, "Subject\n\nBody line");
    }

    #[test]
    fn anything_unusual_is_left_to_git() {
        let latin = b"tree t\nauthor A <a@e> 1 +0000\nencoding ISO-8859-1\n\nm\n";
        assert_eq!(parse_commit("a".repeat(40), latin), None);
        let odd = b"tree t\nauthor A a@e 1 +0000\n\nm\n";
        assert_eq!(parse_commit("a".repeat(40), odd), None);
        assert!(!is_sha1(&"a".repeat(64)));
        assert!(!says_bare("[core]\n\tbare = false\n\tfilemode = true\n"));
        for bare in [
            "\tbare = true",
            "bare=1",
            "  bare",
            "bare = yes ; a comment",
        ] {
            assert!(says_bare(&format!("[core]\n{bare}\n")), "{bare}");
        }
    }
}

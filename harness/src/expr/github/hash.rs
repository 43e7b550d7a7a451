//! `hashFiles(patterns...)`: the SHA-256 of the workspace files the patterns match, as
//! GitHub's runner computes it: each file's SHA-256, in path order, hashed together; `''`
//! when nothing matches.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// How many files `hashFiles` looks at before it gives up.
const MAX_FILES: usize = 200_000;

/// `hashFiles` over the files below `root`.
///
/// Patterns are relative to `root`: `*` and `?` within a path segment, `**` for any number
/// of directories, `!pattern` to leave out what an earlier pattern matched; a pattern that
/// matches a directory matches every file below it.
///
/// # Errors
///
/// A pattern that cannot be read, a file that cannot be read, or more than 200,000 files.
///
/// # Examples
///
/// ```
/// use pipeline_test_harness::expr::github::hash_files;
/// let dir = std::env::temp_dir().join(format!("hash-files-doc-{}", std::process::id()));
/// std::fs::create_dir_all(dir.join("src")).unwrap();
/// std::fs::write(dir.join("src/Cargo.lock"), "lock").unwrap();
/// let h = hash_files(&dir, &["**/Cargo.lock".to_string()]).unwrap();
/// assert_eq!(h.len(), 64);
/// assert_eq!(hash_files(&dir, &["*.nothing".to_string()]).unwrap(), "");
/// std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn hash_files(root: &Path, patterns: &[String]) -> Result<String, String> {
    let mut rules = Vec::new();
    for p in patterns {
        for line in p
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let (exclude, glob) = match line.strip_prefix('!') {
                Some(rest) => (true, rest),
                None => (false, line),
            };
            let glob = glob.trim_start_matches("./");
            let re = regex::Regex::new(&to_regex(glob))
                .map_err(|e| format!("hashFiles: the pattern `{line}` cannot be read: {e}"))?;
            rules.push((exclude, re));
        }
    }
    let mut files = Vec::new();
    walk(root, root, &mut files)?;
    files.sort();
    let mut total = Sha256::new();
    let mut any = false;
    for rel in &files {
        let text = rel.to_string_lossy().replace('\\', "/");
        let mut included = false;
        for (exclude, re) in &rules {
            let hit = re.is_match(&text)
                || text
                    .match_indices('/')
                    .any(|(i, _)| re.is_match(&text[..i]));
            if hit {
                included = !exclude;
            }
        }
        if !included {
            continue;
        }
        let bytes = std::fs::read(root.join(rel))
            .map_err(|e| format!("hashFiles: cannot read {text}: {e}"))?;
        total.update(Sha256::digest(&bytes));
        any = true;
    }
    Ok(if any {
        total
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    } else {
        String::new()
    })
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        if kind.is_dir() {
            walk(root, &path, out)?;
        } else if kind.is_file() {
            if out.len() >= MAX_FILES {
                return Err(format!(
                    "hashFiles: the workspace has more than {MAX_FILES} files; narrow the pattern"
                ));
            }
            if let Ok(rel) = path.strip_prefix(root) {
                out.push(rel.to_path_buf());
            }
        }
    }
    Ok(())
}

/// A glob as an anchored regular expression over `/`-separated relative paths.
fn to_regex(glob: &str) -> String {
    let mut re = String::from("^");
    let segments: Vec<&str> = glob.split('/').collect();
    for (i, seg) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        if *seg == "**" {
            re.push_str(if last { ".*" } else { "(?:[^/]*/)*" });
            continue;
        }
        let mut chars = seg.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '*' => re.push_str("[^/]*"),
                '?' => re.push_str("[^/]"),
                '[' => {
                    let class: String = chars.by_ref().take_while(|c| *c != ']').collect();
                    let class = class.replacen('!', "^", usize::from(class.starts_with('!')));
                    re.push('[');
                    re.push_str(&class.replace('\\', "\\\\"));
                    re.push(']');
                }
                c => re.push_str(&regex::escape(&c.to_string())),
            }
        }
        if !last {
            re.push('/');
        }
    }
    re.push('$');
    re
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GitHub's algorithm over the files a pattern must match (act's test files): each file's
    /// SHA-256, in path order, hashed together.
    #[test]
    fn hashes_as_githubs_runner_does_over_the_files_matched() {
        let dir = std::env::temp_dir().join(format!("hash-files-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("for-hashing-3/nested")).unwrap();
        let files = [
            ("for-hashing-1.txt", "Hello\n"),
            ("for-hashing-2.txt", "World!\n"),
            ("for-hashing-3/data.txt", "Knock knock!\n"),
            ("for-hashing-3/nested/nested-data.txt", "Anybody home?\n"),
        ];
        for (p, t) in files {
            std::fs::write(dir.join(p), t).unwrap();
        }
        let expect = |which: &[usize]| {
            let mut total = Sha256::new();
            for i in which {
                total.update(Sha256::digest(files[*i].1.as_bytes()));
            }
            total
                .finalize()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        };
        let h = |p: &[&str]| {
            let p: Vec<String> = p.iter().map(|s| s.to_string()).collect();
            hash_files(&dir, &p).unwrap()
        };
        assert_eq!(h(&["./for-hashing-1.txt"]), expect(&[0]));
        assert_eq!(h(&["./for-hashing-*.txt"]), expect(&[0, 1]));
        assert_eq!(
            h(&["./for-hashing-*.txt", "!./for-hashing-2.txt"]),
            expect(&[0])
        );
        assert_eq!(h(&["./for-hashing-**"]), expect(&[0, 1, 2, 3]));
        assert_eq!(h(&["./for-hashing-3/**"]), expect(&[2, 3]));
        assert_eq!(h(&["./for-hashing-3/**/nested-data.txt"]), expect(&[3]));
        assert_eq!(h(&["**/non-extant-files"]), "");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn globs() {
        let m = |g: &str, p: &str| regex::Regex::new(&to_regex(g)).unwrap().is_match(p);
        assert!(m("**/Cargo.lock", "Cargo.lock"));
        assert!(m("**/Cargo.lock", "a/b/Cargo.lock"));
        assert!(!m("*.lock", "a/Cargo.lock"));
        assert!(m("src/**", "src/a/b.rs"));
        assert!(m("Cargo.[lt]o*", "Cargo.toml"));
        assert!(!m("a?c", "a/c"));
    }
}

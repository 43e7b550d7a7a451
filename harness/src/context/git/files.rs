//! What the build's git facts need from a repository's own files, read without a `git`
//! process: the branch `HEAD` names, the branch `origin/HEAD` names, and `remote.origin.url`
//! from the repository's `config`. Each reader answers `None` when the file is not in the
//! plain form it knows (a reftable repository, an `include`, a quoted or continued value), and
//! the caller then asks `git` as before: reading a file is an optimisation, never a guess.

use std::path::Path;

/// What a symbolic ref's file says: the name after `prefix` it points at, `""` when there is
/// no such ref or it points at a commit (as `git symbolic-ref -q` fails), `None` when the file
/// cannot be read this way.
fn symbolic(file: &Path, prefix: &str) -> Option<String> {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Some(String::new()),
        Err(_) => return None,
    };
    let text = text.trim_end_matches(['\n', '\r']);
    if let Some(target) = text.strip_prefix("ref: ") {
        let name = target.strip_prefix(prefix)?;
        // A reftable repository keeps a placeholder here; git then reads its tables.
        return (!name.is_empty() && name != ".invalid").then(|| name.to_string());
    }
    let commit = text.len() >= 40 && text.bytes().all(|b| b.is_ascii_hexdigit());
    commit.then(String::new)
}

/// True when the repository keeps its refs in files (not reftable), so that a missing file
/// means a missing ref.
fn refs_in_files(common_dir: &Path) -> bool {
    !common_dir.join("reftable").exists()
}

/// The branch `HEAD` is on (`git symbolic-ref --short -q HEAD`): `Some("")` when detached.
pub(super) fn branch(git_dir: &Path, common_dir: &Path) -> Option<String> {
    let head = git_dir.join("HEAD");
    if !refs_in_files(common_dir) || !head.is_file() {
        return None;
    }
    symbolic(&head, "refs/heads/")
}

/// The remote's default branch (`git symbolic-ref --short -q refs/remotes/origin/HEAD`
/// without `origin/`): `Some("")` when there is none.
pub(super) fn default_branch(common_dir: &Path) -> Option<String> {
    if !refs_in_files(common_dir) {
        return None;
    }
    symbolic(
        &common_dir.join("refs/remotes/origin/HEAD"),
        "refs/remotes/origin/",
    )
}

/// `remote.origin.url` of the repository's own `config`, when that file states it plainly
/// once and nothing else can change it (no `include`, no configuration from the environment);
/// `Some("")` when it has no such setting (a remote is the repository's own setting: the
/// user's and the system's files are not read for it).
pub(super) fn origin_url(common_dir: &Path) -> Option<String> {
    let from_env = ["GIT_CONFIG_COUNT", "GIT_CONFIG_PARAMETERS"]
        .iter()
        .any(|v| std::env::var_os(v).is_some());
    if from_env {
        return None;
    }
    origin_url_in(&std::fs::read_to_string(common_dir.join("config")).ok()?)
}

/// `remote.origin.url` in the text of a `config` file, stated once and plainly, or `""`.
fn origin_url_in(config: &str) -> Option<String> {
    let mut in_origin = false;
    let mut found = None;
    for line in config.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(header) = line.strip_prefix('[') {
            let header = header.strip_suffix(']')?.trim();
            if header.to_ascii_lowercase().starts_with("include") {
                return None;
            }
            in_origin = match header.split_once(char::is_whitespace) {
                Some((section, sub)) => {
                    section.eq_ignore_ascii_case("remote") && sub.trim() == "\"origin\""
                }
                None => header.eq_ignore_ascii_case("remote.origin"),
            };
            continue;
        }
        if !in_origin {
            continue;
        }
        let (key, value) = line.split_once('=').unwrap_or((line, ""));
        if !key.trim().eq_ignore_ascii_case("url") {
            continue;
        }
        let value = value.trim();
        let plain = !value.is_empty() && !value.contains(['"', '\\', '#', ';']);
        if !plain || found.is_some() {
            return None;
        }
        found = Some(value.to_string());
    }
    Some(found.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_origin_urls() {
        let config = "[core]\n\tbare = false\n[remote \"origin\"]\n\turl = git@host:acme/app.git\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n[branch \"main\"]\n\tremote = origin\n";
        assert_eq!(
            origin_url_in(config).as_deref(),
            Some("git@host:acme/app.git")
        );
        assert_eq!(
            origin_url_in("[Remote \"origin\"]\nURL=https://h/a/b\n").as_deref(),
            Some("https://h/a/b")
        );
        assert_eq!(
            origin_url_in("[remote \"upstream\"]\n\turl = x\n").as_deref(),
            Some("")
        );
    }

    #[test]
    fn anything_else_is_left_to_git() {
        assert_eq!(
            origin_url_in("[include]\n\tpath = more\n[remote \"origin\"]\n\turl = x\n"),
            None
        );
        assert_eq!(
            origin_url_in("[remote \"origin\"]\n\turl = \"x y\"\n"),
            None
        );
        assert_eq!(
            origin_url_in("[remote \"origin\"]\n\turl = a\n\turl = b\n"),
            None
        );
        assert_eq!(origin_url_in("[remote \"origin\"]\n\turl = a \\\n"), None);
    }

    #[test]
    fn symbolic_refs() {
        let dir = std::env::temp_dir().join(format!("pipeline-test-refs-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("refs/remotes/origin")).unwrap();
        std::fs::write(dir.join("HEAD"), "ref: refs/heads/feature/x\n").unwrap();
        assert_eq!(branch(&dir, &dir).as_deref(), Some("feature/x"));
        std::fs::write(dir.join("HEAD"), format!("{}\n", "a".repeat(40))).unwrap();
        assert_eq!(branch(&dir, &dir).as_deref(), Some(""));
        assert_eq!(default_branch(&dir).as_deref(), Some(""));
        std::fs::write(
            dir.join("refs/remotes/origin/HEAD"),
            "ref: refs/remotes/origin/main\n",
        )
        .unwrap();
        assert_eq!(default_branch(&dir).as_deref(), Some("main"));
        std::fs::create_dir(dir.join("reftable")).unwrap();
        assert_eq!(default_branch(&dir), None);
        assert_eq!(branch(&dir, &dir), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

//! The build's git facts: root, branch, commit, author, message and remote of the repository
//! holding a pipeline file, read with `git` (a handful of processes at once, once per directory
//! and process, begun early by [`crate::warm_up`]), with every setting that would run a
//! program of the repository turned off.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, LazyLock, Mutex, OnceLock};

use super::BuildContext;

/// Configuration that would make git run a program the repository names, turned off: reading
/// a repository just cloned (to lint it, or to run it) runs nothing of it.
const NOTHING_RUNS: &[&str] = &[
    "core.fsmonitor=false",
    "core.hooksPath=/dev/null",
    "core.pager=cat",
    "log.showSignature=false",
    "gpg.program=false",
    "gpg.ssh.program=false",
    "gpg.x509.program=false",
    "diff.external=",
    "core.sshCommand=false",
    "credential.helper=",
];

/// Runs the `git` commands in `dir` at once (each is a process: one after the other they
/// are most of a short test's start); each one's output, or `None` when it failed.
fn git_all<const N: usize>(dir: &Path, commands: [&[&str]; N]) -> [Option<String>; N] {
    let children = commands.map(|args| {
        let mut git = Command::new("git");
        git.arg("--no-pager");
        for setting in NOTHING_RUNS {
            git.args(["-c", setting]);
        }
        git.arg("-C")
            .arg(dir)
            .args(args)
            .env_remove("GIT_DIR")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok()
    });
    children.map(|child| {
        let out = child?.wait_with_output().ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim_end().to_string())
    })
}

impl BuildContext {
    /// The context of the git repository holding `dir` (the pipeline file's directory): its
    /// root, branch, commit, author and message, and its name from `remote.origin.url`. Outside
    /// a repository (or without `git`), `dir` itself is the workspace and the fields are empty.
    ///
    /// Read once per directory in a process (a handful of `git` commands): every test of a
    /// test binary shares the answer.
    pub fn from_git(dir: impl AsRef<Path>) -> BuildContext {
        // One read per directory, also when several threads ask at once (a warm-up and the
        // first test): the others wait for it.
        static READ: LazyLock<Mutex<HashMap<PathBuf, Arc<OnceLock<BuildContext>>>>> =
            LazyLock::new(Mutex::default);
        let dir = dir.as_ref();
        let key = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        let cell = READ
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key)
            .or_default()
            .clone();
        cell.get_or_init(|| Self::read_git(dir)).clone()
    }

    fn read_git(dir: &Path) -> BuildContext {
        let mut ctx = BuildContext::default();
        let [root, branch, log, remote_url, default_head] = git_all(
            dir,
            [
                &["rev-parse", "--show-toplevel"],
                &["symbolic-ref", "--short", "-q", "HEAD"],
                &[
                    "log",
                    "-1",
                    "--no-show-signature",
                    "--format=%H%x00%P%x00%an%x00%ae%x00%B",
                ],
                &["config", "--get", "remote.origin.url"],
                &["symbolic-ref", "--short", "-q", "refs/remotes/origin/HEAD"],
            ],
        );
        let Some(root) = root else {
            ctx.repo_name = dir
                .canonicalize()
                .ok()
                .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
                .unwrap_or_default();
            return ctx;
        };
        let root = PathBuf::from(root);
        ctx.branch = branch.unwrap_or_default();
        if let Some(log) = log {
            let mut parts = log.splitn(5, '\0');
            ctx.commit = parts.next().unwrap_or_default().to_string();
            // The first parent; none for a repository's first commit.
            ctx.before = parts
                .next()
                .and_then(|p| p.split_whitespace().next())
                .unwrap_or_default()
                .to_string();
            ctx.author_name = parts.next().unwrap_or_default().to_string();
            ctx.author_email = parts.next().unwrap_or_default().to_string();
            ctx.message = parts.next().unwrap_or_default().trim_end().to_string();
            ctx.author_login = ctx
                .author_email
                .split('@')
                .next()
                .unwrap_or_default()
                .to_string();
        }
        ctx.remote_url = remote_url.unwrap_or_default();
        let (namespace, name) = split_remote(&ctx.remote_url);
        ctx.repo_namespace = namespace;
        ctx.repo_name = if name.is_empty() {
            root.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        } else {
            name
        };
        if let Some(head) = default_head {
            ctx.default_branch = head.trim_start_matches("origin/").to_string();
        }
        ctx.root = Some(root);
        ctx
    }
}

/// `(namespace, name)` of a remote URL: `https://host/acme/app.git` and
/// `git@host:acme/app.git` give `("acme", "app")`.
fn split_remote(url: &str) -> (String, String) {
    let path = url
        .trim_end_matches('/')
        .trim_end_matches(".git")
        .rsplit_once(['/', ':'])
        .map(|(head, name)| {
            let ns = head.rsplit(['/', ':']).next().unwrap_or_default();
            (ns.to_string(), name.to_string())
        });
    path.unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remotes() {
        assert_eq!(
            split_remote("https://github.com/acme/app.git"),
            ("acme".into(), "app".into())
        );
        assert_eq!(
            split_remote("git@github.com:acme/app.git"),
            ("acme".into(), "app".into())
        );
        assert_eq!(split_remote(""), (String::new(), String::new()));
    }
}

//! The build's git facts: root, branch, commit, author, message and remote of the repository
//! holding a pipeline file, read from the repository's own files where they are plain (where
//! the repository is and its last commit, see [`objects`]; the branches and the remote, see
//! [`files`]) and asked of `git` otherwise, its processes at once, once per directory and
//! process, begun early by [`crate::warm_up`], with every setting that would run a program of
//! the repository turned off.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, LazyLock, Mutex, OnceLock};

use super::BuildContext;

mod files;
mod objects;

/// Where the repository is, as `git` finds it.
const LOCATE: &[&str] = &[
    "rev-parse",
    "--show-toplevel",
    "--absolute-git-dir",
    "--git-common-dir",
];
/// The last commit, as `git` reads it.
const LAST_COMMIT: &[&str] = &[
    "log",
    "-1",
    "--no-show-signature",
    "--format=%H%x00%P%x00%an%x00%ae%x00%B",
];

/// The repository's places from what [`LOCATE`] printed in `dir`.
fn located_of(dir: &Path, printed: &str) -> Option<objects::Located> {
    let mut lines = printed.lines();
    Some(objects::Located {
        root: PathBuf::from(lines.next()?),
        git_dir: PathBuf::from(lines.next()?),
        common_dir: dir.join(lines.next()?),
    })
}

/// The commit from what [`LAST_COMMIT`] printed.
fn commit_of(printed: Option<String>) -> Option<objects::Commit> {
    let printed = printed?;
    let mut parts = printed.splitn(5, '\0');
    let mut next = || parts.next().unwrap_or_default().to_string();
    Some(objects::Commit {
        sha: next(),
        parents: next().split_whitespace().map(str::to_string).collect(),
        author_name: next(),
        author_email: next(),
        message: next().trim_end().to_string(),
    })
}

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
fn git_each(dir: &Path, commands: &[&[&str]]) -> Vec<Option<String>> {
    let children: Vec<_> = commands
        .iter()
        .map(|args| {
            let mut git = Command::new("git");
            git.arg("--no-pager");
            for setting in NOTHING_RUNS {
                git.args(["-c", setting]);
            }
            git.arg("-C")
                .arg(dir)
                .args(*args)
                .env_remove("GIT_DIR")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::null())
                .spawn()
                .ok()
        })
        .collect();
    children
        .into_iter()
        .map(|child| {
            let out = child?.wait_with_output().ok()?;
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).trim_end().to_string())
        })
        .collect()
}

impl BuildContext {
    /// The context of the git repository holding `dir` (the pipeline file's directory): its
    /// root, branch, commit, author and message, and its name from `remote.origin.url`. Outside
    /// a repository (or without `git`), `dir` itself is the workspace and the fields are empty.
    ///
    /// Read once per directory in a process (from the repository's files, or `git` where they
    /// are not plain): every test of a test binary shares the answer.
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
        // From the repository's files where they are plain (no process); else asked.
        let found = objects::locate(dir);
        let read = found.as_ref().and_then(objects::head_commit);
        let asked: Vec<&[&str]> = [
            (found.is_none(), LOCATE),
            (found.is_none() || read.is_none(), LAST_COMMIT),
        ]
        .into_iter()
        .filter_map(|(ask, args)| ask.then_some(args))
        .collect();
        let mut answers = git_each(dir, &asked).into_iter();
        let (located, commit) = match found {
            Some(located) => (Some(located), read.or_else(|| commit_of(answers.next()?))),
            None => {
                let located = answers.next().flatten().and_then(|l| located_of(dir, &l));
                (located, commit_of(answers.next().flatten()))
            }
        };
        let Some(objects::Located {
            root,
            git_dir,
            common_dir,
        }) = located
        else {
            ctx.repo_name = dir
                .canonicalize()
                .ok()
                .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
                .unwrap_or_default();
            return ctx;
        };
        let git_dir = git_dir.as_path();
        // The branch, the remote and its default branch: from the files too where plain.
        let branch = files::branch(git_dir, &common_dir);
        let remote_url = files::origin_url(&common_dir);
        let default_head = files::default_branch(&common_dir);
        let asked: Vec<&[&str]> = [
            (
                branch.is_none(),
                &["symbolic-ref", "--short", "-q", "HEAD"][..],
            ),
            (
                remote_url.is_none(),
                &["config", "--get", "remote.origin.url"],
            ),
            (
                default_head.is_none(),
                &["symbolic-ref", "--short", "-q", "refs/remotes/origin/HEAD"],
            ),
        ]
        .into_iter()
        .filter_map(|(ask, args)| ask.then_some(args))
        .collect();
        let mut answers = git_each(dir, &asked).into_iter();
        let mut answer = |known: Option<String>| match known {
            Some(k) => Some(k),
            None => answers.next().flatten(),
        };
        let branch = answer(branch);
        let remote_url = answer(remote_url);
        let default_head = answer(default_head)
            .map(|h| h.trim_start_matches("origin/").to_string())
            .filter(|h| !h.is_empty());
        ctx.branch = branch.unwrap_or_default();
        if let Some(commit) = commit {
            ctx.author_login = commit
                .author_email
                .split('@')
                .next()
                .unwrap_or_default()
                .to_string();
            ctx.commit = commit.sha;
            // The first parent; none for a repository's first commit.
            ctx.before = commit.parents.into_iter().next().unwrap_or_default();
            ctx.author_name = commit.author_name;
            ctx.author_email = commit.author_email;
            ctx.message = commit.message;
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
            ctx.default_branch = head;
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
mod tests;

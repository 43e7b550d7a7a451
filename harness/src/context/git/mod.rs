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

    /// Runs `git` in `dir` for a test's repository, which must succeed.
    fn git(dir: &Path, args: &[&str]) {
        let out = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args([
                "-c",
                "user.name=T",
                "-c",
                "user.email=t@e",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args)
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// What `git` itself answers for the facts read from files.
    fn asked(dir: &Path) -> (String, String, String) {
        let [branch, url, head]: [Option<String>; 3] = git_each(
            dir,
            &[
                &["symbolic-ref", "--short", "-q", "HEAD"],
                &["config", "--get", "remote.origin.url"],
                &["symbolic-ref", "--short", "-q", "refs/remotes/origin/HEAD"],
            ],
        )
        .try_into()
        .unwrap();
        // Without `origin/HEAD` the context keeps its default, `main`.
        let head = head.unwrap_or_else(|| "main".into());
        (
            branch.unwrap_or_default(),
            url.unwrap_or_default(),
            head.trim_start_matches("origin/").to_string(),
        )
    }

    /// What `git` itself answers for where the repository is and its last commit.
    fn asked_commit(dir: &Path) -> (Option<objects::Located>, Option<objects::Commit>) {
        let [located, log]: [Option<String>; 2] =
            git_each(dir, &[LOCATE, LAST_COMMIT]).try_into().unwrap();
        let located = located.and_then(|l| located_of(dir, &l)).map(|mut l| {
            l.common_dir = l.common_dir.canonicalize().unwrap();
            l
        });
        (located, commit_of(log))
    }

    #[test]
    fn files_and_git_agree() {
        let base = std::env::temp_dir().join(format!("pipeline-test-git-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let origin = base.join("origin");
        std::fs::create_dir_all(&origin).unwrap();
        git(&origin, &["init", "-q"]);
        git(&origin, &["commit", "-q", "--allow-empty", "-m", "first"]);
        git(
            &origin,
            &[
                "-c",
                "user.name=Jöhn Q. Public",
                "commit",
                "-q",
                "--allow-empty",
                "--cleanup=verbatim",
                "-m",
                "Subject  \n\n\tBody, with a tab and trailing spaces   \n\n",
            ],
        );
        git(&base, &["clone", "-q", "origin", "clone"]);
        let clone = base.join("clone");
        std::fs::create_dir(clone.join("sub")).unwrap();
        git(
            &clone,
            &["worktree", "add", "-q", "-b", "feature/x", "../tree"],
        );
        let detached = base.join("detached");
        git(&base, &["clone", "-q", "origin", "detached"]);
        git(&detached, &["checkout", "-q", "--detach"]);
        git(
            &detached,
            &["remote", "set-url", "origin", "git@host:acme/app.git"],
        );
        let unborn = base.join("unborn");
        std::fs::create_dir(&unborn).unwrap();
        git(&unborn, &["init", "-q", "-b", "trunk"]);
        let reftable = base.join("reftable");
        std::fs::create_dir(&reftable).unwrap();
        git(
            &reftable,
            &["init", "-q", "--ref-format=reftable", "-b", "next"],
        );
        let packed = base.join("packed");
        git(&base, &["clone", "-q", "--no-local", "origin", "packed"]);
        git(&packed, &["gc", "-q"]);
        let shallow = base.join("shallow");
        let url = format!("file://{}", origin.display());
        git(&base, &["clone", "-q", "--depth", "1", &url, "shallow"]);
        // Read from the files alone in the plain forms, from git otherwise; the same either way.
        let plain = [
            &origin,
            &clone,
            &clone.join("sub"),
            &base.join("tree"),
            &detached,
            &packed,
        ];
        for dir in plain {
            let located = objects::locate(dir).expect("found from the files");
            assert!(objects::head_commit(&located).is_some(), "{dir:?}");
            assert_eq!(
                asked_commit(dir),
                (Some(located.clone()), objects::head_commit(&located))
            );
        }
        let shallow_at = objects::locate(&shallow).unwrap();
        assert_eq!(
            objects::head_commit(&shallow_at),
            None,
            "a shallow history is git's"
        );
        assert!(objects::locate(&reftable).is_some_and(|l| objects::head_commit(&l).is_none()));
        for dir in plain.into_iter().chain([&unborn, &reftable, &shallow]) {
            let ctx = BuildContext::read_git(dir);
            let (located, commit) = asked_commit(dir);
            assert_eq!(ctx.root, located.map(|l| l.root), "{dir:?}");
            let commit = commit.unwrap_or(objects::Commit {
                sha: String::new(),
                parents: Vec::new(),
                author_name: String::new(),
                author_email: String::new(),
                message: String::new(),
            });
            assert_eq!(
                (
                    &ctx.commit,
                    &ctx.before,
                    &ctx.author_name,
                    &ctx.author_email,
                    &ctx.message
                ),
                (
                    &commit.sha,
                    &commit.parents.first().cloned().unwrap_or_default(),
                    &commit.author_name,
                    &commit.author_email,
                    &commit.message
                ),
                "{dir:?}"
            );
            let (branch, url, head) = asked(dir);
            assert_eq!(
                (ctx.branch, ctx.remote_url, ctx.default_branch),
                (branch, url, head),
                "{dir:?}"
            );
            assert!(ctx.root.is_some(), "{dir:?}");
        }
        let clone_ctx = BuildContext::read_git(&clone.join("sub"));
        assert_eq!(
            clone_ctx.root.as_deref(),
            Some(clone.canonicalize().unwrap().as_path())
        );
        assert_eq!(
            (clone_ctx.branch.as_str(), clone_ctx.default_branch.as_str()),
            ("main", "main")
        );
        assert_eq!(
            BuildContext::read_git(&base.join("tree")).branch,
            "feature/x"
        );
        assert_eq!(BuildContext::read_git(&detached).repo_namespace, "acme");
        std::fs::remove_dir_all(&base).unwrap();
    }
}

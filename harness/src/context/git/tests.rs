//! The git facts against `git` itself, on repositories made for the test.

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

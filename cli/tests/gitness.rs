//! Gitness parity through `pipeline-test run` and `lint`, against the real Docker engine and
//! real git repositories made by the tests: expressions where Gitness expands them, inputs,
//! secrets that are never printed, `when` and the failure flow, matrices, plugins, the
//! `/gitness` workspace at the repository's root, and the variables Gitness sets.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pipeline_test_support::DEFAULT_IMAGES;

/// A git repository in a fresh directory: branch `feature/login`, one commit by Ada, remote
/// `https://git.example.com/acme/widgets.git`, and `files` written and committed.
fn repo(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir()
        .join(format!("pipeline-test-gitness-{}", std::process::id()))
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args([
                "-c",
                "user.name=Ada Lovelace",
                "-c",
                "user.email=ada@example.com",
            ])
            .args(["-c", "init.defaultBranch=feature/login"])
            .args(args)
            .current_dir(&dir)
            .output()
            .expect("git must be installed for these tests");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(&["init", "-q"]);
    git(&[
        "remote",
        "add",
        "origin",
        "https://git.example.com/acme/widgets.git",
    ]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "Add the login form\n\nWith a body."]);
    dir
}

fn head(dir: &Path) -> String {
    let out = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(dir)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Runs the binary from a directory outside the repository; returns (exit code, stdout,
/// stderr).
fn pt(args: &[&str]) -> (i32, String, String) {
    let images = std::env::var("PIPELINE_TEST_IMAGES").unwrap_or_default();
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(env!("CARGO_BIN_EXE_pipeline-test"))
        .args(args)
        .env("PIPELINE_TEST_IMAGES", format!("{DEFAULT_IMAGES},{images}"))
        .env_remove("PIPELINE_TEST_DEFAULT_IMAGE")
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    let (out, err) = (
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    );
    println!("--- stdout\n{out}\n--- stderr\n{err}");
    (status.code().unwrap_or(-1), out, err)
}

fn file(dir: &Path, name: &str) -> String {
    dir.join(name).to_string_lossy().into_owned()
}

fn lines_of<'a>(out: &'a str, step: &str) -> Vec<&'a str> {
    let prefix = format!("[{step}] ");
    out.lines()
        .filter_map(|l| l.strip_prefix(prefix.as_str()))
        .collect()
}

const STAGE: &str =
    "kind: pipeline\nspec:\n  stages:\n  - name: s\n    type: ci\n    spec:\n      steps:\n";

#[test]
fn the_workspace_is_the_repository_root_at_gitness_with_the_variables_gitness_sets() {
    let yaml = format!(
        "{STAGE}      - name: env\n        type: run\n        spec:\n          container: redis\n          script: |\n            pwd; ls\n            echo \"$CI $DRONE $DRONE_BRANCH $DRONE_COMMIT_SHA $DRONE_COMMIT_REF\"\n            echo \"$DRONE_REPO $DRONE_REPO_NAME $DRONE_REPO_NAMESPACE $DRONE_REMOTE_URL\"\n            echo \"$DRONE_COMMIT_AUTHOR_NAME <$DRONE_COMMIT_AUTHOR_EMAIL> $DRONE_BUILD_EVENT $DRONE_BUILD_NUMBER\"\n            echo \"$DRONE_COMMIT_MESSAGE\" | head -n 1\n            echo \"$DRONE_WORKSPACE $DRONE_STAGE_NAME $DRONE_STEP_NAME $DRONE_STEP_NUMBER $CI_COMMIT_SHA\"\n"
    );
    let dir = repo(
        "workspace",
        &[("ci/pipeline.yaml", &yaml), ("README.md", "hello\n")],
    );
    let sha = head(&dir);
    let (code, out, _) = pt(&["run", &file(&dir, "ci/pipeline.yaml")]);
    assert_eq!(code, 0);
    let lines = lines_of(&out, "env");
    assert!(lines.contains(&"/gitness"), "{lines:#?}");
    assert!(
        lines.contains(&"README.md") && lines.contains(&"ci"),
        "the repository's root: {lines:#?}"
    );
    assert!(
        lines.contains(&format!("true true feature/login {sha} refs/heads/feature/login").as_str()),
        "{lines:#?}"
    );
    assert!(
        lines.contains(&"acme/widgets widgets acme https://git.example.com/acme/widgets.git"),
        "{lines:#?}"
    );
    assert!(
        lines.contains(&"Ada Lovelace <ada@example.com> manual 1"),
        "{lines:#?}"
    );
    assert!(lines.contains(&"Add the login form"), "{lines:#?}");
    assert!(
        lines.contains(&format!("/gitness s env 2 {sha}").as_str()),
        "{lines:#?}"
    );
}

#[test]
fn expressions_expand_where_gitness_expands_them_with_inputs_and_the_build() {
    let yaml = "kind: pipeline\nspec:\n  inputs:\n    image: {default: redis}\n    greeting: {default: hello}\n    target: {default: staging}\n  stages:\n  - name: deploy-${{ inputs.target }}\n    type: ci\n    spec:\n      envs: {WHERE: \"${{ build.branch }}\"}\n      steps:\n      - name: say ${{ inputs.greeting }}\n        type: run\n        timeout: ${{ inputs.timeout }}\n        spec:\n          container: ${{ inputs.image }}\n          envs: {WHO: \"${{ build.author_name }}\"}\n          script: |\n            echo \"${{ inputs.greeting }} $WHO on $WHERE to ${{ inputs.target }} (${{ build.event == 'push' ? 'pushed' : 'by hand' }})\"\n      - name: flat\n        type: script\n        spec:\n          image: ${{ inputs.image }}\n          run: echo \"script step ${{ repo.name }} ${{ upper(inputs.target) }}\"\n";
    let dir = repo("expressions", &[(".harness/pipeline.yaml", yaml)]);
    let path = file(&dir, ".harness/pipeline.yaml");
    let (code, out, err) = pt(&[
        "run",
        &path,
        "--input",
        "target=prod",
        "--input",
        "timeout=2m",
        "--event",
        "push",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("stage `deploy-prod`"),
        "the stage's name is expanded:\n{out}"
    );
    assert_eq!(
        lines_of(&out, "say hello"),
        [
            "+ echo \"hello $WHO on $WHERE to prod (pushed)\"",
            "hello Ada Lovelace on feature/login to prod (pushed)"
        ]
    );
    assert!(
        lines_of(&out, "flat").contains(&"script step widgets PROD"),
        "{out}"
    );
    // A typed field with an expression is checked once expanded.
    let (code, _, err) = pt(&["run", &path, "--input", "timeout=soon"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("`timeout` expands to `soon`, which is not a duration"),
        "{err}"
    );
    assert!(err.contains(".harness/pipeline.yaml:15:18"), "{err}");
}

#[test]
fn a_failing_stage_runs_its_failure_and_always_steps_and_nothing_else() {
    let step = |name: &str, when: &str, script: &str| {
        let when = if when.is_empty() {
            String::new()
        } else {
            format!("        when: {when}\n")
        };
        format!(
            "      - name: {name}\n        type: run\n{when}        spec:\n          container: redis\n          script: {script}\n"
        )
    };
    let yaml = [
        STAGE.to_string(),
        step("first", "", "echo first ran"),
        step("only-on-failure-early", "failure()", "echo too early"),
        step("boom", "", "exit 3"),
        step("plain", "", "echo plain ran"),
        step("on-success", "success()", "echo success ran"),
        step("cleanup", "${{ failure() }}", "echo cleanup ran"),
        step("report", "always()", "echo report ran"),
        step(
            "guarded",
            "\"failure() && build.branch == 'main'\"",
            "echo guarded ran",
        ),
    ]
    .concat();
    let dir = repo("failure", &[("p.yaml", &yaml)]);
    let (code, out, _) = pt(&["run", &file(&dir, "p.yaml")]);
    assert_eq!(code, 1);
    for ran in ["first ran", "cleanup ran", "report ran"] {
        assert!(
            out.lines().any(|l| l.ends_with(ran) && l.starts_with('[')),
            "{ran}:\n{out}"
        );
    }
    for not in ["too early", "plain ran", "success ran", "guarded ran"] {
        assert!(
            !out.lines().any(|l| l.ends_with(not) && l.starts_with('[')),
            "{not}:\n{out}"
        );
    }
    assert!(
        out.contains("skipped: it runs only after a failure (`when: failure()`)"),
        "{out}"
    );
    assert!(
        out.contains("skipped: `when: failure() && build.branch == 'main'` is false"),
        "{out}"
    );
    assert!(out.contains("step `boom` FAILED (exit 3)"), "{out}");
}

#[test]
fn when_forms_and_later_stages_follow_the_build() {
    let yaml = "kind: pipeline\nspec:\n  stages:\n  - name: build\n    type: ci\n    spec:\n      steps:\n      - {name: main-only, type: run, when: \"build.branch == 'main'\", spec: {container: redis, script: echo main only}}\n      - {name: pushes, type: run, when: {event: {in: [push, tag]}}, spec: {container: redis, script: echo pushes}}\n      - {name: not-tags, type: run, when: {event: {not: {eq: tag}}, branch: main}, spec: {container: redis, script: echo not tags}}\n      - {name: any-of, type: run, when: [{branch: dev}, {event: push}], spec: {container: redis, script: echo any of}}\n      - {name: fail, type: run, spec: {container: redis, script: exit 1}}\n  - name: deploy\n    type: ci\n    spec:\n      steps:\n      - {name: deploy, type: run, spec: {container: redis, script: echo deploying}}\n  - name: notify\n    type: ci\n    when: failure()\n    spec:\n      steps:\n      - {name: notify, type: run, spec: {container: redis, script: echo notifying}}\n";
    let dir = repo("when", &[("p.yaml", yaml)]);
    let path = file(&dir, "p.yaml");
    let (code, out, err) = pt(&["run", &path, "--branch", "main", "--event", "push"]);
    assert_eq!(code, 1);
    for ran in [
        "[main-only] main only",
        "[pushes] pushes",
        "[not-tags] not tags",
        "[any-of] any of",
        "[notify] notifying",
    ] {
        assert!(out.contains(ran), "{ran}:\n{out}");
    }
    assert!(!out.contains("[deploy] deploying"), "{out}");
    assert!(
        err.contains("stage `deploy` skipped: an earlier stage failed"),
        "{err}"
    );
    let (_, out, _) = pt(&[
        "run", &path, "--stage", "build", "--branch", "dev", "--event", "cron",
    ]);
    assert!(out.contains("[any-of] any of"), "{out}");
    for not in ["[main-only]", "[pushes]", "[not-tags]"] {
        assert!(!out.contains(not), "{not}:\n{out}");
    }
    assert!(
        out.contains("skipped: its `when` conditions do not hold"),
        "{out}"
    );
}

#[test]
fn a_two_by_two_matrix_with_an_exclude_runs_three_copies() {
    let yaml = format!(
        "{STAGE}      - name: test\n        type: run\n        strategy:\n          type: matrix\n          spec:\n            axis:\n              version: [\"1\", \"2\"]\n              db: [mysql, redis]\n            exclude:\n            - {{version: \"1\", db: mysql}}\n        spec:\n          container: redis\n          script: echo \"v${{{{ matrix.version }}}} on ${{{{ matrix.db }}}} $version $db\"\n"
    );
    let dir = repo("matrix", &[("p.yaml", &yaml)]);
    let (code, out, _) = pt(&["run", &file(&dir, "p.yaml")]);
    assert_eq!(code, 0);
    assert_eq!(
        lines_of(&out, "test (version=1, db=redis)").last(),
        Some(&"v1 on redis 1 redis")
    );
    assert_eq!(
        lines_of(&out, "test (version=2, db=mysql)").last(),
        Some(&"v2 on mysql 2 mysql")
    );
    assert_eq!(
        lines_of(&out, "test (version=2, db=redis)").last(),
        Some(&"v2 on redis 2 redis")
    );
    assert!(
        lines_of(&out, "test (version=1, db=mysql)").is_empty(),
        "excluded:\n{out}"
    );
}

#[test]
fn an_image_plugin_gets_its_settings_as_plugin_variables() {
    let yaml = format!(
        "{STAGE}      - name: publish\n        type: plugin\n        spec:\n          image: plugins/env\n          inputs:\n            channel: dev\n            dry-run: true\n            tags: [latest, \"1.0\"]\n            options: {{depth: 1}}\n      - name: slack\n        type: plugin\n        spec:\n          name: slack\n          inputs: {{room: ops}}\n"
    );
    let dir = repo("plugin", &[("p.yaml", &yaml)]);
    let path = file(&dir, "p.yaml");
    let (code, out, _) = pt(&["run", &path]);
    assert_eq!(
        code, 0,
        "a plugin from Gitness's store is skipped, not failed"
    );
    assert_eq!(
        lines_of(&out, "publish"),
        [
            "PLUGIN_CHANNEL=dev",
            "PLUGIN_DRY_RUN=true",
            "PLUGIN_OPTIONS={\"depth\":1}",
            "PLUGIN_TAGS=latest,1.0",
            "plugin workdir: /gitness",
        ]
    );
    assert!(out.contains("skipped: the plugin `slack` comes from Gitness's plugin store; give it an image with `--plugin slack=IMAGE`"), "{out}");
    let (code, out, _) = pt(&["run", &path, "--plugin", "slack=plugins/env"]);
    assert_eq!(code, 0);
    assert_eq!(lines_of(&out, "slack")[0], "PLUGIN_ROOM=ops");
}

#[test]
fn secrets_are_never_printed_even_split_across_reads() {
    let yaml = format!(
        "{STAGE}      - name: svc\n        type: background\n        spec:\n          image: redis\n          run: echo \"service says ${{{{ secrets.get('token') }}}}\"; exit 2\n      - name: leak\n        type: run\n        spec:\n          container: redis\n          envs: {{TOKEN: \"${{{{ secrets.get('token') }}}}\"}}\n          script:\n          - echo \"token=${{{{ secrets.get('token') }}}} env=$TOKEN file=${{{{ secrets.get('from_file') }}}}\"\n          - printf 'half=hunter'; sleep 0.5; printf '2-xyz\\n'\n          - echo \"missing=[${{{{ secrets.get('nope') }}}}]\"\n          - exit 1\n"
    );
    let dir = repo("secrets", &[("p.yaml", &yaml)]);
    let secrets = dir.join("secrets.env");
    // As an editor may save it: a byte-order mark, and a quoted value (the quotes are not part
    // of the secret, so a value printed without them must still be masked).
    std::fs::write(
        &secrets,
        "\u{feff}# local secrets\nfrom_file=\"s3same-file-value\"\n",
    )
    .unwrap();
    let (code, out, err) = pt(&[
        "run",
        &file(&dir, "p.yaml"),
        "--secret",
        "token=hunter2-xyz",
        "--secret-file",
        secrets.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    let all = format!("{out}{err}");
    assert!(!all.contains("hunter2-xyz"), "{all}");
    assert!(!all.contains("s3same-file-value"), "{all}");
    let lines = lines_of(&out, "leak");
    assert!(
        lines.contains(&"+ echo \"token=****** env=$TOKEN file=******\""),
        "the trace line: {lines:#?}"
    );
    assert!(
        lines.contains(&"token=****** env=****** file=******"),
        "{lines:#?}"
    );
    assert!(
        lines.contains(&"half=******"),
        "split across two reads: {lines:#?}"
    );
    assert!(lines.contains(&"missing=[]"), "{lines:#?}");
    assert!(
        out.contains("  | service says ******"),
        "a stopped service's log lines: {out}"
    );
    assert!(
        err.contains(
            "warning: the secret `nope` is not supplied: it expands to \"\", as on Gitness"
        ),
        "{err}"
    );
}

#[test]
fn a_step_without_an_image_needs_a_default_image() {
    let yaml = format!(
        "{STAGE}      - name: vm\n        type: run\n        spec:\n          script: echo on the default image\n"
    );
    let dir = repo("no-image", &[("p.yaml", &yaml)]);
    let path = file(&dir, "p.yaml");
    let (code, _, err) = pt(&["run", &path]);
    assert_eq!(code, 2);
    assert!(
        err.contains("the step `vm` (") && err.contains("p.yaml:8:9) names no image"),
        "{err}"
    );
    assert!(err.contains("--default-image IMAGE"), "{err}");
    let (code, out, _) = pt(&["run", &path, "--default-image", "redis"]);
    assert_eq!(code, 0);
    assert!(out.contains("[vm] on the default image"), "{out}");
}

#[test]
fn lint_points_at_expressions_it_cannot_evaluate_and_warns_where_gitness_would_run() {
    let yaml = "kind: pipeline\nspec:\n  inputs:\n    region: {required: true}\n  stages:\n  - name: s\n    type: ci\n    cloneCodebase: true\n    spec:\n      steps:\n      - name: a\n        type: run\n        spec:\n          container: redis\n          script: echo ${{ build.brnach }} <+pipeline.variables.x>\n";
    let ok = format!(
        "{STAGE}      - {{name: a, type: run, spec: {{container: redis, script: [echo a, echo b]}}}}\n      - {{name: b, type: barrier, spec: {{name: x}}}}\n"
    );
    let dir = repo("lint", &[("p.yaml", yaml), ("ok.yaml", &ok)]);
    let (code, _, err) = pt(&["lint", &file(&dir, "p.yaml")]);
    assert_eq!(code, 1);
    // What Gitness runs is a warning: `<+ >` is passed on as text.
    assert!(
        err.contains(
            "warning: `<+ ... >` is a Harness NextGen expression, which Gitness does not evaluate"
        ),
        "{err}"
    );
    assert!(err.contains("p.yaml:15:44"), "{err}");
    assert!(
        err.contains("warning: unknown key `cloneCodebase` in a stage"),
        "{err}"
    );
    assert!(
        err.contains("error: the input `region` is required and has no value"),
        "{err}"
    );
    // An expression Gitness cannot evaluate expands to "" there: a warning, an error with
    // `--deny-warnings`.
    let (code, _, err) = pt(&["lint", &file(&dir, "p.yaml"), "--input", "region=eu"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("p.yaml:15:34") && err.contains("did you mean `branch`?"),
        "{err}"
    );
    assert!(err.contains("this value is empty, as on Gitness"), "{err}");
    let (code, _, _) = pt(&[
        "lint",
        "--deny-warnings",
        &file(&dir, "p.yaml"),
        "--input",
        "region=eu",
    ]);
    assert_eq!(code, 1);
    let ok = file(&dir, "ok.yaml");
    let (code, out, err) = pt(&["lint", &ok]);
    assert_eq!(code, 0, "warnings and notes pass");
    assert!(out.contains("ok.yaml: ok"), "{out}");
    assert!(err.contains("note: Gitness runs only the first item of a `script` list; pipeline-test runs every item"), "{err}");
    assert!(
        err.contains("warning: a `barrier` step runs only on Harness; pipeline-test skips it"),
        "{err}"
    );
    let (code, _, _) = pt(&["lint", "--deny-warnings", &ok]);
    assert_eq!(code, 1);
}

#[test]
fn lint_accepts_the_samples_of_drone_spec_and_go_convert_and_warns_of_nextgen_expressions() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/gitness-samples");
    let mut accepted: Vec<String> = std::fs::read_dir(dir.join("accepted"))
        .unwrap()
        .map(|e| e.unwrap().path().to_string_lossy().into_owned())
        .collect();
    accepted.sort();
    assert!(accepted.len() >= 20, "{accepted:?}");
    let mut args = vec!["lint"];
    args.extend(accepted.iter().map(String::as_str));
    let (code, out, err) = pt(&args);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.lines().filter(|l| l.contains(": ok (")).count(),
        accepted.len()
    );
    assert!(!err.contains("error"), "{err}");
    for name in ["service.yaml", "go.1.yaml", "if.yaml"] {
        let file = dir.join("refused").join(format!(
            "goconvert__convert__{}",
            match name {
                "service.yaml" => "drone__testdata__examples__service.yaml",
                "go.1.yaml" => "travis__testdata__language__go.1.yaml",
                _ => "github__testdata__examples__if.yaml",
            }
        ));
        // Gitness passes `<+ >` on as text: a warning, and an error with `--deny-warnings`.
        let (code, _, err) = pt(&["lint", file.to_str().unwrap()]);
        assert_eq!(code, 0, "{name}: {err}");
        assert!(
            err.contains(
                "warning: `<+ ... >` is a Harness NextGen expression, which Gitness does not evaluate"
            ),
            "{err}"
        );
        let (code, _, _) = pt(&["lint", "--deny-warnings", file.to_str().unwrap()]);
        assert_eq!(code, 1, "{name}");
    }
}

#[test]
fn steps_and_stages_that_run_only_on_harness_are_skipped_with_a_notice() {
    let yaml = "kind: pipeline\nspec:\n  stages:\n  - name: build\n    type: ci\n    spec:\n      steps:\n      - {name: gate, type: barrier, spec: {name: b}}\n      - {name: from-template, type: template, spec: {name: t}}\n      - {name: after, type: run, spec: {container: redis, script: echo after}}\n  - name: deploy\n    type: cd\n    spec: {}\n";
    let dir = repo("harness-only", &[("p.yaml", yaml)]);
    let (code, out, err) = pt(&["run", &file(&dir, "p.yaml")]);
    assert_eq!(code, 0, "skipped steps do not change the exit status");
    assert!(
        out.contains("<-- gate: skipped: a `barrier` step runs only on Harness"),
        "{out}"
    );
    assert!(
        out.contains("<-- from-template: skipped: a `template` step runs only on Harness"),
        "{out}"
    );
    assert!(out.contains("[after] after"), "{out}");
    assert!(
        err.contains("stage `deploy` skipped: a `cd` stage runs only on Harness"),
        "{err}"
    );
    assert!(
        err.contains("warning: a `barrier` step runs only on Harness; pipeline-test skips it"),
        "{err}"
    );
}

#[test]
fn a_stage_matrix_runs_one_stage_per_combination_and_stays_selectable_by_name() {
    let yaml = "kind: pipeline\nspec:\n  stages:\n  - name: build\n    type: ci\n    strategy:\n      type: matrix\n      spec:\n        axis: {os: [linux, bsd]}\n    spec:\n      steps:\n      - {name: say, type: run, spec: {container: redis, script: 'echo on ${{ matrix.os }}'}}\n  - name: other\n    type: ci\n    spec:\n      steps:\n      - {name: other, type: run, spec: {container: redis, script: echo other}}\n";
    let dir = repo("stage-matrix", &[("p.yaml", yaml)]);
    let (code, out, err) = pt(&["run", &file(&dir, "p.yaml"), "--stage", "build"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("stage `build (os=linux)`") && out.contains("stage `build (os=bsd)`"),
        "{out}"
    );
    assert!(
        out.contains("[say] on linux") && out.contains("[say] on bsd"),
        "{out}"
    );
    assert!(!out.contains("[other] other"), "{out}");
    assert!(
        err.contains("warning: Gitness cannot run a stage `matrix`"),
        "{err}"
    );
}

/// Linting or running a repository just cloned runs nothing of it: its `.git/config` may name
/// programs (`gpg.program` with `log.showSignature`, `core.fsmonitor`, `core.pager`) that
/// reading the build's git facts would otherwise start.
#[test]
fn a_repositorys_git_config_runs_no_program() {
    let ok = format!(
        "{STAGE}      - {{name: a, type: run, spec: {{container: redis, script: echo hi}}}}\n"
    );
    let dir = repo("hostile-config", &[("p.yaml", &ok)]);
    let marker = dir.join("ran");
    let script = dir.join("evil.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\ntouch '{}'\n", marker.display()),
    )
    .unwrap();
    let chmod = Command::new("chmod")
        .arg("+x")
        .arg(&script)
        .status()
        .unwrap();
    assert!(chmod.success());
    let evil = script.to_string_lossy().into_owned();
    // A signed commit, as far as `log --show-signature` can tell: it asks `gpg.program`.
    let git_out = |args: &[&str], input: Option<&str>| {
        let mut child = Command::new("git")
            .args(args)
            .current_dir(&dir)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        if let Some(text) = input {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
        }
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "git {args:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let commit = git_out(&["cat-file", "commit", "HEAD"], None);
    let (headers, body) = commit.split_once("\n\n").unwrap();
    let signed = format!(
        "{headers}\ngpgsig -----BEGIN PGP SIGNATURE-----\n \n iQEzBAABCAAdFiEE\n -----END PGP SIGNATURE-----\n\n{body}"
    );
    let sha = git_out(
        &["hash-object", "-t", "commit", "-w", "--stdin"],
        Some(&signed),
    );
    git_out(&["update-ref", "HEAD", sha.trim()], None);
    for (key, value) in [
        ("gpg.program", evil.as_str()),
        ("log.showSignature", "true"),
        ("core.fsmonitor", evil.as_str()),
        ("core.pager", evil.as_str()),
    ] {
        let set = Command::new("git")
            .args(["config", key, value])
            .current_dir(&dir)
            .status()
            .unwrap();
        assert!(set.success());
    }
    let (code, _, err) = pt(&["lint", &file(&dir, "p.yaml")]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = pt(&["run", &file(&dir, "p.yaml")]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        !marker.exists(),
        "a program of the repository's configuration ran"
    );
}

#[test]
fn a_commit_message_with_expression_openers_is_never_read_as_an_expression() {
    // The runner hands the commit message to every step (DRONE_COMMIT_MESSAGE); it is data,
    // not a template, even when it holds `${{` or `<+`.
    let yaml = "on: push\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n      - id: make\n        run: echo \"v=made\" >> \"$GITHUB_OUTPUT\"\n      - env:\n          V: ${{ steps.make.outputs.v }}\n        run: echo \"got $V\"\n";
    let dir = repo("message", &[("ci.yml", yaml)]);
    let out = Command::new("git")
        .args(["-c", "user.name=A", "-c", "user.email=a@example.com"])
        .args([
            "commit",
            "-q",
            "--amend",
            "-m",
            "Fix ${{ the parser, and <+ too",
        ])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(out.status.success());
    let (code, out, err) = pt(&["run", &file(&dir, "ci.yml"), "--default-image", "redis"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("got made"), "{out}");
}

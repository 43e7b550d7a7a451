//! The `pipeline-test` command line against the real Docker engine: the seed pipelines,
//! exit codes, clear errors, and nothing left behind after SIGINT, SIGTERM or SIGKILL.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use pipeline_test_support::DEFAULT_IMAGES;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pipeline-test"));
    let images = std::env::var("PIPELINE_TEST_IMAGES").unwrap_or_default();
    c.env("PIPELINE_TEST_IMAGES", format!("{DEFAULT_IMAGES},{images}"));
    c.current_dir(repo());
    c
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn run(args: &[&str]) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = bin().args(args).output().unwrap();
    let (out, err) = (
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    );
    println!("{out}\n{err}");
    (status.code().unwrap_or(-1), out, err)
}

fn owned_by(pid: u32) -> usize {
    pipeline_test_support::owned_by(pid).len()
}

/// Every labelled resource, with its owner (`host/pid/start`), for failure messages.
fn owners() -> Vec<String> {
    pipeline_test_support::labelled(pipeline_test_support::MANAGED)
        .iter()
        .map(|r| format!("{r} ({:?})", r.labels.get("pipeline-test.owner")))
        .collect()
}

fn write(name: &str, yaml: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pipeline-test-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, yaml).unwrap();
    path
}

#[test]
fn seed_communication_pipeline_passes() {
    let (code, out, _) = run(&["run", "examples/seed/communication.yaml"]);
    assert_eq!(code, 0);
    assert!(out.contains("[ping] PONG"), "{out}");
    assert!(out.contains("stage `stage 1` passed"), "{out}");
}

#[test]
fn seed_health_check_pipeline_passes() {
    let (code, out, _) = run(&["run", "examples/seed/health-check.yaml"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("[healthcheck] + while ! mysqladmin ping"),
        "{out}"
    );
    assert!(
        out.contains("<-- healthcheck: passed (exit code 0)"),
        "{out}"
    );
}

#[test]
fn seed_sleep_pipeline_passes() {
    let (code, out, _) = run(&["run", "examples/seed/sleep.yaml"]);
    assert_eq!(code, 0);
    assert!(out.contains("[ping] + sleep 5"), "{out}");
    assert!(out.contains("[ping] PONG"), "{out}");
}

#[test]
fn a_failing_step_exits_1() {
    let file = write(
        "fail.yaml",
        "kind: pipeline\nspec:\n  stages:\n  - name: s\n    type: ci\n    spec:\n      steps:\n      - {name: bad, type: run, spec: {container: redis, script: exit 4}}\n",
    );
    let (code, out, _) = run(&["run", file.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(out.contains("step `bad` FAILED (exit 4)"), "{out}");
}

#[test]
fn a_crashed_service_is_a_note_with_its_cause_and_the_stage_goes_on() {
    let file = write(
        "crash.yaml",
        "kind: pipeline\nspec:\n  stages:\n  - name: s\n    type: ci\n    spec:\n      steps:\n      - {name: database, type: background, spec: {image: 'mysql:8.0'}}\n      - {name: after, type: run, spec: {container: redis, script: echo still here}}\n",
    );
    let started = std::time::Instant::now();
    let (code, out, _) = run(&["run", file.to_str().unwrap()]);
    assert_eq!(code, 0, "a background exit code is information:\n{out}");
    assert!(started.elapsed() < Duration::from_secs(10), "{out}");
    assert!(
        out.contains("note: service `database` exited with code 1"),
        "{out}"
    );
    assert!(
        out.contains("reason: You need to specify one of MYSQL_ROOT_PASSWORD"),
        "{out}"
    );
    assert!(
        out.contains("  | error: database is uninitialized"),
        "{out}"
    );
    assert!(out.contains("[after] still here"), "{out}");
    assert!(
        out.contains("exited 1 after "),
        "the summary says when:\n{out}"
    );
}

#[test]
fn a_bad_pipeline_exits_2_with_its_diagnostics() {
    let file = write("bad.yaml", "kind: pipeline\nspec:\n  stages: []\n");
    let (code, _, err) = run(&["run", file.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("bad.yaml:3:3"), "{err}");
    assert!(err.contains("`stages` is empty"), "{err}");
}

#[test]
fn an_unknown_stage_lists_the_stages() {
    let (code, _, err) = run(&["run", "examples/seed/sleep.yaml", "--stage", "nope"]);
    assert_eq!(code, 2);
    assert!(err.contains("no stage named `nope`"), "{err}");
    assert!(err.contains("its stages are: stage 1"), "{err}");
}

#[test]
fn an_unreachable_daemon_is_named_with_the_fix() {
    let out = bin()
        .args(["run", "examples/seed/sleep.yaml"])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("cannot reach the Docker engine at unix:///nonexistent/docker.sock"),
        "{err}"
    );
    assert!(err.contains("DOCKER_HOST"), "{err}");
}

#[test]
fn a_missing_image_exits_2() {
    let file = write(
        "missing.yaml",
        "kind: pipeline\nspec:\n  stages:\n  - type: ci\n    spec:\n      steps:\n      - {name: m, type: run, spec: {container: pipeline-test-no-such/image:3, script: true}}\n",
    );
    let (code, _, err) = run(&["run", file.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("cannot pull image `pipeline-test-no-such/image:3`"),
        "{err}"
    );
}

#[test]
fn lint_reports_good_and_bad_files() {
    let (code, out, _) = run(&[
        "lint",
        "examples/seed/communication.yaml",
        "examples/seed/health-check.yaml",
    ]);
    assert_eq!(code, 0);
    assert!(
        out.contains("examples/seed/communication.yaml: ok (Harness v1 pipeline): 1 stage, 2 steps, images: redis"),
        "{out}"
    );
    let bad = write(
        "typo.yaml",
        "kind: pipeline\nspec:\n  stages:\n  - type: ci\n    spec:\n      steps:\n      - {name: a, type: run, spec: {container: redis, scirpt: x}}\n",
    );
    // Gitness drops a misspelt key and runs the file: a warning, an error with
    // `--deny-warnings`.
    let (code, out, err) = run(&["lint", bad.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    let said = format!("{out}{err}");
    assert!(said.contains("typo.yaml:7:55"), "{said}");
    assert!(said.contains("did you mean `script`?"), "{said}");
    let (code, _, _) = run(&["lint", "--deny-warnings", bad.to_str().unwrap()]);
    assert_eq!(code, 1);
    let bad = write(
        "bad-type.yaml",
        "kind: pipeline\nspec:\n  stages:\n  - type: ci\n    spec:\n      steps:\n      - {name: a, type: rn, spec: {container: redis}}\n",
    );
    let (code, _, err) = run(&["lint", bad.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("did you mean `run`?"), "{err}");
}

/// Starts a run whose second step sleeps, and returns once that step has begun.
fn start_long_run(name: &str) -> Child {
    start_long_run_with(name, &[])
}

/// [`start_long_run`] with more arguments to `run`.
fn start_long_run_with(name: &str, args: &[&str]) -> Child {
    let file = write(
        name,
        "kind: pipeline\nspec:\n  stages:\n  - name: long\n    type: ci\n    spec:\n      steps:\n      - {name: cache, type: background, spec: {container: redis}}\n      - {name: wait, type: run, spec: {container: redis, script: echo waiting && sleep 600}}\n",
    );
    let mut child = bin()
        .args(["run", file.to_str().unwrap()])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(
            Instant::now() < deadline,
            "the run did not reach its sleeping step"
        );
        match lines.next() {
            Some(Ok(l)) if l == "[wait] waiting" => break,
            Some(Ok(_)) => {}
            _ => panic!("the run ended before its sleeping step"),
        }
    }
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    child
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "the run did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sigint_removes_everything_and_exits_130() {
    let mut child = start_long_run("sigint.yaml");
    assert!(
        owned_by(child.id()) >= 3,
        "the run has containers and a network: {:?}",
        owners()
    );
    signal(&child, "-INT");
    let status = wait_exit(&mut child);
    assert_eq!(status.code(), Some(130));
    assert_eq!(owned_by(child.id()), 0, "{:?}", owners());
}

#[test]
fn sigterm_removes_everything_and_exits_143() {
    let mut child = start_long_run("sigterm.yaml");
    signal(&child, "-TERM");
    let status = wait_exit(&mut child);
    assert_eq!(status.code(), Some(143));
    assert_eq!(owned_by(child.id()), 0, "{:?}", owners());
}

#[test]
fn after_sigkill_its_watcher_removes_everything_within_3s() {
    let mut child = start_long_run("sigkill.yaml");
    let pid = child.id();
    assert!(
        owned_by(pid) >= 3,
        "the run has containers and a network: {:?}",
        owners()
    );
    let lease = pipeline_test_support::lease_of(pid).expect("its resources carry its lease");
    child.kill().unwrap(); // SIGKILL: nothing of the process runs
    child.wait().unwrap();
    // No other run: the watcher alone.
    match pipeline_test_support::gone_within(&lease, Duration::from_secs(3)) {
        Ok(took) => println!("removed {:.2}s after the kill", took.as_secs_f64()),
        Err(left) => panic!("left 3s after SIGKILL: {left:?}"),
    }
}

#[test]
fn forty_runs_at_once_all_pass_and_leave_nothing() {
    // More networks at once than Docker's default address pools hold: some runs wait.
    let children: Vec<Child> = (0..40)
        .map(|_| {
            bin()
                .args(["run", "examples/seed/communication.yaml"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut failures = Vec::new();
    for child in children {
        let pid = child.id();
        let out = child.wait_with_output().unwrap();
        if !out.status.success() {
            failures.push(format!(
                "{pid}: {}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        assert_eq!(owned_by(pid), 0, "run {pid} left resources: {:?}", owners());
    }
    assert!(
        failures.is_empty(),
        "{} of 40 runs failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn sigint_in_a_long_stage_of_quick_steps_leaves_no_network() {
    // Steps finish, and their containers are being removed, while teardown starts.
    let mut steps = String::new();
    for i in 0..400 {
        steps.push_str(&format!(
            "      - {{name: q{i}, type: run, spec: {{container: redis, script: echo step {i}}}}}\n"
        ));
    }
    let file = write(
        "many-quick.yaml",
        &format!(
            "kind: pipeline\nspec:\n  stages:\n  - name: many\n    type: ci\n    spec:\n      steps:\n{steps}"
        ),
    );
    let mut child = bin()
        .args(["run", file.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    loop {
        match lines.next() {
            Some(Ok(l)) if l == "[q30] step 30" => break,
            Some(Ok(_)) => {}
            _ => panic!("the run ended early"),
        }
    }
    std::thread::spawn(move || for _ in lines {});
    let stderr = child.stderr.take().unwrap();
    let err = std::thread::spawn(move || {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
            .join("\n")
    });
    signal(&child, "-INT");
    let status = wait_exit(&mut child);
    let err = err.join().unwrap();
    assert_eq!(status.code(), Some(130), "{err}");
    assert_eq!(owned_by(child.id()), 0, "{:?}", owners());
    assert!(
        err.contains("SIGINT: stopped; the run's containers, network and volumes were removed"),
        "{err}"
    );
}

#[test]
fn lint_says_which_format_it_read() {
    let (code, out, _) = run(&[
        "lint",
        "tests/formats/run/github.yml",
        "tests/formats/run/drone.yml",
        "tests/formats/run/nextgen.yaml",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("github.yml: ok (GitHub Actions workflow): 3 stages"),
        "{out}"
    );
    assert!(
        out.contains("drone.yml: ok (Drone pipeline): 2 stages"),
        "{out}"
    );
    assert!(
        out.contains("nextgen.yaml: ok (Harness NextGen pipeline): 1 stage"),
        "{out}"
    );
}

#[test]
fn a_github_job_without_a_container_reaches_its_service_on_the_host() {
    let (code, out, err) = run(&[
        "run",
        "tests/formats/run/github.yml",
        "--job",
        "on-the-host",
        "--default-image",
        "redis",
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("[Reach the service on the host's port] + redis-cli -p 16379 ping"),
        "{out}"
    );
    assert!(out.contains("stage `on-the-host` passed"), "{out}");
}

#[test]
fn github_steps_hand_on_outputs_env_path_and_outcomes() {
    let (code, out, err) = run(&["run", "tests/formats/run/github-run-time.yml"]);
    assert_eq!(code, 0, "{out}\n{err}");
    for line in [
        "[Runs only when check said so] + test \"first line",
        "[Runs only when check said so] + test \"hello from step one\" = \"hello from step one\"",
        "[Runs only when check said so] path added",
        "<-- Skipped when check said nothing: skipped: `if: steps.check.outputs.unchanged == 'true'` is false",
        "<-- flaky: failed (exit 3), allowed to fail",
        "[Sees the failure's outcome and conclusion] outcome seen",
        "note: summary of step `check`:\n### Checked",
        "stage `outputs` passed",
    ] {
        assert!(
            out.contains(line) || err.contains(line),
            "{line}\n{out}\n{err}"
        );
    }
}

#[test]
fn github_jobs_hand_on_outputs_through_needs_and_a_matrix_made_from_them() {
    let (code, out, err) = run(&["run", "tests/formats/run/github-needs.yml"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("stage `use` passed"), "{out}");
    assert!(
        err.contains(
            "stage `not-used` skipped: `if: needs.setup.outputs.greeting == 'bye'` is false"
        ),
        "{err}"
    );
    for copy in ["fan-out (1)", "fan-out (2)", "fan-out (3, x)"] {
        assert!(out.contains(&format!("stage `{copy}` passed")), "{out}");
    }
    assert!(out.contains("n=3 extra=x"), "{out}");
    // A run of every job runs `setup` first: no warning that its outputs are not known.
    assert!(!err.contains("is known once the job"), "{err}");
}

#[test]
fn a_github_job_whose_matrix_needs_another_jobs_outputs_is_skipped_alone() {
    let (code, out, err) = run(&[
        "run",
        "tests/formats/run/github-needs.yml",
        "--job",
        "fan-out",
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        err.contains("warning: this matrix is computed from the job `setup`'s outputs: it is known once `setup` has run"),
        "{err}"
    );
    assert!(
        err.contains("skipped: its matrix comes from the outputs of the job `setup`, which has not run (run the whole workflow)"),
        "{err}"
    );
}

#[test]
fn an_unknown_job_lists_the_jobs() {
    let (code, _, err) = run(&["run", "tests/formats/run/github.yml", "--job", "tset"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("no job named `tset` in tests/formats/run/github.yml; its jobs are: test, on-the-host, matrix"),
        "{err}"
    );
}

#[test]
fn a_drone_file_runs_its_pipelines_in_order_with_secrets_and_when() {
    let (code, out, err) = run(&[
        "run",
        "tests/formats/run/drone.yml",
        "--branch",
        "feature/x",
        "--secret",
        "db_password=root",
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("[query] 1"), "{out}");
    assert!(
        out.contains("only on main: skipped: `when: (build.branch matches \"^main$\" || build.branch matches \"^release/[^/]*$\")` is false"),
        "{out}"
    );
    assert!(out.contains("[never on main] not on main"), "{out}");
    let test = out.find("stage `test`").unwrap();
    let after = out.find("stage `after` passed").unwrap();
    assert!(test < after, "{out}");
}

/// A real workflow (apalis's MySQL job, tests/formats/github/SOURCES.md), as it is: its MySQL
/// service comes up on the port it publishes, and its `cargo test` step runs in the default
/// image, where it stops for want of the repository it expects.
#[test]
fn a_real_github_workflow_runs_up_to_its_toolchain() {
    let out = bin()
        .args([
            "run",
            "tests/formats/github/geofmureithi__apalis__mysql.yaml",
            "--default-image",
            "mysql:8.0",
        ])
        .env(
            "PIPELINE_TEST_IMAGES",
            format!("{DEFAULT_IMAGES},mysql:8=pipeline-test-fixtures/mysql:8.0"),
        )
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    println!("{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text.contains("--> mysql (background, mysql:8 as pipeline-test-fixtures/mysql:8.0)"),
        "{text}"
    );
    assert!(text.contains("<-- mysql is started after"), "{text}");
    assert!(text.contains("+ cd packages/apalis-sql"), "{text}");
    assert!(
        text.contains("skipped: the action `actions-rs/toolchain@v1` runs only on GitHub"),
        "{text}"
    );
}

#[test]
fn a_host_port_taken_by_another_program_is_named_with_the_fix() {
    let taken = std::net::TcpListener::bind("127.0.0.1:16391").unwrap();
    let file = write(
        "taken.yml",
        "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    services:\n      cache:\n        image: redis\n        ports: ['16391:6379']\n    steps:\n      - run: redis-cli -p 16391 ping\n",
    );
    let (code, out, err) = run(&["run", file.to_str().unwrap(), "--default-image", "redis"]);
    drop(taken);
    assert_eq!(code, 1, "{out}\n{err}");
    let all = format!("{out}{err}");
    assert!(all.contains("16391"), "{all}");
    assert!(
        all.contains("help: another container or program holds that host port"),
        "{all}"
    );
}

#[test]
fn a_local_composite_action_runs_with_its_inputs_and_hands_on_its_outputs() {
    let (code, out, err) = run(&[
        "run",
        "--event",
        "push",
        "tests/formats/run/github-local-action.yml",
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    // The nested action's output, from the action's own input (a `with:` of the caller).
    assert!(
        out.contains(
            "[Reads the action's outputs] + test \"HELLO PUSH WORLD\" = \"HELLO PUSH WORLD\""
        ),
        "{out}"
    );
    assert!(
        out.contains("[Reads the action's outputs] outputs seen"),
        "{out}"
    );
}

#[test]
fn a_nextgen_output_variable_is_read_by_the_next_step() {
    let (code, out, err) = run(&["run", "tests/formats/run/nextgen-outputs.yaml"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("[use] + test \"made here\" = \"made here\""),
        "{out}"
    );
    assert!(out.contains("[use] outputs seen"), "{out}");
}

#[test]
fn a_remote_action_runs_from_the_checkout_it_is_mapped_to() {
    let (code, out, err) = run(&[
        "run",
        "tests/formats/run/github-remote-action.yml",
        "--action",
        "acme/greet-action=tests/formats/run/actions/greet",
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("remote action ran"), "{out}");
    // Unmapped, it is skipped with a notice, and the step reading its outputs fails.
    let (code, _, err) = run(&["lint", "tests/formats/run/github-remote-action.yml"]);
    assert_eq!(code, 0);
    assert!(
        err.contains(
            "the action `acme/greet-action@v1` runs only on GitHub; pipeline-test skips it"
        ),
        "{err}"
    );
}

/// Services with health checks as GitHub's documentation writes them (`--health-interval
/// 10s`): probed from the start, each is ready long before Docker's first check, and `run`
/// says so; MySQL's init phase (networking off) is not taken for readiness; a check that
/// never passes fails with its output.
#[test]
fn documented_health_checks_are_probed_from_the_start() {
    let file = "tests/formats/run/github-documented-health.yml";
    let (code, out, _) = run(&["run", file, "--job", "redis"]);
    assert_eq!(code, 0, "{out}");
    // Ready before Docker would have run its first check (the bench measures how much before).
    let ready = out
        .lines()
        .find_map(|l| l.strip_prefix("<-- redis is healthy after "))
        .unwrap_or_else(|| panic!("no readiness line in:\n{out}"));
    assert!(
        ready.ends_with("(probed every 100 ms; Docker would first check after 10s)"),
        "{out}"
    );
    let took = ready.split_whitespace().next().unwrap_or_default();
    let secs: f64 = match took.strip_suffix("ms") {
        Some(ms) => ms.parse::<f64>().unwrap() / 1000.0,
        None => took.trim_end_matches('s').parse().unwrap(),
    };
    assert!(
        secs < 10.0,
        "ready after {took}: not before Docker's first check"
    );
    let (code, out, _) = run(&["run", file, "--job", "mysql"]);
    assert_eq!(
        code, 0,
        "the run step reaches MySQL on its port at once:\n{out}"
    );
    let (code, out, err) = run(&["run", file, "--job", "never-healthy"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        format!("{out}{err}").contains("last check: exit code 3: not ready yet"),
        "{out}{err}"
    );
}

/// A JavaScript action runs with `node` where the job's container has it, and is skipped with
/// a notice where it does not.
#[test]
fn a_javascript_action_runs_with_node_in_the_jobs_container() {
    let (code, out, err) = run(&["run", "tests/formats/run/github-js-action.yml"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("] hello Ada"), "{out}");
    assert!(
        out.contains("+ test \"hello Ada\" = \"hello Ada\""),
        "the next step read its output:\n{out}"
    );
    assert!(
        out.contains("needs node, which this job's container does not have: skipped"),
        "{out}"
    );
}

/// `--keep` keeps a run after the process exits, and after SIGKILL: neither the watcher nor a
/// sweep removes it (checked 5 s later); `pipeline-test clean` does.
#[test]
fn a_kept_run_survives_the_process_and_clean_removes_it() {
    let (code, out, err) = run(&["run", "--keep", "tests/pipelines/redis.yaml"]);
    assert_eq!(code, 0, "{out}{err}");
    let said = format!("{out}{err}");
    let run_id = said
        .split("kept run ")
        .nth(1)
        .and_then(|r| r.split(';').next())
        .unwrap_or_else(|| panic!("no kept run in:\n{said}"))
        .to_string();
    let mut killed = start_long_run_with("kept-long.yaml", &["--keep"]);
    let pid = killed.id();
    killed.kill().unwrap(); // SIGKILL: nothing of the process runs
    let _ = killed.wait();
    std::thread::sleep(Duration::from_secs(5));
    let of_run = |run: &str| {
        let out = Command::new("docker")
            .args([
                "ps",
                "-aq",
                "--filter",
                &format!("label=pipeline-test.run={run}"),
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).lines().count()
    };
    let kept_after_exit = of_run(&run_id);
    let kept_after_kill = owned_by(pid);
    let (code, out, err) = run(&["clean"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        kept_after_exit, 2,
        "both containers of run {run_id} are kept"
    );
    assert!(
        kept_after_kill >= 2,
        "the killed run is kept: {kept_after_kill}"
    );
    assert!(
        out.contains(&format!(
            "removed kept run {run_id}: 2 containers, 1 volume"
        )),
        "{out}"
    );
    assert_eq!(of_run(&run_id), 0);
    assert_eq!(owned_by(pid), 0);
}

/// A `--secret` without `NAME=` is refused without printing it: it may be the secret itself.
#[test]
fn a_bad_secret_argument_is_never_echoed() {
    let (code, out, err) = run(&[
        "lint",
        "--secret",
        "s3cr3t-value",
        "tests/pipelines/redis.yaml",
    ]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("the 1st `--secret` is not NAME=VALUE"),
        "{err}"
    );
    assert!(!format!("{out}{err}").contains("s3cr3t-value"));
}

#[test]
fn a_run_that_ends_leaves_nothing_at_the_moment_it_exits() {
    let mut child = bin()
        .args(["run", "examples/seed/communication.yaml"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut token = None;
    while token.is_none() && child.try_wait().unwrap().is_none() {
        token = pipeline_test_support::watcher_child_of(pid).map(|(_, t)| t);
        std::thread::sleep(Duration::from_millis(20));
    }
    let token = token.expect("the run started a watcher");
    assert!(child.wait().unwrap().success());
    // Checked at once: not left for the watcher to remove after the exit.
    let left = pipeline_test_support::leased(&token);
    assert!(left.is_empty(), "left at exit: {left:?}");
}

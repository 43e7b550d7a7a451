//! The failure paths as a user meets them: the tests of `tests/outside` (a crate outside the
//! workspace that depends on pipeline-test by path) fail on purpose; each is run alone in a
//! child process, timed, and its output read as a user would read it.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use pipeline_test_support::DEFAULT_IMAGES;

/// The outside crate's test binaries (`failures`, `fixture`), built once for every test here.
fn binaries() -> &'static Vec<(String, PathBuf)> {
    static BINARIES: OnceLock<Vec<(String, PathBuf)>> = OnceLock::new();
    BINARIES.get_or_init(|| {
        let root = env!("CARGO_MANIFEST_DIR");
        let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("outside");
        pipeline_test_support::test_binaries(
            &PathBuf::from(format!("{root}/tests/outside/Cargo.toml")),
            &target,
        )
    })
}

/// The outside crate's test binary `name`.
fn binary_named(name: &str) -> &'static PathBuf {
    binaries()
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, exe)| exe)
        .unwrap_or_else(|| panic!("cargo names a test binary `{name}`"))
}

/// The outside crate's failing tests.
fn binary() -> &'static PathBuf {
    binary_named("failures")
}

/// Runs test `name` of the outside crate alone, in a child process: its pid, its output
/// (stdout, then stderr), whether it passed, and how long it took.
fn child(name: &str, env: &[(&str, &str)]) -> (u32, String, bool, Duration) {
    let images = std::env::var("PIPELINE_TEST_IMAGES").unwrap_or_default();
    // Built (once) before the clock starts.
    let bin = binary();
    let started = Instant::now();
    let child = Command::new(bin)
        .args([name, "--exact", "--test-threads=1"])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/outside"))
        .env("PIPELINE_TEST_IMAGES", format!("{DEFAULT_IMAGES},{images}"))
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the test binary runs");
    let pid = child.id();
    let out: Output = child.wait_with_output().expect("the test binary ends");
    let took = started.elapsed();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("--- {name} ({took:?}) ---\n{text}");
    (pid, text, out.status.success(), took)
}

/// [`child`] for a test meant to fail: its output and how long it took, once it is checked
/// that it failed as a test and left nothing behind.
fn run(name: &str, env: &[(&str, &str)]) -> (String, Duration) {
    let (pid, text, passed, took) = child(name, env);
    assert!(!passed, "`{name}` is meant to fail:\n{text}");
    assert!(
        text.contains("1 failed"),
        "`{name}` did not fail as a test:\n{text}"
    );
    let left = pipeline_test_support::owned_after_exit(pid);
    assert!(left.is_empty(), "`{name}` left resources behind: {left:?}");
    (text, took)
}

#[test]
fn a_crashing_service_fails_at_once_with_its_exit_code_and_log() {
    let (text, took) = run("crashing_service", &[]);
    assert!(took < Duration::from_secs(5), "took {took:?}:\n{text}");
    assert!(
        text.contains("service `database` exited with code 1"),
        "{text}"
    );
    assert!(
        text.contains("reason: You need to specify one of MYSQL_ROOT_PASSWORD"),
        "{text}"
    );
    assert!(
        text.contains("  | error: database is uninitialized"),
        "the last log lines: {text}"
    );
    assert!(!text.contains("did not accept connections"), "{text}");
    assert!(!text.contains("stage `crash` passed"), "{text}");
    assert_eq!(
        text.matches("  | error: database is uninitialized").count(),
        1,
        "told once:\n{text}"
    );
}

#[test]
fn a_port_that_never_listens_fails_within_its_budget() {
    let (text, took) = run(
        "never_listening_port",
        &[("PIPELINE_TEST_READY_TIMEOUT", "3s")],
    );
    assert!(took < Duration::from_secs(3 + 3), "took {took:?}:\n{text}");
    assert!(
        text.contains(
            "service `cache` did not listen on port 7777 within its readiness budget of 3.00s"
        ),
        "{text}"
    );
    assert!(
        text.contains("port 7777/tcp of service `cache`")
            && text.contains("readiness budget of 3.00s"),
        "{text}"
    );
}

/// Probed from the start, a check that never passes still fails only at the end of what its
/// declaration allows (3 tries 1 s apart), with what the last try said.
#[test]
fn a_check_that_never_passes_fails_after_its_declared_budget_with_its_output() {
    let (text, took) = run("never_healthy", &[("PIPELINE_TEST_READY_TIMEOUT", "3s")]);
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_secs(3 + 6),
        "took {took:?}:\n{text}"
    );
    assert!(text.contains("service `cache`"), "{text}");
    assert!(text.contains("exit code 3: not ready yet"), "{text}");
}

#[test]
fn a_sync_body_past_its_timeout_fails_within_a_second_of_the_deadline() {
    let (text, took) = run("sync_body_past_its_timeout", &[]);
    // The timeout is 4 s from the test's start; the process adds its own start and exit.
    assert!(took < Duration::from_secs(4 + 1), "took {took:?}:\n{text}");
    assert!(
        text.contains("the test body ran past the test's timeout of 4.00s"),
        "{text}"
    );
}

#[test]
fn panics_point_at_the_test() {
    let (text, _) = run("unknown_service", &[]);
    assert!(text.contains("panicked at tests/failures.rs:22:"), "{text}");
    assert!(
        text.contains("stage `redis` has no service `nope`; its services are: cache"),
        "{text}"
    );
    let (text, _) = run("unpublished_port", &[]);
    assert!(text.contains("panicked at tests/failures.rs:27:"), "{text}");
    let (text, _) = run("failing_stage", &[]);
    assert!(text.contains("panicked at tests/failures.rs:30:"), "{text}");
}

#[test]
fn a_failing_step_is_told_once() {
    let (text, _) = run("failing_stage", &[]);
    // Streamed, or in the failure message, never both.
    let told = |line: &str| {
        text.lines()
            .filter(|l| l.trim_start_matches("[check] ").trim_start_matches("  | ") == line)
            .count()
    };
    assert_eq!(told("checking"), 1, "{text}");
    assert_eq!(told("+ exit 2"), 1, "{text}");
    assert_eq!(
        text.matches("FAILED (exit 2)").count(),
        3,
        "the step line, the table, the panic:\n{text}"
    );
    assert!(!text.contains("(exit code 2)"), "{text}");
    assert!(
        text.contains("stage `failing` failed: step `check` FAILED (exit 2)"),
        "{text}"
    );
}

#[test]
fn a_failed_body_says_so_and_not_that_the_stage_passed() {
    let (text, _) = run("failing_body", &[]);
    assert!(
        text.contains("test body failed; stage `redis` had passed"),
        "{text}"
    );
    assert!(!text.contains("stage `redis` passed"), "{text}");
    assert!(text.contains("the body's own assertion"), "{text}");
}

#[test]
fn keep_on_failure_keeps_a_failed_run_and_says_how_to_reach_it() {
    let (pid, text, _, _) = child("failing_body", &[("PIPELINE_TEST_KEEP", "on-failure")]);
    let kept = pipeline_test_support::resources_of(pid);
    // Remove what was kept before asserting, so that a failure leaves nothing either.
    pipeline_test_support::remove(&kept);
    assert!(
        kept.iter().any(|r| r.kind == "container"),
        "the failed run's containers were kept: {kept:?}\n{text}"
    );
    assert!(
        text.contains("PIPELINE_TEST_KEEP is set: kept run "),
        "{text}"
    );
    assert!(text.contains("service `cache`: docker exec -it "), "{text}");
    assert!(text.contains("6379/tcp at 127.0.0.1:"), "{text}");
    assert!(pipeline_test_support::resources_of(pid).is_empty());
}

#[test]
fn keep_on_failure_removes_a_passing_run() {
    let (pid, text, passed, _) = child("passing", &[("PIPELINE_TEST_KEEP", "on-failure")]);
    assert!(passed, "{text}");
    assert_eq!(
        pipeline_test_support::owned_after_exit(pid),
        Vec::<String>::new()
    );
}

#[test]
fn an_outside_crate_reaches_its_github_actions_redis_service() {
    let (pid, text, passed, _) = child("github_actions_redis", &[]);
    assert!(passed, "{text}");
    assert!(text.contains("test github_actions_redis ... ok"), "{text}");
    assert_eq!(
        pipeline_test_support::owned_after_exit(pid),
        Vec::<String>::new()
    );
}

/// `PIPELINE_TEST_KEEP=1` keeps a passing test's run after its process has exited: neither
/// its watcher nor a later sweep removes it (checked 5 s later).
#[test]
fn keep_keeps_a_run_after_the_process_exits() {
    let (pid, text, passed, _) = child("passing", &[("PIPELINE_TEST_KEEP", "1")]);
    assert!(passed, "{text}");
    std::thread::sleep(Duration::from_secs(5));
    let kept = pipeline_test_support::resources_of(pid);
    pipeline_test_support::remove(&kept);
    assert!(
        kept.iter()
            .any(|r| r.kind == "container" && r.name.ends_with("-cache")),
        "the run's service is still there 5 s after the test's process exited: {kept:?}\n{text}"
    );
}

/// The outside crate's workflow, as GitHub's documentation writes it (Redis and MySQL on
/// `6379:6379` and `3306:3306`, documented health options, a matrix, `uses:` steps and its own
/// `cargo test`), is the fixture of six tests, unedited: all pass at once under `cargo test`'s
/// default threads (each on free host ports), and nothing is left.
#[test]
fn six_tests_share_a_documented_workflow_as_their_fixture_in_parallel() {
    let images = std::env::var("PIPELINE_TEST_IMAGES").unwrap_or_default();
    let out = Command::new(binary_named("fixture"))
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/outside"))
        .env("PIPELINE_TEST_IMAGES", format!("{DEFAULT_IMAGES},{images}"))
        .output()
        .expect("the test binary runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("test result: ok. 6 passed"), "{text}");
}

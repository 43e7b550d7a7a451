//! One shared stage for a whole run: the twelve tests of `tests/outside`'s `suite_a` and
//! `suite_b` (one file, `shared`) run under `cargo nextest run` (a process per test) and under
//! `cargo test` (two test binaries), and the engine's event log says how many containers the
//! run created; then everything of the stage is gone within 3 s of the run's end, also when
//! nextest itself is killed with SIGKILL (and not while a test of the run still runs). A shared
//! stage that fails fails each of its tests, in every process, with the same message.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pipeline_test_support::{DEFAULT_IMAGES, leftovers, steps_created_in_run};

const OUTSIDE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/outside");

/// The outside crate's target directory (shared with `failure_paths.rs`), its tests built once.
fn target() -> &'static PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("outside");
        pipeline_test_support::test_binaries(&Path::new(OUTSIDE).join("Cargo.toml"), &target);
        target
    })
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn out_dir(case: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "pipeline-test-run-scope-{}-{case}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A command on the outside crate, writing to `dir`, with the stand-in images.
fn command(program: &str, dir: &Path) -> Command {
    let images = std::env::var("PIPELINE_TEST_IMAGES").unwrap_or_default();
    let mut c = Command::new(program);
    c.current_dir(OUTSIDE)
        .env("CARGO_TARGET_DIR", target())
        .env("PIPELINE_TEST_IMAGES", format!("{DEFAULT_IMAGES},{images}"))
        .env("PIPELINE_TEST_OUTSIDE_DIR", dir)
        .env_remove("PIPELINE_TEST_SHARE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// `cargo nextest run` of the two suites: nextest's own process (`cargo-nextest`), so that
/// killing it kills nextest itself.
fn nextest(dir: &Path) -> Command {
    let mut c = command("cargo-nextest", dir);
    c.args([
        "nextest",
        "run",
        "--no-fail-fast",
        "--test-threads=4",
        "--test",
        "suite_a",
        "--test",
        "suite_b",
    ]);
    c
}

/// What the tests wrote: test -> (run id, process id).
fn written(dir: &Path) -> Vec<(String, String, u32)> {
    let mut out: Vec<(String, String, u32)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let text = std::fs::read_to_string(e.path()).unwrap();
            let (run, pid) = text.split_once(' ').unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                run.to_string(),
                pid.parse().unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

/// The one run id of the twelve tests, after checking there is one.
fn one_stage(dir: &Path, processes: usize, output: &str) -> String {
    let written = written(dir);
    assert_eq!(written.len(), 12, "twelve tests ran:\n{output}");
    let runs: BTreeSet<&str> = written.iter().map(|(_, r, _)| r.as_str()).collect();
    let pids: BTreeSet<u32> = written.iter().map(|(_, _, p)| *p).collect();
    assert_eq!(runs.len(), 1, "one stage for the whole run: {written:?}");
    assert_eq!(pids.len(), processes, "{written:?}");
    runs.into_iter().next().unwrap().to_string()
}

/// A child's standard output, then its standard error.
fn text_of(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The engine's event log since `since`: run `id` created one container per step of `steps`
/// (sorted), whichever processes used it, and its lock (a container never started).
fn one_container_per_step(id: &str, since: u64, steps: &[&str]) {
    let mut created = steps_created_in_run(id, since);
    created.sort();
    let mut expected = vec!["(lock)"];
    expected.extend_from_slice(steps);
    assert_eq!(created, expected, "one container per step, and the lock");
}

/// Everything of shared stage `id`: its own resources (its lease) and its users' volumes.
fn stage_left(id: &str) -> Vec<String> {
    let mut left = leftovers(&format!("pipeline-test.lease={id}"));
    left.extend(leftovers(&format!("pipeline-test.shared-user={id}")));
    left
}

fn gone_in_3s(id: &str) -> Duration {
    let start = Instant::now();
    loop {
        let left = stage_left(id);
        if left.is_empty() {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "left 3s after the run ended: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn twelve_tests_under_nextest_share_one_stage_for_the_run() {
    target();
    let dir = out_dir("nextest");
    let since = now();
    let out = nextest(&dir)
        .output()
        .expect("cargo-nextest runs (install it with `cargo install cargo-nextest`)");
    let ended = Instant::now();
    let text = text_of(&out);
    assert!(out.status.success(), "{text}");
    let id = one_stage(&dir, 12, &text);
    let took = gone_in_3s(&id);
    println!(
        "removed {:.2}s after nextest ended",
        (ended.elapsed().max(took)).as_secs_f64()
    );
    // The engine's event log: one container per step for the twelve processes.
    one_container_per_step(&id, since, &["cache", "migrate"]);
}

#[test]
fn two_test_binaries_of_one_cargo_test_share_one_stage() {
    target();
    let dir = out_dir("cargo");
    let since = now();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = command(&cargo, &dir)
        .args(["test", "--test", "suite_a", "--test", "suite_b"])
        .output()
        .expect("cargo runs");
    let text = text_of(&out);
    assert!(out.status.success(), "{text}");
    let id = one_stage(&dir, 2, &text);
    gone_in_3s(&id);
    one_container_per_step(&id, since, &["cache", "migrate"]);
}

/// The test processes of the outside crate's suites still running that write to `dir` (not
/// the watchers, which are copies of the same executables; not another case's).
fn suite_processes(dir: &Path) -> Vec<u32> {
    let mut ours = b"PIPELINE_TEST_OUTSIDE_DIR=".to_vec();
    ours.extend_from_slice(dir.as_os_str().as_encoded_bytes());
    let deps = target().join("debug/deps");
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let exe = std::fs::read_link(e.path().join("exe")).ok()?;
            let name = exe.file_name()?.to_str()?;
            let exe_ours = exe.starts_with(&deps)
                && (name.starts_with("suite_a-") || name.starts_with("suite_b-"));
            let environ = std::fs::read(e.path().join("environ")).ok()?;
            let mut vars = environ.split(|b| *b == 0);
            let watcher = vars.clone().any(|v| {
                v.starts_with(b"PIPELINE_TEST_WATCHER=")
                    || v.starts_with(b"PIPELINE_TEST_RUN_WATCHER=")
            });
            let this_case = vars.any(|v| v == ours.as_slice());
            (exe_ours && this_case && !watcher).then_some(pid)
        })
        .collect()
}

#[test]
fn sigkill_of_nextest_removes_the_stage_once_its_tests_have_ended() {
    target();
    let dir = out_dir("sigkill");
    let mut child = nextest(&dir)
        .env("PIPELINE_TEST_OUTSIDE_PAUSE_MS", "1500")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("cargo-nextest runs");
    let deadline = Instant::now() + Duration::from_secs(180);
    let id = loop {
        if let Some((_, id, _)) = written(&dir).into_iter().next() {
            break id;
        }
        assert!(Instant::now() < deadline, "no test reached its body");
        assert!(child.try_wait().unwrap().is_none(), "nextest ended early");
        std::thread::sleep(Duration::from_millis(20));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !suite_processes(&dir).is_empty(),
        "tests of the run still run after nextest's end"
    );
    // Never removed while a test of the run still runs.
    loop {
        let left = leftovers(&format!("pipeline-test.run={id}"));
        // Alive after the look: alive during it.
        if suite_processes(&dir).is_empty() {
            break;
        }
        assert!(
            !left.is_empty(),
            "the stage was removed while a test of the run still ran"
        );
        assert!(Instant::now() < deadline, "the tests did not end");
        std::thread::sleep(Duration::from_millis(50));
    }
    let took = gone_in_3s(&id);
    println!(
        "removed {:.2}s after the last test of the killed run ended",
        took.as_secs_f64()
    );
}

#[test]
fn a_failing_shared_stage_fails_every_process_of_the_run_alike() {
    target();
    let dir = out_dir("failing");
    let since = now();
    let out = command("cargo-nextest", &dir)
        .args([
            "nextest",
            "run",
            "--no-fail-fast",
            "--test-threads=4",
            "--test",
            "suite_failing",
            "--final-status-level=fail",
            "--failure-output=final",
        ])
        .output()
        .expect("cargo-nextest runs");
    let text = text_of(&out);
    assert!(!out.status.success(), "{text}");
    // Each test's panic message, as nextest shows a test's standard error.
    let messages: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("shared stage of pipelines/failing.yaml"))
        .map(str::trim)
        .collect();
    assert!(messages.len() >= 4, "four failures:\n{text}");
    assert!(
        messages.iter().all(|m| m == &messages[0]),
        "the same message in every process: {messages:#?}"
    );
    assert!(
        messages[0].contains("check") && messages[0].contains("exit 2"),
        "{}",
        messages[0]
    );
    // The stage ran once for the four processes: its one step (and the lock).
    let id = messages[0]
        .split("(run ")
        .nth(1)
        .and_then(|r| r.get(..12))
        .unwrap_or_else(|| panic!("the message names the run: {}", messages[0]));
    one_container_per_step(id, since, &["check"]);
    gone_in_3s(id);
}

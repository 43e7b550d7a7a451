//! A test binary interrupted in the middle of a pipeline test removes the stage's resources
//! before it exits (SIGINT: 130, SIGTERM: 143); after SIGKILL, the next run removes them.
//!
//! Each case runs this same binary as a child, limited to `held_open`, whose body waits (with
//! the stage's services up) only when the child is asked to.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pipeline_test::{Stage, pipeline_test};

const CHILD: &str = "PIPELINE_TEST_SIGNAL_CHILD";

#[pipeline_test("tests/pipelines/redis.yaml")]
fn held_open(stage: &Stage) {
    // In the child: say that the stage is up, then wait to be interrupted.
    if let Some(marker) = std::env::var_os(CHILD) {
        std::fs::write(&marker, stage.run_id()).unwrap();
        std::thread::sleep(Duration::from_secs(600));
    }
}

/// Starts the child and returns it once its stage is up; the caller waits for it.
#[allow(clippy::zombie_processes)]
fn child(case: &str) -> (Child, String) {
    let marker: PathBuf = std::env::temp_dir().join(format!(
        "pipeline-test-signal-{}-{case}",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&marker);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "held_open", "--nocapture", "--test-threads=1"])
        .env(CHILD, &marker)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(run_id) = std::fs::read_to_string(&marker) {
            if !run_id.is_empty() {
                let _ = std::fs::remove_file(&marker);
                return (child, run_id);
            }
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the child's stage did not come up");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

use pipeline_test_support::owned_by;

fn stop(child: &mut Child, signal: &str) -> Option<i32> {
    assert!(
        Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        assert!(Instant::now() < deadline, "the child did not exit");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sigint_removes_everything_and_exits_130() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let (mut child, _) = child("int");
    assert!(!owned_by(child.id()).is_empty(), "the stage is up");
    assert_eq!(stop(&mut child, "-INT"), Some(130));
    assert_eq!(owned_by(child.id()), Vec::<String>::new());
}

#[test]
fn sigterm_removes_everything_and_exits_143() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let (mut child, _) = child("term");
    assert_eq!(stop(&mut child, "-TERM"), Some(143));
    assert_eq!(owned_by(child.id()), Vec::<String>::new());
}

#[pipeline_test("examples/seed/communication.yaml")]
fn a_later_run() {}

#[test]
fn after_sigkill_the_next_run_removes_what_was_left() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let (mut child, _) = child("kill");
    let pid = child.id();
    assert!(!owned_by(pid).is_empty());
    child.kill().unwrap(); // SIGKILL: the child can do nothing
    child.wait().unwrap();
    a_later_run(); // its watcher removes what it left, without this run
    assert_eq!(
        pipeline_test_support::owned_after_exit(pid),
        Vec::<String>::new()
    );
}

/// Ready at once, but in the child, where its service never is.
#[pipeline_test("tests/pipelines/never-ready.yaml")]
fn waiting_for_readiness() {}

/// A test interrupted while it waits for its service says it was interrupted, not that its
/// service stopped (the signal handler removed it).
#[test]
fn a_test_interrupted_while_waiting_says_interrupted() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "waiting_for_readiness",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .env("PIPELINE_TEST_INPUT_READY", "no")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while owned_by(child.id()).iter().all(|r| !r.contains("-cache")) {
        assert!(Instant::now() < deadline, "the service did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let child_pid = child.id();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(130), "{text}");
    assert!(text.contains("interrupted (SIGINT or SIGTERM)"), "{text}");
    assert!(!text.contains("UNHEALTHY"), "{text}");
    assert!(!text.contains("exited with code 137"), "{text}");
    assert_eq!(owned_by(child_pid), Vec::<String>::new());
}

//! The watcher: a test binary killed by any signal leaves nothing, without another run; the
//! next run's sweep is the second line; liveness is the lease's heartbeat on the engine, so a
//! run in another PID namespace never takes a live run for a dead one.
//!
//! Each case runs this same binary as a child, limited to one test, whose body waits (with the
//! stage's services up) only when the child is asked to (`CHILD` names a marker file).

use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use pipeline_test::{Stage, pipeline_test};
use pipeline_test_support::{Rng, gone_within, owned_by, watcher_child_of};

const CHILD: &str = "PIPELINE_TEST_REAPER_CHILD";

fn in_child() -> bool {
    std::env::var_os(CHILD).is_some()
}

/// In the child: says the stage is up, then waits for a `go` file beside the marker (or 10
/// minutes), then checks that its Redis still answers.
#[pipeline_test("tests/pipelines/redis.yaml")]
fn held_open(stage: &Stage) {
    let Some(marker) = std::env::var_os(CHILD).map(PathBuf::from) else {
        return;
    };
    std::fs::write(&marker, stage.run_id()).unwrap();
    let go = marker.with_extension("go");
    let deadline = Instant::now() + Duration::from_secs(600);
    while !go.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut redis = std::net::TcpStream::connect(stage.service("cache").addr(6379))
        .expect("the live run's Redis is still there");
    use std::io::{Read, Write};
    redis.write_all(b"PING\r\n").unwrap();
    let mut answer = [0u8; 7];
    redis.read_exact(&mut answer).unwrap();
    assert_eq!(&answer, b"+PONG\r\n", "the live run's Redis answers");
}

fn marker(case: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "pipeline-test-reaper-{}-{case}",
        std::process::id()
    ))
}

/// Starts this binary running `test` with `CHILD` set; `wrap` runs it under another command.
fn spawn(test: &str, case: &str, wrap: &[&str], threads: usize) -> Child {
    let exe = std::env::current_exe().unwrap();
    let threads = format!("--test-threads={threads}");
    let mut args: Vec<&str> = wrap.to_vec();
    args.push(exe.to_str().unwrap());
    args.extend([test, "--nocapture", threads.as_str()]);
    if !test.ends_with('_') {
        args.push("--exact");
    }
    let marker = marker(case);
    let _ = std::fs::remove_file(&marker);
    let _ = std::fs::remove_file(marker.with_extension("go"));
    // The child's output, for the cases that read it.
    let out = std::fs::File::create(marker.with_extension("out")).unwrap();
    Command::new(args[0])
        .args(&args[1..])
        .env(CHILD, &marker)
        .env("RUST_BACKTRACE", "0")
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap()
}

/// Waits until the child's stage is up (its marker holds the run id).
fn wait_up(child: &mut Child, case: &str) {
    let marker = marker(case);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if std::fs::read_to_string(&marker).is_ok_and(|id| !id.is_empty()) {
            return;
        }
        if Instant::now() >= deadline || child.try_wait().unwrap().is_some() {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the child's stage did not come up");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn wait_exit(child: &mut Child) -> Option<i32> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("the child did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn kill(pid: u32, signal: &str) {
    assert!(
        Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
}

#[test]
fn sigkill_of_a_test_binary_leaves_nothing_within_3s() {
    if in_child() {
        return;
    }
    let mut child = spawn("held_open", "kill", &[], 1);
    wait_up(&mut child, "kill");
    let (_, lease) = watcher_child_of(child.id()).expect("the child has a watcher");
    assert!(!owned_by(child.id()).is_empty(), "the stage is up");
    child.kill().unwrap(); // SIGKILL: nothing of the child runs
    child.wait().unwrap();
    match gone_within(&lease, Duration::from_secs(3)) {
        Ok(took) => println!("removed {:.2}s after SIGKILL", took.as_secs_f64()),
        Err(left) => panic!("left 3s after SIGKILL, with no other run: {left:?}"),
    }
}

#[pipeline_test("examples/seed/communication.yaml")]
fn a_later_run() {}

#[test]
fn when_the_watcher_is_killed_too_the_next_run_sweeps_after_the_lease_expires() {
    if in_child() {
        return;
    }
    let mut child = spawn("held_open", "both", &[], 1);
    wait_up(&mut child, "both");
    let (watcher, lease) = watcher_child_of(child.id()).expect("the child has a watcher");
    kill(watcher, "-KILL");
    child.kill().unwrap();
    child.wait().unwrap();
    let pid = child.id();
    assert!(!owned_by(pid).is_empty(), "nobody removed them yet");
    // The lease expires 15s after its last heartbeat; a run after that removes the rest.
    std::thread::sleep(Duration::from_secs(16));
    // A process sweeps at most every 5 s: a run of this one may have just done so.
    let mut left = Vec::new();
    for _ in 0..3 {
        a_later_run();
        match gone_within(&lease, Duration::from_secs(3)) {
            Ok(_) => return,
            Err(l) => left = l,
        }
        std::thread::sleep(Duration::from_secs(3));
    }
    panic!("the next runs' sweeps left: {left:?}");
}

/// Eight stage tests for the child below; each holds its stage for a moment.
macro_rules! eight {
    ($($name:ident),*) => {$(
        #[pipeline_test("tests/pipelines/redis.yaml")]
        fn $name(stage: &Stage) {
            assert!(!stage.services().is_empty());
            if in_child() {
                std::thread::sleep(Duration::from_millis(400));
            }
        }
    )*};
}
eight!(
    eight_1, eight_2, eight_3, eight_4, eight_5, eight_6, eight_7, eight_8
);

#[test]
fn sigint_during_eight_tests_on_four_threads_leaves_nothing_20_times() {
    if in_child() {
        return;
    }
    let mut rng = Rng(0x5eed_1234);
    for attempt in 1..=20 {
        let mut child = spawn("eight_", &format!("int{attempt}"), &[], 4);
        let deadline = Instant::now() + Duration::from_secs(60);
        let lease = loop {
            if let Some((_, lease)) = watcher_child_of(child.id()) {
                break lease;
            }
            assert!(Instant::now() < deadline, "attempt {attempt}: no watcher");
            std::thread::sleep(Duration::from_millis(10));
        };
        // Anywhere from the first stage starting to the last test ending.
        let after = rng.below(2500) as u64;
        std::thread::sleep(Duration::from_millis(after));
        let pid = child.id();
        kill(pid, "-INT");
        let code = wait_exit(&mut child);
        let out = std::fs::read_to_string(marker(&format!("int{attempt}")).with_extension("out"))
            .unwrap_or_default();
        if code == Some(101) {
            // The tests that started after the signal were refused at once; the others failed
            // because their stage was removed under them: at most one per thread.
            let failures = out.matches("panicked at").count();
            let refused = out.matches("interrupted (SIGINT/SIGTERM)").count();
            assert!(
                failures <= refused + 4,
                "attempt {attempt}: {failures} failures, {refused} of them interrupted:\n{out}"
            );
        }
        // 130 from the signal handler; 101 when libtest ended first (the tests that started
        // after the signal failed with "interrupted"); 0 when the signal came after the last.
        assert!(
            matches!(code, Some(130 | 101 | 0)),
            "attempt {attempt}: exit code {code:?}"
        );
        match gone_within(&lease, Duration::from_secs(3)) {
            Ok(took) => println!(
                "attempt {attempt}: SIGINT {after} ms after the watcher started, exit {code:?}, all removed {:.2}s after the exit",
                took.as_secs_f64()
            ),
            Err(left) => panic!("attempt {attempt}: left 3s after SIGINT: {left:?}"),
        }
        assert_eq!(owned_by(pid), Vec::<String>::new(), "attempt {attempt}");
    }
}

#[test]
fn a_run_in_another_pid_namespace_leaves_a_live_run_alone() {
    if in_child() {
        return;
    }
    let mut live = spawn("held_open", "live", &[], 1);
    wait_up(&mut live, "live");
    // A second run whose sweep cannot see the live run's process: another PID namespace.
    let mut other = spawn(
        "a_later_run",
        "other",
        &["unshare", "--pid", "--fork", "--mount-proc"],
        1,
    );
    assert_eq!(
        wait_exit(&mut other),
        Some(0),
        "the run in another PID namespace passed"
    );
    // Its watcher sweeps once it has ended, from the other namespace too: give it time.
    std::thread::sleep(Duration::from_secs(2));
    std::fs::write(marker("live").with_extension("go"), "").unwrap();
    assert_eq!(
        wait_exit(&mut live),
        Some(0),
        "the live run kept its stage and passed"
    );
}

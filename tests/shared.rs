//! Shared stages: many tests, one stage (its steps run once), a failure shared alike, and
//! nothing left after the process ends, however it ends.
//!
//! The cases run this same binary as a child (`CHILD` names a directory the child's tests
//! write to), so that the parent can count what the child's process created.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pipeline_test::{Stage, pipeline_test};
use pipeline_test_support::{containers_created_by, gone_within, owned_by, watcher_child_of};

const CHILD: &str = "PIPELINE_TEST_SHARED_CHILD";

/// Sends one Redis command, returns the reply's first line.
fn redis(stream: &mut TcpStream, args: &[&str]) -> String {
    let mut command = format!("*{}\r\n", args.len());
    for a in args {
        command.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    stream.write_all(command.as_bytes()).unwrap();
    let mut reply = Vec::new();
    let mut byte = [0u8; 1];
    while !reply.ends_with(b"\r\n") {
        stream.read_exact(&mut byte).unwrap();
        reply.push(byte[0]);
    }
    let line = String::from_utf8_lossy(&reply).trim_end().to_string();
    if let Some(len) = line.strip_prefix('$') {
        let mut value = vec![0u8; len.parse::<usize>().unwrap() + 2];
        stream.read_exact(&mut value).unwrap();
        return String::from_utf8_lossy(&value[..value.len() - 2]).into_owned();
    }
    line
}

/// Twelve tests on one shared Redis; each keeps to keys of its own (`<test>:...`) and counts
/// itself in a key they all share.
macro_rules! twelve {
    ($($name:ident),*) => {$(
        #[pipeline_test("tests/pipelines/redis.yaml", shared)]
        fn $name(stage: &Stage) {
            let mut r = TcpStream::connect(stage.service("cache").addr(6379)).unwrap();
            let key = concat!(stringify!($name), ":greeting");
            assert_eq!(redis(&mut r, &["SET", key, "hello"]), "+OK");
            assert_eq!(redis(&mut r, &["GET", key]), "hello");
            let count = redis(&mut r, &["INCR", "tests-run"]);
            if let Some(dir) = std::env::var_os(CHILD) {
                let line = format!("{} {}", stage.run_id(), count.trim_start_matches(':'));
                std::fs::write(PathBuf::from(dir).join(stringify!($name)), line).unwrap();
            }
        }
    )*};
}
twelve!(
    shared_01, shared_02, shared_03, shared_04, shared_05, shared_06, shared_07, shared_08,
    shared_09, shared_10, shared_11, shared_12
);

macro_rules! failing {
    ($($name:ident),*) => {$(
        #[pipeline_test("tests/pipelines/failing.yaml", shared)]
        #[ignore = "fails on purpose: run by a_failing_shared_stage_fails_every_test_alike"]
        fn $name() {}
    )*};
}
failing!(failing_1, failing_2, failing_3);

/// Holds the shared stage open in the child until it is killed.
#[pipeline_test("tests/pipelines/redis.yaml", shared)]
#[ignore = "waits to be killed: run by sigkill_with_a_shared_stage_leaves_nothing_within_3s"]
fn held_shared(stage: &Stage) {
    if let Some(dir) = std::env::var_os(CHILD) {
        std::fs::write(PathBuf::from(dir).join("held"), stage.run_id()).unwrap();
        std::thread::sleep(Duration::from_secs(600));
    }
}

fn in_child() -> bool {
    std::env::var_os(CHILD).is_some()
}

fn child_dir(case: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "pipeline-test-shared-{}-{case}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn child(dir: &PathBuf, args: &[&str]) -> Command {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args(args).env(CHILD, dir).env("RUST_BACKTRACE", "0");
    c
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn twelve_tests_share_one_stage_whose_steps_run_once() {
    if in_child() {
        return;
    }
    let dir = child_dir("many");
    let since = now();
    let mut c = child(&dir, &["shared_", "--test-threads=4"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let pid = c.id();
    let mut lease = None;
    let status = loop {
        if lease.is_none() {
            lease = watcher_child_of(pid).map(|(_, l)| l);
        }
        if let Some(status) = c.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "the twelve tests passed");
    let mut runs = Vec::new();
    let mut counts = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let (run, count) = text.split_once(' ').unwrap();
        runs.push(run.to_string());
        counts.push(count.parse::<u32>().unwrap());
    }
    runs.dedup();
    assert_eq!(runs.len(), 1, "one run for all twelve: {runs:?}");
    counts.sort_unstable();
    assert_eq!(
        counts,
        (1..=12).collect::<Vec<_>>(),
        "the tests saw each other's data: one Redis"
    );
    // The background service and the one run step: created once.
    assert_eq!(containers_created_by(pid, since), 2);
    let lease = lease.expect("the child had a watcher");
    match gone_within(&lease, Duration::from_secs(3)) {
        Ok(took) => println!(
            "the shared stage was removed {:.2}s after the process ended",
            took.as_secs_f64()
        ),
        Err(left) => panic!("left 3s after the process ended: {left:?}"),
    }
    assert_eq!(owned_by(pid), Vec::<String>::new());
}

#[test]
fn a_failing_shared_stage_fails_every_test_alike() {
    if in_child() {
        return;
    }
    let dir = child_dir("failing");
    let since = now();
    let c = child(&dir, &["failing_", "--ignored", "--test-threads=3"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = c.id();
    let out = c.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(101), "{stdout}");
    // Each test's panic message, as libtest prints it.
    let messages: Vec<String> = stdout
        .split("panicked at ")
        .skip(1)
        .map(|m| {
            let m = &m[m.find('\n').map_or(0, |i| i + 1)..];
            m.split("\nnote: ")
                .next()
                .unwrap()
                .split("\n\n")
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(messages.len(), 3, "{stdout}");
    assert!(
        messages.iter().all(|m| m == &messages[0]),
        "the same message: {messages:#?}"
    );
    assert!(
        messages[0].contains("shared stage of tests/pipelines/failing.yaml")
            && messages[0].contains("migrate")
            && messages[0].contains("exit 5"),
        "{}",
        messages[0]
    );
    // The stage ran once for the three: its service and its failing step.
    assert_eq!(containers_created_by(pid, since), 2);
}

#[test]
fn sigkill_with_a_shared_stage_leaves_nothing_within_3s() {
    if in_child() {
        return;
    }
    let dir = child_dir("kill");
    let mut c = child(&dir, &["held_shared", "--exact", "--ignored"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !dir.join("held").exists() {
        assert!(
            Instant::now() < deadline,
            "the shared stage did not come up"
        );
        assert!(c.try_wait().unwrap().is_none(), "the child ended early");
        std::thread::sleep(Duration::from_millis(50));
    }
    let (_, lease) = watcher_child_of(c.id()).expect("the child has a watcher");
    assert!(!owned_by(c.id()).is_empty(), "the shared stage is up");
    c.kill().unwrap();
    c.wait().unwrap();
    match gone_within(&lease, Duration::from_secs(3)) {
        Ok(took) => println!("removed {:.2}s after SIGKILL", took.as_secs_f64()),
        Err(left) => panic!("left 3s after SIGKILL: {left:?}"),
    }
}

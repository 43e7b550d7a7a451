//! After a pipeline test, nothing it created is left: whether the body passed, panicked or
//! returned an error, and whether the stage itself failed.

use std::cell::RefCell;

use pipeline_test::{Stage, pipeline_test};

thread_local! {
    /// The run id of the last body that ran on this thread (a sync body runs on the test's).
    static RUN: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn remember(stage: &Stage) {
    RUN.with(|r| *r.borrow_mut() = Some(stage.run_id().to_string()));
}

fn take_run() -> String {
    RUN.with(|r| r.borrow_mut().take()).expect("the body ran")
}

/// Every container, network and volume labelled with run `id`, once the removal a passed test
/// leaves behind it (off its path) has had up to 5 seconds.
fn leftovers(id: &str) -> Vec<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let left = pipeline_test_support::leftovers(&format!("pipeline-test.run={id}"));
        if left.is_empty() || std::time::Instant::now() >= deadline {
            return left;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

// These are called by the tests below (and are tests of their own too).
#[pipeline_test("tests/pipelines/redis.yaml")]
fn passes(stage: &Stage) {
    remember(stage);
}

#[pipeline_test("tests/pipelines/redis.yaml")]
#[should_panic(expected = "boom")]
fn panics(stage: &Stage) {
    remember(stage);
    panic!("boom");
}

#[pipeline_test("tests/pipelines/redis.yaml")]
#[should_panic(expected = "the test returned an error: \"no\"")]
fn returns_an_error(stage: &Stage) -> Result<(), &'static str> {
    remember(stage);
    Err("no")
}

#[test]
fn a_passing_test_leaves_nothing() {
    passes();
    let id = take_run();
    assert_eq!(leftovers(&id), Vec::<String>::new());
}

#[test]
fn a_panicking_test_leaves_nothing() {
    assert!(std::panic::catch_unwind(panics).is_err());
    let id = take_run();
    assert_eq!(leftovers(&id), Vec::<String>::new());
}

#[test]
fn a_test_returning_an_error_leaves_nothing() {
    let err = std::panic::catch_unwind(returns_an_error).unwrap_err();
    let message = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        message.contains("the test returned an error: \"no\""),
        "{message}"
    );
    let id = take_run();
    assert_eq!(leftovers(&id), Vec::<String>::new());
}

#[pipeline_test("tests/pipelines/failing.yaml")]
#[should_panic(expected = "step `migrate` FAILED (exit 5)")]
fn a_failing_stage() {}

#[test]
fn a_failing_stage_reports_its_step_and_leaves_nothing() {
    let err = std::panic::catch_unwind(a_failing_stage).unwrap_err();
    let message = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        message.contains("stage `failing` failed: step `migrate` FAILED (exit 5)"),
        "{message}"
    );
    assert!(message.contains("applying migration 7"), "{message}");
    assert!(
        message.contains("last log lines of service `cache`"),
        "{message}"
    );
    let id = message
        .split("(run ")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .expect("the run id");
    assert_eq!(leftovers(id), Vec::<String>::new());
}

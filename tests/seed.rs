//! The seed's three pipelines, verbatim, as tests; and every stage of a file as tests.

use pipeline_test::{Stage, pipeline_test, pipeline_tests};

#[pipeline_test("examples/seed/communication.yaml")]
fn communication() {}

#[pipeline_test("examples/seed/health-check.yaml")]
fn health_check(stage: &Stage) {
    let report = &stage.steps()[1];
    assert_eq!(
        (report.name.as_str(), report.exit_code),
        ("healthcheck", Some(0))
    );
}

#[pipeline_test("examples/seed/sleep.yaml")]
async fn sleep(stage: &Stage) {
    assert_eq!(stage.services().len(), 1);
}

mod every_stage {
    // Generates `build` and `unit_tests`.
    pipeline_test::pipeline_tests!("tests/pipelines/stages.yaml");
}

#[pipeline_test("tests/pipelines/stages.yaml", stage = "Unit Tests")]
fn one_stage_of_several(stage: &Stage) {
    let out = stage
        .service("cache")
        .exec_blocking(&["redis-cli", "get", "answer"])
        .unwrap();
    assert_eq!(out.stdout.trim(), "42");
}

#[pipeline_test("examples/seed/communication.yaml")]
#[should_panic(expected = "the body failed on purpose")]
fn a_panicking_body_still_tears_down() {
    panic!("the body failed on purpose");
}

#[allow(unused_imports)]
use pipeline_tests as _;

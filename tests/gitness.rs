//! The attribute with a build: `branch` and `event` reach `${{ build.* }}` and `when`, inputs
//! take their defaults, a matrix runs one copy per value, and the workspace is the
//! repository's root at `/gitness`.

use pipeline_test::{Stage, StepStatus, pipeline_test};

fn get(stage: &Stage, key: &str) -> String {
    let out = stage
        .service("cache")
        .exec_blocking(&["redis-cli", "get", key])
        .unwrap();
    out.stdout.trim().to_string()
}

#[pipeline_test("tests/pipelines/gitness.yaml", branch = "release/1.0", event = "push")]
fn a_push_to_a_release_branch(stage: &Stage) {
    assert_eq!(get(stage, "branch"), "release/1.0");
    assert_eq!(get(stage, "event"), "push");
    assert_eq!(get(stage, "workspace"), "/gitness");
    assert_eq!(
        get(stage, "root"),
        "yes",
        "the workspace is the repository's root"
    );
    assert_eq!(get(stage, "pushed"), "yes");
    assert_eq!(get(stage, "failed"), "");
    let versions = stage
        .service("cache")
        .exec_blocking(&["redis-cli", "smembers", "versions"])
        .unwrap();
    let mut versions: Vec<&str> = versions.stdout.lines().collect();
    versions.sort();
    assert_eq!(versions, ["v1", "v2"]);
    let skipped = stage
        .steps()
        .iter()
        .find(|s| s.name == "on failure")
        .unwrap();
    assert_eq!(
        skipped.status,
        StepStatus::NotRun {
            reason: "it runs only after a failure (`when: failure()`)".into()
        }
    );
}

#[pipeline_test("tests/pipelines/gitness.yaml")]
fn a_manual_run_skips_the_push_step(stage: &Stage) {
    assert_eq!(get(stage, "event"), "manual");
    assert_eq!(get(stage, "pushed"), "");
    let step = stage.steps().iter().find(|s| s.name == "on push").unwrap();
    assert!(
        matches!(&step.status, StepStatus::NotRun { reason } if reason.contains("is false")),
        "{:?}",
        step.status
    );
}

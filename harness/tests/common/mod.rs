//! Helpers for the tests that run stages on the real Docker engine.
#![allow(dead_code)]

use std::sync::Arc;

use pipeline_test_harness::Pipeline;
use pipeline_test_harness::SourceFile;
use pipeline_test_harness::{CollectObserver, StageReport};
use pipeline_test_harness::{RunOptions, Runner, Workspace};

pub use pipeline_test_support::images;

pub fn pipeline(yaml: &str) -> Pipeline {
    Pipeline::parse(&SourceFile::new("test.yaml", yaml)).unwrap_or_else(|d| panic!("{d}"))
}

pub fn options(observer: Arc<CollectObserver>) -> RunOptions {
    let mut o = RunOptions::from_env(".").unwrap();
    o.build.plan.images = images();
    o.build.workspace = Workspace::Volume;
    o.observer = observer;
    o
}

/// Runs stage 0 of `yaml`; returns the report and everything the run printed.
pub async fn run(yaml: &str) -> (StageReport, Vec<String>) {
    run_with(yaml, |_| {}).await
}

/// [`run`] with options changed by `tune` first.
pub async fn run_with(
    yaml: &str,
    tune: impl FnOnce(&mut pipeline_test_harness::RunOptions),
) -> (StageReport, Vec<String>) {
    let observer = Arc::new(CollectObserver::default());
    let mut opts = options(observer.clone());
    tune(&mut opts);
    let runner = Runner::connect(opts).await.unwrap();
    let report = runner
        .run_stage(&pipeline(yaml), 0)
        .await
        .unwrap_or_else(|e| {
            panic!("{e}\n(build the stand-in images with scripts/fixture-images.sh)")
        });
    let lines = observer.take();
    for l in &lines {
        println!("{l}");
    }
    assert_nothing_left(&report.run_id).await;
    (report, lines)
}

/// Fails when any container, network or volume of run `run_id` still exists.
pub async fn assert_nothing_left(run_id: &str) {
    let left = leftovers(&format!("pipeline-test.run={run_id}")).await;
    assert!(
        left.is_empty(),
        "run {run_id} left resources behind: {left:?}"
    );
}

/// Names of resources carrying `label` (`key=value`).
pub async fn leftovers(label: &str) -> Vec<String> {
    pipeline_test_support::leftovers_async(label).await
}

/// A one-stage pipeline with `steps` (each line indented by 6 spaces).
pub fn stage(steps: &str) -> String {
    format!(
        "kind: pipeline\nspec:\n  stages:\n  - name: test\n    type: ci\n    spec:\n      steps:\n{steps}"
    )
}

//! Helpers for the tests that run stages on the real Docker engine.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Arc;

use bollard::Docker;
use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListNetworksOptionsBuilder, ListVolumesOptionsBuilder,
};
use pipeline_test_harness::ImageMap;
use pipeline_test_harness::Pipeline;
use pipeline_test_harness::SourceFile;
use pipeline_test_harness::{CollectObserver, StageReport};
use pipeline_test_harness::{RunOptions, Runner, Workspace};

/// The stand-in images `scripts/fixture-images.sh` builds.
pub const DEFAULT_IMAGES: &str =
    "redis=pipeline-test-fixtures/redis:7,mysql:8.0=pipeline-test-fixtures/mysql:8.0";

/// `PIPELINE_TEST_IMAGES`, or the stand-ins by default.
pub fn images() -> ImageMap {
    let mut map = ImageMap::parse(DEFAULT_IMAGES).unwrap();
    map.extend(ImageMap::from_env().expect("PIPELINE_TEST_IMAGES is malformed"));
    map
}

pub fn pipeline(yaml: &str) -> Pipeline {
    Pipeline::parse(&SourceFile::new("test.yaml", yaml)).unwrap_or_else(|d| panic!("{d}"))
}

pub fn options(observer: Arc<CollectObserver>) -> RunOptions {
    let mut o = RunOptions::from_env(".").unwrap();
    o.plan.images = images();
    o.workspace = Workspace::Volume;
    o.observer = observer;
    o
}

/// Runs stage 0 of `yaml`; returns the report and everything the run printed.
pub async fn run(yaml: &str) -> (StageReport, Vec<String>) {
    let observer = Arc::new(CollectObserver::default());
    let runner = Runner::connect(options(observer.clone())).await.unwrap();
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
    let docker = Docker::connect_with_defaults()
        .unwrap()
        .negotiate_version()
        .await
        .unwrap();
    let filters = HashMap::from([("label".to_string(), vec![label.to_string()])]);
    let mut out = Vec::new();
    for c in docker
        .list_containers(Some(
            ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await
        .unwrap()
    {
        out.push(format!(
            "container {}",
            c.names.unwrap_or_default().join(",")
        ));
    }
    for n in docker
        .list_networks(Some(
            ListNetworksOptionsBuilder::default()
                .filters(&filters)
                .build(),
        ))
        .await
        .unwrap()
    {
        out.push(format!("network {}", n.name.unwrap_or_default()));
    }
    for v in docker
        .list_volumes(Some(
            ListVolumesOptionsBuilder::default()
                .filters(&filters)
                .build(),
        ))
        .await
        .unwrap()
        .volumes
        .unwrap_or_default()
    {
        out.push(format!("volume {}", v.name));
    }
    out
}

/// A one-stage pipeline with `steps` (each line indented by 6 spaces).
pub fn stage(steps: &str) -> String {
    format!(
        "kind: pipeline\nspec:\n  stages:\n  - name: test\n    type: ci\n    spec:\n      steps:\n{steps}"
    )
}

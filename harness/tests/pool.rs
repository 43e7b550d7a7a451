//! A runner reuses its network from one stage to the next, and removes it when it goes.
//! (A binary of its own: no other test's runner keeps the pool alive.)

mod common;

use std::process::Command;
use std::sync::Arc;

use common::{assert_nothing_left, options, pipeline, stage};
use pipeline_test_harness::CollectObserver;
use pipeline_test_harness::Runner;

fn network_exists(name: &str) -> bool {
    Command::new("docker")
        .args(["network", "inspect", name])
        .output()
        .unwrap()
        .status
        .success()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runner_reuses_its_network_and_removes_it_when_dropped() {
    let yaml = stage(
        "      - name: cache\n        type: background\n        spec: {container: redis}\n      - name: ping\n        type: run\n        spec: {container: redis, script: redis-cli -h cache ping}\n",
    );
    let runner = Runner::connect(options(Arc::new(CollectObserver::default())))
        .await
        .unwrap();
    let first = runner.run_stage(&pipeline(&yaml), 0).await.unwrap();
    let second = runner.run_stage(&pipeline(&yaml), 0).await.unwrap();
    assert!(first.passed() && second.passed());
    assert_eq!(
        first.network, second.network,
        "the second stage ran on the first one's network"
    );
    assert_nothing_left(&first.run_id).await;
    assert_nothing_left(&second.run_id).await;
    assert!(
        network_exists(&first.network),
        "kept, empty, while the runner lives"
    );
    drop(runner);
    assert!(!network_exists(&first.network), "removed with the runner");
}

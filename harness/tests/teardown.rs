//! Teardown on every path: a panic in the middle of a run, and a running stage dropped inside
//! a multi-thread runtime, a current-thread runtime, and outside any runtime. Also the clear
//! errors for images that cannot be had.

mod common;

use std::sync::{Arc, Mutex};

use common::{assert_nothing_left, options, pipeline, stage};
use pipeline_test_harness::Error;
use pipeline_test_harness::{CollectObserver, Event, Observer};
use pipeline_test_harness::{Runner, RunningStage};

const SERVICE_AND_STEP: &str = "      - name: cache
        type: background
        spec: {container: redis}
      - name: ping
        type: run
        spec: {container: redis, script: redis-cli -h cache ping}
";

/// Panics when the service is ready, after noting the run id.
#[derive(Default)]
struct PanicWhenReady {
    run_id: Mutex<Option<String>>,
}

impl Observer for PanicWhenReady {
    fn on_event(&self, event: &Event<'_>) {
        match event {
            Event::StageStarted { run_id, .. } => {
                *self.run_id.lock().unwrap() = Some(run_id.to_string())
            }
            Event::ServiceReady { .. } => panic!("a bug in the middle of a run"),
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_in_the_middle_of_a_run_leaves_nothing() {
    let observer = Arc::new(PanicWhenReady::default());
    let mut opts = options(Arc::new(CollectObserver::default()));
    opts.observer = observer.clone();
    let task = tokio::spawn(async move {
        let runner = Runner::connect(opts).await.unwrap();
        runner
            .run_stage(&pipeline(&stage(SERVICE_AND_STEP)), 0)
            .await
    });
    let err = task.await.unwrap_err();
    assert!(err.is_panic());
    let run_id = observer
        .run_id
        .lock()
        .unwrap()
        .clone()
        .expect("the run started");
    assert_nothing_left(&run_id).await;
}

async fn start() -> RunningStage {
    let runner = Runner::connect(options(Arc::new(CollectObserver::default())))
        .await
        .unwrap();
    let running = runner
        .start_stage(&pipeline(&stage(SERVICE_AND_STEP)), 0)
        .await
        .unwrap();
    assert!(running.passed());
    assert!(running.service("cache").is_some());
    running
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_inside_a_multi_thread_runtime() {
    let running = start().await;
    let run_id = running.run_id().to_string();
    drop(running);
    assert_nothing_left(&run_id).await;
}

#[tokio::test]
async fn dropped_inside_a_current_thread_runtime() {
    let running = start().await;
    let run_id = running.run_id().to_string();
    drop(running);
    assert_nothing_left(&run_id).await;
}

#[test]
fn dropped_outside_any_runtime() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let running = rt.block_on(start());
    drop(rt);
    let run_id = running.run_id().to_string();
    drop(running);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(assert_nothing_left(&run_id));
}

#[tokio::test]
async fn finish_tears_down_and_reports() {
    let running = start().await;
    let report = running.finish().await;
    assert!(report.passed());
    assert!(
        report.teardown_errors.is_empty(),
        "{:?}",
        report.teardown_errors
    );
    assert_nothing_left(&report.run_id).await;
}

/// Runs a one-step pipeline on `image` and returns the error and the run id.
async fn run_image(image_spec: &str) -> (Error, String) {
    let collect = Arc::new(CollectObserver::default());
    let runner = Runner::connect(options(collect.clone())).await.unwrap();
    let yaml = stage(&format!(
        "      - name: missing
        type: run
        spec:
          container: {image_spec}
          script: echo never
"
    ));
    let err = runner.run_stage(&pipeline(&yaml), 0).await.unwrap_err();
    let lines = collect.take();
    let run_id = lines[0]
        .split("(run ")
        .nth(1)
        .unwrap()
        .trim_end_matches(')')
        .to_string();
    (err, run_id)
}

#[tokio::test]
async fn an_image_that_cannot_be_pulled_is_named_with_the_registry_answer() {
    let (err, run_id) = run_image("pipeline-test-no-such-image/none:1").await;
    assert!(
        matches!(&err, Error::ImagePull { image, .. } if image == "pipeline-test-no-such-image/none:1"),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.starts_with("cannot pull image `pipeline-test-no-such-image/none:1`: "),
        "{text}"
    );
    assert!(text.contains("PIPELINE_TEST_IMAGES"), "{text}");
    assert_nothing_left(&run_id).await;
}

#[tokio::test]
async fn a_missing_image_with_pull_never_is_named() {
    let (err, run_id) = run_image("{image: pipeline-test-no-such-image/none:2, pull: never}").await;
    assert!(
        matches!(&err, Error::ImageMissing { image } if image == "pipeline-test-no-such-image/none:2"),
        "{err:?}"
    );
    assert!(err.to_string().contains("pull policy is `never`"), "{err}");
    assert_nothing_left(&run_id).await;
}

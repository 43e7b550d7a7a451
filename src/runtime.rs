//! What `#[pipeline_test]` expands to. Not a public API: its items may change at any time.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pipeline_test_harness::CollectObserver;
use pipeline_test_harness::Pipeline;
use pipeline_test_harness::SourceFile;
use pipeline_test_harness::{RunOptions, Runner};

use crate::Stage;

/// How long the services' published ports may take to open.
const PORTS_READY: Duration = Duration::from_secs(120);

/// One pipeline test, as the attribute saw it at compile time.
#[derive(Debug, Clone, Copy)]
pub struct TestSpec {
    /// `module::test_name`.
    pub name: &'static str,
    /// The file as written in the attribute.
    pub file: &'static str,
    /// Its text, embedded at compile time.
    pub yaml: &'static str,
    /// The stage's index.
    pub stage: usize,
    /// The whole test's timeout.
    pub timeout_ms: Option<u64>,
    /// The test crate's directory: the workspace of the stage.
    pub manifest_dir: &'static str,
}

/// What a test body may return: `()` or `Result<(), E: Debug>`.
#[diagnostic::on_unimplemented(
    message = "a pipeline test returns `()` or `Result<(), E>` where `E: Debug`, not `{Self}`",
    label = "this return type"
)]
pub trait TestResult {
    /// `Err` with a message when the test failed.
    fn into_result(self) -> Result<(), String>;
}

impl TestResult for () {
    fn into_result(self) -> Result<(), String> {
        Ok(())
    }
}

impl<E: std::fmt::Debug> TestResult for Result<(), E> {
    fn into_result(self) -> Result<(), String> {
        self.map_err(|e| format!("the test returned an error: {e:?}"))
    }
}

/// A sync test body.
pub fn run_sync<R: TestResult>(spec: TestSpec, body: fn(&Stage) -> R) {
    run(spec, |stage, _rt, _deadline| body(stage).into_result());
}

/// An async test body.
pub fn run_async<R: TestResult>(
    spec: TestSpec,
    body: for<'a> fn(&'a Stage) -> Pin<Box<dyn Future<Output = R> + 'a>>,
) {
    run(spec, |stage, rt, deadline| {
        let fut = body(stage);
        match deadline {
            Some(d) => rt
                .block_on(async {
                    tokio::time::timeout(d.saturating_duration_since(Instant::now()), fut).await
                })
                .map_err(|_| {
                    format!(
                        "the test body ran past the test's timeout of {}",
                        human(spec.timeout_ms)
                    )
                })
                .and_then(TestResult::into_result),
            None => rt.block_on(fut).into_result(),
        }
    });
}

fn human(ms: Option<u64>) -> String {
    pipeline_test_harness::duration::format_duration(Duration::from_millis(ms.unwrap_or(0)))
}

fn print(observer: &CollectObserver) {
    // From the test's own thread, so that libtest shows it only for a failing test.
    for line in observer.take() {
        println!("{line}");
    }
}

fn run(
    spec: TestSpec,
    body: impl FnOnce(&Stage, &tokio::runtime::Runtime, Option<Instant>) -> Result<(), String>,
) {
    let file = SourceFile::new(spec.file, spec.yaml);
    let pipeline = Pipeline::parse(&file).unwrap_or_else(|d| panic!("{d}"));
    let observer = Arc::new(CollectObserver::default());
    let mut options = RunOptions::from_env(spec.manifest_dir).unwrap_or_else(|e| panic!("{e}"));
    options.observer = observer.clone();
    // A test binary has no other way to clean up when it is interrupted.
    options.handle_signals = true;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("pipeline-test")
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("cannot start the async runtime: {e}"));
    let deadline = spec
        .timeout_ms
        .map(|ms| Instant::now() + Duration::from_millis(ms));
    let start = async {
        let runner = Runner::connect(options).await.map_err(|e| e.to_string())?;
        let running = runner
            .start_stage(&pipeline, spec.stage)
            .await
            .map_err(|e| e.to_string())?;
        if running.passed() {
            if let Err(e) = running.wait_for_ports(PORTS_READY).await {
                let report = running.finish().await;
                return Err(format!("{e}\n{}", report.summary()));
            }
        }
        Ok::<_, String>(running)
    };
    let started = match deadline {
        // Running out of time drops the run; its guard removes what it created.
        Some(d) => rt
            .block_on(async {
                tokio::time::timeout(d.saturating_duration_since(Instant::now()), start).await
            })
            .unwrap_or_else(|_| {
                Err(format!(
                    "the stage did not come up within the test's timeout of {}",
                    human(spec.timeout_ms)
                ))
            }),
        None => rt.block_on(start),
    };
    print(&observer);
    let running = match started {
        Ok(r) => r,
        Err(e) => panic!("pipeline test `{}` ({}): {e}", spec.name, spec.file),
    };
    if !running.passed() {
        let report = rt.block_on(running.finish());
        print(&observer);
        panic!(
            "{}",
            report
                .failure_message()
                .unwrap_or_else(|| "the stage failed".into())
        );
    }
    let stage = Stage { running };
    let outcome = catch_unwind(AssertUnwindSafe(|| body(&stage, &rt, deadline)));
    let report = rt.block_on(stage.running.finish());
    print(&observer);
    for e in &report.teardown_errors {
        eprintln!("pipeline-test: teardown: {e}");
    }
    match outcome {
        Err(panic) => resume_unwind(panic),
        Ok(Err(message)) => panic!("{message}"),
        Ok(Ok(())) => {}
    }
}

//! What `#[pipeline_test]` expands to. Not a public API: its items may change at any time.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pipeline_test_harness::{Event, Observer, Pipeline, RunOptions, Runner, SourceFile};
use tokio::runtime::Handle;

use crate::Stage;
use crate::messages;

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
#[track_caller]
pub fn run_sync<R: TestResult + 'static>(spec: TestSpec, body: fn(&Stage) -> R) {
    run(spec, move |stage, _| body(stage).into_result());
}

/// An async test body.
#[track_caller]
pub fn run_async<R: TestResult + 'static>(
    spec: TestSpec,
    body: for<'a> fn(&'a Stage) -> Pin<Box<dyn Future<Output = R> + 'a>>,
) {
    run(spec, move |stage, handle| {
        handle.block_on(body(stage)).into_result()
    });
}

/// Collects what the run says, to be printed from the test's own thread (libtest shows it
/// only for a failing test); the stage's own summary is printed by [`run`], which knows how
/// the test ended.
#[derive(Default)]
struct TestObserver(Mutex<Vec<String>>);

impl TestObserver {
    fn print(&self) {
        for line in std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner())) {
            println!("{line}");
        }
    }
}

impl Observer for TestObserver {
    fn on_event(&self, event: &Event<'_>) {
        // A stopped service fails the test before its body, with the same facts.
        if !matches!(
            event,
            Event::StageFinished { .. } | Event::ServiceExited { .. }
        ) {
            self.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(event.render());
        }
    }
}

/// How the body ended: its panic, or its result.
type BodyOutcome = std::thread::Result<Result<(), String>>;

#[track_caller]
fn run<B>(spec: TestSpec, body: B)
where
    B: FnOnce(&Stage, &Handle) -> Result<(), String> + Send + 'static,
{
    let file = SourceFile::new(spec.file, spec.yaml);
    let pipeline = match Pipeline::parse(&file) {
        Ok(p) => p,
        Err(d) => panic!("{d}"),
    };
    let observer = Arc::new(TestObserver::default());
    let mut options = match RunOptions::from_env(spec.manifest_dir) {
        Ok(o) => o,
        Err(e) => panic!("pipeline test `{}`: {e}", spec.name),
    };
    options.observer = observer.clone();
    // A test binary has no other way to clean up when it is interrupted.
    options.handle_signals = true;
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("pipeline-test")
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("cannot start the async runtime: {e}"),
    };
    let deadline = spec
        .timeout_ms
        .map(|ms| Instant::now() + Duration::from_millis(ms));
    let start = async {
        let runner = Runner::connect(options).await.map_err(|e| e.to_string())?;
        let mut running = runner
            .start_stage(&pipeline, spec.stage)
            .await
            .map_err(|e| e.to_string())?;
        if running.passed() {
            // Each service within its readiness budget; at once for one that has stopped.
            if let Err(e) = running.wait_until_ready().await {
                running.mark_failed();
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
            .unwrap_or_else(|_| Err(messages::stage_timed_out(spec.timeout_ms))),
        None => rt.block_on(start),
    };
    observer.print();
    let mut running = match started {
        Ok(r) => r,
        Err(e) => panic!("pipeline test `{}` ({}): {e}", spec.name, spec.file),
    };
    if !running.passed() {
        let report = rt.block_on(running.finish());
        observer.print();
        print!("{}", report.summary());
        let message = report.failure_message_after_output().unwrap_or_default();
        panic!("{}", message.trim_end());
    }
    let stage = Arc::new(Stage::new(&running));
    let handle = rt.handle().clone();
    let outcome: BodyOutcome = match deadline {
        None => catch_unwind(AssertUnwindSafe(|| body(&stage, &handle))),
        Some(d) => on_own_thread(spec, stage.clone(), handle, body, d),
    };
    let failed = !matches!(outcome, Ok(Ok(())));
    if failed {
        running.mark_failed();
    }
    let report = rt.block_on(running.finish());
    observer.print();
    if failed {
        print!("{}", report.table());
        println!("{}", messages::body_failed(&report.stage));
    } else {
        print!("{}", report.summary());
    }
    for e in &report.teardown_errors {
        eprintln!("pipeline-test: teardown: {e}");
    }
    // A body still running past its deadline keeps its thread; the runtime goes without it.
    rt.shutdown_background();
    match outcome {
        Err(panic) => resume_unwind(panic),
        Ok(Err(message)) => panic!("{message}"),
        Ok(Ok(())) => {}
    }
}

/// Runs the body on a thread of its own and waits for it until `deadline`; past it, the
/// test fails with the timeout message and the thread is left to finish on its own.
fn on_own_thread<B>(
    spec: TestSpec,
    stage: Arc<Stage>,
    handle: Handle,
    body: B,
    deadline: Instant,
) -> BodyOutcome
where
    B: FnOnce(&Stage, &Handle) -> Result<(), String> + Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name(spec.name.to_string())
        .spawn(move || {
            let outcome = catch_unwind(AssertUnwindSafe(|| body(&stage, &handle)));
            let _ = tx.send(outcome);
        });
    if let Err(e) = spawned {
        return Ok(Err(format!("cannot start a thread for the test body: {e}")));
    }
    match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        Ok(outcome) => outcome,
        Err(_) => Ok(Err(messages::body_timed_out(spec.timeout_ms))),
    }
}

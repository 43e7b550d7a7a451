//! What `#[pipeline_test]` expands to. Not a public API: its items may change at any time.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pipeline_test_harness::share::Claim;
use pipeline_test_harness::{Event, Observer, Outcome, Runner, prepare_stage};
use tokio::runtime::Handle;

use crate::Stage;
use crate::messages;
pub(crate) use crate::prepare::{Prepared, prepare};

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
    /// The test crate's directory.
    pub manifest_dir: &'static str,
    /// The pipeline file's absolute path: the git repository holding it gives the build
    /// context, and its root is the workspace.
    pub path: &'static str,
    /// `branch = "..."`: the branch built.
    pub branch: Option<&'static str>,
    /// `event = "..."`: the event (`manual` by default).
    pub event: Option<&'static str>,
    /// `shared`: one running stage for every test of the process with the same file, stage,
    /// build and `shared`.
    pub shared: bool,
    /// `steps =`: `"all"`, `"services"`, `"named"` (then [`TestSpec::step_names`]), or `""`
    /// for the format's default (the services of a GitHub Actions job, every step otherwise).
    pub steps: &'static str,
    /// The steps named by `steps = [...]`.
    pub step_names: &'static [&'static str],
    /// `matrix = "axis=value,..."`: the combination that runs (the first when empty).
    pub matrix: &'static str,
    /// The images the stage's steps name as written (without expressions): looked at on the
    /// engine while the pipeline is read.
    pub images: &'static [&'static str],
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
    run(spec, false, move |stage, _| body(stage).into_result());
}

/// An async test body.
#[track_caller]
pub fn run_async<R: TestResult + 'static>(
    spec: TestSpec,
    body: for<'a> fn(&'a Stage) -> Pin<Box<dyn Future<Output = R> + 'a>>,
) {
    run(spec, true, move |stage, handle| {
        handle.block_on(body(stage)).into_result()
    });
}

/// Collects what the run says, to be printed from the test's own thread (libtest shows it
/// only for a failing test); the stage's own summary is printed by [`run`], which knows how
/// the test ended.
#[derive(Default)]
pub(crate) struct TestObserver(Mutex<Vec<(Option<String>, String)>>);

impl TestObserver {
    fn lines(&self) -> std::sync::MutexGuard<'_, Vec<(Option<String>, String)>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn print(&self) {
        for (_, line) in std::mem::take(&mut *self.lines()) {
            println!("{line}");
        }
    }

    /// Prints all but the last `n` output lines of `step`: the failure message that follows
    /// holds them.
    fn print_all_but_tail(&self, step: &str, n: usize) {
        let mut lines = std::mem::take(&mut *self.lines());
        let mut left = n;
        for entry in lines.iter_mut().rev() {
            if left == 0 {
                break;
            }
            if entry.0.as_deref() == Some(step) {
                entry.1.clear();
                entry.0 = None;
                left -= 1;
            }
        }
        for (_, line) in lines.into_iter().filter(|(_, l)| !l.is_empty()) {
            println!("{line}");
        }
    }
}

impl Observer for TestObserver {
    fn on_event(&self, event: &Event<'_>) {
        let step = match event {
            // A stopped service fails the test before its body, with the same facts.
            Event::StageFinished { .. } | Event::ServiceExited { .. } => return,
            Event::Output { step, .. } => Some(step.to_string()),
            _ => None,
        };
        self.lines().push((step, event.render()));
    }
}

/// How the body ended: its panic, or its result.
pub(crate) type BodyOutcome = std::thread::Result<Result<(), String>>;

/// A runtime for one test: the stage's engine calls and an async body.
#[track_caller]
pub(crate) fn test_runtime() -> tokio::runtime::Runtime {
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("pipeline-test")
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("cannot start the async runtime: {e}"),
    }
}

/// Starts the stage on `rt` and waits until its services are ready, within the test's
/// deadline; the message says why not (a stage whose steps failed is returned as it is).
pub(crate) fn start_stage(
    spec: &TestSpec,
    prepared: Prepared,
    rt: &tokio::runtime::Runtime,
    deadline: Option<Instant>,
) -> Result<pipeline_test_harness::RunningStage, String> {
    start_stage_as(spec, prepared, rt, deadline, None)
}

/// [`start_stage`], as the shared stage `claim` names when there is one.
pub(crate) fn start_stage_as(
    spec: &TestSpec,
    prepared: Prepared,
    rt: &tokio::runtime::Runtime,
    deadline: Option<Instant>,
    claim: Option<&Claim>,
) -> Result<pipeline_test_harness::RunningStage, String> {
    let Prepared {
        mut pipeline,
        options,
        mut stage_index,
        upstream,
        written,
        choice,
        ..
    } = prepared;
    let context = options.build.context.clone();
    let start = async {
        let runner = Runner::connect(options).await.map_err(|e| e.to_string())?;
        if let Some(up) = &upstream {
            // The jobs it needs run first; then it is resolved with their outputs.
            pipeline = crate::needs::run_first(&runner, up, context).await?;
            stage_index = messages::combination(&pipeline, written, spec.matrix)?.unwrap_or(0);
            choice.apply(&mut pipeline, stage_index);
            if let Some(why) = messages::stage_does_not_run(&pipeline, stage_index) {
                return Err(format!(
                    "pipeline test `{}` ({}): {why}",
                    spec.name, spec.file
                ));
            }
        }
        let mut running = match claim {
            None => runner.start_stage(&pipeline, stage_index).await,
            Some(claim) => match prepare_stage(&pipeline, stage_index, &runner.options().build) {
                Ok(plan) => claim.start(&runner, plan).await,
                Err(e) => Err(e),
            },
        }
        .map_err(|e| e.to_string())?;
        if running.passed() {
            // Each service within its readiness budget; at once for one that has stopped.
            if let Err(e) = running.wait_until_ready().await {
                running.mark_failed();
                let report = running.finish().await;
                // The table alone: the steps passed, the test did not.
                return Err(format!("{e}\n{}", report.table()));
            }
        }
        Ok::<_, String>(running)
    };
    match deadline {
        // Running out of time drops the run; its guard removes what it created.
        Some(d) => rt
            .block_on(async {
                tokio::time::timeout(d.saturating_duration_since(Instant::now()), start).await
            })
            .unwrap_or_else(|_| Err(messages::stage_timed_out(spec.timeout_ms))),
        None => rt.block_on(start),
    }
}

/// A stage whose steps failed: its output (the failed step's last lines once, in the
/// message), its summary, and the message the test fails with.
pub(crate) fn steps_failed(
    rt: &tokio::runtime::Runtime,
    running: pipeline_test_harness::RunningStage,
    observer: &TestObserver,
) -> String {
    let report = rt.block_on(running.finish());
    let failed = match &report.outcome {
        Outcome::Failed { step, .. } => report.step(step),
        _ => None,
    };
    match failed {
        Some(s) => observer.print_all_but_tail(&s.name, s.output_tail.len()),
        None => observer.print(),
    }
    print!("{}", report.summary());
    report
        .failure_message()
        .unwrap_or_default()
        .trim_end()
        .to_string()
}

/// Runs the body: on this thread under `catch_unwind`, or with a deadline on a thread of its
/// own.
pub(crate) fn run_body<B>(
    spec: TestSpec,
    stage: Arc<Stage>,
    handle: Handle,
    body: B,
    deadline: Option<Instant>,
) -> BodyOutcome
where
    B: FnOnce(&Stage, &Handle) -> Result<(), String> + Send + 'static,
{
    match deadline {
        None => catch_unwind(AssertUnwindSafe(|| body(&stage, &handle))),
        Some(d) => on_own_thread(spec, stage, handle, body, d),
    }
}

/// Ends the test as the body did.
pub(crate) fn conclude(outcome: BodyOutcome) {
    match outcome {
        Err(panic) => resume_unwind(panic),
        Ok(Err(message)) => panic!("{message}"),
        Ok(Ok(())) => {}
    }
}

#[track_caller]
fn run<B>(spec: TestSpec, asynchronous: bool, body: B)
where
    B: FnOnce(&Stage, &Handle) -> Result<(), String> + Send + 'static,
{
    // In this binary's watcher process, this test is where it turns into the watcher.
    pipeline_test_harness::reaper::hook();
    pipeline_test_harness::reaper::entry_test(libtest_name(spec.name));
    let deadline = spec
        .timeout_ms
        .map(|ms| Instant::now() + Duration::from_millis(ms));
    if spec.shared {
        return crate::shared::run_shared(spec, body, deadline, asynchronous);
    }
    crate::prepare::warm_up(&spec);
    let prepared = prepare(&spec);
    let observer = prepared.observer.clone();
    let rt = test_runtime();
    let mut running = match start_stage(&spec, prepared, &rt, deadline) {
        Ok(r) => r,
        Err(_) if pipeline_test_harness::reaper::interrupted() => interrupted(&spec),
        Err(e) => {
            observer.print();
            panic!("pipeline test `{}` ({}): {e}", spec.name, spec.file)
        }
    };
    if !running.passed() {
        if pipeline_test_harness::reaper::interrupted() {
            interrupted(&spec);
        }
        let message = steps_failed(&rt, running, &observer);
        panic!("{message}");
    }
    observer.print();
    let stage = Arc::new(Stage::new(&running));
    let outcome = run_body(spec, stage, rt.handle().clone(), body, deadline);
    let failed = !matches!(outcome, Ok(Ok(())));
    if failed {
        running.mark_failed();
    }
    // A passed test does not wait for its stage's removal; a failed one reports it.
    let report = rt.block_on(running.finish_detached());
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
    conclude(outcome);
}

/// A test whose stage the signal handler removed (SIGINT, SIGTERM): it says so, not what the
/// removal did to its services.
fn interrupted(spec: &TestSpec) -> ! {
    let message = format!(
        "pipeline test `{}` ({}): interrupted (SIGINT or SIGTERM): its stage was removed",
        spec.name, spec.file
    );
    eprintln!("{message}");
    // The signal handler exits the process (130, 143) once everything is removed: the test
    // waits for it rather than ending the run first.
    std::thread::sleep(Duration::from_secs(90));
    panic!("{message}")
}

/// The name libtest gives test `crate::module::name`: `module::name`.
fn libtest_name(name: &str) -> &str {
    name.split_once("::").map_or(name, |(_, test)| test)
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

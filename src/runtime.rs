//! What `#[pipeline_test]` expands to. Not a public API: its items may change at any time.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pipeline_test_harness::resolve::StepChoice;
use pipeline_test_harness::spec::Format;
use pipeline_test_harness::{Event, Observer, Outcome, Pipeline, RunOptions, Runner, SourceFile};
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
}

impl TestSpec {
    /// The steps that run, for a pipeline of format `format`.
    pub(crate) fn step_choice(&self, format: Format) -> StepChoice {
        match self.steps {
            "all" => StepChoice::All,
            "services" => StepChoice::Services,
            "named" => StepChoice::Named(self.step_names.iter().map(|s| s.to_string()).collect()),
            _ if format == Format::GitHubActions => StepChoice::Services,
            _ => StepChoice::All,
        }
    }
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

/// A test's pipeline, resolved for its build, with the options to run it.
pub(crate) struct Prepared {
    pub pipeline: Pipeline,
    pub options: RunOptions,
    pub stage_index: usize,
    pub observer: Arc<TestObserver>,
    /// The jobs to run first, for a GitHub job that reads their outputs.
    pub upstream: Option<crate::needs::Upstream>,
    /// Where the test's stage is written.
    pub written: pipeline_test_harness::source::Span,
    /// Which of its steps run.
    pub choice: StepChoice,
}

/// Parses and resolves the test's pipeline and reads its options; panics with the reason when
/// the stage cannot run.
#[track_caller]
pub(crate) fn prepare(spec: &TestSpec) -> Prepared {
    let file = SourceFile::new(spec.file, spec.yaml);
    let pipeline = match Pipeline::parse(&file) {
        Ok(p) => p,
        Err(d) => panic!("{d}"),
    };
    let observer = Arc::new(TestObserver::default());
    let dir = std::path::Path::new(spec.path)
        .parent()
        .unwrap_or(std::path::Path::new(spec.manifest_dir));
    let mut options = match RunOptions::from_env(dir) {
        Ok(o) => o,
        Err(e) => panic!("pipeline test `{}`: {e}", spec.name),
    };
    if let Some(branch) = spec.branch {
        options.context.set_branch(branch);
    }
    if let Some(event) = spec.event {
        options.context.event = event.to_string();
    }
    // Expressions, matrices and `when` for this build; a warning (a secret not supplied) is
    // printed with the test's output.
    let written = pipeline.stages[spec.stage].span;
    let parsed = pipeline;
    let pipeline = match pipeline_test_harness::resolve::resolve(&parsed, &options.context) {
        Ok(p) => p,
        Err(d) => panic!("pipeline test `{}`:\n{d}", spec.name),
    };
    let upstream = crate::needs::upstream(&parsed, &pipeline, written);
    // The stage as resolved: a stage matrix before it adds copies; of the test's own stage's
    // copies, the first combination runs.
    let stage_index = match messages::combination(&pipeline, written, spec.matrix) {
        Ok(i) => i.unwrap_or(spec.stage),
        Err(why) => panic!("pipeline test `{}` ({}): {why}", spec.name, spec.file),
    };
    let choice = spec.step_choice(pipeline.format);
    let mut pipeline = pipeline;
    choice.apply(&mut pipeline, stage_index);
    // What the jobs run first hand on is no longer a warning. Warnings about other stages
    // (jobs) are not this test's; each is printed once per process.
    let lines = crate::needs::lines_of(&parsed, written);
    let first_stage = parsed.stages.iter().map(|s| s.span.start.line).min();
    let warnings: Vec<_> = pipeline
        .warnings
        .iter()
        .filter(|d| d.severity == pipeline_test_harness::Severity::Warning)
        .filter(|d| upstream.is_none() || d.until_job_runs.is_none())
        .filter(|d| {
            let line = d.span.start.line;
            lines.contains(&line) || first_stage.is_none_or(|f| line < f)
        })
        .filter(|d| first_time(&format!("{}:{}: {}", spec.path, d.span.start, d.message)))
        .cloned()
        .collect();
    if !warnings.is_empty() {
        print!(
            "{}",
            pipeline_test_harness::Diagnostics::new(file.clone(), warnings)
        );
    }
    if upstream.is_none() {
        if let Some(why) = messages::stage_does_not_run(&pipeline, stage_index) {
            panic!("pipeline test `{}` ({}): {why}", spec.name, spec.file);
        }
    }
    options.observer = observer.clone();
    // A test binary has no other way to clean up when it is interrupted.
    options.handle_signals = true;
    Prepared {
        pipeline,
        options,
        stage_index,
        observer,
        upstream,
        written,
        choice,
    }
}

/// True the first time `key` is seen in this process.
fn first_time(key: &str) -> bool {
    static SEEN: Mutex<Option<std::collections::HashSet<String>>> = Mutex::new(None);
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    seen.get_or_insert_with(Default::default)
        .insert(key.to_string())
}

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
    let Prepared {
        mut pipeline,
        options,
        mut stage_index,
        upstream,
        written,
        choice,
        ..
    } = prepared;
    let context = options.context.clone();
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
        let mut running = runner
            .start_stage(&pipeline, stage_index)
            .await
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
fn run<B>(spec: TestSpec, body: B)
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
        return crate::shared::run_shared(spec, body, deadline);
    }
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

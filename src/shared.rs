//! Shared stages (`#[pipeline_test("file.yaml", shared)]`): every test of the process that
//! names the same file, stage, build and `shared` uses one running stage. The first starts it
//! (its steps run once); the others wait for it and get the same [`Stage`]. It lives until the
//! process ends: the process's watcher removes it then (or the signal handler, on SIGINT or
//! SIGTERM). A stage that fails fails every test that uses it, with the same message.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, OnceLock};
use std::time::Instant;

use tokio::runtime::{Handle, Runtime};

use crate::Stage;
use crate::runtime::{
    TestSpec, conclude, prepare, run_body, start_stage, steps_failed, test_runtime,
};

/// A shared stage: up, or the message every test using it fails with.
type Shared = Result<Arc<Stage>, String>;

/// The shared stages of this process, by file, stage and build.
static STAGES: LazyLock<Mutex<HashMap<String, Arc<OnceLock<Shared>>>>> =
    LazyLock::new(Mutex::default);

/// The runtime shared stages start on and live on: it outlives every test.
static RUNTIME: LazyLock<Runtime> = LazyLock::new(test_runtime);

/// The stage as written (its index in the file), the build and the steps that run pick the
/// shared stage.
fn key(spec: &TestSpec) -> String {
    format!(
        "{}\u{0}{}\u{0}{:?}\u{0}{:?}\u{0}{}\u{0}{:?}",
        spec.path, spec.stage, spec.branch, spec.event, spec.steps, spec.step_names
    )
}

/// Starts the stage for the first test that asks (the pipeline is read and resolved only
/// then); `Err` is the message every test gets.
fn start(spec: &TestSpec, deadline: Option<Instant>) -> Shared {
    let prepared = prepare(spec);
    let observer = prepared.observer.clone();
    let running = match start_stage(spec, prepared, &RUNTIME, deadline) {
        Ok(r) => r,
        Err(e) => {
            observer.print();
            return Err(format!(
                "shared stage of {} (started by test `{}`): {e}",
                spec.file, spec.name
            ));
        }
    };
    if !running.passed() {
        let message = steps_failed(&RUNTIME, running, &observer);
        return Err(format!(
            "shared stage of {} (started by test `{}`): {message}",
            spec.file, spec.name
        ));
    }
    observer.print();
    println!(
        "stage `{}` is up and shared by the tests of this process (run {})",
        running.name(),
        running.run_id()
    );
    let stage = Arc::new(Stage::new(&running));
    running.detach();
    Ok(stage)
}

/// Runs a test on its shared stage.
#[track_caller]
pub(crate) fn run_shared<B>(spec: TestSpec, body: B, deadline: Option<Instant>)
where
    B: FnOnce(&Stage, &Handle) -> Result<(), String> + Send + 'static,
{
    let cell = STAGES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(key(&spec))
        .or_default()
        .clone();
    let mut started_here = false;
    let shared = cell.get_or_init(|| {
        started_here = true;
        start(&spec, deadline)
    });
    let stage = match shared {
        Ok(stage) => stage.clone(),
        Err(message) => panic!("{message}"),
    };
    if !started_here {
        println!(
            "using the shared stage `{}` (run {}), started by another test of this process",
            stage.name(),
            stage.run_id()
        );
    }
    // An async body gets a runtime of its own, as every test does.
    let rt = test_runtime();
    let outcome = run_body(spec, stage, rt.handle().clone(), body, deadline);
    rt.shutdown_background();
    conclude(outcome);
}

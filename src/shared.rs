//! Shared stages (`#[pipeline_test("file.yaml", shared)]`): every test of the run that names
//! the same file, stage, build and `shared` uses one running stage, whichever process it runs
//! in: the test binaries of one `cargo test`, or nextest's process per test (see
//! `pipeline_test_harness::share`). The first test to ask starts it (its steps run once); the
//! others wait for it and get the same [`Stage`], built from what the engine records, without
//! looking at its services again. It lives until the run ends: its run watcher removes it
//! once nextest or cargo has exited and no process uses it. A stage that fails fails every
//! test that uses it, with the same message.
//!
//! A test binary run by hand (no cargo, no nextest), or `PIPELINE_TEST_SHARE=process`, shares
//! within its process: the stage lives until the process ends (its watcher removes it then, or
//! the signal handler on SIGINT or SIGTERM).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, OnceLock};
use std::time::Instant;

use pipeline_test_harness::share::{self, Claim, Joined, RunIdentity, ShareScope, SharedKey};
use pipeline_test_harness::{Runner, prepare_stage};
use tokio::runtime::{Handle, Runtime};

use crate::Stage;
use crate::runtime::{
    TestSpec, conclude, prepare, run_body, start_stage, start_stage_as, steps_failed, test_runtime,
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

/// The stage for the first test of this process that asks: shared with the run when the
/// process belongs to one, else started here.
fn start(spec: &TestSpec, deadline: Option<Instant>) -> Shared {
    let scope = ShareScope::from_env()
        .map_err(|e| format!("pipeline test `{}` ({}): {e}", spec.name, spec.file))?;
    match RunIdentity::current().filter(|_| scope == ShareScope::Run) {
        Some(run) => join(spec, deadline, &SharedKey::new(run, &key(spec))),
        None => start_here(spec, deadline),
    }
}

/// Starts the stage in this process (the pipeline is read and resolved only then); `Err` is
/// the message every test gets.
fn start_here(spec: &TestSpec, deadline: Option<Instant>) -> Shared {
    crate::prepare::warm_up(spec);
    let prepared = prepare(spec);
    let observer = prepared.observer.clone();
    let running = match start_stage(spec, prepared, &RUNTIME, deadline) {
        Ok(r) => r,
        Err(e) => {
            observer.print();
            return Err(failed_message(spec, &e));
        }
    };
    if !running.passed() {
        let message = steps_failed(&RUNTIME, running, &observer);
        return Err(failed_message(spec, &message));
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

fn failed_message(spec: &TestSpec, message: &str) -> String {
    format!(
        "shared stage of {} (started by test `{}`): {message}",
        spec.file, spec.name
    )
}

/// The run's stage: found ready (or failed) on the engine, or started here when this process
/// wins the claim, or waited for while another process starts it.
fn join(spec: &TestSpec, deadline: Option<Instant>, key: &SharedKey) -> Shared {
    // Recorded already (every process of the run but the first): nothing else to do.
    match RUNTIME.block_on(share::find(key)) {
        Ok(Some(joined)) => {
            if let Ok(shared) = ready_or_failed(joined, key) {
                return shared;
            }
        }
        Ok(None) => {}
        Err(e) => return Err(failed_message(spec, &e.to_string())),
    }
    // Not recorded yet: this process may well be the one to start it.
    crate::prepare::warm_up(spec);
    let prepared = prepare(spec);
    let observer = prepared.observer.clone();
    let options = prepared.options.clone();
    // The stage as planned before any job it needs ran: the claim is made from its first image.
    let plan = prepare_stage(&prepared.pipeline, prepared.stage_index, &options.build)
        .map_err(|e| failed_message(spec, &e.to_string()))?;
    let joined = RUNTIME.block_on(async {
        let joining = async {
            let runner = Runner::connect(options).await?;
            runner.join_shared(key, &plan).await
        };
        match deadline {
            Some(d) => tokio::time::timeout(d.saturating_duration_since(Instant::now()), joining)
                .await
                .unwrap_or(Err(pipeline_test_harness::Error::InvalidEnv {
                    name: "the test's timeout",
                    reason: "it ran out while another process of the run started the shared stage"
                        .into(),
                })),
            None => joining.await,
        }
    });
    let joined = joined.map_err(|e| failed_message(spec, &e.to_string()))?;
    let claim = match ready_or_failed(joined, key) {
        Ok(shared) => return shared,
        Err(claim) => claim,
    };
    let running = match start_stage_as(spec, prepared, &RUNTIME, deadline, Some(&claim)) {
        Ok(r) => r,
        Err(e) => {
            observer.print();
            return Err(record_failure(claim, failed_message(spec, &e)));
        }
    };
    if !running.passed() {
        let message = steps_failed(&RUNTIME, running, &observer);
        return Err(record_failure(claim, failed_message(spec, &message)));
    }
    observer.print();
    println!(
        "stage `{}` is up and shared by the tests of {} (run {})",
        running.name(),
        key.run().id(),
        running.run_id()
    );
    let stage = Arc::new(Stage::new(&running));
    let started_by = format!("test `{}` (process {})", spec.name, std::process::id());
    RUNTIME
        .block_on(claim.ready(running, &started_by))
        .map_err(|e| failed_message(spec, &e.to_string()))?;
    Ok(stage)
}

/// The stage another process started (or its failure), or this process's claim.
fn ready_or_failed(joined: Joined, key: &SharedKey) -> Result<Shared, Claim> {
    match joined {
        Joined::Ready(shared) => {
            println!(
                "using the shared stage `{}` (run {}), started by {} in {}",
                shared.name,
                shared.run_id,
                shared.started_by,
                key.run().id()
            );
            Ok(Ok(Arc::new(Stage::from_shared(shared))))
        }
        Joined::Failed(message) => Ok(Err(message)),
        Joined::Claimed(claim) => Err(claim),
        _ => Ok(Err(
            "the engine answered in a way this version does not know".into(),
        )),
    }
}

/// Records the failure for every process of the run; the message.
fn record_failure(claim: Claim, message: String) -> String {
    RUNTIME.block_on(claim.failed(&message));
    message
}

/// Runs a test on its shared stage; an `asynchronous` body gets a runtime of its own, as every
/// test does (a synchronous one, none: the shared stages' runtime serves what it blocks on).
#[track_caller]
pub(crate) fn run_shared<B>(spec: TestSpec, body: B, deadline: Option<Instant>, asynchronous: bool)
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
            "using the shared stage `{}` (run {}), as another test of this process does",
            stage.name(),
            stage.run_id()
        );
    }
    let rt = asynchronous.then(test_runtime);
    let handle = rt
        .as_ref()
        .map_or_else(|| RUNTIME.handle(), |rt| rt.handle());
    let outcome = run_body(spec, stage, handle.clone(), body, deadline);
    if let Some(rt) = rt {
        rt.shutdown_background();
    }
    conclude(outcome);
}

//! One stage for every process of a run: the tests of one `cargo test` or
//! `cargo nextest run` that name the same file, stage, build and `shared` use one running
//! stage, whichever process (test binary, or nextest's process per test) they run in.
//!
//! How it works, on the engine alone (so that it holds across processes and PID namespaces):
//!
//! - **The run** is nextest's `NEXTEST_RUN_ID`, else the `cargo` process that started this
//!   test binary ([`RunIdentity`]). A process started otherwise (a test binary run by hand)
//!   has no run: its shared stages are its own.
//! - **The lock is a name.** The stage's network is named after the run and the stage
//!   ([`SharedKey`]): the engine creates a network of a given name once, so exactly one
//!   process's create succeeds. That process starts the stage; the others wait.
//! - **Readiness is recorded on the engine**: the starting process writes the stage's
//!   services (containers, ports, environment) as a record, or the message it failed with,
//!   and the others build the same services from it without checking them again.
//! - **Each user holds a reference**: a volume naming the stage and the process (host, pid and
//!   start time), made before the process looks for the stage. A process that only uses the
//!   stage needs nothing else: no lease, no watcher, no pipeline read ([`find`]).
//! - **A run watcher** (a process of its own, started by the process that won) keeps the
//!   stage's heartbeat and removes the stage once the run's parent (nextest, cargo) has ended
//!   and no user is alive, within about a second; also after SIGKILL of nextest. If the
//!   starting process dies before the record, it removes what was started, and the next
//!   process to look starts the stage again.
//!
//! `PIPELINE_TEST_SHARE=process` keeps every shared stage to its process.

mod record;

use std::time::Duration;

use sha2::Digest;

pub(crate) use record::Record;
use record::{ServiceRecord, StepRecord};

use crate::Error;
use crate::engine::Engine;
use crate::plan::StagePlan;
use crate::report::StepReport;
use crate::run::{Runner, RunningStage};
use crate::service::Service;

/// `PIPELINE_TEST_SHARE`: `run` (the default) or `process`.
pub const SHARE_ENV: &str = "PIPELINE_TEST_SHARE";

/// How often a waiting process looks at the record, at first; it backs off to
/// [`POLL_MAX`].
const POLL_FIRST: Duration = Duration::from_millis(25);
/// The longest pause between two looks.
const POLL_MAX: Duration = Duration::from_millis(200);

/// How far a shared stage is shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ShareScope {
    /// Every process of the run (the default).
    Run,
    /// This process only.
    Process,
}

impl ShareScope {
    /// `PIPELINE_TEST_SHARE` (unset or empty: [`ShareScope::Run`]).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidEnv`] for any other value, naming the two that are right.
    ///
    /// # Examples
    ///
    /// ```
    /// use pipeline_test_harness::share::ShareScope;
    /// assert_eq!(ShareScope::parse("process"), Some(ShareScope::Process));
    /// assert_eq!(ShareScope::parse(""), Some(ShareScope::Run));
    /// assert_eq!(ShareScope::parse("thread"), None);
    /// ```
    pub fn from_env() -> Result<ShareScope, Error> {
        let value = std::env::var(SHARE_ENV).unwrap_or_default();
        ShareScope::parse(&value).ok_or_else(|| Error::InvalidEnv {
            name: SHARE_ENV,
            reason: format!("`{value}` is not a scope: write `run` (the default) or `process`"),
        })
    }

    /// The scope `value` names.
    pub fn parse(value: &str) -> Option<ShareScope> {
        match value.trim().to_ascii_lowercase().as_str() {
            "" | "run" => Some(ShareScope::Run),
            "process" => Some(ShareScope::Process),
            _ => None,
        }
    }
}

/// The run a test process belongs to: nextest's run, or the `cargo` process that started it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunIdentity {
    id: String,
    parent: u32,
    parent_start: u64,
}

impl RunIdentity {
    /// This process's run; `None` when its parent is not nextest or cargo.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use pipeline_test_harness::share::RunIdentity;
    /// if let Some(run) = RunIdentity::current() {
    ///     println!("part of {}", run.id());
    /// }
    /// ```
    pub fn current() -> Option<RunIdentity> {
        let parent = std::os::unix::process::parent_id();
        let comm = std::fs::read_to_string(format!("/proc/{parent}/comm")).ok();
        RunIdentity::from_parts(
            std::env::var("NEXTEST_RUN_ID").ok().as_deref(),
            parent,
            comm.as_deref(),
            crate::labels::process_start_time(parent),
        )
    }

    /// The run of a process whose parent is `parent` (named `comm`, started at
    /// `parent_start`), under nextest run `nextest` if any.
    pub(crate) fn from_parts(
        nextest: Option<&str>,
        parent: u32,
        comm: Option<&str>,
        parent_start: Option<u64>,
    ) -> Option<RunIdentity> {
        let parent_start = parent_start?;
        // Only a direct child counts: a process that a test started inherits
        // `NEXTEST_RUN_ID` but is no test of that run.
        let comm = comm.map(str::trim).unwrap_or_default();
        let id = match nextest.map(str::trim).filter(|n| !n.is_empty()) {
            Some(run) if comm.starts_with("cargo-nextest") || comm == "nextest" => {
                format!("nextest run {run}")
            }
            _ if comm == "cargo" => format!("cargo (process {parent}, started at {parent_start})"),
            _ => return None,
        };
        Some(RunIdentity {
            id,
            parent,
            parent_start,
        })
    }

    /// How the run is named: `nextest run <id>`, or `cargo (process <pid>, ...)`.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// A stage shared by the processes of a run: the run, and what picks the stage in it (file,
/// stage, build, steps).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedKey {
    run: RunIdentity,
    /// 12 hex digits of the digest of the run and the stage: the stage's run id and lease.
    id: String,
}

impl SharedKey {
    /// The stage `stage` (any text that tells stages apart: file, stage, build, steps) in
    /// `run`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use pipeline_test_harness::share::{RunIdentity, SharedKey};
    /// let run = RunIdentity::current().expect("started by cargo or nextest");
    /// let key = SharedKey::new(run, "tests/ci.yaml\0stage 0");
    /// assert_eq!(key.run_id().len(), 12);
    /// ```
    pub fn new(run: RunIdentity, stage: &str) -> SharedKey {
        let mut digest = sha2::Sha256::new();
        digest.update(run.id.as_bytes());
        digest.update([0]);
        digest.update(stage.as_bytes());
        let id: String = digest
            .finalize()
            .iter()
            .take(6)
            .map(|b| format!("{b:02x}"))
            .collect();
        SharedKey { run, id }
    }

    /// The run id every resource of the stage carries (also its lease token).
    pub fn run_id(&self) -> &str {
        &self.id
    }

    /// The run it belongs to.
    pub fn run(&self) -> &RunIdentity {
        &self.run
    }

    /// The network whose name is the lock.
    pub(crate) fn network(&self) -> String {
        format!("pipeline-test-shared-{}", self.id)
    }

    /// The run's parent process: its pid and start time.
    pub(crate) fn parent(&self) -> (u32, u64) {
        (self.run.parent, self.run.parent_start)
    }
}

/// What the engine holds of a shared stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SharedState {
    /// Nobody has claimed it (or what was claimed is gone).
    Unclaimed,
    /// Claimed; being started.
    Starting,
    /// Up: the record, as JSON.
    Ready(String),
    /// It failed: the message every test using it fails with.
    Failed(String),
}

/// A shared stage another process of the run started: its services, reached from this
/// process, never waited for again.
#[derive(Debug)]
#[non_exhaustive]
pub struct SharedStage {
    /// The stage's name.
    pub name: String,
    /// Its run id.
    pub run_id: String,
    /// Who started it (a test, and its process).
    pub started_by: String,
    /// The background services.
    pub services: Vec<Service>,
    /// The steps' reports, as the starting process saw them.
    pub steps: Vec<StepReport>,
}

/// What joining a shared stage gave.
#[derive(Debug)]
#[non_exhaustive]
pub enum Joined {
    /// Another process started it; it is up.
    Ready(SharedStage),
    /// It failed in the process that started it: the message.
    Failed(String),
    /// This process is the one to start it: [`Claim::start`], then [`Claim::ready`] or
    /// [`Claim::failed`].
    Claimed(Claim),
}

/// The right, and the duty, to start a shared stage for the run. Dropped without
/// [`Claim::ready`] or [`Claim::failed`], what was started is removed and another process
/// starts the stage.
#[derive(Debug)]
pub struct Claim {
    key: SharedKey,
    engine: Engine,
    done: bool,
}

impl Claim {
    /// The run id the stage's resources carry.
    pub fn run_id(&self) -> &str {
        self.key.run_id()
    }

    /// Starts the stage as [`Runner::start`] does, under the shared stage's run id, lease and
    /// network.
    ///
    /// # Errors
    ///
    /// As [`Runner::start`].
    pub async fn start(&self, runner: &Runner, plan: StagePlan) -> Result<RunningStage, Error> {
        runner.start_shared(plan, &self.key).await
    }

    /// The stage is up: records it for the other processes of the run, and leaves it running
    /// for them (the run watcher removes it at the run's end).
    ///
    /// # Errors
    ///
    /// [`Error::Engine`] when the engine refuses the record.
    pub async fn ready(mut self, running: RunningStage, started_by: &str) -> Result<(), Error> {
        let record = Record {
            stage: running.name().to_string(),
            run_id: running.run_id().to_string(),
            started_by: started_by.to_string(),
            services: running.services().iter().map(ServiceRecord::of).collect(),
            steps: running.steps().iter().map(StepRecord::of).collect(),
        };
        let json = serde_json::to_string(&record).map_err(|e| Error::InvalidEnv {
            name: "the shared stage's record",
            reason: e.to_string(),
        })?;
        running.detach();
        self.done = true;
        self.engine
            .publish_shared(&self.key, &SharedState::Ready(json))
            .await
            .map_err(|e| e.doing("record the shared stage"))
    }

    /// The stage failed: every process of the run that uses it fails with `message`.
    pub async fn failed(mut self, message: &str) {
        self.done = true;
        let state = SharedState::Failed(message.to_string());
        if let Err(e) = self.engine.publish_shared(&self.key, &state).await {
            eprintln!("pipeline-test: cannot record the shared stage's failure: {e}");
        }
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if !self.done {
            self.engine.abandon_shared(&self.key);
        }
    }
}

impl Runner {
    /// Joins the shared stage `key` (planned as `plan`) for this process: registers the
    /// process as a user, then finds the stage ready (or failed), or claims it when nobody has,
    /// or waits while another process starts it.
    ///
    /// # Errors
    ///
    /// [`Error::Engine`] when the engine refuses a request; a record that cannot be read.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn f(runner: pipeline_test_harness::Runner, plan: pipeline_test_harness::StagePlan)
    /// # -> Result<(), pipeline_test_harness::Error> {
    /// use pipeline_test_harness::share::{Joined, RunIdentity, SharedKey};
    ///
    /// let key = SharedKey::new(RunIdentity::current().unwrap(), "tests/ci.yaml");
    /// match runner.join_shared(&key, &plan).await? {
    ///     Joined::Ready(stage) => println!("{} services", stage.services.len()),
    ///     Joined::Failed(message) => panic!("{message}"),
    ///     Joined::Claimed(claim) => {
    ///         let running = claim.start(&runner, plan.clone()).await?;
    ///         claim.ready(running, "this test").await?;
    ///     }
    ///     _ => {}
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn join_shared(&self, key: &SharedKey, plan: &StagePlan) -> Result<Joined, Error> {
        let engine = self.engine();
        engine
            .join_shared(key)
            .await
            .map_err(|e| e.doing("register this process as a user of the shared stage"))?;
        let mut pause = POLL_FIRST;
        loop {
            if crate::reaper::interrupted() {
                return Err(Error::Interrupted);
            }
            let state = engine
                .shared_state(key)
                .await
                .map_err(|e| e.doing("look for the shared stage"))?;
            match state {
                SharedState::Ready(json) => return self.joined(&json).map(Joined::Ready),
                SharedState::Failed(message) => return Ok(Joined::Failed(message)),
                SharedState::Unclaimed => {
                    let won = engine.claim_shared(key, plan).await?;
                    if won {
                        return Ok(Joined::Claimed(Claim {
                            key: key.clone(),
                            engine: engine.clone(),
                            done: false,
                        }));
                    }
                }
                SharedState::Starting => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(POLL_MAX);
                }
            }
        }
    }

    /// The stage of a record, its services reached through this runner's engine.
    fn joined(&self, json: &str) -> Result<SharedStage, Error> {
        stage_of(&self.engine(), json, self.options().engine.keep)
    }
}

/// Looks on the engine for shared stage `key`, ready or failed, and registers this process as
/// its user: the quick way in for every process of the run but the one that starts the stage.
/// Nothing else happens first (no pipeline read, no git, no lease, no watcher): `None` when the
/// stage is not recorded yet, and the caller then takes the whole way
/// ([`Runner::join_shared`]).
///
/// # Errors
///
/// [`Error::DockerUnreachable`]; [`Error::Engine`] when the engine refuses a request.
///
/// # Examples
///
/// ```no_run
/// # async fn f() -> Result<(), pipeline_test_harness::Error> {
/// use pipeline_test_harness::share::{Joined, RunIdentity, SharedKey, find};
///
/// let key = SharedKey::new(RunIdentity::current().unwrap(), "tests/ci.yaml");
/// if let Some(Joined::Ready(stage)) = find(&key).await? {
///     println!("started by {}", stage.started_by);
/// }
/// # Ok(()) }
/// ```
pub async fn find(key: &SharedKey) -> Result<Option<Joined>, Error> {
    crate::reaper::hook();
    let engine: Engine =
        std::sync::Arc::new(crate::engine::docker::DockerEngine::connect(false).await?);
    engine
        .join_shared(key)
        .await
        .map_err(|e| e.doing("register this process as a user of the shared stage"))?;
    let state = engine
        .shared_state(key)
        .await
        .map_err(|e| e.doing("look for the shared stage"))?;
    let keep = std::env::var(crate::run::KEEP_ENV)
        .ok()
        .and_then(|v| crate::teardown::Keep::parse(&v))
        .unwrap_or(crate::teardown::Keep::Never);
    Ok(match state {
        SharedState::Ready(json) => Some(Joined::Ready(stage_of(&engine, &json, keep)?)),
        SharedState::Failed(message) => Some(Joined::Failed(message)),
        SharedState::Starting | SharedState::Unclaimed => None,
    })
}

/// The stage of a record, its services reached through `engine`.
fn stage_of(
    engine: &Engine,
    json: &str,
    keep: crate::teardown::Keep,
) -> Result<SharedStage, Error> {
    let record: Record = serde_json::from_str(json).map_err(|e| Error::InvalidEnv {
        name: "the shared stage's record",
        reason: format!("it cannot be read ({e}); run `pipeline-test clean` and try again"),
    })?;
    Ok(SharedStage {
        services: record
            .services
            .iter()
            .map(|s| s.service(engine, keep))
            .collect(),
        steps: record.steps.iter().map(StepRecord::report).collect(),
        name: record.stage,
        run_id: record.run_id,
        started_by: record.started_by,
    })
}

#[cfg(test)]
mod tests;

//! Joining a shared stage: registering as a user, then finding its record (ready or failed),
//! claiming it, or waiting while another process starts it; the claim's duties.

use std::time::Duration;

use futures::StreamExt;

use super::record::{Record, ServiceRecord, StepRecord};
use super::{SharedKey, SharedState};
use crate::Error;
use crate::engine::Engine;
use crate::plan::StagePlan;
use crate::report::StepReport;
use crate::run::{Runner, RunningStage};
use crate::service::Service;

/// How often a waiting process looks at the record, at first; it backs off to
/// [`POLL_MAX`].
const POLL_FIRST: Duration = Duration::from_millis(25);
/// The longest pause between two looks.
const POLL_MAX: Duration = Duration::from_millis(200);

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
        // Told when the record is made (the engine's events), so that the waiting ends then;
        // looked at again after a pause as well, for a claim given up, which makes no record.
        let mut changes = engine.shared_changes(key).fuse();
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
                    let told = async {
                        // An engine that stops telling leaves the pauses.
                        if changes.next().await.is_none() {
                            std::future::pending::<()>().await;
                        }
                    };
                    tokio::select! {
                        () = tokio::time::sleep(pause) => pause = (pause * 2).min(POLL_MAX),
                        () = told => {}
                    }
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
    // Both at once: the stage is used only once both are done.
    let (registered, state) = tokio::join!(engine.join_shared(key), engine.shared_state(key));
    registered.map_err(|e| e.doing("register this process as a user of the shared stage"))?;
    let state = state.map_err(|e| e.doing("look for the shared stage"))?;
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

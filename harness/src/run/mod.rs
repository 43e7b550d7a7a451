//! The plan on an engine (`crate::engine`: Docker, or the fake one in tests): a [`Runner`]
//! has the engine prepare a stage's images, network and volumes, starts its services
//! (`service`, `readiness`, `health`, `wait`) and run steps (`launch`, `gate`, `output`) in the
//! order `schedule` gives, records every step in one run state (`state`), and hands back a
//! [`RunningStage`] (`running`) whose teardown the guard makes sure of. `tests/` runs this
//! logic through the fake engine.

mod file_commands;
mod gate;
mod github;
mod health;
mod launch;
mod options;
mod output;
mod plan;
mod prepare;
mod readiness;
mod running;
mod schedule;
mod service;
mod state;
mod step;
#[cfg(test)]
mod tests;
mod wait;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use gate::DEFAULT_LOOKAHEAD;
pub use options::{
    BuildOptions, DEFAULT_IMAGE_ENV, EngineOptions, FIXED_PORTS_ENV, KEEP_ENV, LOOKAHEAD_ENV,
    Limits, READY_TIMEOUT_ENV, RunOptions, WORKSPACE_PATH_ENV, Workspace,
};
pub use plan::prepare_stage;
pub use running::RunningStage;
pub use wait::DEFAULT_READY_TIMEOUT;

pub(crate) use prepare::{DEFAULT_NETWORK, ImageFacts, Prepared, WorkspaceSource};

use self::gate::Gates;
use self::launch::{Launcher, Removals};
use self::state::RunState;
use self::step::StageRun;
use crate::Error;
use crate::engine::{Engine, PrepareRequest};
use crate::labels::new_run_id;
use crate::plan::StagePlan;
use crate::report::{Event, StageReport, Timings};
use crate::spec::Pipeline;
use crate::teardown::{Guard, Keep};

/// Runs stages on the Docker engine that `DOCKER_HOST` names.
///
/// # Examples
///
/// ```no_run
/// # async fn demo() -> Result<(), pipeline_test_harness::Error> {
/// use pipeline_test_harness::{Pipeline, RunOptions, Runner};
///
/// let pipeline = Pipeline::from_path("examples/seed/communication.yaml")?;
/// let runner = Runner::connect(RunOptions::from_env(".")?).await?;
/// let report = runner.run_stage(&pipeline, 0).await?;
/// assert!(report.passed(), "{}", report.summary());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Runner {
    engine: Engine,
    options: RunOptions,
}

impl Runner {
    /// Connects to the engine.
    ///
    /// # Errors
    ///
    /// [`Error::DockerUnreachable`] naming the endpoint tried.
    pub async fn connect(options: RunOptions) -> Result<Self, Error> {
        crate::reaper::hook();
        if crate::reaper::interrupted() {
            return Err(Error::Interrupted);
        }
        let engine =
            crate::engine::docker::DockerEngine::connect(options.engine.handle_signals).await?;
        Ok(Runner::with_engine(Arc::new(engine), options))
    }

    /// A runner on `engine` (the fake engine of the run-logic tests).
    pub(crate) fn with_engine(engine: Engine, options: RunOptions) -> Self {
        Runner { engine, options }
    }

    /// What this process created that still exists (containers and networks, by their owner
    /// label), as `kind name` strings: after an interrupted run, empty when everything was
    /// really removed.
    ///
    /// # Errors
    ///
    /// [`Error::Engine`] when the engine cannot list them.
    pub async fn leftovers(&self) -> Result<Vec<String>, Error> {
        self.engine.leftovers().await
    }

    /// Ends this process's lease on the engine now, so that nothing of the process is left
    /// once it exits (without it, the process's watcher removes the lease's last heartbeat
    /// within about a second of the exit). Call it last, when every runner of the process is
    /// done: stages started afterwards have no heartbeat, and another process's sweep may
    /// remove them.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), pipeline_test_harness::Error> {
    /// use pipeline_test_harness::{Pipeline, RunOptions, Runner};
    ///
    /// let runner = Runner::connect(RunOptions::from_env(".")?).await?;
    /// let report = runner.run_stage(&Pipeline::from_path("ci.yaml")?, 0).await?;
    /// runner.release().await; // `docker volume ls` shows nothing of this process now
    /// # Ok(()) }
    /// ```
    pub async fn release(&self) {
        self.engine.release().await;
    }

    /// The options this runner was made with.
    pub fn options(&self) -> &RunOptions {
        &self.options
    }

    /// Runs stage `index` of `pipeline` to the end and tears it down.
    ///
    /// # Errors
    ///
    /// Engine errors (an image that cannot be had, a refused request). A failing step is not
    /// an error: it is in the report.
    pub async fn run_stage(&self, pipeline: &Pipeline, index: usize) -> Result<StageReport, Error> {
        Ok(self.start_stage(pipeline, index).await?.finish().await)
    }

    /// Runs every step of stage `index` and returns with its services still up; call
    /// [`RunningStage::finish`] to tear it down (dropping it tears down too).
    ///
    /// # Errors
    ///
    /// As [`Runner::run_stage`]; everything created is removed before the error returns.
    pub async fn start_stage(
        &self,
        pipeline: &Pipeline,
        index: usize,
    ) -> Result<RunningStage, Error> {
        if crate::reaper::interrupted() {
            return Err(Error::Interrupted);
        }
        self.start(prepare_stage(pipeline, index, &self.options.build)?)
            .await
    }

    /// Runs every step of a planned stage (see [`prepare_stage`]) and returns with its
    /// services still up; call [`RunningStage::finish`] to tear it down (dropping it tears
    /// down too).
    ///
    /// # Errors
    ///
    /// As [`Runner::run_stage`]; everything created is removed before the error returns.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), pipeline_test_harness::Error> {
    /// use pipeline_test_harness::{Pipeline, RunOptions, Runner, prepare_stage};
    ///
    /// let pipeline = Pipeline::from_path("examples/seed/communication.yaml")?;
    /// let options = RunOptions::from_env(".")?;
    /// let plan = prepare_stage(&pipeline, 0, &options.build)?;
    /// let stage = Runner::connect(options).await?.start(plan).await?;
    /// assert!(stage.passed());
    /// stage.finish().await;
    /// # Ok(()) }
    /// ```
    pub async fn start(&self, plan: StagePlan) -> Result<RunningStage, Error> {
        self.start_as(plan, new_run_id(), None).await
    }

    /// Starts a stage shared by the processes of a run (see [`crate::share`]): its resources
    /// carry the shared stage's run id and lease, and it runs on the network whose name was
    /// the lock.
    pub(crate) async fn start_shared(
        &self,
        plan: StagePlan,
        key: &crate::share::SharedKey,
    ) -> Result<RunningStage, Error> {
        crate::labels::set_run_lease(key.run_id(), key.run_id());
        // The claim made its network, but for a lone stage (the engine's default network).
        let network = (!plan.is_lone()).then(|| key.network());
        self.start_as(plan, key.run_id().to_string(), network).await
    }

    /// The engine this runner uses.
    pub(crate) fn engine(&self) -> Engine {
        self.engine.clone()
    }

    /// Starts `plan` as run `run_id`, on `network` when the stage's network exists already.
    async fn start_as(
        &self,
        plan: StagePlan,
        run_id: String,
        network: Option<String>,
    ) -> Result<RunningStage, Error> {
        if crate::reaper::interrupted() {
            return Err(Error::Interrupted);
        }
        let started = Instant::now();
        let observer = self.options.observer.clone();
        let guard = Guard::new(self.engine.clone(), run_id, self.options.engine.keep);
        if self.options.engine.keep != Keep::Never {
            // Marked from the start: a process killed with SIGKILL leaves its run kept too.
            if let Some(marker) = self.engine.mark_kept(guard.run_id()).await {
                guard.track(|r| r.volumes.push(marker));
            }
            crate::reaper::keep(guard.run_id());
        }
        observer.on_event(&Event::StageStarted {
            stage: &plan.name,
            run_id: guard.run_id(),
        });
        let mut timings = Timings::default();
        let request = PrepareRequest {
            plan: &plan,
            guard: &guard,
            workspace: &self.options.build.workspace,
            reuse_networks: self.options.engine.reuse_networks,
            network,
            observer: observer.as_ref(),
        };
        let prepared = self.engine.prepare(request, &mut timings).await;
        let prepared = match prepared {
            Ok(p) => p,
            Err(e) => {
                guard
                    .teardown(self.options.engine.reuse_networks, true)
                    .await;
                return Err(e);
            }
        };
        let mut state = RunState::new(plan.steps.len());
        state.timings = timings;
        let stage = StageRun {
            github: plan.github.clone().map(github::Job::new),
            gates: Gates::new(plan.steps.len(), self.options.limits.lookahead),
            keep: self.options.engine.keep,
            plan,
            launch: Launcher {
                engine: self.engine.clone(),
                prepared,
                guard,
                publish_ports: self.options.engine.publish_ports,
                reach: self.engine.reach(),
            },
            observer,
            ready_timeout: self.options.limits.ready_timeout,
            state: Mutex::new(state),
            removals: Removals::default(),
        };
        // The removal of what killed processes left behind, off the stage's path.
        self.engine.sweep_in_background();
        // The steps; beside them, the run steps' containers started ahead of their turn.
        let run = async {
            let steps_started = Instant::now();
            tokio::join!(stage.exec(&stage.plan.order), stage.prefetch());
            stage.state().timings.total_steps = steps_started.elapsed();
        };
        let timed_out = match stage.plan.timeout {
            Some(t) => tokio::time::timeout(t, run).await.err().map(|_| t),
            None => {
                run.await;
                None
            }
        };
        Ok(self.running(stage, started, timed_out))
    }

    /// The stage after its steps: the report's steps and outcome from the run state.
    fn running(
        &self,
        stage: StageRun,
        started: Instant,
        timed_out: Option<Duration>,
    ) -> RunningStage {
        let outputs = stage.github_outputs();
        let StageRun {
            launch:
                Launcher {
                    engine,
                    prepared,
                    guard,
                    ..
                },
            plan,
            observer,
            state,
            removals,
            ..
        } = stage;
        let state = state.into_inner().unwrap_or_else(|e| e.into_inner());
        let (steps, outcome) = state::outcome(&plan.steps, &state, timed_out);
        RunningStage {
            network: prepared.network,
            reuse_networks: self.options.engine.reuse_networks,
            timings: state.timings,
            removals: removals.take(),
            engine,
            service_containers: state.service_containers(&plan.steps),
            run_id: guard.run_id().to_string(),
            name: plan.name,
            guard: Some(guard),
            observer,
            services: state.services,
            steps,
            outcome,
            started,
            body_failed: false,
            masks: plan.masks,
            outputs,
        }
    }
}

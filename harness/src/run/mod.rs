//! The plan on the Docker engine: a [`Runner`] prepares a stage's images, network and volumes
//! (`prepare`, `network`), starts its services (`service`, `wait`) and run steps (`container`,
//! `gate`, `output`) in the order `schedule` gives, records every step in one run state
//! (`state`), and hands back a [`RunningStage`] (`running`) whose teardown the guard makes
//! sure of.

mod build;
mod container;
mod file_commands;
mod gate;
mod github;
mod health;
mod launch;
mod network;
mod options;
mod output;
mod prepare;
mod readiness;
mod running;
mod schedule;
mod service;
mod state;
mod step;
mod wait;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bollard::Docker;

pub use gate::DEFAULT_LOOKAHEAD;
pub use options::{
    DEFAULT_IMAGE_ENV, FIXED_PORTS_ENV, KEEP_ENV, LOOKAHEAD_ENV, READY_TIMEOUT_ENV, RunOptions,
    WORKSPACE_PATH_ENV, Workspace,
};
pub use running::RunningStage;
pub use wait::DEFAULT_READY_TIMEOUT;

pub(crate) use network::{
    Lease, drain as drain_pool, give as give_to_pool, remove as remove_networks,
};

use self::launch::Removals;
use self::state::RunState;
use self::step::StageRun;
use crate::Error;
use crate::docker::{connect, new_run_id};
use crate::plan::{StepKind, plan_stage};
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
    docker: Docker,
    endpoint: String,
    options: RunOptions,
    lease: Arc<Lease>,
    reach: crate::endpoint::Reach,
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
        let (docker, endpoint) = connect().await?;
        if options.handle_signals {
            crate::teardown::install_signal_cleanup(&endpoint);
        }
        let host = std::env::var(crate::endpoint::HOST_ENV).ok();
        let reach = crate::endpoint::reach(&endpoint, host.as_deref())?;
        crate::reaper::ensure(&docker, &endpoint).await?;
        let lease = Lease::new(&endpoint);
        Ok(Runner {
            docker,
            endpoint,
            options,
            lease,
            reach,
        })
    }

    /// What this process created that still exists (containers and networks, by their owner
    /// label), as `kind name` strings: after an interrupted run, empty when everything was
    /// really removed.
    ///
    /// # Errors
    ///
    /// [`Error::Engine`] when the engine cannot list them.
    pub async fn leftovers(&self) -> Result<Vec<String>, Error> {
        let label = format!("{}={}", crate::OWNER_LABEL, crate::docker::OWNER.as_str());
        let filters = std::collections::HashMap::from([("label".to_string(), vec![label])]);
        let containers = self
            .docker
            .list_containers(Some(
                bollard::query_parameters::ListContainersOptionsBuilder::default()
                    .all(true)
                    .filters(&filters)
                    .build(),
            ))
            .await
            .map_err(|e| crate::docker::engine_error("list containers", e))?;
        let networks = self
            .docker
            .list_networks(Some(
                bollard::query_parameters::ListNetworksOptionsBuilder::default()
                    .filters(&filters)
                    .build(),
            ))
            .await
            .map_err(|e| crate::docker::engine_error("list networks", e))?;
        let mut out: Vec<String> = containers
            .into_iter()
            .filter_map(|c| {
                c.names?
                    .first()
                    .map(|n| format!("container {}", n.trim_start_matches('/')))
            })
            .collect();
        // Networks kept in this runner's pool for the next stage are not left over.
        out.extend(
            networks
                .into_iter()
                .filter_map(|n| n.name)
                .filter(|n| !network::pooled(n))
                .map(|n| format!("network {n}")),
        );
        Ok(out)
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
        let started = Instant::now();
        let resolved;
        let pipeline = if pipeline.resolved {
            pipeline
        } else {
            resolved = crate::resolve::resolve(pipeline, &self.options.context)?;
            &resolved
        };
        let plan = self.plan(pipeline, index)?;
        let observer = self.options.observer.clone();
        let guard = Guard::new(
            self.docker.clone(),
            self.endpoint.clone(),
            new_run_id(),
            self.options.keep,
        );
        if self.options.keep != Keep::Never {
            // Marked from the start: a process killed with SIGKILL leaves its run kept too.
            if let Some(marker) = crate::teardown::mark_kept(&self.docker, guard.run_id()).await {
                guard.track(|r| r.volumes.push(marker));
            }
            crate::reaper::keep(guard.run_id());
        }
        observer.on_event(&Event::StageStarted {
            stage: &plan.name,
            run_id: guard.run_id(),
        });
        let mut timings = Timings::default();
        let prepared = crate::run::prepare::prepare(
            &self.docker,
            observer.as_ref(),
            &plan,
            &guard,
            &self.options.workspace,
            self.options.reuse_networks,
            &mut timings,
        )
        .await;
        let prepared = match prepared {
            Ok(p) => p,
            Err(e) => {
                guard.teardown(self.options.reuse_networks, true).await;
                return Err(e);
            }
        };
        let mut state = RunState::new(plan.steps.len());
        state.timings = timings;
        let stage = StageRun {
            github: plan.github.clone().map(github::JobRun::new),
            docker: self.docker.clone(),
            gates: plan.steps.iter().map(|_| Default::default()).collect(),
            lookahead: Arc::new(tokio::sync::Semaphore::new(self.options.lookahead.max(1))),
            keep_steps: self.options.keep != Keep::Never,
            plan,
            prepared,
            guard,
            observer,
            publish_ports: self.options.publish_ports,
            reach: self.reach.clone(),
            ready_timeout: self.options.ready_timeout,
            state: Mutex::new(state),
            removals: Removals::default(),
        };
        // The removal of what killed processes left behind, off the stage's path (on a thread
        // of its own: the engine's time goes to the stage first).
        if crate::teardown::sweep_due() {
            let _ = crate::async_drop::spawn(
                "pipeline-test-sweep",
                &self.endpoint,
                |docker| async move {
                    let swept = crate::teardown::sweep(&docker).await;
                    if swept > 0 {
                        eprintln!(
                            "pipeline-test: removed {swept} containers, networks and volumes left by killed runs"
                        );
                    }
                },
            );
        }
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

    /// Plans stage `index` with the build's variables and secrets; a run step that names no
    /// image and has no default is refused here, before anything is created.
    fn plan(&self, pipeline: &Pipeline, index: usize) -> Result<crate::plan::StagePlan, Error> {
        let mut options = self.options.plan.clone();
        options.build_env = self.options.context.environment();
        options.masks = crate::mask::secret_masks(self.options.context.secrets.values());
        let mut plan = plan_stage(pipeline, index, &options);
        if !self.options.fixed_host_ports {
            // Published on a free port the engine picks: parallel tests do not collide.
            for step in plan
                .steps
                .iter_mut()
                .filter(|s| s.kind == StepKind::Service)
            {
                for m in &mut step.ports {
                    m.host = None;
                }
            }
        }
        if let Some(step) = plan
            .steps
            .iter()
            .find(|s| s.can_run() && s.image.is_empty())
        {
            return Err(Error::NoImage {
                step: step.name.clone(),
                place: format!("{}:{}", pipeline.file.name(), step.span.start),
            });
        }
        Ok(plan)
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
            docker,
            plan,
            prepared,
            guard,
            observer,
            state,
            removals,
            ..
        } = stage;
        let state = state.into_inner().unwrap_or_else(|e| e.into_inner());
        let (steps, outcome) = state::outcome(&plan.steps, &state, timed_out);
        RunningStage {
            _lease: self.lease.clone(),
            network: prepared.network,
            reuse_networks: self.options.reuse_networks,
            timings: state.timings,
            removals: removals.take(),
            docker,
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

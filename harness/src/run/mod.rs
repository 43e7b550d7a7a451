//! The plan on the Docker engine: a [`Runner`] prepares a stage's images, network and volumes
//! (`prepare`, `network`), starts its services (`service`, `wait`) and run steps (`container`,
//! `gate`, `output`) in the order `schedule` gives, records every step in one run state
//! (`state`), and hands back a [`RunningStage`] (`running`) whose teardown the guard makes
//! sure of.

mod container;
mod gate;
mod network;
mod output;
mod prepare;
mod running;
mod schedule;
mod service;
mod state;
mod step;
mod wait;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bollard::Docker;

pub use running::RunningStage;
pub use wait::DEFAULT_READY_TIMEOUT;

pub(crate) use network::{
    Lease, drain as drain_pool, give as give_to_pool, remove as remove_networks,
};

use self::container::Removals;
use self::state::RunState;
use self::step::StageRun;
use crate::Error;
use crate::docker::{connect, new_run_id};
use crate::plan::{PlanOptions, plan_stage};
use crate::report::{Event, Observer, PrintObserver, StageReport, Timings};
use crate::spec::Pipeline;
use crate::teardown::{Guard, Keep};

/// Set (to anything but empty, `0`, `false` or `no`) to keep every resource of a run.
pub const KEEP_ENV: &str = "PIPELINE_TEST_KEEP";
/// A service's readiness budget, when it has none of its own (`90s`, `2m`).
pub const READY_TIMEOUT_ENV: &str = "PIPELINE_TEST_READY_TIMEOUT";
/// Where the workspace is mounted in the containers, instead of `/gitness`.
pub const WORKSPACE_PATH_ENV: &str = "PIPELINE_TEST_WORKSPACE_PATH";
/// How many run steps' containers may wait, started, ahead of their turn.
pub const LOOKAHEAD_ENV: &str = "PIPELINE_TEST_LOOKAHEAD";
/// The image of run and script steps that name none (Harness Cloud runs them on its VM).
pub const DEFAULT_IMAGE_ENV: &str = "PIPELINE_TEST_DEFAULT_IMAGE";

/// What the workspace of a stage holds.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Workspace {
    /// A host directory, bind-mounted: the root of the git repository holding the pipeline
    /// file (the file's directory outside a repository).
    Directory(PathBuf),
    /// A fresh, empty volume, removed with the run.
    Volume,
}

/// How to run stages.
///
/// Made by [`RunOptions::from_env`]; its fields may be changed afterwards, and more may come
/// (it is `#[non_exhaustive]`).
#[derive(Clone)]
#[non_exhaustive]
pub struct RunOptions {
    /// Image map, workspace path, extra environment.
    pub plan: PlanOptions,
    /// What the workspace holds.
    pub workspace: Workspace,
    /// The build the pipeline runs for: `build.*`, `repo.*`, inputs, secrets, plugin images.
    pub context: crate::context::BuildContext,
    /// Which runs' resources are kept instead of removed (`PIPELINE_TEST_KEEP`).
    pub keep: Keep,
    /// A service's readiness budget unless it has one of its own (its `timeout`, or a health
    /// check that takes longer): `PIPELINE_TEST_READY_TIMEOUT`, by default
    /// [`DEFAULT_READY_TIMEOUT`].
    pub ready_timeout: Duration,
    /// Who hears about the run as it goes.
    pub observer: Arc<dyn Observer>,
    /// Publish the services' ports on 127.0.0.1 (for [`crate::service::Service::addr`]).
    /// The command line turns it off: nothing outside the stage talks to the services there.
    pub publish_ports: bool,
    /// Reuse networks from one stage to the next while a runner is alive (see the README's
    /// speed section); off, every stage creates and removes its own.
    pub reuse_networks: bool,
    /// On SIGINT or SIGTERM, remove every running stage's resources and exit with 130 or 143
    /// (for test binaries; off by default, since it takes over those signals).
    pub handle_signals: bool,
    /// How many run steps' containers may wait, started, ahead of their turn
    /// (`PIPELINE_TEST_LOOKAHEAD`, by default 4): more makes long sequences of quick steps
    /// faster, and costs idle containers.
    pub lookahead: usize,
}

impl std::fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("plan", &self.plan)
            .field("workspace", &self.workspace)
            .field("context", &self.context)
            .field("keep", &self.keep)
            .field("ready_timeout", &self.ready_timeout)
            .field("publish_ports", &self.publish_ports)
            .field("reuse_networks", &self.reuse_networks)
            .field("handle_signals", &self.handle_signals)
            .field("lookahead", &self.lookahead)
            .finish_non_exhaustive()
    }
}

impl RunOptions {
    /// Options from the environment: `PIPELINE_TEST_IMAGES`, `PIPELINE_TEST_KEEP`,
    /// `PIPELINE_TEST_WORKSPACE_PATH`, `PIPELINE_TEST_DEFAULT_IMAGE`, inputs, secrets and
    /// plugin images (`PIPELINE_TEST_INPUT_*`, `PIPELINE_TEST_SECRET_*`,
    /// `PIPELINE_TEST_PLUGINS`). `dir` is the pipeline file's directory: the build context
    /// comes from the git repository holding it, whose root is the workspace (`dir` itself
    /// outside a repository). Events are printed.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidEnv`] for a malformed variable.
    ///
    /// # Examples
    ///
    /// ```
    /// use pipeline_test_harness::{RunOptions, Workspace};
    /// let options = RunOptions::from_env("/").unwrap();
    /// assert_eq!(options.workspace, Workspace::Directory("/".into()));
    /// assert_eq!(options.context.event, "manual");
    /// ```
    pub fn from_env(dir: impl Into<PathBuf>) -> Result<Self, Error> {
        let images = crate::images::ImageMap::from_env()?;
        let keep = match std::env::var(KEEP_ENV) {
            Ok(v) => Keep::parse(&v).ok_or_else(|| Error::InvalidEnv {
                name: KEEP_ENV,
                reason: format!("`{v}` is not one of `1` (keep every run), `on-failure` (keep failed runs) or `0`"),
            })?,
            Err(_) => Keep::Never,
        };
        let ready_timeout = match std::env::var(READY_TIMEOUT_ENV) {
            Ok(v) if !v.trim().is_empty() => {
                crate::duration::parse_duration(&v).map_err(|e| Error::InvalidEnv {
                    name: READY_TIMEOUT_ENV,
                    reason: format!("{e} (for example `2m`)"),
                })?
            }
            _ => DEFAULT_READY_TIMEOUT,
        };
        let workspace_path = std::env::var(WORKSPACE_PATH_ENV)
            .ok()
            .filter(|p| !p.is_empty());
        if let Some(p) = &workspace_path {
            if !p.starts_with('/') {
                return Err(Error::InvalidEnv {
                    name: WORKSPACE_PATH_ENV,
                    reason: format!("`{p}` is not an absolute path inside the container"),
                });
            }
        }
        let dir: PathBuf = dir.into();
        let context = crate::context::BuildContext::from_git(&dir).with_env();
        let lookahead = match std::env::var(LOOKAHEAD_ENV) {
            Ok(v) if !v.trim().is_empty() => {
                v.trim().parse::<usize>().map_err(|_| Error::InvalidEnv {
                    name: LOOKAHEAD_ENV,
                    reason: format!("`{v}` is not a whole number (for example `4`)"),
                })?
            }
            _ => gate::DEFAULT_LOOKAHEAD,
        };
        let default_image = std::env::var(DEFAULT_IMAGE_ENV)
            .ok()
            .filter(|i| !i.trim().is_empty());
        Ok(RunOptions {
            plan: PlanOptions {
                images,
                workspace_path,
                env: Vec::new(),
                build_env: Vec::new(),
                default_image,
                masks: Vec::new(),
            },
            workspace: Workspace::Directory(context.root.clone().unwrap_or(dir)),
            context,
            keep,
            ready_timeout,
            observer: Arc::new(PrintObserver),
            publish_ports: true,
            reuse_networks: true,
            handle_signals: false,
            lookahead,
        })
    }
}

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
}

impl Runner {
    /// Connects to the engine.
    ///
    /// # Errors
    ///
    /// [`Error::DockerUnreachable`] naming the endpoint tried.
    pub async fn connect(options: RunOptions) -> Result<Self, Error> {
        let (docker, endpoint) = connect().await?;
        if options.handle_signals {
            crate::teardown::install_signal_cleanup(&endpoint);
        }
        let lease = Lease::new(&endpoint);
        Ok(Runner {
            docker,
            endpoint,
            options,
            lease,
        })
    }

    /// What this process created that still exists (containers and networks, by their owner
    /// label), as `kind name` strings: after an interrupted run, empty when everything was
    /// really removed.
    ///
    /// # Errors
    ///
    /// [`Error::Docker`] when the engine cannot list them.
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
            docker: self.docker.clone(),
            gates: plan.steps.iter().map(|_| Default::default()).collect(),
            lookahead: Arc::new(tokio::sync::Semaphore::new(self.options.lookahead.max(1))),
            keep_steps: self.options.keep != Keep::Never,
            plan,
            prepared,
            guard,
            observer,
            publish_ports: self.options.publish_ports,
            ready_timeout: self.options.ready_timeout,
            state: Mutex::new(state),
            removals: Removals::default(),
        };
        // The steps; beside them, the run steps' containers started ahead of their turn, and
        // the removal of what killed processes left behind.
        let run = async {
            let steps_started = Instant::now();
            let sweep = async {
                let swept = crate::teardown::sweep(&stage.docker).await;
                if swept > 0 {
                    let message = format!(
                        "removed {swept} containers, networks and volumes left by killed runs"
                    );
                    stage
                        .observer
                        .on_event(&Event::Notice { message: &message });
                }
            };
            tokio::join!(stage.exec(&stage.plan.order), stage.prefetch(), sweep);
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
        let plan = plan_stage(pipeline, index, &options);
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
        }
    }
}

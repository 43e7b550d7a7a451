//! Runs a stage on Docker: images, network, services, steps, waits, report, teardown.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::container::AttachContainerResults;
use bollard::models::{
    ContainerCreateBody, EndpointSettings, HealthConfig, HealthStatusEnum, HostConfig,
    NetworkCreateRequest, NetworkingConfig, PortBinding, VolumeCreateRequest,
};
use bollard::query_parameters::{
    AttachContainerOptionsBuilder, CreateContainerOptionsBuilder, CreateImageOptionsBuilder,
    LogsOptionsBuilder, RemoveContainerOptionsBuilder, WaitContainerOptionsBuilder,
};
use futures::future::{BoxFuture, join_all};
use futures::{FutureExt, StreamExt};
use tokio::io::AsyncWriteExt;

use crate::Error;
use crate::docker::{
    STEP_LABEL, connect, engine_error, is_not_found, labels, network_labels, new_run_id,
};
use crate::images::{Login, docker_config_login, registry_of, split_reference};
use crate::plan::{Block, PlanOptions, PlannedStep, StagePlan, StepKind, plan_stage};
use crate::pool::Lease;
use crate::report::{
    Event, Observer, Outcome, PrintObserver, StageReport, StepReport, StepStatus, Timings,
};
use crate::service::Service;
use crate::spec::{Pipeline, Pull};
use crate::teardown::Guard;

/// Lines of output kept per step for failure messages.
const TAIL_LINES: usize = 40;
/// Lines of each service's log shown when a stage fails.
const SERVICE_LOG_LINES: usize = 20;
/// How many run steps' containers are started ahead of their turn at once.
const PREFETCH: usize = 4;
/// How long a run waits for Docker to have an address pool free for its network.
const NETWORK_POOL_WAIT: Duration = Duration::from_secs(300);
/// How long a service without a health check may take to listen on its ports.
const LISTEN_WAIT: Duration = Duration::from_secs(60);
/// How often a service's health is looked at.
const HEALTH_POLL: Duration = Duration::from_millis(50);

/// What the workspace of a stage holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Workspace {
    /// A host directory, bind-mounted (the command line's current directory, or the test
    /// crate's directory).
    Directory(PathBuf),
    /// A fresh, empty volume, removed with the run.
    Volume,
}

/// How to run stages.
#[derive(Clone)]
pub struct RunOptions {
    /// Image map, workspace path, extra environment.
    pub plan: PlanOptions,
    /// What the workspace holds.
    pub workspace: Workspace,
    /// Keep every resource instead of removing it (`PIPELINE_TEST_KEEP=1`).
    pub keep: bool,
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
}

impl std::fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("plan", &self.plan)
            .field("workspace", &self.workspace)
            .field("keep", &self.keep)
            .field("publish_ports", &self.publish_ports)
            .field("reuse_networks", &self.reuse_networks)
            .field("handle_signals", &self.handle_signals)
            .finish_non_exhaustive()
    }
}

impl RunOptions {
    /// Options from the environment: `PIPELINE_TEST_IMAGES`, `PIPELINE_TEST_KEEP`,
    /// `PIPELINE_TEST_WORKSPACE_PATH`; the workspace is `dir`; events are printed.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidEnv`] for a malformed variable.
    ///
    /// # Examples
    ///
    /// ```
    /// use pipeline_test_harness::runner::{RunOptions, Workspace};
    /// let options = RunOptions::from_env(".").unwrap();
    /// assert_eq!(options.workspace, Workspace::Directory(".".into()));
    /// ```
    pub fn from_env(dir: impl Into<PathBuf>) -> Result<Self, Error> {
        let images = crate::images::ImageMap::from_env()?;
        let keep = std::env::var("PIPELINE_TEST_KEEP")
            .is_ok_and(|v| !matches!(v.as_str(), "" | "0" | "false" | "no"));
        let workspace_path = std::env::var("PIPELINE_TEST_WORKSPACE_PATH")
            .ok()
            .filter(|p| !p.is_empty());
        if let Some(p) = &workspace_path {
            if !p.starts_with('/') {
                return Err(Error::InvalidEnv {
                    name: "PIPELINE_TEST_WORKSPACE_PATH",
                    reason: format!("`{p}` is not an absolute path inside the container"),
                });
            }
        }
        Ok(RunOptions {
            plan: PlanOptions {
                images,
                workspace_path,
                env: Vec::new(),
            },
            workspace: Workspace::Directory(dir.into()),
            keep,
            observer: Arc::new(PrintObserver),
            publish_ports: true,
            reuse_networks: true,
            handle_signals: false,
        })
    }
}

/// Runs stages on the Docker engine that `DOCKER_HOST` names.
///
/// # Examples
///
/// ```no_run
/// # async fn demo() -> Result<(), pipeline_test_harness::Error> {
/// use pipeline_test_harness::runner::{Runner, RunOptions};
/// use pipeline_test_harness::spec::Pipeline;
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
        let plan = plan_stage(pipeline, index, &self.options.plan);
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
        let mut stage = Stage {
            lease: self.lease.clone(),
            publish_ports: self.options.publish_ports,
            reuse_networks: self.options.reuse_networks,
            docker: self.docker.clone(),
            plan,
            guard,
            observer,
            network: None,
            workspace_bind: None,
            images: HashMap::new(),
            volumes: HashMap::new(),
            reports: Mutex::new(Vec::new()),
            containers: Mutex::new(Vec::new()),
            services: Mutex::new(Vec::new()),
            first_failure: Mutex::new(None),
            prepared: Vec::new(),
            stopped: AtomicBool::new(false),
            removals: Mutex::new(Vec::new()),
            timings: Mutex::new(Timings::default()),
        };
        if let Err(e) = stage.prepare(&self.options.workspace).await {
            stage.guard.teardown(stage.reuse_networks).await;
            return Err(e);
        }
        stage.reports = Mutex::new(vec![None; stage.plan.steps.len()]);
        stage.containers = Mutex::new(vec![None; stage.plan.steps.len()]);
        stage.prepared = (0..stage.plan.steps.len())
            .map(|_| tokio::sync::OnceCell::new())
            .collect();
        let order = stage.plan.order.clone();
        // The steps, and beside them the preparation of the run steps' containers.
        let run = async {
            let steps_started = Instant::now();
            // Beside them too, the removal of what killed processes left behind.
            let sweep = async {
                let swept = crate::sweep::sweep(&stage.docker).await;
                if swept > 0 {
                    let message = format!(
                        "removed {swept} containers, networks and volumes left by killed runs"
                    );
                    stage
                        .observer
                        .on_event(&Event::Notice { message: &message });
                }
            };
            tokio::join!(stage.exec(&order), stage.prefetch(), sweep);
            stage.timing(|t| t.total_steps = steps_started.elapsed());
        };
        let stage_timeout = stage.plan.timeout;
        let timed_out = match stage_timeout {
            Some(t) => tokio::time::timeout(t, run).await.is_err(),
            None => {
                run.await;
                false
            }
        };
        Ok(stage.into_running(started, timed_out, stage_timeout))
    }
}

/// What a container image offers, read once per stage.
#[derive(Debug, Clone, Default)]
struct ImageFacts {
    exposed_ports: Vec<String>,
    healthcheck: bool,
}

struct Stage {
    lease: Arc<Lease>,
    publish_ports: bool,
    reuse_networks: bool,
    docker: Docker,
    plan: StagePlan,
    guard: Guard,
    observer: Arc<dyn Observer>,
    network: Option<String>,
    workspace_bind: Option<String>,
    images: HashMap<String, ImageFacts>,
    /// Stage volume name -> engine volume name.
    volumes: HashMap<String, String>,
    reports: Mutex<Vec<Option<StepReport>>>,
    containers: Mutex<Vec<Option<String>>>,
    services: Mutex<Vec<Service>>,
    first_failure: Mutex<Option<usize>>,
    /// Per step: its container, started ahead of its turn and waiting at the gate (`None`:
    /// could not be; the step then runs the ordinary way).
    prepared: Vec<tokio::sync::OnceCell<Mutex<Option<Gated>>>>,
    /// Set once a step failed or exited 78: nothing more is prepared.
    stopped: AtomicBool,
    /// Removals of finished steps' containers, running in the background.
    removals: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    timings: Mutex<Timings>,
}

impl Stage {
    fn timing(&self, f: impl FnOnce(&mut Timings)) {
        f(&mut self.timings.lock().unwrap_or_else(|e| e.into_inner()));
    }

    /// Images, network and volumes, concurrently.
    async fn prepare(&mut self, workspace: &Workspace) -> Result<(), Error> {
        let images = self.plan.images();
        let docker = &self.docker;
        let observer = &self.observer;
        let started = Instant::now();
        let pulls = async {
            let r = join_all(images.iter().map(|(image, pull, login)| {
                prepare_image(docker, observer.as_ref(), image, *pull, login.clone())
            }))
            .await;
            (r, started.elapsed())
        };
        let run_id = self.guard.run_id().to_string();
        let reuse = self.reuse_networks;
        let fresh_name = format!("pipeline-test-net-{run_id}");
        let network = async {
            let r = acquire_network(docker, observer.as_ref(), &fresh_name, reuse).await;
            (r, started.elapsed())
        };
        let mut wanted_volumes: Vec<(String, String)> = self
            .plan
            .temp_volumes
            .iter()
            .map(|v| (v.clone(), format!("pipeline-test-{run_id}-{v}")))
            .collect();
        if *workspace == Workspace::Volume {
            wanted_volumes.push((String::new(), format!("pipeline-test-{run_id}-workspace")));
        }
        let volumes = join_all(wanted_volumes.iter().map(|(_, name)| {
            docker.create_volume(VolumeCreateRequest {
                name: Some(name.clone()),
                labels: Some(labels(&run_id)),
                ..Default::default()
            })
        }));
        let ((pulled, prepare_time), (network, network_time), volumes) =
            tokio::join!(pulls, network, volumes);
        self.timing(|t| {
            t.prepare = prepare_time;
            t.network = network_time;
        });
        for ((_, name), r) in wanted_volumes.iter().zip(&volumes) {
            if r.is_ok() {
                self.guard.track(|t| t.volumes.push(name.clone()));
            }
        }
        if let Ok(name) = &network {
            self.guard.track(|t| t.network = Some(name.clone()));
        }
        for ((image, _, _), facts) in images.iter().zip(pulled) {
            self.images.insert(image.clone(), facts?);
        }
        let network_name = network?;
        for ((stage_name, name), r) in wanted_volumes.into_iter().zip(volumes) {
            r.map_err(|e| engine_error(format!("create volume {name}"), e))?;
            if stage_name.is_empty() {
                self.workspace_bind = Some(format!("{name}:{}", self.plan.workspace_path));
            } else {
                self.volumes.insert(stage_name, name);
            }
        }
        for (name, path) in &self.plan.host_volumes {
            self.volumes.insert(name.clone(), path.clone());
        }
        if let Workspace::Directory(dir) = workspace {
            let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.clone());
            self.workspace_bind = Some(format!("{}:{}", dir.display(), self.plan.workspace_path));
        }
        self.network = Some(network_name);
        Ok(())
    }

    /// Starts the run steps' containers ahead of their turn, a few at a time and in order,
    /// while the services start and earlier steps run. Each waits at a gate (its shell blocks
    /// reading standard input) until its turn comes.
    async fn prefetch(&self) {
        let steps = self.plan.steps.iter().filter(|s| gate_command(s).is_some());
        futures::stream::iter(steps)
            .for_each_concurrent(PREFETCH, |step| async move {
                if !self.stopped.load(Ordering::SeqCst) {
                    self.prepared[step.index]
                        .get_or_init(|| self.start_gated(step))
                        .await;
                }
            })
            .await;
    }

    /// Creates and starts a run step's container with its script behind a gate, and attaches
    /// to it; `None` when that is not possible (the step then runs the ordinary way).
    async fn start_gated(&self, step: &PlannedStep) -> Mutex<Option<Gated>> {
        let gated = async {
            let gate = gate_command(step)?;
            let started = Instant::now();
            let id = self.create(step, Some(gate)).await.ok()?;
            let opts = AttachContainerOptionsBuilder::default()
                .stdin(true)
                .stdout(true)
                .stderr(true)
                .stream(true)
                .build();
            let attached = self.docker.attach_container(&id, Some(opts)).await.ok();
            self.timing(|t| t.start_run_containers += started.elapsed());
            match attached {
                Some(attached) => Some(Gated { id, attached }),
                None => {
                    self.remove_soon(id);
                    None
                }
            }
        };
        Mutex::new(gated.await)
    }

    fn exec<'a>(&'a self, block: &'a Block) -> BoxFuture<'a, bool> {
        async move {
            match block {
                Block::Step(i) => self.step(*i).await,
                Block::Sequence(children) => {
                    let mut rest = &children[..];
                    while !rest.is_empty() {
                        // Background steps start detached and the run moves on at once, so a
                        // run of them starts together; one that waits for its health check
                        // ends the run, and holds the step after it.
                        let quick = rest
                            .iter()
                            .take_while(|b| self.service_without_wait(b))
                            .count();
                        let batch = (quick
                            + usize::from(rest.get(quick).is_some_and(|b| self.is_service(b))))
                        .max(1);
                        let go = if batch == 1 {
                            self.exec(&rest[0]).await
                        } else {
                            join_all(rest[..batch].iter().map(|c| self.exec(c)))
                                .await
                                .into_iter()
                                .all(|g| g)
                        };
                        if !go {
                            return false;
                        }
                        rest = &rest[batch..];
                    }
                    true
                }
                Block::Parallel(children) => join_all(children.iter().map(|c| self.exec(c)))
                    .await
                    .into_iter()
                    .all(|go| go),
            }
        }
        .boxed()
    }

    fn is_service(&self, block: &Block) -> bool {
        matches!(block, Block::Step(i) if self.plan.steps[*i].kind == StepKind::Service)
    }

    /// A service step that does not hold the next step for a health check.
    fn service_without_wait(&self, block: &Block) -> bool {
        let Block::Step(i) = block else { return false };
        let step = &self.plan.steps[*i];
        step.kind == StepKind::Service && !self.waits_for_health(step)
    }

    /// The TCP ports a service without a health check is waited for: those its image
    /// `EXPOSE`s when it runs the image's own command, and those the YAML lists.
    fn ports_to_wait_for(&self, step: &PlannedStep) -> Vec<u16> {
        let own_command = step.entrypoint.is_none() && step.cmd.is_none();
        let image_ports = self
            .images
            .get(&step.resolved_image)
            .filter(|_| own_command)
            .map(|f| f.exposed_ports.clone())
            .unwrap_or_default();
        let yaml_ports = step.ports.iter().map(|p| {
            let spec = p.split('/').next().unwrap_or("");
            format!(
                "{}/{}",
                spec.rsplit(':').next().unwrap_or(""),
                p.split('/').nth(1).unwrap_or("tcp")
            )
        });
        let mut out: Vec<u16> = image_ports
            .into_iter()
            .chain(yaml_ports)
            .filter_map(|p| p.strip_suffix("/tcp")?.parse().ok())
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    fn waits_for_health(&self, step: &PlannedStep) -> bool {
        let image_check = self
            .images
            .get(&step.resolved_image)
            .is_some_and(|f| f.healthcheck);
        match &step.healthcheck {
            Some(h) => h.test.first().is_some_and(|t| t != "NONE"),
            None => image_check,
        }
    }

    /// Runs one step; false when the steps after it must not run.
    async fn step(&self, i: usize) -> bool {
        let step = &self.plan.steps[i];
        self.observer.on_event(&Event::StepStarted {
            step: &step.name,
            type_name: step.type_name,
            image: &step.image,
            resolved_image: &step.resolved_image,
        });
        let started = Instant::now();
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        let result = match step.kind {
            StepKind::Service => self.service(step, started, &tail).await,
            StepKind::Run => self.run(step, tail.clone()).await,
        };
        let (status, exit_code) = match result {
            Ok(r) => r,
            Err(e) => (
                StepStatus::Error {
                    message: e.to_string(),
                },
                None,
            ),
        };
        let report = StepReport {
            name: step.name.clone(),
            type_name: step.type_name,
            kind: step.kind,
            image: step.resolved_image.clone(),
            status: status.clone(),
            exit_code,
            duration: started.elapsed(),
            output_tail: tail
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .cloned()
                .collect(),
        };
        if step.kind == StepKind::Run || status.is_failure() {
            self.observer
                .on_event(&Event::StepFinished { report: &report });
        }
        if step.kind == StepKind::Run {
            self.timing(|t| t.run_steps += report.duration);
        }
        if status.is_failure() || status == StepStatus::SkippedRest {
            self.stopped.store(true, Ordering::SeqCst);
        }
        if status.is_failure() {
            self.first_failure
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get_or_insert(i);
        }
        self.reports.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(report);
        !(status.is_failure() || status == StepStatus::SkippedRest)
    }

    /// Creates and starts the container of `step`; with `gate`, that command replaces its
    /// entrypoint and command, the script goes in `PIPELINE_TEST_SCRIPT`, and standard input
    /// stays open for the go.
    async fn create(&self, step: &PlannedStep, gate: Option<Vec<String>>) -> Result<String, Error> {
        let run_id = self.guard.run_id();
        let mut labels = labels(run_id);
        labels.insert(STEP_LABEL.to_string(), step.name.clone());
        let facts = self
            .images
            .get(&step.resolved_image)
            .cloned()
            .unwrap_or_default();
        let mut binds: Vec<String> = self.workspace_bind.iter().cloned().collect();
        binds.extend(step.binds.iter().cloned());
        for (volume, path) in &step.mounts {
            if let Some(source) = self.volumes.get(volume) {
                binds.push(format!("{source}:{path}"));
            }
        }
        let (exposed, port_bindings) = if step.kind == StepKind::Service && self.publish_ports {
            publish(&facts.exposed_ports, &step.ports)
        } else {
            (Vec::new(), HashMap::new())
        };
        let (network_mode, networking) = match &step.network_mode {
            Some(mode) => (Some(mode.clone()), None),
            None => {
                let network = self.network.clone().unwrap_or_default();
                let endpoint = EndpointSettings {
                    aliases: Some(step.aliases.clone()),
                    ..Default::default()
                };
                (
                    Some(network.clone()),
                    Some(NetworkingConfig {
                        endpoints_config: Some(HashMap::from([(network, endpoint)])),
                    }),
                )
            }
        };
        let healthcheck = step.healthcheck.as_ref().map(|h| HealthConfig {
            test: Some(h.test.clone()),
            interval: Some(nanos(h.interval)),
            timeout: Some(nanos(h.timeout)),
            retries: Some(i64::from(h.retries)),
            start_period: Some(nanos(h.start_period)),
            start_interval: None,
        });
        let body = ContainerCreateBody {
            image: Some(step.resolved_image.clone()),
            env: Some(
                step.env
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .chain(
                        gate.as_ref()
                            .and(step.script.as_ref())
                            .map(|script| format!("{SCRIPT_ENV}={script}")),
                    )
                    .chain(
                        gate.as_ref()
                            .map(|_| format!("{MARK_ENV}={}", exit_mark(run_id, step.index))),
                    )
                    .collect(),
            ),
            entrypoint: gate.clone().or_else(|| step.entrypoint.clone()),
            cmd: if gate.is_some() {
                None
            } else {
                step.cmd.clone()
            },
            open_stdin: Some(gate.is_some()),
            stdin_once: Some(gate.is_some()),
            attach_stdin: Some(gate.is_some()),
            working_dir: step.workdir.clone(),
            user: step.user.clone(),
            labels: Some(labels),
            exposed_ports: (!exposed.is_empty()).then_some(exposed),
            healthcheck,
            host_config: Some(HostConfig {
                binds: (!binds.is_empty()).then_some(binds),
                network_mode,
                port_bindings: (!port_bindings.is_empty()).then_some(port_bindings),
                privileged: Some(step.privileged),
                dns: (!step.dns.is_empty()).then(|| step.dns.clone()),
                dns_search: (!step.dns_search.is_empty()).then(|| step.dns_search.clone()),
                extra_hosts: (!step.extra_hosts.is_empty()).then(|| step.extra_hosts.clone()),
                memory: step.memory,
                nano_cpus: step.nano_cpus,
                shm_size: step.shm_size,
                ..Default::default()
            }),
            networking_config: networking,
            ..Default::default()
        };
        let name = format!(
            "pipeline-test-{run_id}-{}-{}",
            step.index + 1,
            slug(&step.name)
        );
        let created = self
            .docker
            .create_container(
                Some(CreateContainerOptionsBuilder::default().name(&name).build()),
                body,
            )
            .await
            .map_err(|e| {
                engine_error(format!("create the container of step `{}`", step.name), e)
            })?;
        self.guard.track(|t| t.containers.push(created.id.clone()));
        self.containers.lock().unwrap_or_else(|e| e.into_inner())[step.index] =
            Some(created.id.clone());
        self.docker
            .start_container(&created.id, None)
            .await
            .map_err(|e| engine_error(format!("start the container of step `{}`", step.name), e))?;
        Ok(created.id)
    }

    async fn run(
        &self,
        step: &PlannedStep,
        tail: Arc<Mutex<VecDeque<String>>>,
    ) -> Result<(StepStatus, Option<i64>), Error> {
        let gated = match gate_command(step) {
            Some(_) => self.prepared[step.index]
                .get_or_init(|| self.start_gated(step))
                .await
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take(),
            None => None,
        };
        let docker = &self.docker;
        let observer = self.observer.as_ref();
        let run_id = self.guard.run_id();
        let (id, work): (String, BoxFuture<'_, Result<i64, bollard::errors::Error>>) = match gated {
            Some(Gated { id, attached }) => {
                let wait_id = id.clone();
                let tail = tail.clone();
                let work = async move {
                    let AttachContainerResults { output, mut input } = attached;
                    // The go: the gate reads one line and the shell becomes the script.
                    input
                        .write_all(b"run\n")
                        .await
                        .map_err(|err| bollard::errors::Error::IOError { err })?;
                    let _ = input.shutdown().await;
                    let mark = exit_mark(run_id, step.index);
                    match pump_lines(output, &step.name, observer, &tail, Some(&mark)).await {
                        Some(code) => Ok(code),
                        None => wait_exit(docker, &wait_id).await,
                    }
                }
                .boxed();
                (id, work)
            }
            None => {
                let id = self.create(step, None).await?;
                let tail = tail.clone();
                let (logs_id, wait_id) = (id.clone(), id.clone());
                let work = async move {
                    let logs = LogsOptionsBuilder::default()
                        .follow(true)
                        .stdout(true)
                        .stderr(true)
                        .build();
                    let lines = pump_lines(
                        docker.logs(&logs_id, Some(logs)),
                        &step.name,
                        observer,
                        &tail,
                        None,
                    );
                    tokio::join!(lines, wait_exit(docker, &wait_id)).1
                }
                .boxed();
                (id, work)
            }
        };
        let exit = match step.timeout {
            Some(t) => match tokio::time::timeout(t, work).await {
                Ok(code) => code,
                Err(_) => {
                    self.remove_soon(id);
                    return Ok((StepStatus::TimedOut { after: t }, None));
                }
            },
            None => work.await,
        };
        self.remove_soon(id);
        let code = exit.map_err(|e| engine_error(format!("wait for step `{}`", step.name), e))?;
        let status = match code {
            0 => StepStatus::Passed,
            78 => StepStatus::SkippedRest,
            exit_code => StepStatus::Failed { exit_code },
        };
        Ok((status, Some(code)))
    }

    /// Kills and removes a finished step's container in the background.
    fn remove_soon(&self, id: String) {
        let docker = self.docker.clone();
        let handle = tokio::spawn(async move {
            let opts = RemoveContainerOptionsBuilder::default()
                .force(true)
                .v(true)
                .build();
            let _ = docker.remove_container(&id, Some(opts)).await;
        });
        self.removals
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(handle);
    }

    async fn service(
        &self,
        step: &PlannedStep,
        started: Instant,
        tail: &Mutex<VecDeque<String>>,
    ) -> Result<(StepStatus, Option<i64>), Error> {
        let started_at = Instant::now();
        let id = self.create(step, None).await?;
        self.timing(|t| t.start_services += started_at.elapsed());
        let wait_health = self.waits_for_health(step);
        let limit = step.timeout.unwrap_or_else(|| match &step.healthcheck {
            Some(h) => {
                h.start_period
                    + (h.interval + h.timeout) * (h.retries + 1)
                    + Duration::from_secs(30)
            }
            None => Duration::from_secs(600),
        });
        let mut healthy = false;
        if wait_health {
            let waiting = Instant::now();
            let health = self.wait_healthy(step, &id, limit).await;
            self.timing(|t| t.health += waiting.elapsed());
            match health? {
                Ok(was_checked) => healthy = was_checked,
                Err((status, message)) => {
                    tail.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push_back(message);
                    return Ok((status, None));
                }
            }
        }
        let mut ports = BTreeMap::new();
        let listen = if wait_health {
            Vec::new()
        } else {
            self.ports_to_wait_for(step)
        };
        // The engine picks the host ports and the process id: ask (when there is a reason to).
        let (published, pid) = if self.publish_ports || !listen.is_empty() {
            let inspect = self
                .docker
                .inspect_container(&id, None)
                .await
                .map_err(|e| engine_error(format!("inspect service `{}`", step.name), e))?;
            (
                inspect.network_settings.and_then(|n| n.ports),
                inspect
                    .state
                    .and_then(|s| s.pid)
                    .and_then(|p| u32::try_from(p).ok()),
            )
        } else {
            (None, None)
        };
        if let Some(map) = published {
            for (port, bindings) in map {
                if let Some(host) = bindings
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|b| b.host_port.as_deref()?.parse::<u16>().ok())
                    .next()
                {
                    ports.insert(port, host);
                }
            }
        }
        if !listen.is_empty() {
            let waiting = Instant::now();
            let limit = step.timeout.unwrap_or(LISTEN_WAIT);
            if let Some(missing) = wait_listening(pid, &listen, &ports, limit).await {
                let message = format!(
                    "service `{}` did not listen on port {missing} within {}; going on",
                    step.name,
                    crate::duration::format_duration(limit)
                );
                self.observer.on_event(&Event::Notice { message: &message });
            }
            self.timing(|t| t.health += waiting.elapsed());
        }
        self.services
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Service {
                name: step.name.clone(),
                container_id: id,
                hostnames: step.aliases.clone(),
                image: step.resolved_image.clone(),
                ports,
                docker: self.docker.clone(),
                handle: tokio::runtime::Handle::current(),
            });
        self.observer.on_event(&Event::ServiceReady {
            step: &step.name,
            after: started.elapsed(),
            healthy,
        });
        Ok((StepStatus::Running, None))
    }

    /// Waits for a service's health check: Ok(Ok(true)) healthy, Ok(Ok(false)) no check after
    /// all (Podman's empty status), Ok(Err(..)) unhealthy or gone.
    async fn wait_healthy(
        &self,
        step: &PlannedStep,
        id: &str,
        limit: Duration,
    ) -> Result<Result<bool, (StepStatus, String)>, Error> {
        let deadline = Instant::now() + limit;
        loop {
            let inspect = self
                .docker
                .inspect_container(id, None)
                .await
                .map_err(|e| engine_error(format!("inspect service `{}`", step.name), e))?;
            let state = inspect.state.unwrap_or_default();
            let health = state.health.unwrap_or_default();
            let last_check = health
                .log
                .as_ref()
                .and_then(|l| l.last())
                .map(|r| {
                    format!(
                        "exit code {}: {}",
                        r.exit_code.unwrap_or(-1),
                        r.output.as_deref().unwrap_or("").trim()
                    )
                })
                .unwrap_or_else(|| "no check has run yet".into());
            if state.running == Some(false) {
                let code = state.exit_code.unwrap_or(-1);
                return Ok(Err((
                    StepStatus::Unhealthy,
                    format!(
                        "service `{}` exited with code {code} before it became healthy",
                        step.name
                    ),
                )));
            }
            match health.status {
                Some(HealthStatusEnum::HEALTHY) => return Ok(Ok(true)),
                None | Some(HealthStatusEnum::EMPTY | HealthStatusEnum::NONE) => {
                    return Ok(Ok(false));
                }
                Some(HealthStatusEnum::UNHEALTHY) => {
                    return Ok(Err((
                        StepStatus::Unhealthy,
                        format!(
                            "service `{}` is unhealthy; last check: {last_check}",
                            step.name
                        ),
                    )));
                }
                Some(HealthStatusEnum::STARTING) => {}
            }
            if Instant::now() >= deadline {
                return Ok(Err((
                    StepStatus::Unhealthy,
                    format!(
                        "service `{}` was not healthy after {}; last check: {last_check}",
                        step.name,
                        crate::duration::format_duration(limit)
                    ),
                )));
            }
            tokio::time::sleep(HEALTH_POLL).await;
        }
    }

    fn into_running(
        self,
        started: Instant,
        timed_out: bool,
        stage_timeout: Option<Duration>,
    ) -> RunningStage {
        let mut reports: Vec<StepReport> = self
            .reports
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .into_iter()
            .zip(&self.plan.steps)
            .map(|(r, step)| {
                r.unwrap_or_else(|| StepReport {
                    name: step.name.clone(),
                    type_name: step.type_name,
                    kind: step.kind,
                    image: step.resolved_image.clone(),
                    status: StepStatus::Skipped,
                    exit_code: None,
                    duration: Duration::ZERO,
                    output_tail: Vec::new(),
                })
            })
            .collect();
        let first_failure = *self.first_failure.lock().unwrap_or_else(|e| e.into_inner());
        let outcome = match (first_failure, timed_out) {
            (Some(i), _) => Outcome::Failed {
                step: reports[i].name.clone(),
                status: reports[i].status.clone(),
            },
            (None, true) => {
                let after = stage_timeout.unwrap_or_default();
                // The step that was running when time ran out.
                let running = reports
                    .iter_mut()
                    .find(|r| r.kind == StepKind::Run && r.status == StepStatus::Skipped);
                let step = match running {
                    Some(r) => {
                        r.status = StepStatus::TimedOut { after };
                        r.name.clone()
                    }
                    None => String::from("(stage)"),
                };
                Outcome::Failed {
                    step,
                    status: StepStatus::TimedOut { after },
                }
            }
            (None, false) => Outcome::Passed,
        };
        let containers = self
            .containers
            .into_inner()
            .unwrap_or_else(|e| e.into_inner());
        let service_containers = self
            .plan
            .steps
            .iter()
            .zip(containers)
            .filter(|(s, _)| s.kind == StepKind::Service)
            .filter_map(|(s, id)| Some((s.name.clone(), id?)))
            .collect();
        let timings = *self.timings.lock().unwrap_or_else(|e| e.into_inner());
        let removals =
            std::mem::take(&mut *self.removals.lock().unwrap_or_else(|e| e.into_inner()));
        RunningStage {
            _lease: self.lease,
            network: self.network.clone().unwrap_or_default(),
            reuse_networks: self.reuse_networks,
            timings,
            removals,
            docker: self.docker,
            service_containers,
            run_id: self.guard.run_id().to_string(),
            name: self.plan.name,
            guard: Some(self.guard),
            observer: self.observer,
            services: self
                .services
                .into_inner()
                .unwrap_or_else(|e| e.into_inner()),
            steps: reports,
            outcome,
            started,
        }
    }
}

/// A stage whose steps have run, with its services still up.
///
/// [`RunningStage::finish`] tears it down and returns the report; dropping it tears it down
/// too (from a thread of its own).
pub struct RunningStage {
    /// Keeps the network pool alive until this stage is torn down.
    _lease: Arc<Lease>,
    network: String,
    reuse_networks: bool,
    docker: Docker,
    /// Every service container that was created, healthy or not: (step, id).
    service_containers: Vec<(String, String)>,
    run_id: String,
    name: String,
    guard: Option<Guard>,
    observer: Arc<dyn Observer>,
    services: Vec<Service>,
    steps: Vec<StepReport>,
    outcome: Outcome,
    started: Instant,
    timings: Timings,
    removals: Vec<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for RunningStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningStage")
            .field("name", &self.name)
            .field("outcome", &self.outcome)
            .finish_non_exhaustive()
    }
}

impl RunningStage {
    /// The stage's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// True when every step passed.
    pub fn passed(&self) -> bool {
        self.outcome == Outcome::Passed
    }

    /// The run's id: its resources carry the label `pipeline-test.run=<id>`.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// How the steps ended.
    pub fn outcome(&self) -> &Outcome {
        &self.outcome
    }

    /// The steps' reports so far.
    pub fn steps(&self) -> &[StepReport] {
        &self.steps
    }

    /// The background services, in YAML order.
    pub fn services(&self) -> &[Service] {
        &self.services
    }

    /// The service of step `name`.
    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services
            .iter()
            .find(|s| s.name == name || s.hostnames.iter().any(|h| h == name))
    }

    /// Waits until every published port of every service accepts connections, for at most
    /// `limit`.
    ///
    /// # Errors
    ///
    /// [`Error::PortNotReady`] naming the service and port that did not open in time.
    pub async fn wait_for_ports(&self, limit: Duration) -> Result<(), Error> {
        let deadline = Instant::now() + limit;
        for r in join_all(self.services.iter().map(|s| s.wait_for_ports(deadline))).await {
            r?;
        }
        Ok(())
    }

    /// Notes how services ended, collects their logs if the stage failed, tears everything
    /// down and returns the report.
    pub async fn finish(mut self) -> StageReport {
        let failed = self.outcome != Outcome::Passed;
        let inspections = join_all(
            self.services
                .iter()
                .map(|s| self.docker.inspect_container(&s.container_id, None)),
        )
        .await;
        for (service, inspect) in self.services.iter().zip(inspections) {
            let Ok(inspect) = inspect else { continue };
            let state = inspect.state.unwrap_or_default();
            if state.running == Some(false) {
                if let Some(r) = self.steps.iter_mut().find(|r| r.name == service.name) {
                    if r.status == StepStatus::Running {
                        r.status = StepStatus::Exited {
                            exit_code: state.exit_code.unwrap_or(-1),
                        };
                        r.exit_code = state.exit_code;
                    }
                }
            }
        }
        let mut service_logs = Vec::new();
        if failed {
            let logs = join_all(
                self.service_containers
                    .iter()
                    .map(|(_, id)| last_lines(&self.docker, id, SERVICE_LOG_LINES)),
            )
            .await;
            for ((name, _), lines) in self.service_containers.iter().zip(logs) {
                service_logs.push((name.clone(), lines));
            }
        }
        let teardown_started = Instant::now();
        let keep = self.guard.as_ref().is_some_and(Guard::keeps);
        if !keep {
            // Finished steps' containers are already going; remove the services beside them.
            let opts = RemoveContainerOptionsBuilder::default()
                .force(true)
                .v(true)
                .build();
            let services = join_all(
                self.service_containers
                    .iter()
                    .map(|(_, id)| self.docker.remove_container(id, Some(opts.clone()))),
            );
            tokio::join!(join_all(std::mem::take(&mut self.removals)), services);
        }
        let teardown = match self.guard.take() {
            Some(g) => g.teardown(self.reuse_networks).await,
            None => Default::default(),
        };
        self.timings.teardown = teardown_started.elapsed();
        for e in &teardown.errors {
            self.observer.on_event(&Event::Notice {
                message: &format!("teardown: {e}"),
            });
        }
        if let Some(kept) = &teardown.kept {
            self.observer.on_event(&Event::Notice { message: kept });
        }
        let report = StageReport {
            stage: self.name.clone(),
            run_id: self.run_id.clone(),
            network: self.network.clone(),
            steps: std::mem::take(&mut self.steps),
            outcome: self.outcome.clone(),
            service_logs,
            teardown_errors: teardown.errors,
            duration: self.started.elapsed(),
            timings: self.timings,
        };
        self.observer
            .on_event(&Event::StageFinished { report: &report });
        report
    }
}

/// Makes sure `image` is present, pulling it as `pull` says; returns what it offers.
async fn prepare_image(
    docker: &Docker,
    observer: &dyn Observer,
    image: &str,
    pull: Pull,
    login: Option<Login>,
) -> Result<ImageFacts, Error> {
    if pull != Pull::Always {
        match docker.inspect_image(image).await {
            Ok(inspect) => return Ok(facts(inspect)),
            Err(e) if is_not_found(&e) => {
                if pull == Pull::Never {
                    return Err(Error::ImageMissing {
                        image: image.into(),
                    });
                }
            }
            Err(e) => return Err(engine_error(format!("inspect image {image}"), e)),
        }
    }
    observer.on_event(&Event::Notice {
        message: &format!("pulling {image}"),
    });
    let (name, tag) = split_reference(image);
    let options = CreateImageOptionsBuilder::default()
        .from_image(name)
        .tag(tag.unwrap_or("latest"))
        .build();
    let login = login.or_else(|| docker_config_login(registry_of(image)));
    let credentials = login.map(|l| bollard::auth::DockerCredentials {
        username: Some(l.username),
        password: Some(l.password),
        ..Default::default()
    });
    let mut stream = docker.create_image(Some(options), None, credentials);
    while let Some(item) = stream.next().await {
        match item {
            Err(e) => {
                return Err(Error::ImagePull {
                    image: image.into(),
                    message: pull_message(&e),
                });
            }
            Ok(info) => {
                if let Some(detail) = info.error_detail.and_then(|d| d.message) {
                    return Err(Error::ImagePull {
                        image: image.into(),
                        message: detail,
                    });
                }
            }
        }
    }
    let inspect = docker
        .inspect_image(image)
        .await
        .map_err(|e| engine_error(format!("inspect image {image} after pulling it"), e))?;
    Ok(facts(inspect))
}

/// The stage's network: a free one from the pool (with `reuse`), else a new one named
/// `name`. When Docker has no address pool left (too many networks at once), waits and
/// retries with bounded backoff, saying so once, taking a pooled network as soon as another
/// run gives one back.
async fn acquire_network(
    docker: &Docker,
    observer: &dyn Observer,
    name: &str,
    reuse: bool,
) -> Result<String, Error> {
    let deadline = Instant::now() + NETWORK_POOL_WAIT;
    let mut delay = Duration::from_millis(100);
    let mut said = false;
    loop {
        if reuse {
            if let Some(pooled) = crate::pool::take() {
                return Ok(pooled);
            }
        }
        let request = NetworkCreateRequest {
            name: name.to_string(),
            driver: Some("bridge".into()),
            labels: Some(network_labels()),
            ..Default::default()
        };
        match docker.create_network(request).await {
            Ok(_) => return Ok(name.to_string()),
            Err(e) if is_pool_exhausted(&e) && Instant::now() < deadline => {
                if !said {
                    observer.on_event(&Event::Notice {
                        message: "Docker has no address pool left for a new network; waiting for other runs to finish (up to 5m)",
                    });
                    said = true;
                }
                // Jitter, so that many waiting runs do not retry in step.
                let jitter = u64::from(std::process::id() % 97)
                    + u64::from(name.bytes().map(u32::from).sum::<u32>() % 89);
                tokio::time::sleep(delay + Duration::from_millis(jitter)).await;
                delay = (delay * 2).min(Duration::from_secs(2));
            }
            Err(e) => {
                let mut err = engine_error(format!("create network {name}"), e);
                if let Error::Docker { message, .. } = &mut err {
                    if message.contains("address pool") || message.contains("non-overlapping") {
                        message.push_str(" (waited 5m for a free pool; remove unused networks with `docker network prune`, or widen the engine's `default-address-pools`)");
                    }
                }
                return Err(err);
            }
        }
    }
}

fn is_pool_exhausted(e: &bollard::errors::Error) -> bool {
    let text = e.to_string();
    text.contains("non-overlapping") || text.contains("address pool")
}

fn pull_message(e: &bollard::errors::Error) -> String {
    match e {
        bollard::errors::Error::DockerResponseServerError { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

fn facts(inspect: bollard::models::ImageInspect) -> ImageFacts {
    let config = inspect.config.unwrap_or_default();
    ImageFacts {
        exposed_ports: config.exposed_ports.unwrap_or_default(),
        healthcheck: config
            .healthcheck
            .and_then(|h| h.test)
            .is_some_and(|t| t.first().is_some_and(|x| x != "NONE")),
    }
}

/// Ports to expose and bind on 127.0.0.1: the image's, and the YAML's (`6379`, `8080:80`,
/// `53/udp`). A YAML host port is kept; others get a random free port.
fn publish(
    image_ports: &[String],
    yaml_ports: &[String],
) -> (Vec<String>, HashMap<String, Option<Vec<PortBinding>>>) {
    let mut bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
    let bind = |host: &str| {
        Some(vec![PortBinding {
            host_ip: Some("127.0.0.1".into()),
            host_port: Some(host.to_string()),
        }])
    };
    for p in image_ports {
        bindings.insert(p.clone(), bind(""));
    }
    for p in yaml_ports {
        let (spec, proto) = p.split_once('/').unwrap_or((p.as_str(), "tcp"));
        let (host, container) = match spec.rsplit_once(':') {
            Some((host, container)) => (host.rsplit(':').next().unwrap_or(""), container),
            None => ("", spec),
        };
        bindings.insert(format!("{container}/{proto}"), bind(host));
    }
    let mut exposed: Vec<String> = bindings.keys().cloned().collect();
    exposed.sort();
    (exposed, bindings)
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

fn slug(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let s = s.trim_matches('-');
    if s.is_empty() {
        "step".into()
    } else {
        s.chars().take(40).collect()
    }
}

/// Reads a container's output line by line, to its end or, with `exit_mark`, until the
/// gate has printed its mark and the script's exit code on both streams (each stream keeps
/// its order, so by then all of both has arrived). Returns that exit code.
async fn pump_lines(
    mut stream: impl futures::Stream<
        Item = Result<bollard::container::LogOutput, bollard::errors::Error>,
    > + Unpin,
    step: &str,
    observer: &dyn Observer,
    tail: &Mutex<VecDeque<String>>,
    exit_mark: Option<&str>,
) -> Option<i64> {
    let mut pending: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
    let mut marked: [Option<i64>; 2] = [None, None];
    let emit = |line: &[u8]| {
        let line = String::from_utf8_lossy(line);
        let line = line.trim_end_matches('\r');
        observer.on_event(&Event::Output { step, line });
        let mut t = tail.lock().unwrap_or_else(|e| e.into_inner());
        if t.len() == TAIL_LINES {
            t.pop_front();
        }
        t.push_back(line.to_string());
    };
    while let Some(Ok(chunk)) = stream.next().await {
        let (which, bytes) = match chunk {
            bollard::container::LogOutput::StdErr { message } => (1, message),
            other => (0, other.into_bytes()),
        };
        let buf = &mut pending[which];
        buf.extend_from_slice(&bytes);
        while let Some(pos) = buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buf.drain(..=pos).collect();
            let line = &line[..line.len() - 1];
            if let Some(mark) = exit_mark {
                let text = String::from_utf8_lossy(line);
                if let Some(at) = text.find(mark) {
                    if at > 0 {
                        emit(&line[..at]);
                    }
                    marked[which] = text[at + mark.len()..].trim().parse().ok();
                    if let [Some(code), Some(_)] = marked {
                        return Some(code);
                    }
                    continue;
                }
            }
            emit(line);
        }
    }
    for buf in pending {
        if !buf.is_empty() {
            emit(&buf);
        }
    }
    None
}

/// The variable a gated container finds its script in.
const SCRIPT_ENV: &str = "PIPELINE_TEST_SCRIPT";
/// The variable holding the mark the gate prints, with the script's exit code, when the
/// script ends: the harness need not wait for the container to stop to know how it ended.
const MARK_ENV: &str = "PIPELINE_TEST_EXIT_MARK";

/// The exit mark of step `index` of run `run_id`: not something a script prints by chance.
fn exit_mark(run_id: &str, index: usize) -> String {
    format!("pipeline-test-exit-{run_id}-{index}")
}

/// A run step's container, started ahead of its turn, waiting at its gate.
struct Gated {
    id: String,
    attached: AttachContainerResults,
}

/// The command that holds a run step's container at a gate until its turn: its shell reads
/// one line from standard input and, on `run`, becomes the step's script. On anything else
/// (end of input: the harness went away) it exits without running it. `None` for steps that
/// do not run a script through a shell.
fn gate_command(step: &PlannedStep) -> Option<Vec<String>> {
    if step.kind != StepKind::Run || step.script.is_none() {
        return None;
    }
    let shell = step.entrypoint.as_ref()?.first()?;
    shell.starts_with('/').then(|| {
        vec![
            shell.clone(),
            "-c".into(),
            format!(
                "read -r go && [ \"$go\" = run ] && {{ {shell} -c \"${SCRIPT_ENV}\"; c=$?; printf '%s %d\\n' \"${MARK_ENV}\" $c; printf '%s %d\\n' \"${MARK_ENV}\" $c >&2; exit $c; }}"
            ),
        ]
    })
}

/// Waits until a service listens on every port of `ports`; the first port it did not listen
/// on in time, if any. With a local engine, the service's sockets are read from
/// `/proc/<pid>/net/tcp{,6}` (no traffic at all); otherwise its published ports are probed on
/// 127.0.0.1; with neither, there is nothing to wait with.
async fn wait_listening(
    pid: Option<u32>,
    ports: &[u16],
    published: &BTreeMap<String, u16>,
    limit: Duration,
) -> Option<u16> {
    let deadline = Instant::now() + limit;
    if let Some(pid) = pid.filter(|p| *p > 0 && listening(*p).is_some()) {
        for &port in ports {
            loop {
                match listening(pid) {
                    None => return None, // the service exited: its exit code is information
                    Some(open) if open.contains(&port) => break,
                    Some(_) if Instant::now() >= deadline => return Some(port),
                    Some(_) => tokio::time::sleep(Duration::from_millis(5)).await,
                }
            }
        }
        return None;
    }
    for &port in ports {
        let Some(&host_port) = published.get(&format!("{port}/tcp")) else {
            continue;
        };
        let addr = std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, host_port));
        while !crate::service::port_is_ready(addr).await {
            if Instant::now() >= deadline {
                return Some(port);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    None
}

/// The TCP ports process `pid`'s network namespace listens on, from `/proc`; `None` when they
/// cannot be read (another machine's engine, or the process is gone).
fn listening(pid: u32) -> Option<Vec<u16>> {
    let mut open = Vec::new();
    let mut read_any = false;
    for file in ["tcp", "tcp6"] {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/{file}")) else {
            continue;
        };
        read_any = true;
        for line in text.lines().skip(1) {
            let mut fields = line.split_whitespace();
            let (Some(local), Some(_remote), Some(state)) =
                (fields.nth(1), fields.next(), fields.next())
            else {
                continue;
            };
            if state == "0A" {
                if let Some(port) = local
                    .rsplit(':')
                    .next()
                    .and_then(|h| u16::from_str_radix(h, 16).ok())
                {
                    open.push(port);
                }
            }
        }
    }
    read_any.then_some(open)
}

/// Waits for a container to stop; its exit code.
async fn wait_exit(docker: &Docker, id: &str) -> Result<i64, bollard::errors::Error> {
    let opts = WaitContainerOptionsBuilder::default()
        .condition("not-running")
        .build();
    match docker.wait_container(id, Some(opts)).next().await {
        Some(Ok(r)) => Ok(r.status_code),
        Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => Ok(code),
        Some(Err(e)) => Err(e),
        None => {
            let inspect = docker.inspect_container(id, None).await?;
            Ok(inspect.state.and_then(|s| s.exit_code).unwrap_or(-1))
        }
    }
}

/// The last `n` lines of a container's log.
async fn last_lines(docker: &Docker, id: &str, n: usize) -> Vec<String> {
    let opts = LogsOptionsBuilder::default()
        .stdout(true)
        .stderr(true)
        .tail(&n.to_string())
        .build();
    let mut text = Vec::new();
    let mut stream = docker.logs(id, Some(opts));
    while let Some(Ok(chunk)) = stream.next().await {
        text.extend_from_slice(&chunk.into_bytes());
    }
    String::from_utf8_lossy(&text)
        .lines()
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_published_on_loopback() {
        let (exposed, bindings) =
            publish(&["6379/tcp".into()], &["8080:80".into(), "53/udp".into()]);
        assert_eq!(exposed, ["53/udp", "6379/tcp", "80/tcp"]);
        let b = |k: &str| bindings[k].as_ref().unwrap()[0].clone();
        assert_eq!(b("6379/tcp").host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(b("6379/tcp").host_port.as_deref(), Some(""));
        assert_eq!(b("80/tcp").host_port.as_deref(), Some("8080"));
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("My Step!"), "my-step");
        assert_eq!(slug("!!"), "step");
    }
}

//! The seam between the run logic and a container engine.
//!
//! The runner (`run/`) asks an [`Engine`] for what a stage needs, at the plan's level:
//! prepare a stage (images, network, volumes), create a step's container, hold it at its gate
//! and release it, stream its output, wait for its exit, look at it (state, health, ports),
//! run a command in it, and remove a run's resources. It never names a client library.
//!
//! Two engines implement it:
//! - `docker/`: the Docker engine (and Podman, and remote engines over TCP, TLS or ssh) through
//!   its client library, with every Docker-only technique (the network pool, `/proc` listening checks);
//! - `fake/` (tests only): an in-memory engine scripted per step, so that the run logic is
//!   tested in milliseconds without a daemon.
//!
//! Where a second engine (Kubernetes) would go is said in `ARCHITECTURE.md`.

pub(crate) mod docker;
#[cfg(test)]
pub(crate) mod fake;

use std::collections::BTreeMap;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::BoxStream;

use crate::Error;
use crate::plan::{PlannedStep, StagePlan};
use crate::ports::ContainerPort;
use crate::report::{Observer, Timings};
use crate::run::{Prepared, Workspace};
use crate::service::ExecOutput;
use crate::share::{SharedKey, SharedState};
use crate::teardown::{Guard, Resources, TeardownReport};

/// A shared handle on the engine a runner uses.
pub(crate) type Engine = Arc<dyn ContainerEngine>;

/// What an engine said when it refused or failed a request.
#[derive(Debug)]
pub(crate) struct EngineError {
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl EngineError {
    /// An engine's error.
    pub(crate) fn new(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        EngineError {
            source: source.into(),
        }
    }

    /// [`Error::Engine`], saying what was being done.
    pub(crate) fn doing(self, action: impl Into<String>) -> Error {
        Error::Engine {
            action: action.into(),
            source: self.source,
        }
    }
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.source.fmt(f)
    }
}

/// A piece of a container's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Chunk {
    /// Standard output (or the terminal, for a container with one).
    Out(bytes::Bytes),
    /// Standard error.
    Err(bytes::Bytes),
}

impl Chunk {
    /// The bytes, whichever stream they came on.
    pub(crate) fn into_bytes(self) -> bytes::Bytes {
        match self {
            Chunk::Out(b) | Chunk::Err(b) => b,
        }
    }
}

/// A container's output as it comes.
pub(crate) type Output = BoxStream<'static, Result<Chunk, EngineError>>;

/// A container attached to before it started: its standard input, and its output.
pub(crate) struct Attached {
    /// What is written here is the container's standard input.
    pub input: Pin<Box<dyn tokio::io::AsyncWrite + Send>>,
    /// Everything it prints, from its start.
    pub output: Output,
}

/// A health check as the engine holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct HealthCheck {
    /// `["CMD", ...]`, `["CMD-SHELL", "..."]` or `["NONE"]`.
    pub test: Vec<String>,
    /// Between two checks; `None` for the engine's default.
    pub interval: Option<Duration>,
    /// How long one check may take; `None` for the engine's default.
    pub timeout: Option<Duration>,
}

/// A container's health as the engine's own checks found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HealthStatus {
    /// No check, or none the engine runs (Podman reports an empty status).
    None,
    /// Checks have run, none passed yet.
    Starting,
    /// The last check passed.
    Healthy,
    /// The checks failed as often as allowed.
    Unhealthy,
}

/// What the engine says of a container now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ContainerState {
    /// Its process runs.
    pub running: bool,
    /// How it exited, once it has.
    pub exit_code: Option<i64>,
    /// RFC 3339 times of its start and its end, as the engine writes them.
    pub started_at: Option<String>,
    /// See `started_at`.
    pub finished_at: Option<String>,
    /// Its main process on the engine's machine.
    pub pid: Option<u32>,
    /// Container port -> published host port.
    pub ports: BTreeMap<ContainerPort, u16>,
    /// Its health check, as created.
    pub check: Option<HealthCheck>,
    /// What the engine's own checks found.
    pub health: HealthStatus,
    /// The engine's last check: its exit code and output.
    pub last_check: Option<(i64, String)>,
}

impl Default for ContainerState {
    fn default() -> Self {
        ContainerState {
            running: true,
            exit_code: None,
            started_at: None,
            finished_at: None,
            pid: None,
            ports: BTreeMap::new(),
            check: None,
            health: HealthStatus::None,
            last_check: None,
        }
    }
}

/// A step's container as the runner asks for it.
pub(crate) struct CreateRequest<'a> {
    /// The container's name.
    pub name: &'a str,
    /// The planned step it runs.
    pub step: &'a PlannedStep,
    /// With a gate, this command replaces its entrypoint and command and its standard input
    /// stays open for the go.
    pub gate: Option<Vec<String>>,
    /// The run it belongs to.
    pub run_id: &'a str,
    /// The stage's network, volumes, images and workspace.
    pub prepared: &'a Prepared,
    /// Publish its ports on this address (`""` for every interface); `None`: publish none.
    pub publish: Option<&'a str>,
}

/// What a stage needs prepared before its first container.
pub(crate) struct PrepareRequest<'a> {
    /// The stage.
    pub plan: &'a StagePlan,
    /// The run's guard: each resource is tracked in it as soon as it exists.
    pub guard: &'a Guard,
    /// Where the workspace comes from.
    pub workspace: &'a Workspace,
    /// A network may come from this runner's pool.
    pub reuse_networks: bool,
    /// The stage's network, made already (a shared stage's, whose name was its lock); it is
    /// not the run's to remove.
    pub network: Option<String>,
    /// Told of pulls and builds.
    pub observer: &'a dyn Observer,
}

/// Where the services' ports are reached from here, and the address the engine publishes them
/// on (`127.0.0.1` for an engine on this machine, all interfaces otherwise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reach {
    /// The address `Service::addr` returns.
    pub host: std::net::IpAddr,
    /// `HostIp` of the port bindings (`""`: every interface).
    pub bind: String,
    /// The engine runs on this machine (a `unix://` socket): its containers' process ids
    /// are this machine's.
    pub local: bool,
}

impl Reach {
    /// An engine on this machine.
    pub(crate) fn local() -> Self {
        Reach {
            host: std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
            bind: "127.0.0.1".into(),
            local: true,
        }
    }
}

/// A container engine, at the plan's level. Every method is one request a runner makes;
/// errors are the engine's own ([`EngineError`]), which the caller turns into an
/// [`Error::Engine`] saying what it was doing.
pub(crate) trait ContainerEngine: Send + Sync + fmt::Debug + 'static {
    /// Where published ports are bound and reached.
    fn reach(&self) -> Reach;

    /// Images (checked, pulled or built), a network and the stage's volumes, each tracked as
    /// soon as it exists; the phases' times into `timings`.
    fn prepare<'a>(
        &'a self,
        request: PrepareRequest<'a>,
        timings: &'a mut Timings,
    ) -> BoxFuture<'a, Result<Prepared, Error>>;

    /// Creates a step's container (not started); its id.
    fn create<'a>(
        &'a self,
        request: CreateRequest<'a>,
    ) -> BoxFuture<'a, Result<String, EngineError>>;

    /// Unpacks a tar archive at `/` of container `id`.
    fn upload<'a>(
        &'a self,
        id: &'a str,
        archive: Vec<u8>,
    ) -> BoxFuture<'a, Result<(), EngineError>>;

    /// `path` of container `id`, as a tar archive.
    fn download<'a>(
        &'a self,
        id: &'a str,
        path: &'a str,
    ) -> BoxFuture<'a, Result<Vec<u8>, EngineError>>;

    /// Attaches to container `id` before it starts: nothing it prints is missed.
    fn attach<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Attached, EngineError>>;

    /// Starts container `id`.
    fn start<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), EngineError>>;

    /// Container `id`'s output: to its end with `follow`, else what there is; only the last
    /// `tail` lines when given.
    fn logs(&self, id: &str, follow: bool, tail: Option<usize>) -> Output;

    /// Waits until container `id` stops; its exit code.
    fn wait<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<i64, EngineError>>;

    /// What the engine says of container `id` now.
    fn inspect<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<ContainerState, EngineError>>;

    /// The TCP ports container `id` (main process `pid`) listens on, when this engine can
    /// tell without traffic; `None` when it cannot (or the process is gone). It may stop
    /// looking once the ports found are `enough`.
    fn listening(&self, id: &str, pid: u32, enough: &dyn Fn(&[u16]) -> bool) -> Option<Vec<u16>>;

    /// Whether main process `pid` of a container still runs, when this engine can tell
    /// without a request (a local engine, from `/proc`); `None` when it cannot: then ask
    /// [`ContainerEngine::inspect`].
    fn alive(&self, _pid: u32) -> Option<bool> {
        None
    }

    /// Runs `cmd` in container `id`.
    fn exec<'a>(
        &'a self,
        id: &'a str,
        cmd: Vec<String>,
    ) -> BoxFuture<'a, Result<ExecOutput, EngineError>>;

    /// Kills and removes containers `ids`, concurrently; the failures, but for containers
    /// already gone.
    fn remove<'a>(&'a self, ids: &'a [String]) -> BoxFuture<'a, Vec<(String, EngineError)>>;

    /// Removes a run's resources (or keeps them, saying how to remove them by hand); with
    /// `recycle`, an emptied network may serve the next stage. Unless `complete` (every create
    /// returned and was tracked), the run's untracked containers are looked for too.
    fn teardown<'a>(&'a self, run: Teardown) -> BoxFuture<'a, TeardownReport>;

    /// Marks run `run_id` kept on the engine (no later sweep removes it); the marker's name.
    fn mark_kept<'a>(&'a self, run_id: &'a str) -> BoxFuture<'a, Option<String>>;

    /// What this process created that still exists, as `kind name` strings.
    fn leftovers(&self) -> BoxFuture<'_, Result<Vec<String>, Error>>;

    /// Removes, off the caller's path, what killed processes left behind (when it is due).
    fn sweep_in_background(&self);

    /// The process is done with the engine: end its lease (no more heartbeats, the current one
    /// removed), so that nothing of it is left when it exits.
    fn release(&self) -> BoxFuture<'_, ()>;

    /// The same engine through a new client, for work on another thread and runtime (from
    /// `Drop`, or a signal handler).
    fn detached(&self) -> Result<Engine, String>;

    /// Registers this process as a user of shared stage `key` (a reference its lease holds).
    fn join_shared<'a>(&'a self, key: &'a SharedKey) -> BoxFuture<'a, Result<(), EngineError>>;

    /// What the engine holds of shared stage `key`.
    fn shared_state<'a>(
        &'a self,
        key: &'a SharedKey,
    ) -> BoxFuture<'a, Result<SharedState, EngineError>>;

    /// Yields each time shared stage `key` may have been recorded (ready or failed) since just
    /// before the call, so that a process waiting for it looks again at once. An engine that
    /// cannot tell yields nothing: the waiting process looks again after a pause.
    fn shared_changes<'a>(&'a self, key: &'a SharedKey) -> BoxStream<'a, ()>;

    /// Claims shared stage `key` (planned as `plan`) for this process: true when this process
    /// won (the engine decides, by a name it gives once), and its removal at the run's end is
    /// arranged.
    fn claim_shared<'a>(
        &'a self,
        key: &'a SharedKey,
        plan: &'a StagePlan,
    ) -> BoxFuture<'a, Result<bool, Error>>;

    /// Records shared stage `key`, claimed by this process, as ready or failed.
    fn publish_shared<'a>(
        &'a self,
        key: &'a SharedKey,
        state: &'a SharedState,
    ) -> BoxFuture<'a, Result<(), EngineError>>;

    /// This process gives up its claim on shared stage `key` without a record: what it
    /// started is removed, and another process may claim the stage.
    fn abandon_shared(&self, key: &SharedKey);
}

/// A run's resources to tear down.
#[derive(Debug)]
pub(crate) struct Teardown {
    /// The run.
    pub run_id: String,
    /// What it created.
    pub resources: Resources,
    /// `PIPELINE_TEST_KEEP` keeps them.
    pub keep: bool,
    /// An emptied network may go back to the pool.
    pub recycle: bool,
    /// Every create returned and was tracked.
    pub complete: bool,
}

/// The last `n` lines of container `id`'s output.
pub(crate) async fn last_lines(engine: &dyn ContainerEngine, id: &str, n: usize) -> Vec<String> {
    let mut text = Vec::new();
    let mut stream = engine.logs(id, false, Some(n));
    while let Some(Ok(chunk)) = stream.next().await {
        text.extend_from_slice(&chunk.into_bytes());
    }
    String::from_utf8_lossy(&text)
        .lines()
        .map(str::to_string)
        .collect()
}

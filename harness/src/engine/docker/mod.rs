//! The Docker engine behind the [`ContainerEngine`] seam: every bollard request and every
//! Docker-only technique (the network pool, `/proc` listening checks, the heartbeat volume and
//! the watcher, the sweep, Podman's empty health status). Podman and remote engines (TCP, TLS,
//! ssh) are endpoints of this backend.

mod build;
pub(crate) mod client;
mod container;
pub(crate) mod endpoint;
mod listen;
pub(crate) mod network;
mod pool;
mod prepare;
mod raw;
pub(crate) mod reaper;
pub(crate) mod removal;
pub(crate) mod share;
pub(crate) mod signals;
mod state;
pub(crate) mod sweep;

use bollard::Docker;
use bollard::body_full;
use bollard::container::{AttachContainerResults, LogOutput};
use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::query_parameters::{
    AttachContainerOptionsBuilder, CreateContainerOptionsBuilder,
    DownloadFromContainerOptionsBuilder, LogsOptionsBuilder, UploadToContainerOptionsBuilder,
    WaitContainerOptionsBuilder,
};
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, TryStreamExt};

use super::{
    Attached, Chunk, ContainerEngine, ContainerState, CreateRequest, Engine, EngineError, Output,
    PrepareRequest, Reach, Teardown,
};
use crate::Error;
use crate::plan::StagePlan;
use crate::report::Timings;
use crate::run::Prepared;
use crate::service::ExecOutput;
use crate::share::{SharedKey, SharedState};
use crate::teardown::TeardownReport;

/// The Docker engine `DOCKER_HOST` names.
#[derive(Debug, Clone)]
pub(crate) struct DockerEngine {
    docker: Docker,
    endpoint: String,
    reach: Reach,
    /// Whether a container with this process's own lease was created (a shared stage's carry
    /// the stage's): its start takes the lease.
    own_lease: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Keeps this process's network pool while a runner, a stage or a teardown uses it.
    _pool: std::sync::Arc<network::Lease>,
}

impl DockerEngine {
    /// Connects (negotiating the API version once per process) and installs the signal cleanup
    /// when `handle_signals`. This process's lease and watcher start with its first network or
    /// volume (`prepare`), or beside its first container's start: a process that only uses a
    /// stage another one started needs neither.
    ///
    /// # Errors
    ///
    /// [`Error::DockerUnreachable`] naming the endpoint tried; a bad `PIPELINE_TEST_HOST`.
    pub(crate) async fn connect(handle_signals: bool) -> Result<DockerEngine, Error> {
        let (docker, endpoint) = client::connect().await?;
        if handle_signals {
            signals::install_signal_cleanup(&endpoint);
        }
        let host = std::env::var(endpoint::HOST_ENV).ok();
        let reach = endpoint::reach(&endpoint, host.as_deref())?;
        let _pool = network::Lease::new(&endpoint);
        Ok(DockerEngine {
            docker,
            endpoint,
            reach,
            own_lease: Default::default(),
            _pool,
        })
    }
}

/// A bollard error as the seam carries it.
fn error(e: bollard::errors::Error) -> EngineError {
    EngineError::new(e)
}

fn chunk(item: Result<LogOutput, bollard::errors::Error>) -> Result<Chunk, EngineError> {
    match item.map_err(error)? {
        LogOutput::StdErr { message } => Ok(Chunk::Err(message)),
        other => Ok(Chunk::Out(other.into_bytes())),
    }
}

impl ContainerEngine for DockerEngine {
    fn reach(&self) -> Reach {
        self.reach.clone()
    }

    fn prepare<'a>(
        &'a self,
        request: PrepareRequest<'a>,
        timings: &'a mut Timings,
    ) -> BoxFuture<'a, Result<Prepared, Error>> {
        prepare::prepare(&self.docker, &self.endpoint, request, timings).boxed()
    }

    fn create<'a>(
        &'a self,
        request: CreateRequest<'a>,
    ) -> BoxFuture<'a, Result<String, EngineError>> {
        async move {
            let body = container::container_body(
                request.step,
                request.gate,
                request.run_id,
                request.prepared,
                request.publish,
            );
            let options = CreateContainerOptionsBuilder::default()
                .name(request.name)
                .build();
            if crate::labels::lease_of(request.run_id) == crate::labels::LEASE.as_str() {
                self.own_lease
                    .store(true, std::sync::atomic::Ordering::Relaxed);
            }
            let created = self.docker.create_container(Some(options), body).await;
            if matches!(&created, Err(e) if client::is_not_found(e)) {
                // Gone since it was looked at: the next stage looks again (and pulls it).
                prepare::forget_image(&self.endpoint, &request.step.resolved_image);
            }
            Ok(created.map_err(error)?.id)
        }
        .boxed()
    }

    fn upload<'a>(
        &'a self,
        id: &'a str,
        archive: Vec<u8>,
    ) -> BoxFuture<'a, Result<(), EngineError>> {
        async move {
            let opts = UploadToContainerOptionsBuilder::default().path("/").build();
            self.docker
                .upload_to_container(id, Some(opts), body_full(archive.into()))
                .await
                .map_err(error)
        }
        .boxed()
    }

    fn download<'a>(
        &'a self,
        id: &'a str,
        path: &'a str,
    ) -> BoxFuture<'a, Result<Vec<u8>, EngineError>> {
        async move {
            let opts = DownloadFromContainerOptionsBuilder::default()
                .path(path)
                .build();
            self.docker
                .download_from_container(id, Some(opts))
                .map_ok(|b| b.to_vec())
                .try_concat()
                .await
                .map_err(error)
        }
        .boxed()
    }

    fn attach<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Attached, EngineError>> {
        async move {
            let opts = AttachContainerOptionsBuilder::default()
                .stdin(true)
                .stdout(true)
                .stderr(true)
                .stream(true)
                .build();
            let AttachContainerResults { output, input } = self
                .docker
                .attach_container(id, Some(opts))
                .await
                .map_err(error)?;
            Ok(Attached {
                input,
                output: output.map(chunk).boxed(),
            })
        }
        .boxed()
    }

    fn start<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), EngineError>> {
        async move {
            if !self.own_lease.load(std::sync::atomic::Ordering::Relaxed) {
                return self.docker.start_container(id, None).await.map_err(error);
            }
            // The process's lease and watcher begin beside its first container's start (at
            // once for later ones), off the path before it: the sweep spares young containers.
            let (started, leased) = tokio::join!(
                self.docker.start_container(id, None),
                reaper::spawn::ensure(&self.docker, &self.endpoint)
            );
            started.map_err(error)?;
            // Nothing may outlive this process without a lease: the stage fails, and its
            // guard removes the container.
            leased.map_err(EngineError::new)
        }
        .boxed()
    }

    fn logs(&self, id: &str, follow: bool, tail: Option<usize>) -> Output {
        let tail = tail.map(|n| n.to_string());
        let mut opts = LogsOptionsBuilder::default()
            .follow(follow)
            .stdout(true)
            .stderr(true);
        if let Some(tail) = &tail {
            opts = opts.tail(tail);
        }
        self.docker.logs(id, Some(opts.build())).map(chunk).boxed()
    }

    fn wait<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<i64, EngineError>> {
        async move {
            let opts = WaitContainerOptionsBuilder::default()
                .condition("not-running")
                .build();
            match self.docker.wait_container(id, Some(opts)).next().await {
                Some(Ok(r)) => Ok(r.status_code),
                Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => {
                    Ok(code)
                }
                Some(Err(e)) => Err(error(e)),
                None => {
                    let inspect = self
                        .docker
                        .inspect_container(id, None)
                        .await
                        .map_err(error)?;
                    Ok(inspect.state.and_then(|s| s.exit_code).unwrap_or(-1))
                }
            }
        }
        .boxed()
    }

    fn inspect<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<ContainerState, EngineError>> {
        async move {
            let inspect = self
                .docker
                .inspect_container(id, None)
                .await
                .map_err(error)?;
            Ok(state::container_state(inspect, self.reach.local))
        }
        .boxed()
    }

    fn listening(&self, _id: &str, pid: u32, enough: &dyn Fn(&[u16]) -> bool) -> Option<Vec<u16>> {
        listen::listening(pid, enough)
    }

    fn alive(&self, pid: u32) -> Option<bool> {
        listen::alive(pid)
    }

    fn exec<'a>(
        &'a self,
        id: &'a str,
        cmd: Vec<String>,
    ) -> BoxFuture<'a, Result<ExecOutput, EngineError>> {
        async move {
            let created = self
                .docker
                .create_exec(
                    id,
                    CreateExecOptions {
                        cmd: Some(cmd),
                        attach_stdout: Some(true),
                        attach_stderr: Some(true),
                        ..Default::default()
                    },
                )
                .await
                .map_err(error)?;
            let mut out = ExecOutput {
                exit_code: -1,
                stdout: String::new(),
                stderr: String::new(),
            };
            if let StartExecResults::Attached { mut output, .. } = self
                .docker
                .start_exec(&created.id, None)
                .await
                .map_err(error)?
            {
                while let Some(item) = output.next().await {
                    match chunk(item)? {
                        Chunk::Err(b) => out.stderr.push_str(&String::from_utf8_lossy(&b)),
                        Chunk::Out(b) => out.stdout.push_str(&String::from_utf8_lossy(&b)),
                    }
                }
            }
            let inspect = self.docker.inspect_exec(&created.id).await.map_err(error)?;
            out.exit_code = inspect.exit_code.unwrap_or(-1);
            Ok(out)
        }
        .boxed()
    }

    fn remove<'a>(&'a self, ids: &'a [String]) -> BoxFuture<'a, Vec<(String, EngineError)>> {
        async move {
            client::remove_containers(&self.docker, ids)
                .await
                .into_iter()
                .map(|(id, e)| (id, error(e)))
                .collect()
        }
        .boxed()
    }

    fn teardown<'a>(&'a self, run: Teardown) -> BoxFuture<'a, TeardownReport> {
        removal::remove_all(&self.docker, run).boxed()
    }

    fn mark_kept<'a>(&'a self, run_id: &'a str) -> BoxFuture<'a, Option<String>> {
        async move {
            if let Err(e) = reaper::spawn::ensure(&self.docker, &self.endpoint).await {
                eprintln!("pipeline-test: {e}");
            }
            sweep::mark_kept(&self.docker, run_id).await
        }
        .boxed()
    }

    fn leftovers(&self) -> BoxFuture<'_, Result<Vec<String>, Error>> {
        async move {
            let label = format!(
                "{}={}",
                crate::labels::OWNER_LABEL,
                crate::labels::OWNER.as_str()
            );
            let containers = client::containers_labelled(&self.docker, &label).await;
            let networks = client::networks_labelled(&self.docker, &label)
                .await
                .map_err(|e| client::engine_error("list networks", e))?;
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
        .boxed()
    }

    fn sweep_in_background(&self) {
        if !sweep::sweep_due() {
            return;
        }
        // On a thread of its own: the engine's time goes to the stage first.
        let endpoint = self.endpoint.clone();
        let _ = crate::async_drop::spawn(
            "pipeline-test-sweep",
            move || client::reconnect(&endpoint).ok_or_else(|| "cannot reconnect".to_string()),
            |docker: Docker| async move {
                let swept = sweep::sweep(&docker).await;
                if swept > 0 {
                    eprintln!(
                        "pipeline-test: removed {swept} containers, networks and volumes left by killed runs"
                    );
                }
            },
        );
    }

    fn release(&self) -> BoxFuture<'_, ()> {
        async { crate::reaper::release_lease(&self.docker).await }.boxed()
    }

    fn detached(&self) -> Result<Engine, String> {
        let docker = client::reconnect(&self.endpoint)
            .ok_or_else(|| format!("cannot reconnect to {}", self.endpoint))?;
        Ok(std::sync::Arc::new(DockerEngine {
            docker,
            endpoint: self.endpoint.clone(),
            reach: self.reach.clone(),
            own_lease: self.own_lease.clone(),
            _pool: self._pool.clone(),
        }))
    }

    fn join_shared<'a>(&'a self, key: &'a SharedKey) -> BoxFuture<'a, Result<(), EngineError>> {
        share::join(&self.docker, key).boxed()
    }

    fn shared_state<'a>(
        &'a self,
        key: &'a SharedKey,
    ) -> BoxFuture<'a, Result<SharedState, EngineError>> {
        share::state(&self.docker, key).boxed()
    }

    fn shared_changes<'a>(&'a self, key: &'a SharedKey) -> futures::stream::BoxStream<'a, ()> {
        share::changes(&self.docker, key)
    }

    fn claim_shared<'a>(
        &'a self,
        key: &'a SharedKey,
        plan: &'a StagePlan,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        share::claim(&self.docker, &self.endpoint, key, plan).boxed()
    }

    fn publish_shared<'a>(
        &'a self,
        key: &'a SharedKey,
        state: &'a SharedState,
    ) -> BoxFuture<'a, Result<(), EngineError>> {
        share::publish(&self.docker, key, state).boxed()
    }

    fn abandon_shared(&self, key: &SharedKey) {
        share::abandon(key);
    }
}

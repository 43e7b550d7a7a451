//! A running background service, as a test body sees it.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use futures::StreamExt;

use crate::Error;
use crate::engine::{ContainerEngine, Engine};
use crate::exit::ServiceExit;
use crate::ports::{ContainerPort, Protocol};

/// How often a published port is tried while waiting for it.
const PORT_POLL: std::time::Duration = std::time::Duration::from_millis(50);
/// How long the published ports of a service found ready may take to answer through the
/// engine's proxy.
const PUBLISHED_GRACE: std::time::Duration = std::time::Duration::from_secs(10);
/// How often the container is looked at while its ports are waited for.
const EXIT_POLL: std::time::Duration = std::time::Duration::from_millis(250);
/// How long a connection to a published port may take to open.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);
/// How long an open connection must stay open, quiet, to count as reaching a server.
pub(crate) const QUIET_OPEN: std::time::Duration = std::time::Duration::from_millis(150);

/// A background service of a running stage: its container, hostnames and published ports.
#[derive(Debug, Clone)]
pub struct Service {
    pub(crate) name: String,
    pub(crate) container_id: String,
    /// Secrets to mask in what the harness prints about this service.
    pub(crate) masks: std::sync::Arc<[String]>,
    pub(crate) hostnames: Vec<String>,
    pub(crate) image: String,
    /// The image as the file names it.
    pub(crate) written_image: String,
    /// The container's environment, as planned (later wins).
    pub(crate) env: std::sync::Arc<[(String, String)]>,
    /// The run's `PIPELINE_TEST_KEEP`.
    pub(crate) keep: crate::teardown::Keep,
    /// Container port -> port on [`Service::host`].
    pub(crate) ports: BTreeMap<ContainerPort, u16>,
    /// Where the published ports are reached: 127.0.0.1, the remote engine's host, or
    /// `PIPELINE_TEST_HOST`.
    pub(crate) host: IpAddr,
    pub(crate) engine: Engine,
    /// The runtime the service was started on, for the blocking variants.
    pub(crate) handle: tokio::runtime::Handle,
    /// When it was started.
    pub(crate) started: std::time::Instant,
    /// When its readiness budget runs out; `None` once it was found ready (healthy, or
    /// listening on its ports), when its published ports get [`PUBLISHED_GRACE`].
    pub(crate) ready_by: Option<std::time::Instant>,
    /// Its readiness budget.
    pub(crate) budget: std::time::Duration,
    /// Its main process, when the engine is on this machine and said which.
    pub(crate) pid: Option<u32>,
}

/// What a command run inside a service printed, and how it exited.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExecOutput {
    /// The exit code.
    pub exit_code: i64,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Service {
    /// The step's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The container's id.
    pub fn container_id(&self) -> &str {
        &self.container_id
    }

    /// The names other steps reach it by on the stage's network.
    pub fn hostnames(&self) -> &[String] {
        &self.hostnames
    }

    /// The image it runs.
    pub fn image(&self) -> &str {
        &self.image
    }

    /// Every published port: container port (`6379/tcp`) -> port on 127.0.0.1.
    pub fn ports(&self) -> &BTreeMap<ContainerPort, u16> {
        &self.ports
    }

    /// Where the published ports are reached from here (see [`Service::addr`]).
    pub fn host(&self) -> IpAddr {
        self.host
    }

    /// The port on 127.0.0.1 that reaches container port `port` (TCP), if it is published.
    pub fn try_host_port(&self, port: u16) -> Option<u16> {
        self.ports.get(&ContainerPort::tcp(port)).copied()
    }

    /// The port on 127.0.0.1 that reaches container port `port` (TCP).
    ///
    /// # Panics
    ///
    /// When the port is not published; the message lists the ports that are. The panic
    /// points at the caller.
    #[track_caller]
    pub fn host_port(&self, port: u16) -> u16 {
        match self.try_host_port(port) {
            Some(host) => host,
            None => panic!(
                "service `{}` does not publish port {port}; its published ports are: {}. Ports the image EXPOSEs and ports listed under `ports:` in the YAML are published.",
                self.name,
                if self.ports.is_empty() {
                    "none".to_string()
                } else {
                    self.ports
                        .keys()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ),
        }
    }

    /// The address reaching container port `port`: `127.0.0.1:<host port>` for an engine on
    /// this machine; for a remote one (`DOCKER_HOST=tcp://HOST:PORT`, `ssh://`), HOST; with
    /// `PIPELINE_TEST_HOST`, that address.
    ///
    /// # Panics
    ///
    /// When the port is not published (see [`Service::host_port`]); the panic points at the
    /// caller.
    #[track_caller]
    pub fn addr(&self, port: u16) -> SocketAddr {
        SocketAddr::from((self.host, self.host_port(port)))
    }

    /// The service's log so far (standard output and error, interleaved).
    ///
    /// # Errors
    ///
    /// [`Error::Engine`] when the engine cannot give them.
    pub async fn logs(&self) -> Result<String, Error> {
        let mut stream = self.engine.logs(&self.container_id, false, None);
        let mut out = String::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| e.doing(format!("read the logs of `{}`", self.name)))?;
            out.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
        }
        Ok(out)
    }

    /// [`Service::logs`] for code that is not async. Call it from outside any async context
    /// (a plain `#[pipeline_test]` body is such a place).
    ///
    /// # Errors
    ///
    /// As [`Service::logs`].
    ///
    /// # Panics
    ///
    /// When called from inside an async runtime.
    pub fn logs_blocking(&self) -> Result<String, Error> {
        self.handle.block_on(self.logs())
    }

    /// [`Service::exec`] for code that is not async. Call it from outside any async context
    /// (a plain `#[pipeline_test]` body is such a place).
    ///
    /// # Errors
    ///
    /// As [`Service::exec`].
    ///
    /// # Panics
    ///
    /// When called from inside an async runtime.
    pub fn exec_blocking(&self, cmd: &[&str]) -> Result<ExecOutput, Error> {
        self.handle.block_on(self.exec(cmd))
    }

    /// Waits until every published port accepts TCP connections that reach the service
    /// (through Docker's proxy, a connection that is closed at once does not count), until
    /// `limit` or the end of its readiness budget, whichever is first. Ends at once when the
    /// service's container has stopped.
    pub(crate) async fn wait_for_ports(&self, limit: std::time::Instant) -> Result<(), Error> {
        let waiting_for = "waiting for its published ports before the test body";
        // Its process still runs: no need to ask the engine whether it stopped.
        let running = self.pid.and_then(|p| self.engine.alive(p)) == Some(true);
        if !running {
            let exit = ServiceExit::inspect(
                self.engine.as_ref(),
                &self.name,
                &self.container_id,
                waiting_for,
            )
            .await;
            if let Some(exit) = exit {
                return Err(Error::ServiceExited {
                    exit: exit.masked(&self.masks),
                });
            }
        }
        let deadline = limit.min(
            self.ready_by
                .unwrap_or_else(|| std::time::Instant::now() + PUBLISHED_GRACE),
        );
        for (port, &host_port) in &self.ports {
            if port.protocol != Protocol::Tcp {
                continue;
            }
            let addr = SocketAddr::from((self.host, host_port));
            let mut looked = std::time::Instant::now();
            // Seen listening inside (health, or its sockets): the proxy in front of it forwards,
            // so a connection that opens is enough. Otherwise the port must stay open a moment.
            let quiet = if self.ready_by.is_none() {
                std::time::Duration::ZERO
            } else {
                QUIET_OPEN
            };
            while !port_is_ready(addr, quiet).await {
                if looked.elapsed() >= EXIT_POLL {
                    if let Some(exit) = ServiceExit::inspect(
                        self.engine.as_ref(),
                        &self.name,
                        &self.container_id,
                        waiting_for,
                    )
                    .await
                    {
                        return Err(Error::ServiceExited {
                            exit: exit.masked(&self.masks),
                        });
                    }
                    looked = std::time::Instant::now();
                }
                if std::time::Instant::now() >= deadline {
                    return Err(Error::PortNotReady {
                        service: self.name.clone(),
                        port: *port,
                        host: self.host,
                        host_port,
                        budget: self.budget,
                        waited: self.started.elapsed(),
                    });
                }
                tokio::time::sleep(PORT_POLL).await;
            }
        }
        Ok(())
    }

    /// Runs `cmd` inside the service's container and returns its exit code and output.
    ///
    /// # Errors
    ///
    /// [`Error::Engine`] when the engine cannot run it (a missing program is exit code 126 or
    /// 127, not an error).
    pub async fn exec(&self, cmd: &[&str]) -> Result<ExecOutput, Error> {
        let cmd: Vec<String> = cmd.iter().map(|s| s.to_string()).collect();
        exec_in(self.engine.as_ref(), &self.name, &self.container_id, cmd).await
    }
}

/// Runs `cmd` in container `id` (of service `name`); its exit code and output.
pub(crate) async fn exec_in(
    engine: &dyn ContainerEngine,
    name: &str,
    id: &str,
    cmd: Vec<String>,
) -> Result<ExecOutput, Error> {
    let action = format!("run {cmd:?} in `{name}`");
    engine.exec(id, cmd).await.map_err(|e| e.doing(action))
}

/// Connects to `addr`; ready when the connection stays open (or the server speaks first).
/// Docker's userland proxy accepts a connection and closes it when nothing listens behind it.
pub(crate) async fn port_is_ready(addr: SocketAddr, quiet: std::time::Duration) -> bool {
    use tokio::io::AsyncReadExt;
    let Ok(Ok(mut stream)) =
        tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(addr)).await
    else {
        return false;
    };
    if quiet.is_zero() {
        return true;
    }
    let mut byte = [0u8; 1];
    match tokio::time::timeout(quiet, stream.read(&mut byte)).await {
        Err(_) => true,      // open and quiet: a server waiting for its client
        Ok(Ok(n)) => n > 0,  // a greeting, or EOF from a proxy with nothing behind it
        Ok(Err(_)) => false, // reset
    }
}

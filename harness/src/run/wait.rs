//! Waiting on containers: a service's health check, its listening ports, a step's exit.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::models::HealthStatusEnum;
use bollard::query_parameters::WaitContainerOptionsBuilder;
use futures::StreamExt;

use crate::Error;
use crate::docker::engine_error;
use crate::duration::format_duration;
use crate::plan::HealthPlan;
use crate::ports::ContainerPort;

/// How often a service's health is looked at.
pub(crate) const HEALTH_POLL: Duration = Duration::from_millis(50);
/// Added to what a declared health check may take at most (start period, then every retry),
/// for the engine's own delays.
pub(crate) const HEALTH_GRACE: Duration = Duration::from_secs(30);
/// How long a service whose image declares the health check may take to be healthy.
pub(crate) const IMAGE_HEALTH_LIMIT: Duration = Duration::from_secs(600);
/// How long a service without a health check may take to listen on its ports.
pub(crate) const LISTEN_WAIT: Duration = Duration::from_secs(60);
/// How often a local service's sockets are read from `/proc`.
const LISTEN_POLL: Duration = Duration::from_millis(5);
/// How often a remote service's published port is probed.
const PROBE_POLL: Duration = Duration::from_millis(10);

/// How a health wait ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Health {
    /// The health check passed.
    Healthy,
    /// There is no health check after all (Podman reports an empty status).
    NoCheck,
    /// Unhealthy, exited, or not healthy in time: why.
    Failed(String),
}

/// How long a service's health check may take: its `timeout`, else what the declared check
/// can take at most plus [`HEALTH_GRACE`], else [`IMAGE_HEALTH_LIMIT`].
pub(crate) fn health_limit(timeout: Option<Duration>, check: Option<&HealthPlan>) -> Duration {
    timeout.unwrap_or_else(|| match check {
        Some(h) => h.start_period + (h.interval + h.timeout) * (h.retries + 1) + HEALTH_GRACE,
        None => IMAGE_HEALTH_LIMIT,
    })
}

/// Waits for service `name`'s health check, for at most `limit`.
pub(crate) async fn wait_healthy(
    docker: &Docker,
    name: &str,
    id: &str,
    limit: Duration,
) -> Result<Health, Error> {
    let deadline = Instant::now() + limit;
    loop {
        let inspect = docker
            .inspect_container(id, None)
            .await
            .map_err(|e| engine_error(format!("inspect service `{name}`"), e))?;
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
            return Ok(Health::Failed(format!(
                "service `{name}` exited with code {code} before it became healthy"
            )));
        }
        match health.status {
            Some(HealthStatusEnum::HEALTHY) => return Ok(Health::Healthy),
            None | Some(HealthStatusEnum::EMPTY | HealthStatusEnum::NONE) => {
                return Ok(Health::NoCheck);
            }
            Some(HealthStatusEnum::UNHEALTHY) => {
                return Ok(Health::Failed(format!(
                    "service `{name}` is unhealthy; last check: {last_check}"
                )));
            }
            Some(HealthStatusEnum::STARTING) => {}
        }
        if Instant::now() >= deadline {
            return Ok(Health::Failed(format!(
                "service `{name}` was not healthy after {}; last check: {last_check}",
                format_duration(limit)
            )));
        }
        tokio::time::sleep(HEALTH_POLL).await;
    }
}

/// Waits until a service listens on every port of `ports`; the first port it did not listen
/// on in time, if any. With a local engine, the service's sockets are read from
/// `/proc/<pid>/net/tcp{,6}` (no traffic at all); otherwise its published ports are probed on
/// 127.0.0.1; with neither, there is nothing to wait with.
pub(crate) async fn wait_listening(
    pid: Option<u32>,
    ports: &[u16],
    published: &BTreeMap<ContainerPort, u16>,
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
                    Some(_) => tokio::time::sleep(LISTEN_POLL).await,
                }
            }
        }
        return None;
    }
    for &port in ports {
        let Some(&host_port) = published.get(&ContainerPort::tcp(port)) else {
            continue;
        };
        let addr = std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, host_port));
        while !crate::service::port_is_ready(addr).await {
            if Instant::now() >= deadline {
                return Some(port);
            }
            tokio::time::sleep(PROBE_POLL).await;
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
        if let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/{file}")) {
            read_any = true;
            open.extend(listening_ports(&text));
        }
    }
    read_any.then_some(open)
}

/// The local ports of the sockets in state LISTEN (`0A`) of a `/proc/net/tcp{,6}` table.
pub(crate) fn listening_ports(table: &str) -> impl Iterator<Item = u16> + '_ {
    table.lines().skip(1).filter_map(|line| {
        let mut fields = line.split_whitespace();
        let (Some(local), Some(_remote), Some(state)) =
            (fields.nth(1), fields.next(), fields.next())
        else {
            return None;
        };
        if state != "0A" {
            return None;
        }
        u16::from_str_radix(local.rsplit(':').next()?, 16).ok()
    })
}

/// Waits for a container to stop; its exit code.
pub(crate) async fn wait_exit(docker: &Docker, id: &str) -> Result<i64, bollard::errors::Error> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_net_tcp() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:18EB 00000000:0000 0A 00000000:00000000 00:00000000 00000000   999        0 1 1 0 100 0 0 10 0
   1: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0
   2: 0100007F:D2F0 0100007F:18EB 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0 20 4 30 10 -1
   garbage
";
        assert_eq!(listening_ports(table).collect::<Vec<_>>(), [6379, 8080]);
        let v6 = "header\n   0: 00000000000000000000000000000000:0CEA 00000000000000000000000000000000:0000 0A 0 0 0 0 0 0 0\n";
        assert_eq!(listening_ports(v6).collect::<Vec<_>>(), [3306]);
    }

    #[test]
    fn health_limits() {
        let check = HealthPlan {
            test: vec!["CMD".into(), "true".into()],
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(2),
            retries: 3,
            start_period: Duration::from_secs(5),
        };
        assert_eq!(
            health_limit(None, Some(&check)),
            Duration::from_secs(5 + 3 * 4) + HEALTH_GRACE
        );
        assert_eq!(
            health_limit(Some(Duration::from_secs(7)), Some(&check)),
            Duration::from_secs(7)
        );
        assert_eq!(health_limit(None, None), IMAGE_HEALTH_LIMIT);
    }
}

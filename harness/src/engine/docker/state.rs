//! What the engine says of a container, as the seam's [`ContainerState`]: its state, exit,
//! process, published ports and health, from Docker's inspect answer.

use std::collections::BTreeMap;

use bollard::models::{ContainerInspectResponse, HealthStatusEnum};

use crate::engine::{ContainerState, HealthCheck, HealthStatus};
use crate::ports::ContainerPort;

fn nanos(n: Option<i64>) -> Option<std::time::Duration> {
    n.filter(|n| *n > 0)
        .map(|n| std::time::Duration::from_nanos(n.unsigned_abs()))
}

/// Container `inspect`'s state; its process id only when the engine is `local` (a remote
/// engine's process ids are not this machine's).
pub(super) fn container_state(inspect: ContainerInspectResponse, local: bool) -> ContainerState {
    let check = inspect
        .config
        .and_then(|c| c.healthcheck)
        .map(|h| HealthCheck {
            test: h.test.unwrap_or_default(),
            interval: nanos(h.interval),
            timeout: nanos(h.timeout),
        });
    let state = inspect.state.unwrap_or_default();
    let health = state.health.clone().unwrap_or_default();
    let last_check = health.log.as_ref().and_then(|l| l.last()).map(|r| {
        (
            r.exit_code.unwrap_or(-1),
            r.output.clone().unwrap_or_default(),
        )
    });
    let mut ports = BTreeMap::new();
    for (port, bindings) in inspect
        .network_settings
        .and_then(|n| n.ports)
        .unwrap_or_default()
    {
        let host = bindings
            .unwrap_or_default()
            .iter()
            .find_map(|b| b.host_port.as_deref()?.parse::<u16>().ok());
        if let (Ok(port), Some(host)) = (port.parse::<ContainerPort>(), host) {
            ports.insert(port, host);
        }
    }
    ContainerState {
        running: state.running != Some(false),
        exit_code: state.exit_code,
        started_at: state.started_at,
        finished_at: state.finished_at,
        // A remote engine's process ids are not this machine's.
        pid: state
            .pid
            .and_then(|p| u32::try_from(p).ok())
            .filter(|_| local),
        ports,
        check,
        health: match health.status {
            Some(HealthStatusEnum::HEALTHY) => HealthStatus::Healthy,
            Some(HealthStatusEnum::UNHEALTHY) => HealthStatus::Unhealthy,
            Some(HealthStatusEnum::STARTING) => HealthStatus::Starting,
            _ => HealthStatus::None,
        },
        last_check,
    }
}

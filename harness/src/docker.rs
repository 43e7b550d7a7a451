//! The connection to the Docker engine, and the labels every resource carries.

use std::sync::{LazyLock, OnceLock};

use bollard::{ClientVersion, Docker};

use crate::Error;

/// Every container, network and volume the harness creates carries this label, set to `true`.
pub const MANAGED_LABEL: &str = "pipeline-test.managed";
/// The run a resource belongs to.
pub const RUN_LABEL: &str = "pipeline-test.run";
/// The process that created a resource: `host/pid/start-time`.
pub const OWNER_LABEL: &str = "pipeline-test.owner";
/// The lease of the process that created a resource (see the `reaper` module): alive while its
/// heartbeat on the engine is fresh.
pub const LEASE_LABEL: &str = "pipeline-test.lease";
/// The step a container runs.
pub const STEP_LABEL: &str = "pipeline-test.step";
/// On the marker volume of a run kept by `PIPELINE_TEST_KEEP` (`pipeline-test-kept-<run>`):
/// neither the watcher nor a sweep removes that run; `pipeline-test clean` does.
pub const KEPT_LABEL: &str = "pipeline-test.kept";

/// How long the engine may take to answer the first request of a process.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The API version negotiated with the engine, once per process.
static VERSION: OnceLock<ClientVersion> = OnceLock::new();

/// The endpoint from `DOCKER_HOST`, or the default socket.
pub(crate) fn endpoint() -> String {
    std::env::var("DOCKER_HOST")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unix:///var/run/docker.sock".to_string())
}

fn client(endpoint: &str, version: &ClientVersion) -> Result<Docker, String> {
    crate::endpoint::client(endpoint, version)
}

/// Connects to the engine `DOCKER_HOST` names. The first connection of a process negotiates
/// the API version (engines from Docker 20.10, API 1.41, up); later ones reuse it.
///
/// # Errors
///
/// [`Error::DockerUnreachable`] naming the endpoint and what to do.
pub(crate) async fn connect() -> Result<(Docker, String), Error> {
    let endpoint = endpoint();
    let unreachable = |reason: String| Error::DockerUnreachable {
        endpoint: endpoint.clone(),
        reason,
    };
    if let Some(version) = VERSION.get() {
        let docker = client(&endpoint, version).map_err(unreachable)?;
        return Ok((docker, endpoint));
    }
    let docker = client(&endpoint, bollard::API_DEFAULT_VERSION).map_err(unreachable)?;
    let docker = tokio::time::timeout(CONNECT_TIMEOUT, docker.negotiate_version())
        .await
        .map_err(|_| {
            unreachable(format!(
                "no answer within {}",
                crate::duration::format_duration(CONNECT_TIMEOUT)
            ))
        })?
        .map_err(|e| unreachable(explain_connect_error(&e)))?;
    let _ = VERSION.set(docker.client_version());
    Ok((docker, endpoint))
}

/// A client for `endpoint` with the negotiated version, made without a request (for teardown
/// from `Drop`, on a runtime of its own).
pub(crate) fn reconnect(endpoint: &str) -> Option<Docker> {
    let version = VERSION.get().unwrap_or(bollard::API_DEFAULT_VERSION);
    client(endpoint, version).ok()
}

fn explain_connect_error(e: &bollard::errors::Error) -> String {
    let text = e.to_string();
    if text.contains("No such file") || text.contains("SocketNotFound") {
        format!("{text} (is the Docker engine running?)")
    } else if text.contains("ermission denied") {
        format!("{text} (add your user to the `docker` group, or use a rootless socket)")
    } else {
        text
    }
}

/// Turns a bollard error into [`Error::Engine`], saying what was being done.
pub(crate) fn engine_error(action: impl Into<String>, e: bollard::errors::Error) -> Error {
    Error::Engine {
        action: action.into(),
        source: Box::new(e),
    }
}

/// True when the engine answered 404 (no such container, image, network or volume).
pub(crate) fn is_not_found(e: &bollard::errors::Error) -> bool {
    matches!(
        e,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

/// This process's lease token (12 hex digits).
pub(crate) static LEASE: LazyLock<String> = LazyLock::new(new_run_id);

/// This process's owner label value: `host/pid/start-time`.
pub(crate) static OWNER: LazyLock<String> = LazyLock::new(|| {
    let pid = std::process::id();
    format!(
        "{}/{pid}/{}",
        host_name(),
        process_start_time(pid).unwrap_or(0)
    )
});

/// The machine's host name (`/proc/sys/kernel/hostname`, else `$HOSTNAME`).
pub(crate) fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".to_string())
}

/// The start time of process `pid` in clock ticks since boot (Linux), to tell a live owner
/// from a new process that reused its pid.
pub(crate) fn process_start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19)?.parse().ok()
}

/// Labels for a new resource of run `run_id`.
pub(crate) fn labels(run_id: &str) -> std::collections::HashMap<String, String> {
    [
        (MANAGED_LABEL, "true"),
        (RUN_LABEL, run_id),
        (OWNER_LABEL, OWNER.as_str()),
        (LEASE_LABEL, LEASE.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Labels for a network: it may serve several runs of this process (see `pool`), so it
/// carries no run id.
pub(crate) fn network_labels() -> std::collections::HashMap<String, String> {
    [
        (MANAGED_LABEL, "true"),
        (OWNER_LABEL, OWNER.as_str()),
        (LEASE_LABEL, LEASE.as_str()),
        ("pipeline-test.pool", "true"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// A fresh, random run id (12 hex digits).
pub(crate) fn new_run_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u32(std::process::id());
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    format!("{:012x}", h.finish() & 0xffff_ffff_ffff)
}

/// Every container (running or not) carrying `label` (`key` or `key=value`).
pub(crate) async fn containers_labelled(
    docker: &Docker,
    label: &str,
) -> Vec<bollard::models::ContainerSummary> {
    let filters = std::collections::HashMap::from([("label".to_string(), vec![label.to_string()])]);
    let options = bollard::query_parameters::ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&filters)
        .build();
    docker
        .list_containers(Some(options))
        .await
        .unwrap_or_default()
}

/// Kills and removes `ids` (with their anonymous volumes), concurrently; the failures, but
/// for containers already gone.
pub(crate) async fn remove_containers(
    docker: &Docker,
    ids: &[String],
) -> Vec<(String, bollard::errors::Error)> {
    let options = bollard::query_parameters::RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(true)
        .build();
    let results = futures::future::join_all(
        ids.iter()
            .map(|id| docker.remove_container(id, Some(options.clone()))),
    )
    .await;
    ids.iter()
        .zip(results)
        .filter_map(|(id, r)| match r {
            Err(e) if !is_not_found(&e) => Some((id.clone(), e)),
            _ => None,
        })
        .collect()
}

/// Every volume carrying `label` (`key` or `key=value`).
pub(crate) async fn volumes_labelled(
    docker: &Docker,
    label: &str,
) -> Result<Vec<bollard::models::Volume>, bollard::errors::Error> {
    let filters = std::collections::HashMap::from([("label".to_string(), vec![label.to_string()])]);
    let options = bollard::query_parameters::ListVolumesOptionsBuilder::default()
        .filters(&filters)
        .build();
    Ok(docker
        .list_volumes(Some(options))
        .await?
        .volumes
        .unwrap_or_default())
}

/// Every network carrying `label` (`key` or `key=value`).
pub(crate) async fn networks_labelled(
    docker: &Docker,
    label: &str,
) -> Result<Vec<bollard::models::Network>, bollard::errors::Error> {
    let filters = std::collections::HashMap::from([("label".to_string(), vec![label.to_string()])]);
    let options = bollard::query_parameters::ListNetworksOptionsBuilder::default()
        .filters(&filters)
        .build();
    docker.list_networks(Some(options)).await
}

/// Removes volumes `names` (forced), concurrently; the failures, but for volumes already gone.
pub(crate) async fn remove_volumes(
    docker: &Docker,
    names: &[String],
) -> Vec<(String, bollard::errors::Error)> {
    let options = bollard::query_parameters::RemoveVolumeOptionsBuilder::default()
        .force(true)
        .build();
    let results = futures::future::join_all(
        names
            .iter()
            .map(|n| docker.remove_volume(n, Some(options.clone()))),
    )
    .await;
    names
        .iter()
        .zip(results)
        .filter_map(|(name, r)| match r {
            Err(e) if !is_not_found(&e) => Some((name.clone(), e)),
            _ => None,
        })
        .collect()
}

/// How many times removing a network is tried while the engine detaches its endpoints.
const NETWORK_REMOVAL_TRIES: u32 = 20;
/// The pause after the first failed try; the n-th pause is n times this.
const NETWORK_REMOVAL_BACKOFF: std::time::Duration = std::time::Duration::from_millis(50);

/// Removes network `id`, trying again for a while as the engine may still be detaching the
/// last endpoints; `Ok` once it is gone (or was already).
pub(crate) async fn remove_network(
    docker: &Docker,
    id: &str,
) -> Result<(), bollard::errors::Error> {
    let mut attempt = 1;
    loop {
        match docker.remove_network(id).await {
            Ok(()) => return Ok(()),
            Err(e) if is_not_found(&e) => return Ok(()),
            Err(e) if attempt == NETWORK_REMOVAL_TRIES => return Err(e),
            Err(_) => tokio::time::sleep(NETWORK_REMOVAL_BACKOFF * attempt).await,
        }
        attempt += 1;
    }
}

/// The last `n` lines of a container's log.
pub(crate) async fn last_lines(docker: &Docker, id: &str, n: usize) -> Vec<String> {
    let opts = bollard::query_parameters::LogsOptionsBuilder::default()
        .stdout(true)
        .stderr(true)
        .tail(&n.to_string())
        .build();
    let mut text = Vec::new();
    let mut stream = docker.logs(id, Some(opts));
    while let Some(Ok(chunk)) = futures::StreamExt::next(&mut stream).await {
        text.extend_from_slice(&chunk.into_bytes());
    }
    String::from_utf8_lossy(&text)
        .lines()
        .map(str::to_string)
        .collect()
}

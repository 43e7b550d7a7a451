//! The connection to the Docker engine, and the requests several parts of the Docker backend
//! make (lists by label, removals, the last log lines).

use bollard::{ClientVersion, Docker};

use crate::Error;

/// How long the engine may take to answer the first request of a process.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The API version negotiated with the engine, once per process (a second connection while the
/// first negotiates waits for it).
static VERSION: tokio::sync::OnceCell<ClientVersion> = tokio::sync::OnceCell::const_new();

/// The endpoint from `DOCKER_HOST`, or the default socket.
pub(crate) fn endpoint() -> String {
    std::env::var("DOCKER_HOST")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unix:///var/run/docker.sock".to_string())
}

fn client(endpoint: &str, version: &ClientVersion) -> Result<Docker, String> {
    super::endpoint::client(endpoint, version)
}

/// Connects to the engine `DOCKER_HOST` names. The first connection of a process negotiates
/// the API version (engines from Docker 20.10, API 1.41, up); later ones reuse it.
///
/// # Errors
///
/// [`Error::DockerUnreachable`] naming the endpoint and what to do.
pub(crate) async fn connect() -> Result<(Docker, String), Error> {
    let endpoint = endpoint();
    let version = VERSION
        .get_or_try_init(|| negotiate(&endpoint, None))
        .await?;
    let docker = client(&endpoint, version).map_err(|reason| Error::DockerUnreachable {
        endpoint: endpoint.clone(),
        reason,
    })?;
    Ok((docker, endpoint))
}

/// Negotiates the API version for the process, as [`connect`] does, asking the engine what
/// `images` (resolved names) offer on the way: the first in the request that tells the
/// version, the others beside one another after it. What they offer is kept for the stages
/// of the process; errors are left for [`connect`] and the stages to report.
pub(crate) async fn warm(images: &[String]) {
    let endpoint = endpoint();
    let first = images.first().map(String::as_str);
    let mut looked_first = false;
    let _ = VERSION
        .get_or_try_init(|| {
            looked_first = true;
            negotiate(&endpoint, first)
        })
        .await;
    let rest = images
        .iter()
        .skip(usize::from(looked_first))
        .map(|image| look(&endpoint, image));
    futures::future::join_all(rest).await;
}

/// Looks at `image` without a client, keeping what it offers for the stages of the process;
/// the engine's API version, told by the answer.
async fn look(endpoint: &str, image: &str) -> Option<ClientVersion> {
    let since = super::prepare::forgotten();
    let looked = tokio::time::timeout(LOOK_TIMEOUT, super::raw::inspect_image(endpoint, image));
    let (engine, facts) = looked.await.ok()??;
    if let Some(facts) = facts {
        super::prepare::remember_image(endpoint, image, facts, since);
    }
    Some(engine)
}

/// How long looking at an image before the process has a client may take; an engine slower
/// than that is asked again the usual way.
const LOOK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The API version to use with the engine at `endpoint`: the engine's when it is older than
/// bollard's. Told by the answer about image `first` when there is one (what it offers is
/// kept), else by `GET /_ping`, else by bollard's negotiation.
async fn negotiate(endpoint: &str, first: Option<&str>) -> Result<ClientVersion, Error> {
    let unreachable = |reason: String| Error::DockerUnreachable {
        endpoint: endpoint.to_string(),
        reason,
    };
    // As bollard's negotiation: the engine's version when it is older.
    let pick = |engine: ClientVersion| {
        let ours = *bollard::API_DEFAULT_VERSION;
        let older =
            (engine.major_version, engine.minor_version) < (ours.major_version, ours.minor_version);
        if older { engine } else { ours }
    };
    if let Some(image) = first
        && let Some(engine) = look(endpoint, image).await
    {
        return Ok(pick(engine));
    }
    if let Ok(Some(engine)) =
        tokio::time::timeout(CONNECT_TIMEOUT, super::raw::ping_version(endpoint)).await
    {
        return Ok(pick(engine));
    }
    let docker = client(endpoint, bollard::API_DEFAULT_VERSION).map_err(unreachable)?;
    let docker = tokio::time::timeout(CONNECT_TIMEOUT, docker.negotiate_version())
        .await
        .map_err(|_| {
            unreachable(format!(
                "no answer within {}",
                crate::duration::format_duration(CONNECT_TIMEOUT)
            ))
        })?
        .map_err(|e| unreachable(explain_connect_error(&e)))?;
    Ok(docker.client_version())
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

/// What makes a new client for `endpoint` on another thread (see `async_drop`).
pub(crate) fn reconnector(
    endpoint: &str,
) -> impl FnOnce() -> Result<Docker, String> + Send + 'static {
    let endpoint = endpoint.to_string();
    move || reconnect(&endpoint).ok_or_else(|| format!("cannot reconnect to {endpoint}"))
}

//! Removes what killed processes left behind, when their watcher could not (the second line;
//! see the `reaper` module).
//!
//! A resource carrying `pipeline-test.lease=<token>` is removed when that lease has no fresh
//! heartbeat on the engine, by the engine's clock: the same rule for a process of this host,
//! of another PID namespace or container, or of another host sharing the engine. One without a
//! lease (made by an older version) is judged by its `pipeline-test.owner=host/pid/start-time`:
//! removed when that names a process of this host that is gone.

use std::collections::HashMap;

use bollard::Docker;
use futures::future::join_all;

use crate::engine::docker::client::{
    containers_labelled, networks_labelled, remove_containers, remove_network, remove_volumes,
    volumes_labelled,
};
use crate::labels::{
    KEPT_LABEL, LEASE_LABEL, MANAGED_LABEL, OWNER_LABEL, RUN_LABEL, host_name, process_start_time,
};
use crate::reaper::{LEASE_TTL, alive_leases, engine_now};

/// How often a process sweeps at most, and how long after its first stage it starts: the
/// watchers do the work, the sweep is the second line, and a process's first seconds belong to
/// its stages. (Every watcher also sweeps once its owner has ended, off everyone's path.)
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// True when this process's first stage was at least [`SWEEP_EVERY`] ago and it has not swept
/// in the last [`SWEEP_EVERY`] (it then counts as having swept): a suite of many stages pays
/// for one sweep now and then, not one each.
pub(crate) fn sweep_due() -> bool {
    static FIRST: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    static LAST: std::sync::Mutex<Option<std::time::Instant>> = std::sync::Mutex::new(None);
    if FIRST.get_or_init(std::time::Instant::now).elapsed() < SWEEP_EVERY {
        return false;
    }
    let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
    if last.is_some_and(|t| t.elapsed() < SWEEP_EVERY) {
        return false;
    }
    *last = Some(std::time::Instant::now());
    true
}

/// True when `owner` (`host/pid/start`) names a process of this host that is gone.
pub(crate) fn is_dead_owner(owner: &str, this_host: &str) -> bool {
    let mut parts = owner.rsplitn(3, '/');
    let (Some(start), Some(pid), Some(host)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    if host != this_host {
        return false;
    }
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    if !std::path::Path::new("/proc/self").exists() {
        return false; // no way to tell here: leave it
    }
    match process_start_time(pid) {
        None => true,
        Some(t) => start.parse::<u64>().is_ok_and(|s| s != 0 && s != t),
    }
}

/// Removes the containers, networks and volumes of dead owners. Returns how many resources
/// were removed.
///
/// Everything is listed first and the leases after: a network or volume that exists was made
/// after its owner's lease, so a live owner's lease is in the second list (the other order
/// took a run that started in between for a dead one); a container may be made just before its
/// owner's lease, so a young one is spared.
pub(crate) async fn sweep(docker: &Docker) -> usize {
    let host = host_name();
    let managed = format!("{MANAGED_LABEL}=true");
    let containers = containers_labelled(docker, &managed).await;
    let volumes = volumes_labelled(docker, &managed).await.unwrap_or_default();
    let networks = networks_labelled(docker, &managed)
        .await
        .unwrap_or_default();
    // Without the engine's clock and its list of leases, no leased owner is judged dead.
    let Some(now) = engine_now(docker).await else {
        return 0;
    };
    let alive = alive_leases(docker, now).await;
    let kept = kept_runs(&volumes);
    let dead = |labels: Option<&HashMap<String, String>>| {
        let Some(labels) = labels else { return false };
        !labels.get(RUN_LABEL).is_some_and(|r| kept.contains(r))
            && owner_gone(labels, alive.as_ref(), &host)
    };
    let ids: Vec<String> = containers
        .into_iter()
        .filter(|c| dead(c.labels.as_ref()) && !young(c, now))
        .filter_map(|c| c.id)
        .collect();
    let names: Vec<String> = volumes
        .into_iter()
        .filter(|v| dead(Some(&v.labels)))
        .map(|v| v.name)
        .collect();
    let networks: Vec<String> = networks
        .into_iter()
        .filter(|n| dead(n.labels.as_ref()))
        .filter_map(|n| n.id)
        .collect();
    let mut removed = ids.len() - remove_containers(docker, &ids).await.len();
    removed += names.len() - remove_volumes(docker, &names).await.len();
    removed += join_all(networks.iter().map(|id| remove_network(docker, id)))
        .await
        .into_iter()
        .filter(Result::is_ok)
        .count();
    removed
}

/// True when the process that made a resource with `labels` is gone: its lease is not among
/// the `alive` ones (unknown: not gone), or, without a lease, its owner is a dead process of
/// this host.
fn owner_gone(
    labels: &HashMap<String, String>,
    alive: Option<&std::collections::HashSet<String>>,
    host: &str,
) -> bool {
    match labels.get(LEASE_LABEL) {
        Some(token) => alive.is_some_and(|a| !a.contains(token)),
        None => labels
            .get(OWNER_LABEL)
            .is_some_and(|o| is_dead_owner(o, host)),
    }
}

/// True when container `c` was created less than a lease's time to live ago, by the engine's
/// clock `now`: a process takes its lease beside its first container's start (see
/// `DockerEngine::start`), so its lease may not be listed yet. Were it alive, its lease would
/// be fresh that long anyway; a later sweep, or the owner's watcher, removes it.
fn young(c: &bollard::models::ContainerSummary, now: i64) -> bool {
    let ttl = i64::try_from(LEASE_TTL.as_secs()).unwrap_or(i64::MAX);
    c.created.is_some_and(|created| now - created < ttl)
}

/// The start of the name of a kept run's marker volume.
pub(crate) const KEPT_PREFIX: &str = "pipeline-test-kept-";

/// The runs kept by `PIPELINE_TEST_KEEP`, from their marker volumes among `volumes`.
fn kept_runs(volumes: &[bollard::models::Volume]) -> std::collections::HashSet<String> {
    volumes
        .iter()
        .filter(|v| v.labels.contains_key(KEPT_LABEL))
        .filter_map(|v| v.labels.get(RUN_LABEL).cloned())
        .collect()
}

/// Marks run `run_id` as kept on the engine: a volume `pipeline-test-kept-<run>` with the
/// run's labels. Its name, when the engine made it.
pub(crate) async fn mark_kept(docker: &Docker, run_id: &str) -> Option<String> {
    let name = format!("{KEPT_PREFIX}{run_id}");
    let mut labels = crate::labels::labels(run_id);
    labels.insert(KEPT_LABEL.to_string(), "true".to_string());
    let request = bollard::models::VolumeCreateRequest {
        name: Some(name.clone()),
        labels: Some(labels),
        ..Default::default()
    };
    docker.create_volume(request).await.ok().map(|_| name)
}

/// What `pipeline-test clean` removed: one line per run.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Cleaned {
    /// `kept run abc: 3 containers, 1 volume`, one per run, kept ones first.
    pub runs: Vec<String>,
    /// What could not be removed.
    pub errors: Vec<String>,
}

/// Removes every run kept by `PIPELINE_TEST_KEEP` and every leftover run (its process is
/// gone), with their networks; the runs of live processes that are not kept stay.
///
/// # Errors
///
/// The engine cannot be reached.
///
/// # Examples
///
/// ```no_run
/// # async fn f() -> Result<(), pipeline_test_harness::Error> {
/// let cleaned = pipeline_test_harness::clean().await?;
/// for line in &cleaned.runs {
///     println!("removed {line}");
/// }
/// # Ok(())
/// # }
/// ```
pub async fn clean() -> Result<Cleaned, crate::Error> {
    let (docker, _) = crate::engine::docker::client::connect().await?;
    let managed = format!("{MANAGED_LABEL}=true");
    let containers = containers_labelled(&docker, &managed).await;
    let volumes = volumes_labelled(&docker, &managed)
        .await
        .unwrap_or_default();
    let networks = networks_labelled(&docker, &managed)
        .await
        .unwrap_or_default();
    let kept = kept_runs(&volumes);
    // Without the engine's clock and its list of leases, no leased owner is judged gone.
    let now = engine_now(&docker).await;
    let alive = match now {
        Some(now) => alive_leases(&docker, now).await,
        None => None,
    };
    let host = host_name();
    // A resource goes when its run is kept or its owner is gone.
    let goes = |labels: &HashMap<String, String>| {
        labels.get(RUN_LABEL).is_some_and(|r| kept.contains(r))
            || owner_gone(labels, alive.as_ref(), &host)
    };
    let mut runs: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
    let run_of = |labels: &HashMap<String, String>| {
        labels.get(RUN_LABEL).cloned().unwrap_or_else(|| "-".into())
    };
    let mut ids = Vec::new();
    for c in &containers {
        let labels = c.labels.clone().unwrap_or_default();
        let kept_run = labels.get(RUN_LABEL).is_some_and(|r| kept.contains(r));
        if goes(&labels) && (kept_run || now.is_none_or(|now| !young(c, now))) {
            runs.entry(run_of(&labels)).or_default().0 += 1;
            ids.extend(c.id.clone());
        }
    }
    let mut names = Vec::new();
    for v in &volumes {
        // A heartbeat volume is its process's own business.
        if v.labels.contains_key(crate::reaper::HEARTBEAT_AT_LABEL) {
            continue;
        }
        if goes(&v.labels) {
            runs.entry(run_of(&v.labels)).or_default().1 += 1;
            names.push(v.name.clone());
        }
    }
    let mut errors: Vec<String> = remove_containers(&docker, &ids)
        .await
        .into_iter()
        .map(|(id, e)| format!("container {id}: {e}"))
        .collect();
    errors.extend(
        remove_volumes(&docker, &names)
            .await
            .into_iter()
            .map(|(n, e)| format!("volume {n}: {e}")),
    );
    let gone: Vec<String> = networks
        .iter()
        .filter(|n| n.labels.as_ref().is_some_and(&goes))
        .filter_map(|n| n.id.clone())
        .collect();
    join_all(gone.iter().map(|id| remove_network(&docker, id))).await;
    let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    let mut lines: Vec<(bool, String)> = runs
        .into_iter()
        .map(|(run, (c, v))| {
            let is_kept = kept.contains(&run);
            let what = if is_kept { "kept run" } else { "leftover run" };
            let counts = format!("{}, {}", plural(c, "container"), plural(v, "volume"));
            (!is_kept, format!("{what} {run}: {counts}"))
        })
        .collect();
    lines.sort();
    Ok(Cleaned {
        runs: lines.into_iter().map(|(_, l)| l).collect(),
        errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners() {
        let me = std::process::id();
        let start = process_start_time(me).unwrap();
        assert!(!is_dead_owner(&format!("h/{me}/{start}"), "h"));
        assert!(
            is_dead_owner(&format!("h/{me}/{}", start + 1), "h"),
            "a reused pid"
        );
        assert!(is_dead_owner("h/4000000000/1", "h"));
        assert!(!is_dead_owner("other/4000000000/1", "h"), "another host's");
        assert!(!is_dead_owner("garbage", "h"));
    }

    #[test]
    fn containers_younger_than_a_lease_are_young() {
        let made_at = |created| bollard::models::ContainerSummary {
            created,
            ..Default::default()
        };
        assert!(young(&made_at(Some(100)), 114));
        assert!(!young(&made_at(Some(100)), 115));
        assert!(
            !young(&made_at(None), 100),
            "of unknown age: judged by its lease"
        );
    }

    /// A container made before its process's lease exists (the lease comes beside its start)
    /// is left alone by another process's sweep.
    #[tokio::test]
    async fn a_sweep_spares_a_container_whose_lease_is_on_its_way() {
        let (docker, _) = crate::engine::docker::client::connect()
            .await
            .expect("the Docker engine answers");
        let image = pipeline_test_support::images().resolve("redis");
        let token = format!("nolease{}", std::process::id());
        let labels = HashMap::from([
            (MANAGED_LABEL.to_string(), "true".to_string()),
            (LEASE_LABEL.to_string(), token),
        ]);
        let body = bollard::models::ContainerCreateBody {
            image: Some(image.clone()),
            labels: Some(labels),
            ..Default::default()
        };
        let id = docker
            .create_container(
                None::<bollard::query_parameters::CreateContainerOptions>,
                body,
            )
            .await
            .unwrap_or_else(|e| panic!("create a container of {image}: {e}"))
            .id;
        sweep(&docker).await;
        let still_there = docker.inspect_container(&id, None).await.is_ok();
        let _ = remove_containers(&docker, std::slice::from_ref(&id)).await;
        assert!(still_there, "the sweep removed a container 0 s old");
    }
}

//! The watcher's side: wait for the owner's pipe to close, then remove everything carrying its
//! lease; and that removal, which the signal handler and the sweep use too.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, Write};
use std::time::Duration;

use bollard::Docker;
use bollard::query_parameters::{
    ListNetworksOptionsBuilder, ListVolumesOptionsBuilder, RemoveVolumeOptionsBuilder,
};
use futures::future::join_all;

use super::spawn::READY_LINE;
use crate::docker::{LEASE_LABEL, RUN_LABEL, containers_labelled, is_not_found, remove_containers};

/// After the first pass, how long before looking again for a container whose create was in
/// flight when the owner died.
const LATE_CREATE_RECHECK: Duration = Duration::from_millis(500);
/// How long the watcher keeps trying when the engine does not answer.
const ENGINE_RETRY_FOR: Duration = Duration::from_secs(30);
/// How many times removing a network is tried while the engine detaches its endpoints.
const NETWORK_TRIES: u32 = 20;

/// Runs the watcher of lease `token`; returns the process's exit code.
pub(super) fn serve(token: &str) -> i32 {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "\n{READY_LINE}");
    let _ = out.flush();
    drop(out);
    // The owner's lines until its end of the pipe closes (it wrote them, or it died). Nothing
    // else happens until then: the watcher takes no CPU from the tests it watches.
    let mut kept = HashSet::new();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if let Some(run) = line.strip_prefix("keep ") {
            kept.insert(run.trim().to_string());
        }
    }
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return 2;
    };
    rt.block_on(async {
        let deadline = tokio::time::Instant::now() + ENGINE_RETRY_FOR;
        loop {
            let (errors, docker) = match crate::docker::connect().await {
                Ok((docker, _)) => (remove_owned(&docker, token, &kept).await, Some(docker)),
                Err(e) => (vec![e.to_string()], None),
            };
            if errors.is_empty() || tokio::time::Instant::now() >= deadline {
                // Then the second line, for owners whose watcher could not do its job.
                if let Some(docker) = docker {
                    crate::teardown::sweep(&docker).await;
                }
                return i32::from(!errors.is_empty());
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    })
}

fn run_of(labels: Option<&HashMap<String, String>>) -> Option<&String> {
    labels.and_then(|l| l.get(RUN_LABEL))
}

/// Removes every container, volume and network carrying lease `token`, but those of the runs
/// in `kept`; returns what could not be removed.
pub(crate) async fn remove_owned(
    docker: &Docker,
    token: &str,
    kept: &HashSet<String>,
) -> Vec<String> {
    let label = format!("{LEASE_LABEL}={token}");
    let mut errors = Vec::new();
    for pass in 0..2 {
        let ids: Vec<String> = containers_labelled(docker, &label)
            .await
            .into_iter()
            .filter(|c| !run_of(c.labels.as_ref()).is_some_and(|r| kept.contains(r)))
            .filter_map(|c| c.id)
            .collect();
        if pass == 1 && ids.is_empty() {
            break;
        }
        errors.extend(
            remove_containers(docker, &ids)
                .await
                .into_iter()
                .map(|(id, e)| format!("container {id}: {e}")),
        );
        if pass == 0 {
            tokio::time::sleep(LATE_CREATE_RECHECK).await;
        }
    }
    let filters = HashMap::from([("label".to_string(), vec![label.clone()])]);
    match docker
        .list_volumes(Some(
            ListVolumesOptionsBuilder::default()
                .filters(&filters)
                .build(),
        ))
        .await
    {
        Ok(list) => {
            let names: Vec<String> = list
                .volumes
                .unwrap_or_default()
                .into_iter()
                .filter(|v| !v.labels.get(RUN_LABEL).is_some_and(|r| kept.contains(r)))
                .map(|v| v.name)
                .collect();
            let opts = RemoveVolumeOptionsBuilder::default().force(true).build();
            let results = join_all(
                names
                    .iter()
                    .map(|n| docker.remove_volume(n, Some(opts.clone()))),
            )
            .await;
            for (name, r) in names.iter().zip(results) {
                match r {
                    Err(e) if !is_not_found(&e) => errors.push(format!("volume {name}: {e}")),
                    _ => {}
                }
            }
        }
        Err(e) => errors.push(format!("list volumes: {e}")),
    }
    match docker
        .list_networks(Some(
            ListNetworksOptionsBuilder::default()
                .filters(&filters)
                .build(),
        ))
        .await
    {
        Ok(list) => {
            let ids: Vec<String> = list.into_iter().filter_map(|n| n.id).collect();
            let results = join_all(ids.iter().map(|id| remove_network(docker, id, kept))).await;
            errors.extend(results.into_iter().flatten());
        }
        Err(e) => errors.push(format!("list networks: {e}")),
    }
    errors
}

/// Removes a network, trying again while the engine detaches its endpoints; one still used
/// by a kept run stays.
async fn remove_network(docker: &Docker, id: &str, kept: &HashSet<String>) -> Option<String> {
    for attempt in 1..=NETWORK_TRIES {
        match docker.remove_network(id).await {
            Ok(()) => return None,
            Err(e) if is_not_found(&e) => return None,
            Err(e) if attempt == NETWORK_TRIES || !kept.is_empty() => {
                return (kept.is_empty()).then(|| format!("network {id}: {e}"));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50) * attempt).await,
        }
    }
    None
}

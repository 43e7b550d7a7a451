//! The watcher's side: wait for the owner's pipe to close, then remove everything carrying its
//! lease; and that removal, which the signal handler uses too.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, Write};
use std::time::Duration;

use bollard::Docker;
use futures::future::join_all;

use super::spawn::READY_LINE;
use crate::engine::docker::client::{
    containers_labelled, networks_labelled, remove_containers, remove_network, remove_volumes,
    volumes_labelled,
};
use crate::engine::docker::removal::LATE_CREATE_RECHECK;
use crate::labels::{LEASE_LABEL, RUN_LABEL};

/// How long the watcher keeps trying when the engine does not answer.
const ENGINE_RETRY_FOR: Duration = Duration::from_secs(30);

/// Runs the watcher of lease `token`; returns the process's exit code.
pub(crate) fn serve(token: &str) -> i32 {
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
        } else if let Some(run) = line.strip_prefix("unkeep ") {
            kept.remove(run.trim());
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
            let (errors, docker) = match crate::engine::docker::client::connect().await {
                Ok((docker, _)) => (remove_owned(&docker, token, &kept).await, Some(docker)),
                Err(e) => (vec![e.to_string()], None),
            };
            if errors.is_empty() || tokio::time::Instant::now() >= deadline {
                // Then the second line, for owners whose watcher could not do its job.
                if let Some(docker) = docker {
                    crate::engine::docker::sweep::sweep(&docker).await;
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
    remove_leased(docker, token, kept, true).await
}

/// [`remove_owned`]; with `recheck`, the containers are looked for a second time, for a create
/// that was in flight when the owner died.
pub(crate) async fn remove_leased(
    docker: &Docker,
    token: &str,
    kept: &HashSet<String>,
    recheck: bool,
) -> Vec<String> {
    let label = format!("{LEASE_LABEL}={token}");
    let mut errors = Vec::new();
    // Twice: a create that was in flight when the owner died may land in between.
    for pass in 0..if recheck { 2 } else { 1 } {
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
        if pass == 0 && recheck {
            tokio::time::sleep(LATE_CREATE_RECHECK).await;
        }
    }
    match volumes_labelled(docker, &label).await {
        Ok(volumes) => {
            let names: Vec<String> = volumes
                .into_iter()
                .filter(|v| !run_of(Some(&v.labels)).is_some_and(|r| kept.contains(r)))
                .map(|v| v.name)
                .collect();
            errors.extend(
                remove_volumes(docker, &names)
                    .await
                    .into_iter()
                    .map(|(name, e)| format!("volume {name}: {e}")),
            );
        }
        Err(e) => errors.push(format!("list volumes: {e}")),
    }
    match networks_labelled(docker, &label).await {
        Ok(networks) => {
            let ids: Vec<String> = networks.into_iter().filter_map(|n| n.id).collect();
            // A network a kept run still uses stays: one try, and no complaint.
            let results = join_all(ids.iter().map(|id| async move {
                if kept.is_empty() {
                    remove_network(docker, id).await
                } else {
                    let _ = docker.remove_network(id).await;
                    Ok(())
                }
            }))
            .await;
            for (id, r) in ids.iter().zip(results) {
                if let Err(e) = r {
                    errors.push(format!("network {id}: {e}"));
                }
            }
        }
        Err(e) => errors.push(format!("list networks: {e}")),
    }
    errors
}

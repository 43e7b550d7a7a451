//! Removing a run's resources: containers, then volumes, then the network.

use std::time::Duration;

use bollard::Docker;
use futures::future::join_all;

use super::sweep::KEPT_PREFIX;
use crate::engine::Teardown;
use crate::engine::docker::client::{
    containers_labelled, is_not_found, remove_containers, remove_network, remove_volumes,
};
use crate::labels::RUN_LABEL;
use crate::teardown::TeardownReport;

/// After a dropped run's containers are removed, how long before looking again for one whose
/// create was in flight.
pub(crate) const LATE_CREATE_RECHECK: Duration = Duration::from_millis(500);
/// How long teardown waits for a finished step's removal, already under way, before it removes
/// that container itself (the removal's task may have been cut short).
const IN_FLIGHT_REMOVAL_WAIT: Duration = Duration::from_secs(15);
/// How often teardown looks whether those containers are gone.
const IN_FLIGHT_POLL: Duration = Duration::from_millis(100);

/// Kills and removes every container (with its anonymous volumes), then the volumes, then
/// the network (or, with `recycle`, gives the emptied network back to the pool). Unless
/// `complete` (every create returned and was recorded), containers of the run that were not
/// recorded (a create cut short) are found by label.
pub(crate) async fn remove_all(docker: &Docker, run: Teardown) -> TeardownReport {
    let Teardown {
        run_id,
        resources,
        keep,
        recycle,
        complete,
    } = run;
    let run_id = run_id.as_str();
    let mut report = TeardownReport::default();
    if keep {
        crate::reaper::keep(run_id);
        // On the engine, so that no sweep of a later process removes it either.
        let marked = resources.volumes.iter().any(|v| v.starts_with(KEPT_PREFIX));
        let marker = match marked {
            true => None,
            false => super::sweep::mark_kept(docker, run_id).await,
        };
        let mut cmds = Vec::new();
        if !resources.containers.is_empty() {
            cmds.push(format!(
                "docker rm -f -v {}",
                resources.containers.join(" ")
            ));
        }
        if !resources.volumes.is_empty() {
            cmds.push(format!("docker volume rm {}", resources.volumes.join(" ")));
        }
        if let Some(n) = &resources.network {
            cmds.push(format!("docker network rm {n}"));
        }
        if let Some(m) = marker {
            cmds.push(format!("docker volume rm {m}"));
        }
        report.kept = Some(format!(
            "PIPELINE_TEST_KEEP is set: kept run {run_id}; remove it with:\n  {}\n  (or every container of this run: docker rm -f -v $(docker ps -aq --filter label=pipeline-test.run={run_id}); or `pipeline-test clean`, every kept and leftover run)",
            cmds.join("\n  ")
        ));
        return report;
    }
    crate::reaper::unkeep(run_id);
    let mut containers = resources.containers;
    // Containers whose removal is under way have that one owner: wait for it, and remove only
    // what is still there after a while (its task was cut short). Never two removals at once.
    if !resources.removing.is_empty() {
        let deadline = tokio::time::Instant::now() + IN_FLIGHT_REMOVAL_WAIT;
        let mut left = resources.removing.clone();
        while !left.is_empty() && tokio::time::Instant::now() < deadline {
            let present = join_all(left.iter().map(|id| docker.inspect_container(id, None))).await;
            left = left
                .into_iter()
                .zip(present)
                .filter(|(_, r)| !matches!(r, Err(e) if is_not_found(e)))
                .map(|(id, _)| id)
                .collect();
            if !left.is_empty() {
                tokio::time::sleep(IN_FLIGHT_POLL).await;
            }
        }
        for id in left {
            if !containers.contains(&id) {
                containers.push(id);
            }
        }
    }
    // Stragglers: anything of this run not recorded (a create cut short by a panic or a
    // cancelled future). On the normal path every create returned and was recorded.
    if !complete {
        for c in containers_labelled(docker, &format!("{RUN_LABEL}={run_id}")).await {
            if let Some(id) = c.id.filter(|id| !containers.contains(id)) {
                containers.push(id);
            }
        }
    }
    for (id, e) in remove_containers(docker, &containers).await {
        report
            .errors
            .push(format!("removing container {}: {e}", short(&id)));
    }
    if !complete {
        // A create that was in flight when the run was dropped may land just now: look again.
        tokio::time::sleep(LATE_CREATE_RECHECK).await;
        let late: Vec<String> = containers_labelled(docker, &format!("{RUN_LABEL}={run_id}"))
            .await
            .into_iter()
            .filter_map(|c| c.id)
            .collect();
        for (id, e) in remove_containers(docker, &late).await {
            report
                .errors
                .push(format!("removing container {}: {e}", short(&id)));
        }
    }
    for (name, e) in remove_volumes(docker, &resources.volumes).await {
        report.errors.push(format!("removing volume {name}: {e}"));
    }
    if let Some(network) = resources.network.clone() {
        if recycle && report.errors.is_empty() && super::network::give(network.clone()) {
            return report;
        }
    }
    if let Some(network) = &resources.network {
        if let Err(e) = remove_network(docker, network).await {
            report
                .errors
                .push(format!("removing network {network}: {e}"));
        }
    }
    report
}

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

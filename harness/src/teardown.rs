//! Teardown: one guard owns every resource of a run and removes them all, on every path.
//!
//! The normal and error paths await the guard's `teardown`. If the guard is dropped instead (a
//! panic, an early return, a cancelled future), its `Drop` removes everything from a thread
//! of its own with a runtime of its own, so it works inside a multi-thread runtime, a
//! current-thread runtime, or no runtime at all.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bollard::Docker;
use bollard::query_parameters::{
    ListContainersOptionsBuilder, RemoveContainerOptionsBuilder, RemoveVolumeOptionsBuilder,
};
use futures::future::join_all;

use crate::docker::{RUN_LABEL, is_not_found, reconnect};

/// What a run created, recorded as soon as it exists.
#[derive(Debug, Default)]
pub(crate) struct Resources {
    pub containers: Vec<String>,
    pub volumes: Vec<String>,
    pub network: Option<String>,
}

/// What teardown did.
#[derive(Debug, Default, Clone)]
pub struct TeardownReport {
    /// Problems met; teardown goes on past each of them.
    pub errors: Vec<String>,
    /// Set when `PIPELINE_TEST_KEEP` kept everything: how to remove it by hand.
    pub kept: Option<String>,
}

/// Owns the resources of one run.
#[derive(Debug)]
pub(crate) struct Guard {
    docker: Docker,
    endpoint: String,
    run_id: String,
    keep: bool,
    resources: Arc<Mutex<Resources>>,
    armed: bool,
}

impl Guard {
    pub fn new(docker: Docker, endpoint: String, run_id: String, keep: bool) -> Self {
        Guard {
            docker,
            endpoint,
            run_id,
            keep,
            resources: Arc::default(),
            armed: true,
        }
    }

    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Records a resource; call it as soon as the engine has created it.
    pub fn track(&self, f: impl FnOnce(&mut Resources)) {
        f(&mut self.resources.lock().unwrap_or_else(|e| e.into_inner()));
    }

    /// Removes everything now.
    pub async fn teardown(mut self) -> TeardownReport {
        self.armed = false;
        let resources =
            std::mem::take(&mut *self.resources.lock().unwrap_or_else(|e| e.into_inner()));
        remove_all(&self.docker, &self.run_id, resources, self.keep).await
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let resources =
            std::mem::take(&mut *self.resources.lock().unwrap_or_else(|e| e.into_inner()));
        let (endpoint, run_id, keep) = (self.endpoint.clone(), self.run_id.clone(), self.keep);
        // A thread of its own: blocking on the caller's runtime could deadlock it, and there
        // may be no runtime at all.
        let handle = std::thread::Builder::new()
            .name("pipeline-test-teardown".into())
            .spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return TeardownReport {
                        errors: vec!["cannot start a runtime for teardown".into()],
                        kept: None,
                    };
                };
                let Some(docker) = reconnect(&endpoint) else {
                    return TeardownReport {
                        errors: vec![format!("cannot reconnect to {endpoint} for teardown")],
                        kept: None,
                    };
                };
                rt.block_on(remove_all(&docker, &run_id, resources, keep))
            });
        let report = match handle.map(|h| h.join()) {
            Ok(Ok(report)) => report,
            _ => TeardownReport {
                errors: vec!["the teardown thread failed".into()],
                kept: None,
            },
        };
        for e in &report.errors {
            eprintln!("pipeline-test: teardown: {e}");
        }
        if let Some(kept) = &report.kept {
            eprintln!("pipeline-test: {kept}");
        }
    }
}

/// Kills and removes every container (with its anonymous volumes), then the volumes, then
/// the network. Containers of the run that were not recorded (a create cut short) are found
/// by label.
pub(crate) async fn remove_all(
    docker: &Docker,
    run_id: &str,
    resources: Resources,
    keep: bool,
) -> TeardownReport {
    let mut report = TeardownReport::default();
    if keep {
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
        report.kept = Some(format!(
            "PIPELINE_TEST_KEEP is set: kept run {run_id}; remove it with:\n  {}\n  (or everything of pipeline-test: docker rm -f $(docker ps -aq --filter label=pipeline-test.managed))",
            cmds.join("\n  ")
        ));
        return report;
    }
    let mut containers = resources.containers;
    let remove = RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(true)
        .build();
    let results = join_all(
        containers
            .iter()
            .map(|id| docker.remove_container(id, Some(remove.clone()))),
    )
    .await;
    for (id, r) in containers.iter().zip(results) {
        if let Err(e) = r {
            if !is_not_found(&e) {
                report
                    .errors
                    .push(format!("removing container {}: {e}", short(id)));
            }
        }
    }
    // Stragglers: anything of this run not recorded.
    let filters = std::collections::HashMap::from([(
        "label".to_string(),
        vec![format!("{RUN_LABEL}={run_id}")],
    )]);
    if let Ok(list) = docker
        .list_containers(Some(
            ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await
    {
        containers = list.into_iter().filter_map(|c| c.id).collect();
        for r in join_all(
            containers
                .iter()
                .map(|id| docker.remove_container(id, Some(remove.clone()))),
        )
        .await
        {
            if let Err(e) = r {
                if !is_not_found(&e) {
                    report.errors.push(format!("removing container: {e}"));
                }
            }
        }
    }
    let vol = RemoveVolumeOptionsBuilder::default().force(true).build();
    for (name, r) in resources.volumes.iter().zip(
        join_all(
            resources
                .volumes
                .iter()
                .map(|v| docker.remove_volume(v, Some(vol.clone()))),
        )
        .await,
    ) {
        if let Err(e) = r {
            if !is_not_found(&e) {
                report.errors.push(format!("removing volume {name}: {e}"));
            }
        }
    }
    if let Some(network) = &resources.network {
        // The engine may still be detaching the last endpoints: retry briefly.
        let mut last = None;
        for attempt in 0..20 {
            match docker.remove_network(network).await {
                Ok(()) => {
                    last = None;
                    break;
                }
                Err(e) if is_not_found(&e) => {
                    last = None;
                    break;
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(50 * (attempt + 1))).await;
        }
        if let Some(e) = last {
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

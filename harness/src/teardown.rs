//! Teardown: one guard owns every resource of a run and removes them all, on every path.
//!
//! The normal and error paths await the guard's `teardown`. If the guard is dropped instead (a
//! panic, an early return, a cancelled future), its `Drop` removes everything from a thread
//! of its own with a runtime of its own, so it works inside a multi-thread runtime, a
//! current-thread runtime, or no runtime at all.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bollard::Docker;
use bollard::query_parameters::RemoveVolumeOptionsBuilder;
use futures::future::join_all;

use crate::docker::{RUN_LABEL, containers_labelled, is_not_found, reconnect, remove_containers};

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

/// Every live run's resources, for the signal handler.
static ACTIVE: Mutex<Vec<(String, Arc<Mutex<Resources>>)>> = Mutex::new(Vec::new());

fn active() -> std::sync::MutexGuard<'static, Vec<(String, Arc<Mutex<Resources>>)>> {
    ACTIVE.lock().unwrap_or_else(|e| e.into_inner())
}

impl Guard {
    pub fn new(docker: Docker, endpoint: String, run_id: String, keep: bool) -> Self {
        let resources: Arc<Mutex<Resources>> = Arc::default();
        active().push((run_id.clone(), resources.clone()));
        Guard {
            docker,
            endpoint,
            run_id,
            keep,
            resources,
            armed: true,
        }
    }

    fn forget(&self) {
        active().retain(|(id, _)| *id != self.run_id);
    }

    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// True when `PIPELINE_TEST_KEEP` asked to keep everything.
    pub fn keeps(&self) -> bool {
        self.keep
    }

    /// Records a resource; call it as soon as the engine has created it.
    pub fn track(&self, f: impl FnOnce(&mut Resources)) {
        f(&mut self.resources.lock().unwrap_or_else(|e| e.into_inner()));
    }

    /// Removes everything now; with `recycle`, an emptied network goes back to the pool.
    pub async fn teardown(mut self, recycle: bool) -> TeardownReport {
        self.armed = false;
        let resources =
            std::mem::take(&mut *self.resources.lock().unwrap_or_else(|e| e.into_inner()));
        let report = remove_all(
            &self.docker,
            &self.run_id,
            resources,
            self.keep,
            recycle,
            true,
        )
        .await;
        self.forget();
        report
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        self.forget();
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
                rt.block_on(remove_all(&docker, &run_id, resources, keep, false, false))
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
/// the network (or, with `recycle`, gives the emptied network back to the pool). Unless
/// `complete` (every create returned and was recorded), containers of the run that were not
/// recorded (a create cut short) are found by label.
pub(crate) async fn remove_all(
    docker: &Docker,
    run_id: &str,
    resources: Resources,
    keep: bool,
    recycle: bool,
    complete: bool,
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
        tokio::time::sleep(Duration::from_millis(500)).await;
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
    if let Some(network) = resources.network.clone() {
        if recycle && report.errors.is_empty() && crate::pool::give(network.clone()) {
            return report;
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

/// Removes every live run's resources and the pooled networks when the process gets SIGINT
/// or SIGTERM, then exits with the usual status (130, 143). Installed once per process; for
/// test binaries, where nothing else would clean up.
pub(crate) fn install_signal_cleanup(endpoint: &str) {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    let endpoint = endpoint.to_string();
    INSTALLED.call_once(move || {
        let (tx, rx) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("pipeline-test-signals".into())
            .spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                    return;
                };
                rt.block_on(async move {
                    use tokio::signal::unix::{SignalKind, signal};
                    let (Ok(mut int), Ok(mut term)) =
                        (signal(SignalKind::interrupt()), signal(SignalKind::terminate()))
                    else {
                        let _ = tx.send(());
                        return;
                    };
                    let _ = tx.send(());
                    let code = tokio::select! {
                        _ = int.recv() => 130,
                        _ = term.recv() => 143,
                    };
                    if let Some(docker) = reconnect(&endpoint) {
                        let runs: Vec<(String, Arc<Mutex<Resources>>)> = std::mem::take(&mut *active());
                        let work = async {
                            join_all(runs.iter().map(|(id, r)| {
                                let resources = std::mem::take(&mut *r.lock().unwrap_or_else(|e| e.into_inner()));
                                remove_all(&docker, id, resources, false, false, false)
                            }))
                            .await;
                            crate::pool::remove(&docker, crate::pool::drain()).await;
                        };
                        let _ = tokio::time::timeout(Duration::from_secs(60), work).await;
                    }
                    eprintln!("pipeline-test: interrupted; removed the containers, networks and volumes of the running stages");
                    std::process::exit(code);
                });
            });
        if spawned.is_ok() {
            // Wait until the handlers are in place, so that a signal right after is caught.
            let _ = rx.recv_timeout(Duration::from_secs(5));
        }
    });
}

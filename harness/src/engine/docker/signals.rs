//! SIGINT and SIGTERM in a process that runs stages without a command line of its own.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::join_all;

use super::removal::remove_all;
use crate::teardown::Resources;
use crate::teardown::active;

/// How long the signal handler may take to remove everything before the process exits.
const SIGNAL_CLEANUP_LIMIT: Duration = Duration::from_secs(60);
/// How long installing the handler may take before the caller goes on without it.
const INSTALL_WAIT: Duration = Duration::from_secs(5);

/// Removes every live run's resources and the pooled networks when the process gets SIGINT
/// or SIGTERM, then exits with the usual status (130, 143). Installed once per process; for
/// test binaries, where nothing else would clean up.
pub(crate) fn install_signal_cleanup(endpoint: &str) {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    let endpoint = endpoint.to_string();
    INSTALLED.call_once(move || {
        let (ready, installed) = std::sync::mpsc::channel();
        let spawned = crate::async_drop::spawn("pipeline-test-signals", crate::engine::docker::client::reconnector(&endpoint), |docker: bollard::Docker| async move {
            use tokio::signal::unix::{SignalKind, signal};
            let handlers = (signal(SignalKind::interrupt()), signal(SignalKind::terminate()));
            let _ = ready.send(());
            let (Ok(mut int), Ok(mut term)) = handlers else {
                return;
            };
            let code = tokio::select! {
                _ = int.recv() => 130,
                _ = term.recv() => 143,
            };
            // First: no new stage starts, nothing new is created.
            crate::reaper::interrupt();
            crate::reaper::stop_heartbeat();
            let runs: Vec<(String, Arc<Mutex<Resources>>)> = std::mem::take(&mut *active());
            let work = async {
                let reports = join_all(runs.iter().map(|(id, r)| {
                    let resources =
                        std::mem::take(&mut *r.lock().unwrap_or_else(|e| e.into_inner()));
                    remove_all(
                        &docker,
                        crate::engine::Teardown {
                            run_id: id.clone(),
                            resources,
                            keep: false,
                            recycle: false,
                            complete: false,
                        },
                    )
                }))
                .await;
                super::network::remove(&docker, super::network::drain()).await;
                let mut errors: Vec<String> = reports.into_iter().flat_map(|r| r.errors).collect();
                // Then whatever else carries this process's lease: a stage that was being
                // created when the signal came, the lease itself.
                let kept = crate::reaper::kept();
                errors.extend(
                    crate::reaper::remove_owned(&docker, crate::labels::LEASE.as_str(), &kept)
                        .await,
                );
                errors
            };
            // "Removed" only when it is true: every removal answered, none failed.
            match tokio::time::timeout(SIGNAL_CLEANUP_LIMIT, work).await {
                Ok(errors) if errors.is_empty() => eprintln!(
                    "pipeline-test: interrupted; removed the containers, networks and volumes of the running stages"
                ),
                Ok(errors) => {
                    for e in &errors {
                        eprintln!("pipeline-test: teardown: {e}");
                    }
                    eprintln!(
                        "pipeline-test: interrupted; some resources could not be removed (above); the next run removes them"
                    );
                }
                Err(_) => eprintln!(
                    "pipeline-test: interrupted; removing the running stages took over {}s: the next run removes what is left",
                    SIGNAL_CLEANUP_LIMIT.as_secs()
                ),
            }
            std::process::exit(code);
        });
        if spawned.is_ok() {
            // Wait until the handlers are in place, so that a signal right after is caught.
            let _ = installed.recv_timeout(INSTALL_WAIT);
        }
    });
}

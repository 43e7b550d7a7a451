//! Networks reused across runs while a runner is alive, so that a run does not pay for
//! creating and removing its network (about a third of a short stage here).
//!
//! A network goes back to the pool only empty, after every container of its run is removed,
//! so a reused network carries no alias of an earlier run. The pool holds networks only while
//! at least one [`Lease`] exists (every `Runner`, and every stage it started, holds one); when
//! the last lease goes, the pool's networks are removed before `drop` returns. So nothing is
//! left once the runners are gone, and a process that ends normally leaves nothing behind; a
//! killed process's networks are removed by the next run's sweep.

use std::sync::{Arc, Mutex};

use bollard::Docker;

use crate::docker::reconnect;

#[derive(Default)]
struct State {
    leases: usize,
    free: Vec<String>,
}

static POOL: Mutex<State> = Mutex::new(State {
    leases: 0,
    free: Vec::new(),
});

fn state() -> std::sync::MutexGuard<'static, State> {
    POOL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Keeps the pool alive; the last one dropped removes the pooled networks.
#[derive(Debug)]
pub(crate) struct Lease {
    endpoint: String,
}

impl Lease {
    pub fn new(endpoint: &str) -> Arc<Lease> {
        state().leases += 1;
        Arc::new(Lease {
            endpoint: endpoint.to_string(),
        })
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let networks = {
            let mut s = state();
            s.leases -= 1;
            if s.leases > 0 {
                return;
            }
            std::mem::take(&mut s.free)
        };
        if networks.is_empty() {
            return;
        }
        let endpoint = self.endpoint.clone();
        let done = std::thread::Builder::new()
            .name("pipeline-test-pool".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                let docker = reconnect(&endpoint)?;
                rt.block_on(remove(&docker, networks));
                Some(())
            })
            .map(|h| h.join());
        if !matches!(done, Ok(Ok(Some(())))) {
            eprintln!("pipeline-test: could not remove pooled networks; the next run removes them");
        }
    }
}

/// A free network, if the pool has one.
pub(crate) fn take() -> Option<String> {
    state().free.pop()
}

/// Returns an empty network to the pool; false when no lease is alive (remove it instead).
pub(crate) fn give(network: String) -> bool {
    let mut s = state();
    if s.leases == 0 {
        return false;
    }
    s.free.push(network);
    true
}

/// Takes every pooled network out of the pool (for cleanup on a signal).
pub(crate) fn drain() -> Vec<String> {
    std::mem::take(&mut state().free)
}

/// Removes `networks`, concurrently.
pub(crate) async fn remove(docker: &Docker, networks: Vec<String>) {
    futures::future::join_all(networks.iter().map(|n| docker.remove_network(n))).await;
}

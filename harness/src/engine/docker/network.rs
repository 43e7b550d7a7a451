//! The stage's network, and the pool that reuses networks across runs while a runner is
//! alive, so that a run does not pay for creating and removing its network (about a third of
//! a short stage here).
//!
//! A network goes back to the pool only empty, after every container of its run is removed,
//! so a reused network carries no alias of an earlier run. The pool holds networks only while
//! at least one [`Lease`] exists (every `Runner`, and every stage it started, holds one); when
//! the last lease goes, the pool's networks are removed before `drop` returns. So nothing is
//! left once the runners are gone, and a process that ends normally leaves nothing behind; a
//! killed process's networks are removed by the next run's sweep.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::models::NetworkCreateRequest;

use crate::Error;
use crate::duration::format_duration;
use crate::labels::network_labels;
use crate::report::{Event, Observer};

/// How long a run waits for Docker to have an address pool free for its network.
pub(crate) const NETWORK_POOL_WAIT: Duration = Duration::from_secs(300);
/// The first pause before trying again when no address pool is free; it doubles from there.
const POOL_RETRY_FIRST: Duration = Duration::from_millis(100);
/// The longest pause between two tries.
const POOL_RETRY_MAX: Duration = Duration::from_secs(2);

/// The stage's network: a free one from the pool (with `reuse`), else a new one named
/// `name`. When Docker has no address pool left (too many networks at once), waits and
/// retries with bounded backoff, saying so once, taking a pooled network as soon as another
/// run gives one back.
pub(crate) async fn acquire_network(
    docker: &Docker,
    observer: &dyn Observer,
    name: &str,
    reuse: bool,
) -> Result<String, Error> {
    let deadline = Instant::now() + NETWORK_POOL_WAIT;
    let mut delay = POOL_RETRY_FIRST;
    let mut said = false;
    loop {
        if crate::reaper::interrupted() {
            return Err(Error::Interrupted);
        }
        if reuse {
            if let Some(pooled) = take() {
                return Ok(pooled);
            }
        }
        let request = NetworkCreateRequest {
            name: name.to_string(),
            driver: Some("bridge".into()),
            labels: Some(network_labels()),
            ..Default::default()
        };
        match docker.create_network(request).await {
            Ok(_) => return Ok(name.to_string()),
            Err(e) if is_pool_exhausted(&e) && Instant::now() < deadline => {
                if !said {
                    observer.on_event(&Event::Notice {
                        message: &format!(
                            "Docker has no address pool left for a new network; waiting for other runs to finish (up to {})",
                            format_duration(NETWORK_POOL_WAIT)
                        ),
                    });
                    said = true;
                }
                // Jitter, so that many waiting runs do not retry in step.
                let jitter = u64::from(std::process::id() % 97)
                    + u64::from(name.bytes().map(u32::from).sum::<u32>() % 89);
                tokio::time::sleep(delay + Duration::from_millis(jitter)).await;
                delay = (delay * 2).min(POOL_RETRY_MAX);
            }
            Err(source) if is_pool_exhausted(&source) => {
                return Err(Error::NoAddressPool {
                    network: name.to_string(),
                    waited: NETWORK_POOL_WAIT,
                    source: Box::new(source),
                });
            }
            Err(source) => {
                return Err(crate::engine::docker::client::engine_error(
                    format!("create network {name}"),
                    source,
                ));
            }
        }
    }
}

fn is_pool_exhausted(e: &bollard::errors::Error) -> bool {
    let text = e.to_string();
    text.contains("non-overlapping") || text.contains("address pool")
}

#[derive(Default)]
struct Pool {
    leases: usize,
    free: Vec<String>,
}

static POOL: Mutex<Pool> = Mutex::new(Pool {
    leases: 0,
    free: Vec::new(),
});

fn pool() -> std::sync::MutexGuard<'static, Pool> {
    POOL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Keeps the pool alive; the last one dropped removes the pooled networks.
#[derive(Debug)]
pub(crate) struct Lease {
    endpoint: String,
}

impl Lease {
    pub fn new(endpoint: &str) -> Arc<Lease> {
        pool().leases += 1;
        Arc::new(Lease {
            endpoint: endpoint.to_string(),
        })
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let networks = {
            let mut p = pool();
            p.leases -= 1;
            if p.leases > 0 {
                return;
            }
            std::mem::take(&mut p.free)
        };
        if networks.is_empty() {
            return;
        }
        if crate::background::is_current() {
            // The last lease went with a background task: blocking here would stop the kept
            // connections the removal needs. What the process's end cuts short, the next run
            // removes.
            let reconnect = crate::engine::docker::client::reconnector(&self.endpoint);
            crate::background::spawn(async move {
                if let Ok(docker) = reconnect() {
                    remove(&docker, networks).await;
                }
            });
            return;
        }
        let removed = crate::async_drop::block_on(
            "pipeline-test-pool",
            crate::engine::docker::client::reconnector(&self.endpoint),
            |docker: Docker| async move { remove(&docker, networks).await },
        );
        if let Err(why) = removed {
            eprintln!(
                "pipeline-test: could not remove pooled networks ({why}); the next run removes them"
            );
        }
    }
}

/// A free network, if the pool has one.
pub(crate) fn take() -> Option<String> {
    pool().free.pop()
}

/// Returns an empty network to the pool; false when no lease is alive (remove it instead).
pub(crate) fn give(network: String) -> bool {
    let mut p = pool();
    if p.leases == 0 {
        return false;
    }
    p.free.push(network);
    true
}

/// True when `network` waits in the pool for the next stage.
pub(crate) fn pooled(network: &str) -> bool {
    pool().free.iter().any(|n| n == network)
}

/// Takes every pooled network out of the pool (for cleanup on a signal).
pub(crate) fn drain() -> Vec<String> {
    std::mem::take(&mut pool().free)
}

/// Removes `networks`, concurrently.
pub(crate) async fn remove(docker: &Docker, networks: Vec<String>) {
    futures::future::join_all(networks.iter().map(|n| docker.remove_network(n))).await;
}

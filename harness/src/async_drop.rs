//! Async engine work from places that cannot await: `Drop` (of a run's guard, of the last
//! network-pool lease) and the signal handler.
//!
//! The work runs on a thread of its own with a current-thread runtime of its own and a new
//! client for the same endpoint: blocking on the caller's runtime could deadlock it, and
//! there may be no runtime at all.

use std::future::Future;
use std::thread::JoinHandle;

use bollard::Docker;

use crate::docker::reconnect;

/// Runs `work` with a client for `endpoint` on a new thread named `name`; join the handle for
/// its result, or a sentence saying why it could not run.
pub(crate) fn spawn<T, F, Fut>(
    name: &str,
    endpoint: &str,
    work: F,
) -> Result<JoinHandle<Result<T, String>>, String>
where
    F: FnOnce(Docker) -> Fut + Send + 'static,
    Fut: Future<Output = T>,
    T: Send + 'static,
{
    let endpoint = endpoint.to_string();
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start a runtime: {e}"))?;
            let docker =
                reconnect(&endpoint).ok_or_else(|| format!("cannot reconnect to {endpoint}"))?;
            Ok(rt.block_on(work(docker)))
        })
        .map_err(|e| format!("cannot start a thread: {e}"))
}

/// [`spawn`], then waits for it.
pub(crate) fn block_on<T, F, Fut>(name: &str, endpoint: &str, work: F) -> Result<T, String>
where
    F: FnOnce(Docker) -> Fut + Send + 'static,
    Fut: Future<Output = T>,
    T: Send + 'static,
{
    spawn(name, endpoint, work)?
        .join()
        .map_err(|_| format!("the {name} thread panicked"))?
}

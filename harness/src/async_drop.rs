//! Async engine work from places that cannot await: `Drop` (of a run's guard, of the last
//! network-pool lease) and the signal handler.
//!
//! The work runs on a thread of its own with a current-thread runtime of its own and a new
//! client for the same engine: blocking on the caller's runtime could deadlock it, and there
//! may be no runtime at all.

use std::future::Future;
use std::thread::JoinHandle;

/// Runs `work` with the client `connect` makes, on a new thread named `name`; join the handle
/// for its result, or a sentence saying why it could not run.
pub(crate) fn spawn<C, T, F, Fut>(
    name: &str,
    connect: impl FnOnce() -> Result<C, String> + Send + 'static,
    work: F,
) -> Result<JoinHandle<Result<T, String>>, String>
where
    F: FnOnce(C) -> Fut + Send + 'static,
    Fut: Future<Output = T>,
    T: Send + 'static,
{
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start a runtime: {e}"))?;
            let client = connect()?;
            Ok(rt.block_on(work(client)))
        })
        .map_err(|e| format!("cannot start a thread: {e}"))
}

/// [`spawn`], then waits for it.
pub(crate) fn block_on<C, T, F, Fut>(
    name: &str,
    connect: impl FnOnce() -> Result<C, String> + Send + 'static,
    work: F,
) -> Result<T, String>
where
    F: FnOnce(C) -> Fut + Send + 'static,
    Fut: Future<Output = T>,
    T: Send + 'static,
{
    spawn(name, connect, work)?
        .join()
        .map_err(|_| format!("the {name} thread panicked"))?
}

/// [`spawn`] with a new client for `engine`.
pub(crate) fn spawn_on<T, F, Fut>(
    name: &str,
    engine: &crate::engine::Engine,
    work: F,
) -> Result<JoinHandle<Result<T, String>>, String>
where
    F: FnOnce(crate::engine::Engine) -> Fut + Send + 'static,
    Fut: Future<Output = T>,
    T: Send + 'static,
{
    let engine = engine.clone();
    spawn(name, move || engine.detached(), work)
}

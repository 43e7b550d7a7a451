//! The process's background runtime: one thread, started on first use, that lives as long as
//! the process.
//!
//! Work that must outlive the runtime that started it runs here: a test's runtime ends with
//! the test, and with it every task spawned on it. The kept connections to a local engine
//! live here, and so do the removals of finished steps' containers, which a passed stage
//! leaves running behind it when it returns.

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::Handle;
use tokio::task::JoinHandle;

/// The background thread's name.
const NAME: &str = "pipeline-test-io";

/// True on the background thread, where nothing may block: the kept connections run there.
pub(crate) fn is_current() -> bool {
    std::thread::current().name() == Some(NAME)
}

/// The background runtime's handle, or a sentence saying why it could not start.
pub(crate) fn handle() -> Result<Handle, String> {
    static RUNTIME: OnceLock<Result<Handle, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::Builder::new()
                .name(NAME.into())
                .spawn(move || {
                    match tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    {
                        Ok(rt) => {
                            let _ = tx.send(Ok(rt.handle().clone()));
                            rt.block_on(std::future::pending::<()>());
                        }
                        Err(e) => {
                            let _ = tx.send(Err(format!("cannot start a runtime: {e}")));
                        }
                    }
                })
                .map_err(|e| format!("cannot start a thread: {e}"))?;
            rx.recv()
                .map_err(|_| "the background thread ended at its start".to_string())?
        })
        .clone()
}

/// Runs `work` on the background runtime, or on the caller's when that cannot start.
pub(crate) fn spawn<F>(work: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match handle() {
        Ok(h) => h.spawn(work),
        Err(_) => tokio::spawn(work),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn work_outlives_the_runtime_that_spawned_it() {
        let (tx, rx) = std::sync::mpsc::channel();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            super::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                let _ = tx.send(());
            });
        });
        // The spawning runtime ends before the work does.
        drop(rt);
        rx.recv_timeout(std::time::Duration::from_secs(5))
            .expect("the work ran to its end");
    }
}

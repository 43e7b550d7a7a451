//! The guard that owns a run's resources.

use std::sync::{Arc, Mutex};

use super::{Keep, Resources, TeardownReport};
use crate::engine::{Engine, Teardown};

/// Owns the resources of one run.
#[derive(Debug)]
pub(crate) struct Guard {
    engine: Engine,
    run_id: String,
    keep: Keep,
    resources: Arc<Mutex<Resources>>,
    armed: bool,
}

/// Every live run's resources, for the signal handler.
static ACTIVE: Mutex<Vec<(String, Arc<Mutex<Resources>>)>> = Mutex::new(Vec::new());

pub(crate) fn active() -> std::sync::MutexGuard<'static, Vec<(String, Arc<Mutex<Resources>>)>> {
    ACTIVE.lock().unwrap_or_else(|e| e.into_inner())
}

impl Guard {
    pub fn new(engine: Engine, run_id: String, keep: Keep) -> Self {
        let resources: Arc<Mutex<Resources>> = Arc::default();
        active().push((run_id.clone(), resources.clone()));
        Guard {
            engine,
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

    /// True when `PIPELINE_TEST_KEEP` keeps a run that `failed` (or not).
    pub fn keeps(&self, failed: bool) -> bool {
        self.keep.keeps(failed)
    }

    /// The run's record of its resources, shared with the per-step removals.
    pub fn resources(&self) -> Arc<Mutex<Resources>> {
        self.resources.clone()
    }

    /// Records a resource; call it as soon as the engine has created it.
    pub fn track(&self, f: impl FnOnce(&mut Resources)) {
        f(&mut self.resources.lock().unwrap_or_else(|e| e.into_inner()));
    }

    /// Leaves the run's resources to the process's end: nothing removes them when this goes,
    /// the signal handler and the watcher still do.
    pub fn detach(mut self) {
        self.armed = false;
    }

    /// Removes everything now, unless the keep policy keeps a run that `failed` (or not);
    /// with `recycle`, an emptied network goes back to the pool.
    pub async fn teardown(self, recycle: bool, failed: bool) -> TeardownReport {
        let engine = self.engine.clone();
        self.teardown_with(&engine, recycle, failed).await
    }

    /// [`Guard::teardown`] through `engine` (a client of the runtime it runs on).
    pub async fn teardown_with(
        mut self,
        engine: &Engine,
        recycle: bool,
        failed: bool,
    ) -> TeardownReport {
        self.armed = false;
        let resources =
            std::mem::take(&mut *self.resources.lock().unwrap_or_else(|e| e.into_inner()));
        let report = engine
            .teardown(Teardown {
                run_id: self.run_id.clone(),
                resources,
                keep: self.keeps(failed),
                recycle,
                complete: true,
            })
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
        // A run dropped before its end (a panic, a cancelled future) has failed.
        let (run_id, keep) = (self.run_id.clone(), self.keeps(true));
        let engine = self.engine.clone();
        let report = crate::async_drop::block_on(
            "pipeline-test-teardown",
            move || engine.detached(),
            move |engine: Engine| async move {
                engine
                    .teardown(Teardown {
                        run_id,
                        resources,
                        keep,
                        recycle: false,
                        complete: false,
                    })
                    .await
            },
        )
        .unwrap_or_else(|why| TeardownReport::failed(format!("teardown could not run: {why}")));
        for e in &report.errors {
            eprintln!("pipeline-test: teardown: {e}");
        }
        if let Some(kept) = &report.kept {
            eprintln!("pipeline-test: {kept}");
        }
    }
}

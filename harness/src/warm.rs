//! The work every stage of a process needs before its first container and that does not depend
//! on the stage (the build's git facts, the engine's API version), begun at once on threads of
//! its own, so that it runs beside the reading of the pipeline instead of after it.

use std::path::Path;
use std::sync::Once;

/// Begins, once per process and off the caller's thread, what its first stage needs before its
/// first container and the stage does not decide: the git facts of the repository holding
/// `pipeline_dir` and the engine's API version. Whoever needs one later
/// ([`crate::RunOptions::from_env`], [`crate::Runner::connect`]) gets it, waiting for it when
/// it is still on its way; nothing is done twice. Errors are left for them to report. (The
/// process's lease and watcher, see [`crate::reaper`], begin beside its first container's
/// start: on a machine of few cores they would slow what comes before it.)
///
/// Call it only in a process that starts a stage: a process that joins a shared stage another
/// process started needs none of it.
///
/// # Examples
///
/// ```no_run
/// // The first test of a test binary, before it reads its pipeline.
/// pipeline_test_harness::warm_up("tests");
/// let options = pipeline_test_harness::RunOptions::from_env("tests")?;
/// # Ok::<(), pipeline_test_harness::Error>(())
/// ```
pub fn warm_up(pipeline_dir: impl AsRef<Path>) {
    static STARTED: Once = Once::new();
    let dir = pipeline_dir.as_ref().to_path_buf();
    STARTED.call_once(|| {
        let git = std::thread::Builder::new()
            .name("pipeline-test-git".into())
            .spawn(move || {
                crate::context::BuildContext::from_git(dir);
            });
        let engine = std::thread::Builder::new()
            .name("pipeline-test-connect".into())
            .spawn(|| {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                let _ = rt.block_on(crate::engine::docker::client::connect());
            });
        // A thread that cannot start leaves the work to whoever needs it.
        drop((git, engine));
    });
}

//! The work every stage of a process needs before its first container and that does not depend
//! on how the pipeline resolves (the build's git facts, the engine's API version, what the
//! images written in the stage offer), begun at once on threads of its own, so that it runs
//! beside the reading of the pipeline instead of after it.

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
    warm_up_with_images(pipeline_dir, &[]);
}

/// [`warm_up`], and the engine is asked at once what `images` offer (the ports they expose,
/// their health checks), as `PIPELINE_TEST_IMAGES` maps them: the first request of the
/// process tells the API version too, and the stage that uses one of them creates its
/// container without asking again. `images` are the stage's images as written
/// ([`crate::spec::Stage::literal_images`]); one the stage does not use costs a request off
/// the caller's path, and one that is missing is left to the stage (which pulls it).
///
/// # Examples
///
/// ```no_run
/// pipeline_test_harness::warm_up_with_images("tests", &["redis:7"]);
/// ```
pub fn warm_up_with_images(pipeline_dir: impl AsRef<Path>, images: &[&str]) {
    static STARTED: Once = Once::new();
    let dir = pipeline_dir.as_ref().to_path_buf();
    let images: Vec<String> = images.iter().map(|i| i.to_string()).collect();
    STARTED.call_once(|| {
        // The engine's thread first: its answers are what the first container waits for.
        let engine = std::thread::Builder::new()
            .name("pipeline-test-connect".into())
            .spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                let map = crate::images::ImageMap::from_env().unwrap_or_default();
                let images: Vec<String> = images.iter().map(|i| map.resolve(i)).collect();
                rt.block_on(crate::engine::docker::client::warm(&images));
            });
        let git = std::thread::Builder::new()
            .name("pipeline-test-git".into())
            .spawn(move || {
                crate::context::BuildContext::from_git(dir);
            });
        // A thread that cannot start leaves the work to whoever needs it.
        drop((git, engine));
    });
}

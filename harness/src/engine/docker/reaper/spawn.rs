//! Starting the watcher process, once per process, and talking to it over its standard input.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::process::{ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use bollard::Docker;

use crate::Error;
use crate::labels::LEASE;
use crate::reaper::{COOPERATES, RUN_WATCHER_ENV, WATCHER_ENV};

/// How long the watcher may take to say it is ready.
const READY_WAIT: Duration = Duration::from_secs(20);
/// The line a watcher prints on its standard output once it watches.
pub(crate) const READY_LINE: &str = "pipeline-test-watcher ready";

/// The write end of the watcher's standard input; it closes when this process dies.
static PIPE: Mutex<Option<ChildStdin>> = Mutex::new(None);
/// A test of this binary that turns into the watcher before its body.
static ENTRY_TEST: OnceLock<String> = OnceLock::new();
/// Set once the lease and the watcher are in place (or the watcher could not start).
static STARTED: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();

pub(crate) fn set_entry_test(name: &str) {
    let _ = ENTRY_TEST.set(name.to_string());
}

/// The command that runs this executable as a watcher, or why there is none.
fn command(thread: Option<&str>) -> Result<Command, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this executable: {e}"))?;
    let mut cmd = Command::new(&exe);
    if COOPERATES.load(std::sync::atomic::Ordering::SeqCst) {
        return Ok(cmd);
    }
    // A test binary: run one test that enters the harness before its body.
    let in_deps = exe
        .parent()
        .and_then(|d| d.file_name())
        .is_some_and(|d| d == "deps");
    let test = ENTRY_TEST.get().cloned().or_else(|| {
        thread
            .filter(|t| in_deps && *t != "main" && !t.starts_with("tokio-runtime"))
            .map(str::to_string)
    });
    let Some(test) = test else {
        return Err(
            "this program does not call `pipeline_test::serve_if_watcher()` first in `main`".into(),
        );
    };
    cmd.args([
        test.as_str(),
        "--exact",
        "--include-ignored",
        "--nocapture",
        "--test-threads=1",
    ]);
    Ok(cmd)
}

/// Starts the watcher and waits until it watches.
fn spawn_watcher(thread: Option<String>) -> Result<(), String> {
    let mut cmd = command(thread.as_deref())?;
    let mut child = cmd
        .env(WATCHER_ENV, LEASE.as_str())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        // Its own process group: Ctrl-C in a terminal and a CI job's kill of the group reach
        // the owner, not the watcher that cleans up after it.
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start it: {e}"))?;
    // The pipe exists from here on: if this process dies now, the watcher still sees it
    // close. Whether it came up is checked off the caller's path.
    let stdout = child.stdout.take().ok_or("no pipe from it")?;
    *PIPE.lock().unwrap_or_else(|e| e.into_inner()) = child.stdin.take();
    std::thread::Builder::new()
        .name("pipeline-test-watcher-check".into())
        .spawn(move || {
            if let Err(why) = check_ready(child, stdout) {
                eprintln!(
                    "pipeline-test: no watcher process for this process ({why}); if it is killed, the next run removes what it leaves"
                );
            }
        })
        .map_err(|e| format!("cannot start a thread: {e}"))?;
    Ok(())
}

/// Starts the run watcher of shared stage `stage` (see `crate::share`): a process of its own,
/// detached from this one (its own process group, no output), that holds the stage's lease
/// until run `parent` (pid, start time) has ended and no user of the stage is alive. Returns
/// the pipe on its standard input: closed without a `recorded` line, the stage is removed.
pub(crate) fn spawn_run_watcher(
    stage: &str,
    parent: u32,
    parent_start: u64,
) -> Result<ChildStdin, String> {
    let thread = std::thread::current().name().map(str::to_string);
    let mut cmd = command(thread.as_deref())?;
    let mut child = cmd
        .env(RUN_WATCHER_ENV, format!("{stage} {parent} {parent_start}"))
        .env_remove(WATCHER_ENV)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start it: {e}"))?;
    child
        .stdin
        .take()
        .ok_or_else(|| "no pipe to it".to_string())
}

/// Waits for the watcher's ready line; kills it when it does not come.
fn check_ready(
    mut child: std::process::Child,
    stdout: std::process::ChildStdout,
) -> Result<(), String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("pipeline-test-watcher-ready".into())
        .spawn(move || {
            // A test binary prints libtest's own lines first.
            let ready = BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .any(|l| l.trim_end().ends_with(READY_LINE));
            let _ = tx.send(ready);
        })
        .map_err(|e| format!("cannot start a thread: {e}"))?;
    match rx.recv_timeout(READY_WAIT) {
        // The child is left running (dropping the handle neither waits nor kills); init reaps
        // it after it has cleaned up behind this process.
        Ok(true) => Ok(()),
        Ok(false) => {
            let _ = child.kill();
            let _ = child.wait();
            Err("it ended without watching".into())
        }
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            Err(format!(
                "it did not answer within {}s",
                READY_WAIT.as_secs()
            ))
        }
    }
}

/// Takes this process's lease and starts its watcher, once per process; later calls return at
/// once. A watcher that cannot start is reported once (the next run's sweep remains).
///
/// # Errors
///
/// [`Error::Engine`] when the engine refuses the lease volume.
pub(crate) async fn ensure(docker: &Docker, endpoint: &str) -> Result<(), Error> {
    if std::env::var_os(WATCHER_ENV).is_some() {
        return Ok(()); // a watcher never watches itself
    }
    let thread = std::thread::current().name().map(str::to_string);
    STARTED
        .get_or_try_init(|| async {
            super::lease::start_heartbeat(docker, endpoint).await?;
            let started = spawn_watcher(thread);
            if let Err(why) = started {
                eprintln!(
                    "pipeline-test: no watcher process for this process ({why}); if it is killed, the next run removes what it leaves"
                );
            }
            Ok(())
        })
        .await
        .map(|_| ())
}

/// The lease that run `run_id`'s resources carry, taken now when it is this process's own
/// (see [`ensure`]); a shared stage's resources carry the stage's lease, which its run watcher
/// holds.
///
/// # Errors
///
/// [`Error::Engine`] when the engine refuses the lease volume.
pub(crate) async fn ensure_for(docker: &Docker, endpoint: &str, run_id: &str) -> Result<(), Error> {
    if crate::labels::lease_of(run_id) == LEASE.as_str() {
        ensure(docker, endpoint).await
    } else {
        Ok(())
    }
}

/// Runs this process keeps (`PIPELINE_TEST_KEEP`): no watcher or signal handler removes them.
static KEPT: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// The runs this process keeps.
pub(crate) fn kept() -> std::collections::HashSet<String> {
    KEPT.lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .cloned()
        .collect()
}

/// Tells the watcher to leave run `run_id` in place (`PIPELINE_TEST_KEEP`).
pub(crate) fn keep(run_id: &str) {
    KEPT.lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(run_id.to_string());
    if let Some(pipe) = PIPE.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
        let _ = writeln!(pipe, "keep {run_id}");
        let _ = pipe.flush();
    }
}

/// Tells the watcher that run `run_id`, marked kept from its start, is not kept after all
/// (`PIPELINE_TEST_KEEP=on-failure` and it passed): what is left of it at the end is removed.
pub(crate) fn unkeep(run_id: &str) {
    let mut kept = KEPT.lock().unwrap_or_else(|e| e.into_inner());
    if !kept.iter().any(|r| r == run_id) {
        return;
    }
    kept.retain(|r| r != run_id);
    drop(kept);
    if let Some(pipe) = PIPE.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
        let _ = writeln!(pipe, "unkeep {run_id}");
        let _ = pipe.flush();
    }
}

//! The watcher: resources of a process that dies, even by SIGKILL, are removed within about a
//! second, without waiting for another run.
//!
//! How it works:
//!
//! - **A lease the engine sees.** Every process that creates resources has a lease token
//!   (random, 12 hex digits); all its containers, networks and volumes carry
//!   `pipeline-test.lease=<token>`. While the process lives, a thread of its own renews a
//!   heartbeat on the engine: a small volume `pipeline-test-lease-<token>-<n>`, replaced every
//!   few seconds (`lease`). A run of any process, in any PID namespace, container or host
//!   sharing the engine, judges another owner by that heartbeat only (by the engine's clock):
//!   fresh means alive, whatever its pid says.
//! - **A watcher process.** The first time a process connects, it starts a copy of its own
//!   executable as a watcher (`spawn`), in a process group of its own, with a pipe from the
//!   owner on its standard input. The pipe closes when the owner dies, however it dies; the
//!   watcher then removes everything carrying the owner's lease (`watch`), except runs the
//!   owner asked to keep (`PIPELINE_TEST_KEEP`), and exits. It talks only to the engine's API,
//!   as the harness does; no image, no `docker` command.
//! - **The next run's sweep** (`engine/docker/sweep.rs`) stays as the second line: it removes what
//!   carries a lease whose heartbeat has stopped.
//!
//! A test binary's watcher is the same binary running one of its pipeline tests, which turns
//! into the watcher before its body; the command line and programs that call
//! [`serve_if_watcher`] first in `main` are re-run with no arguments.

use crate::engine::docker::reaper::{lease, run_watch, spawn, watch};

use std::sync::atomic::{AtomicBool, Ordering};

pub(crate) use lease::{
    HEARTBEAT_AT_LABEL, LEASE_TTL, alive_leases, engine_now, release as release_lease,
    stop_heartbeat,
};
pub(crate) use spawn::{keep, kept, unkeep};
pub(crate) use watch::remove_owned;

/// Set in a watcher's environment to the lease token it watches. Internal: a process started
/// with it becomes a watcher.
pub const WATCHER_ENV: &str = "PIPELINE_TEST_WATCHER";

/// Set in a run watcher's environment (see `crate::share`): the shared stage it holds, the
/// run's parent process and its start time. Internal.
pub const RUN_WATCHER_ENV: &str = "PIPELINE_TEST_RUN_WATCHER";

/// Set when SIGINT or SIGTERM arrived: no new stage starts in this process.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// True once the process was asked to stop (SIGINT, SIGTERM).
///
/// ```
/// assert!(!pipeline_test_harness::reaper::interrupted());
/// ```
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Marks the process as interrupted.
pub(crate) fn interrupt() {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Set by [`serve_if_watcher`]: this executable, run with no arguments, turns into a watcher
/// before doing anything else.
pub(crate) static COOPERATES: AtomicBool = AtomicBool::new(false);

/// Call this first in `main` of a program that runs stages with the library: it lets the
/// program's own executable serve as the watcher that removes the program's containers,
/// networks and volumes if the program is killed (SIGKILL included). In the watcher copy it
/// does that job and exits; in the program itself it returns at once.
///
/// Test binaries (`#[pipeline_test]`, or a `Runner` in a test) need not call it. A program
/// that does not call it runs without a watcher: what it leaves when killed is removed by the
/// next run.
///
/// # Examples
///
/// ```no_run
/// # async fn run_stages() {}
/// #[tokio::main]
/// async fn main() {
///     pipeline_test_harness::serve_if_watcher();
///     run_stages().await; // a Runner and its stages
/// }
/// ```
pub fn serve_if_watcher() {
    COOPERATES.store(true, Ordering::SeqCst);
    hook();
}

/// Turns this process into the watcher when it was started as one; returns otherwise. Called
/// where a test enters the harness, before anything else happens there.
#[doc(hidden)]
pub fn hook() {
    if let Ok(spec) = std::env::var(RUN_WATCHER_ENV) {
        if !spec.is_empty() {
            let code = std::thread::spawn(move || run_watch::serve(&spec))
                .join()
                .unwrap_or(2);
            std::process::exit(code);
        }
    }
    if let Ok(token) = std::env::var(WATCHER_ENV) {
        if !token.is_empty() {
            // A thread of its own: the caller may be inside an async runtime (`#[tokio::main]`).
            let code = std::thread::spawn(move || watch::serve(&token))
                .join()
                .unwrap_or(2);
            std::process::exit(code);
        }
    }
}

/// The libtest name of a test (`module::path::name`, without the crate) that can serve as this
/// test binary's watcher: it calls [`hook`] before anything else.
#[doc(hidden)]
pub fn entry_test(name: &str) {
    spawn::set_entry_test(name);
}

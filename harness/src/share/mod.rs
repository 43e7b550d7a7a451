//! One stage for every process of a run: the tests of one `cargo test` or
//! `cargo nextest run` that name the same file, stage, build and `shared` use one running
//! stage, whichever process (test binary, or nextest's process per test) they run in.
//!
//! How it works, on the engine alone (so that it holds across processes and PID namespaces):
//!
//! - **The run** is nextest's `NEXTEST_RUN_ID`, else the `cargo` process that started this
//!   test binary ([`RunIdentity`]). A process started otherwise (a test binary run by hand)
//!   has no run: its shared stages are its own.
//! - **The lock is a name.** A container named after the run and the stage ([`SharedKey`]),
//!   created from the stage's first image and never started: the engine creates a container
//!   of a given name once, so exactly one process's create succeeds (network names are not
//!   reserved that way on every engine). That process starts the stage; the others wait.
//! - **Readiness is recorded on the engine**: the starting process writes the stage's
//!   services (containers, ports, environment) as a record, or the message it failed with,
//!   and the others build the same services from it without checking them again. A process
//!   waiting for it is told when the record is made (the engine's events), and looks again
//!   after pauses as well.
//! - **Each user holds a reference**: a volume naming the stage and the process (host, pid and
//!   start time), made before the process looks for the stage. A process that only uses the
//!   stage needs nothing else: no lease, no watcher, no pipeline read ([`find`]).
//! - **A run watcher** (a process of its own, started by the process that won) keeps the
//!   stage's heartbeat and removes the stage once the run's parent (nextest, cargo) has ended
//!   and no user is alive, within about a second; also after SIGKILL of nextest. If the
//!   starting process dies before the record, it removes what was started, and the next
//!   process to look starts the stage again.
//!
//! `PIPELINE_TEST_SHARE=process` keeps every shared stage to its process.

mod join;
mod record;

use sha2::Digest;

pub use join::{Claim, Joined, SharedStage, find};

use crate::Error;

/// `PIPELINE_TEST_SHARE`: `run` (the default) or `process`.
pub const SHARE_ENV: &str = "PIPELINE_TEST_SHARE";

/// How far a shared stage is shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ShareScope {
    /// Every process of the run (the default).
    Run,
    /// This process only.
    Process,
}

impl ShareScope {
    /// `PIPELINE_TEST_SHARE` (unset or empty: [`ShareScope::Run`]).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidEnv`] for any other value, naming the two that are right.
    ///
    /// # Examples
    ///
    /// ```
    /// use pipeline_test_harness::share::ShareScope;
    /// assert_eq!(ShareScope::parse("process"), Some(ShareScope::Process));
    /// assert_eq!(ShareScope::parse(""), Some(ShareScope::Run));
    /// assert_eq!(ShareScope::parse("thread"), None);
    /// ```
    pub fn from_env() -> Result<ShareScope, Error> {
        let value = std::env::var(SHARE_ENV).unwrap_or_default();
        ShareScope::parse(&value).ok_or_else(|| Error::InvalidEnv {
            name: SHARE_ENV,
            reason: format!("`{value}` is not a scope: write `run` (the default) or `process`"),
        })
    }

    /// The scope `value` names.
    pub fn parse(value: &str) -> Option<ShareScope> {
        match value.trim().to_ascii_lowercase().as_str() {
            "" | "run" => Some(ShareScope::Run),
            "process" => Some(ShareScope::Process),
            _ => None,
        }
    }
}

/// The run a test process belongs to: nextest's run, or the `cargo` process that started it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunIdentity {
    id: String,
    parent: u32,
    parent_start: u64,
}

impl RunIdentity {
    /// This process's run; `None` when its parent is not nextest or cargo.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use pipeline_test_harness::share::RunIdentity;
    /// if let Some(run) = RunIdentity::current() {
    ///     println!("part of {}", run.id());
    /// }
    /// ```
    pub fn current() -> Option<RunIdentity> {
        let parent = std::os::unix::process::parent_id();
        let comm = std::fs::read_to_string(format!("/proc/{parent}/comm")).ok();
        RunIdentity::from_parts(
            std::env::var("NEXTEST_RUN_ID").ok().as_deref(),
            parent,
            comm.as_deref(),
            crate::labels::process_start_time(parent),
        )
    }

    /// The run of a process whose parent is `parent` (named `comm`, started at
    /// `parent_start`), under nextest run `nextest` if any.
    pub(crate) fn from_parts(
        nextest: Option<&str>,
        parent: u32,
        comm: Option<&str>,
        parent_start: Option<u64>,
    ) -> Option<RunIdentity> {
        let parent_start = parent_start?;
        // Only a direct child counts: a process that a test started inherits
        // `NEXTEST_RUN_ID` but is no test of that run.
        let comm = comm.map(str::trim).unwrap_or_default();
        let id = match nextest.map(str::trim).filter(|n| !n.is_empty()) {
            Some(run) if comm.starts_with("cargo-nextest") || comm == "nextest" => {
                format!("nextest run {run}")
            }
            _ if comm == "cargo" => format!("cargo (process {parent}, started at {parent_start})"),
            _ => return None,
        };
        Some(RunIdentity {
            id,
            parent,
            parent_start,
        })
    }

    /// How the run is named: `nextest run <id>`, or `cargo (process <pid>, ...)`.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// A stage shared by the processes of a run: the run, and what picks the stage in it (file,
/// stage, build, steps).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedKey {
    run: RunIdentity,
    /// 12 hex digits of the digest of the run and the stage: the stage's run id and lease.
    id: String,
}

impl SharedKey {
    /// The stage `stage` (any text that tells stages apart: file, stage, build, steps) in
    /// `run`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use pipeline_test_harness::share::{RunIdentity, SharedKey};
    /// let run = RunIdentity::current().expect("started by cargo or nextest");
    /// let key = SharedKey::new(run, "tests/ci.yaml\0stage 0");
    /// assert_eq!(key.run_id().len(), 12);
    /// ```
    pub fn new(run: RunIdentity, stage: &str) -> SharedKey {
        let mut digest = sha2::Sha256::new();
        digest.update(run.id.as_bytes());
        digest.update([0]);
        digest.update(stage.as_bytes());
        let id: String = digest
            .finalize()
            .iter()
            .take(6)
            .map(|b| format!("{b:02x}"))
            .collect();
        SharedKey { run, id }
    }

    /// The run id every resource of the stage carries (also its lease token).
    pub fn run_id(&self) -> &str {
        &self.id
    }

    /// The run it belongs to.
    pub fn run(&self) -> &RunIdentity {
        &self.run
    }

    /// The stage's network: named as its lock.
    pub(crate) fn network(&self) -> String {
        format!("pipeline-test-shared-{}", self.id)
    }

    /// The run's parent process: its pid and start time.
    pub(crate) fn parent(&self) -> (u32, u64) {
        (self.run.parent, self.run.parent_start)
    }
}

/// What the engine holds of a shared stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SharedState {
    /// Nobody has claimed it (or what was claimed is gone).
    Unclaimed,
    /// Claimed; being started.
    Starting,
    /// Up: the record, as JSON.
    Ready(String),
    /// It failed: the message every test using it fails with.
    Failed(String),
}

#[cfg(test)]
mod tests;

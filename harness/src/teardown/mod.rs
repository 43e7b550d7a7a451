//! Teardown: one guard owns every resource of a run and removes them all, on every path.
//!
//! - `guard`: the [`Guard`] of a run. The normal and error paths await its `teardown`; if it is
//!   dropped instead (a panic, an early return, a cancelled future), its `Drop` removes
//!   everything from a thread of its own (`crate::async_drop`), so it works inside a
//!   multi-thread runtime, a current-thread runtime, or no runtime at all.
//! - how a run's resources are removed is the engine's (`ContainerEngine::teardown`); for
//!   Docker, `engine/docker/removal.rs` (containers, then volumes, then the network), its
//!   signal cleanup (`signals.rs`) and the sweep of what killed processes left (`sweep.rs`).

mod guard;

pub use crate::engine::docker::sweep::{Cleaned, clean};
pub(crate) use guard::{Guard, active};

/// What a run created, recorded as soon as it exists.
#[derive(Debug, Default)]
pub(crate) struct Resources {
    pub containers: Vec<String>,
    /// Containers a finished step's removal owns while it runs: teardown waits for them
    /// instead of removing them a second time at once (which can leave Docker with a network
    /// it will not remove).
    pub removing: Vec<String>,
    pub volumes: Vec<String>,
    pub network: Option<String>,
}

/// Whether a run's resources outlive it (`PIPELINE_TEST_KEEP`).
///
/// # Examples
///
/// ```
/// use pipeline_test_harness::Keep;
/// assert_eq!(Keep::parse("on-failure"), Some(Keep::OnFailure));
/// assert_eq!(Keep::parse("1"), Some(Keep::Always));
/// assert_eq!(Keep::parse("0"), Some(Keep::Never));
/// assert_eq!(Keep::parse("sometimes"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Keep {
    /// Remove everything (the default).
    #[default]
    Never,
    /// Keep everything, and say how to remove it.
    Always,
    /// Keep the runs that failed (a step, the test body, or the run itself), and say how to
    /// reach and remove them.
    OnFailure,
}

impl Keep {
    /// Reads a value of `PIPELINE_TEST_KEEP`: empty, `0`, `false`, `no`, `never` keep nothing;
    /// `on-failure` keeps failed runs; `1`, `true`, `yes`, `always` keep everything.
    pub fn parse(value: &str) -> Option<Keep> {
        match value.trim().to_ascii_lowercase().as_str() {
            "" | "0" | "false" | "no" | "never" => Some(Keep::Never),
            "on-failure" | "on_failure" | "onfailure" => Some(Keep::OnFailure),
            "1" | "true" | "yes" | "always" => Some(Keep::Always),
            _ => None,
        }
    }

    /// True when a run that `failed` (or not) is kept.
    pub fn keeps(self, failed: bool) -> bool {
        match self {
            Keep::Never => false,
            Keep::Always => true,
            Keep::OnFailure => failed,
        }
    }
}

/// What teardown did.
#[derive(Debug, Default, Clone)]
#[non_exhaustive]
pub struct TeardownReport {
    /// Problems met; teardown goes on past each of them.
    pub errors: Vec<String>,
    /// Set when `PIPELINE_TEST_KEEP` kept everything: how to remove it by hand.
    pub kept: Option<String>,
}

impl TeardownReport {
    pub(crate) fn failed(message: String) -> Self {
        TeardownReport {
            errors: vec![message],
            kept: None,
        }
    }
}

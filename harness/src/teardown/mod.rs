//! Teardown: one guard owns every resource of a run and removes them all, on every path.
//!
//! - `guard`: the [`Guard`] of a run. The normal and error paths await its `teardown`; if it is
//!   dropped instead (a panic, an early return, a cancelled future), its `Drop` removes
//!   everything from a thread of its own (`crate::async_drop`), so it works inside a
//!   multi-thread runtime, a current-thread runtime, or no runtime at all.
//! - `removal`: what removing a run's resources means, in order.
//! - `signals`: SIGINT/SIGTERM in a test binary: every live run is removed, then the process
//!   exits 130/143.
//! - `sweep`: resources left by killed processes of this host, removed by the next run.

mod guard;
mod removal;
mod signals;
mod sweep;

pub(crate) use guard::Guard;
pub(crate) use signals::install_signal_cleanup;
pub(crate) use sweep::sweep;

/// What a run created, recorded as soon as it exists.
#[derive(Debug, Default)]
pub(crate) struct Resources {
    pub containers: Vec<String>,
    pub volumes: Vec<String>,
    pub network: Option<String>,
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

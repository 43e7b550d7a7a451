#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod stage;

#[doc(hidden)]
pub mod __private {
    pub use crate::runtime::*;
}
mod messages;
mod needs;
mod prepare;
mod runtime;
mod shared;

pub use pipeline_test_harness as harness;
pub use pipeline_test_harness::{
    Database, DatabaseKind, ExecOutput, Service, StepReport, StepStatus, serve_if_watcher,
};
pub use pipeline_test_macros::{pipeline_test, pipeline_tests};
pub use stage::Stage;

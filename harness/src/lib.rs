//! The engine behind [pipeline-test](https://docs.rs/pipeline-test): the pipeline model and its
//! parser, the Docker engine, the runner and teardown.
//!
//! Data flows one way, a module for each stage (see `ARCHITECTURE.md` in the repository):
//!
//! 1. [`source`]: the YAML text, and positions in it;
//! 2. [`spec`]: the pipeline model, every value with the place it was written; problems are
//!    [`Diagnostics`] naming `file:line:column`;
//! 3. `plan`: what each container of a stage runs, with which environment, aliases, mounts
//!    and order (pure logic);
//! 4. `run`: the plan on an engine (`engine`: a trait with a Docker backend), through a
//!    [`Runner`], with a guard that removes everything on every path (`teardown`);
//! 5. [`report`]: events as they happen ([`Event`], [`Observer`]), and the [`StageReport`] at
//!    the end.
//!
//! The types a program needs are at the crate's root; the engine's types need the default
//! `engine` feature.
//!
//! # Examples
//!
//! ```
//! use pipeline_test_harness::{Pipeline, SourceFile};
//!
//! let file = SourceFile::new("ci.yaml", "kind: pipeline\nspec:\n  stages: []\n");
//! let err = Pipeline::parse(&file).unwrap_err();
//! assert!(err.to_string().contains("ci.yaml:3:3"));
//! ```
//!
//! Running a stage:
//!
//! ```no_run
//! # async fn demo() -> Result<(), pipeline_test_harness::Error> {
//! use pipeline_test_harness::{Pipeline, RunOptions, Runner};
//!
//! let pipeline = Pipeline::from_path("examples/seed/communication.yaml")?;
//! let runner = Runner::connect(RunOptions::from_env(".")?).await?;
//! let report = runner.run_stage(&pipeline, 0).await?;
//! assert!(report.passed(), "{}", report.summary());
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "engine")]
mod async_drop;
#[cfg(feature = "engine")]
mod background;
pub mod context;
#[cfg(feature = "engine")]
mod database;
pub mod diagnostic;
pub mod duration;
#[cfg(feature = "engine")]
mod engine;
mod error;
#[cfg(feature = "engine")]
mod escape;
#[cfg(feature = "engine")]
mod exit;
pub mod expr;
#[cfg(feature = "engine")]
mod images;
#[cfg(feature = "engine")]
mod labels;
pub mod mask;
#[cfg(feature = "engine")]
#[doc(hidden)]
pub mod plan;
pub mod ports;
#[cfg(feature = "engine")]
pub mod reaper;
#[cfg(feature = "engine")]
pub mod report;
pub mod resolve;
#[cfg(feature = "engine")]
mod run;
#[cfg(feature = "engine")]
mod service;
#[cfg(feature = "engine")]
pub mod share;
pub mod source;
pub mod spec;
#[cfg(feature = "engine")]
mod teardown;
#[cfg(feature = "engine")]
mod warm;
mod yaml;

#[cfg(feature = "engine")]
pub use database::{Database, DatabaseKind};
pub use diagnostic::{Diagnostic, Diagnostics, Severity};
pub use duration::DurationError;
#[cfg(feature = "engine")]
pub use engine::docker::endpoint::HOST_ENV;
pub use error::Error;
#[cfg(feature = "engine")]
pub use exit::ServiceExit;
#[cfg(feature = "engine")]
pub use images::{ImageMap, ImageMapError};
#[cfg(feature = "engine")]
pub use labels::{LEASE_LABEL, MANAGED_LABEL, OWNER_LABEL, RUN_LABEL, STEP_LABEL};
#[cfg(feature = "engine")]
pub use plan::{PlanOptions, StagePlan, StepKind};
pub use ports::{ContainerPort, PortMapping};
#[cfg(feature = "engine")]
pub use reaper::serve_if_watcher;
#[cfg(feature = "engine")]
pub use report::{
    CollectObserver, Event, Observer, Outcome, PrintObserver, StageReport, StepReport, StepStatus,
    Timings,
};
#[cfg(feature = "engine")]
pub use run::{
    BuildOptions, DEFAULT_IMAGE_ENV, DEFAULT_LOOKAHEAD, DEFAULT_READY_TIMEOUT, EngineOptions,
    FIXED_PORTS_ENV, KEEP_ENV, LOOKAHEAD_ENV, Limits, READY_TIMEOUT_ENV, RunOptions, Runner,
    RunningStage, WORKSPACE_PATH_ENV, Workspace, prepare_stage,
};
#[cfg(feature = "engine")]
pub use service::{ExecOutput, Service};
pub use source::SourceFile;
pub use spec::Pipeline;
#[cfg(feature = "engine")]
pub use teardown::{Cleaned, Keep, TeardownReport, clean};
#[cfg(feature = "engine")]
pub use warm::{warm_up, warm_up_with_images};

//! The engine behind [pipeline-test](https://docs.rs/pipeline-test): the pipeline model and its
//! parser, the Docker engine, the runner and teardown.
//!
//! Data flows one way, a module for each stage:
//!
//! 1. [`source`]: the YAML text, and positions in it;
//! 2. [`spec`]: the pipeline model, every value with the place it was written; problems are
//!    [`diagnostic::Diagnostics`] naming `file:line:column`;
//! 3. `plan`: what each container of a stage runs, with which environment, aliases, mounts
//!    and order (pure logic);
//! 4. `runner`: the plan on the Docker engine (`docker`), with services (`service`) and a
//!    guard that removes everything on every path (`teardown`);
//! 5. `report`: events as they happen, and the report at the end.
//!
//! The modules from `plan` on need the default `engine` feature.
//!
//! # Examples
//!
//! ```
//! use pipeline_test_harness::spec::Pipeline;
//! use pipeline_test_harness::source::SourceFile;
//!
//! let file = SourceFile::new("ci.yaml", "kind: pipeline\nspec:\n  stages: []\n");
//! let err = Pipeline::parse(&file).unwrap_err();
//! assert!(err.to_string().contains("ci.yaml:3:3"));
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod diagnostic;
#[cfg(feature = "engine")]
pub mod docker;
pub mod duration;
mod error;
#[cfg(feature = "engine")]
pub mod images;
#[cfg(feature = "engine")]
pub mod plan;
#[cfg(feature = "engine")]
mod pool;
#[cfg(feature = "engine")]
pub mod report;
#[cfg(feature = "engine")]
pub mod runner;
#[cfg(feature = "engine")]
pub mod service;
pub mod source;
pub mod spec;
#[cfg(feature = "engine")]
mod sweep;
#[cfg(feature = "engine")]
pub mod teardown;
mod yaml;

pub use error::Error;

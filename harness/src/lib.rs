//! The engine behind [pipeline-test](https://docs.rs/pipeline-test): the pipeline model and its
//! parser, the Docker engine, the runner and teardown.
//!
//! Data flows one way: YAML text ([`source`]) becomes a tree ([`yaml`](crate)), then the
//! pipeline model ([`spec`]) with a position for every value; problems are
//! [`diagnostic::Diagnostics`].
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

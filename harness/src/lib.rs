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
pub mod duration;
mod error;
pub mod source;
pub mod spec;
mod yaml;

pub use error::Error;

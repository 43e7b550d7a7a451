//! # pipeline-test
//!
//! The CI pipeline file you already have (Harness / Gitness v1 YAML, `kind: pipeline`)
//! becomes a `cargo test`.
//!
//! ```no_run
//! use pipeline_test::{pipeline_test, Stage};
//!
//! // tests/pipelines/redis.yaml (relative to the crate's directory) has a `type: background` step named `cache` running `redis`.
//! #[pipeline_test("tests/pipelines/redis.yaml")]
//! fn sets_and_gets(stage: &Stage) {
//!     let addr = stage.service("cache").addr(6379);
//!     // connect any Redis client to `addr` (127.0.0.1 and a random free port)
//! #   let _ = addr;
//! }
//!
//! #[pipeline_test("tests/pipelines/redis.yaml")]
//! async fn the_same_from_async(stage: &Stage) -> Result<(), std::io::Error> {
//!     let addr = stage.service("cache").addr(6379);
//!     let _conn = tokio::net::TcpStream::connect(addr).await?;
//!     Ok(())
//! }
//! ```
//!
//! The attribute reads and validates the YAML at compile time (a mistake is a compile error
//! with its `file:line:column`), brings the stage's background services up on a Docker
//! network of their own, waits until they are healthy, runs the stage's steps, then the body
//! with the services still up, and always removes every container, network and volume
//! afterwards: after a pass, a failure, a panic, or a timeout.
//!
//! - [`pipeline_test`]: one stage, one test. Options: `stage = "name"`, `timeout = "2m"`.
//! - [`pipeline_tests!`]: every stage of a file, one test each.
//! - [`Stage`] and [`Service`]: the running stage and its services (`addr`, `host_port`,
//!   `exec`, `logs`).
//! - [`harness`]: the engine underneath, to drive pipelines without the attribute.
//!
//! Environment: `PIPELINE_TEST_IMAGES` maps image names onto others (mirrors, local
//! stand-ins); `PIPELINE_TEST_KEEP=1` keeps everything for inspection and prints how to
//! remove it; `PIPELINE_TEST_WORKSPACE_PATH` moves the workspace (default `/harness`);
//! `DOCKER_HOST` picks the engine.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod stage;

#[doc(hidden)]
pub mod __private {
    pub use crate::runtime::*;
}
mod runtime;

pub use pipeline_test_harness as harness;
pub use pipeline_test_harness::{ExecOutput, Service};
pub use pipeline_test_macros::{pipeline_test, pipeline_tests};
pub use stage::Stage;

//! The `#[pipeline_test]` attribute and the `pipeline_tests!` macro of
//! [pipeline-test](https://docs.rs/pipeline-test). Use them through the `pipeline_test`
//! crate, which re-exports them with the runtime they expand to.
#![forbid(unsafe_code)]

mod args;
mod entry;
mod every_stage;

use proc_macro::TokenStream;

/// Makes a function a test that runs a pipeline stage on Docker first.
///
/// ```text
/// #[pipeline_test::pipeline_test("ci/redis.yaml")]
/// fn cache_answers(stage: &pipeline_test::Stage) {
///     let addr = stage.service("cache").addr(6379);
///     // talk to Redis at `addr`
/// }
/// ```
///
/// The file (relative to the crate's directory, `CARGO_MANIFEST_DIR`) is read and validated
/// when the test is compiled; every problem is a compile error with its `file:line:column`,
/// and cargo rebuilds the test when the file changes. When the test runs, the stage's
/// background services are started, its steps run, and the body runs with the services still
/// up; everything is removed afterwards, whatever the body did.
///
/// # Options
///
/// Each at most once, after the file:
///
/// - `stage = "name"`: the stage to run, by `name` or `id` (required when the file has
///   several; the error lists them). `pipeline_tests!` makes one test per stage instead.
/// - `timeout = "2m"`: bounds the whole test, the stage coming up and then the body. A body
///   (sync or async) still running at the deadline fails the test with a message saying so;
///   the stage is torn down at once and the body's thread is left to finish.
///
/// # The body
///
/// - `fn` or `async fn` (an async body gets a multi-thread runtime, as with
///   `#[tokio::test(flavor = "multi_thread")]`);
/// - takes nothing, or `stage: &Stage` (`pipeline_test::Stage`: the services, their
///   addresses, the steps' reports);
/// - returns `()` or `Result<(), E>` with `E: Debug` (an `Err` fails the test with it).
///
/// Do not add `#[test]` or `#[tokio::test]`: the attribute is the test attribute (a second
/// one is a compile error). `#[ignore]`, `#[ignore = "why"]` and `#[should_panic]`
/// (with or without `expected = "..."`) work as on any test. Panics from `Stage` and
/// `Service` methods, and a failing stage, point at the test.
///
/// # Environment
///
/// `PIPELINE_TEST_IMAGES` maps image names, `PIPELINE_TEST_READY_TIMEOUT` sets the services'
/// readiness budget (60 s by default), `PIPELINE_TEST_KEEP=1` or `on-failure` keeps runs to
/// look at, `DOCKER_HOST` picks the engine. See the `pipeline_test` crate for the whole story.
#[proc_macro_attribute]
pub fn pipeline_test(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::pipeline_test(args.into(), item.into()).into()
}

/// Makes every stage of a pipeline file a test, named after the stage.
///
/// ```text
/// pipeline_test::pipeline_tests!("ci/pipeline.yaml");
/// ```
#[proc_macro]
pub fn pipeline_tests(input: TokenStream) -> TokenStream {
    every_stage::pipeline_tests(input.into()).into()
}

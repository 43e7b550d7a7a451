//! The `#[pipeline_test]` attribute and the `pipeline_tests!` macro of
//! [pipeline-test](https://docs.rs/pipeline-test). Use them through the `pipeline_test`
//! crate, which re-exports them with the runtime they expand to.
#![forbid(unsafe_code)]

mod entry;

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
/// The file (relative to the crate's directory) is read and validated when the test is
/// compiled; every problem is a compile error with its `file:line:column`. The stage's
/// background services are started, its steps run, and the body runs with the services
/// still up; everything is removed afterwards, whatever the body did.
///
/// Options: `stage = "name"` (required when the file has several stages) and
/// `timeout = "2m"`. See the `pipeline_test` crate for the whole story.
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
    entry::pipeline_tests(input.into()).into()
}

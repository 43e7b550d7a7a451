//! Four tests on one shared stage whose step fails (`pipelines/failing.yaml`): they fail on
//! purpose, each with the same message. `tests/run_scope.rs` of the workspace runs them under
//! `cargo nextest run`.

macro_rules! four {
    ($($name:ident),*) => {$(
        #[pipeline_test::pipeline_test("pipelines/failing.yaml", shared)]
        fn $name() {}
    )*};
}
four!(failing_1, failing_2, failing_3, failing_4);

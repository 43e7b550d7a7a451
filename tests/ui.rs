//! Compile errors of `#[pipeline_test]`, checked with trybuild.
//!
//! trybuild compiles each case in a crate of its own under `target/tests/trybuild/`, so the
//! YAML paths in the cases are relative to that directory (`../../../../tests/ui/...`).

#[test]
fn compile_errors() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}

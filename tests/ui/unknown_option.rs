use pipeline_test::pipeline_test;

#[pipeline_test("../../../../tests/pipelines/stages.yaml", stag = "build")]
fn misspelt_option() {}

fn main() {}

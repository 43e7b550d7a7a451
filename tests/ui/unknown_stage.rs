use pipeline_test::pipeline_test;

#[pipeline_test("../../../../tests/pipelines/stages.yaml", stage = "deploy")]
fn no_such_stage() {}

fn main() {}

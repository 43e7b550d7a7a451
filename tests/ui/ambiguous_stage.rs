use pipeline_test::pipeline_test;

#[pipeline_test("../../../../tests/pipelines/stages.yaml")]
fn which_stage() {}

fn main() {}

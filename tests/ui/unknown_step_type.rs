use pipeline_test::pipeline_test;

#[pipeline_test("../../../../tests/ui/yaml/unknown-step-type.yaml")]
fn unknown_step_type() {}

fn main() {}

use pipeline_test::pipeline_test;

#[pipeline_test("../../../../tests/ui/yaml/syntax.yaml")]
fn bad_yaml() {}

fn main() {}

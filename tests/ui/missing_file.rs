use pipeline_test::pipeline_test;

#[pipeline_test("../../../../tests/ui/yaml/does-not-exist.yaml")]
fn reads_a_missing_file() {}

fn main() {}

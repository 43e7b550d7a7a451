use pipeline_test::pipeline_test;

#[pipeline_test("../../../../tests/ui/yaml/typo.yaml")]
fn misspelt_key() {}

fn main() {}

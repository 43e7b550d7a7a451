use pipeline_test::pipeline_test;

#[pipeline_test]
fn forgot_the_file() {}

fn main() {}

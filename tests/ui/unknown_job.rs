use pipeline_test::pipeline_test;

#[pipeline_test("../../../../tests/formats/run/github.yml", job = "tset")]
fn no_such_job() {}

fn main() {}

use pipeline_test::pipeline_test;

#[pipeline_test("../../../../tests/pipelines/redis.yaml", timeout = "soon")]
fn bad_timeout() {}

fn main() {}

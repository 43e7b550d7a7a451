use pipeline_test::pipeline_test;

#[pipeline_test("../../../../tests/pipelines/redis.yaml", timeout = "1m", timeout = "2m")]
fn twice() {}

fn main() {}

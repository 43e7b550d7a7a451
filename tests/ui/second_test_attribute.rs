use pipeline_test::pipeline_test;

#[pipeline_test("../../../../tests/pipelines/redis.yaml")]
#[test]
fn twice_a_test() {}

fn main() {}

use pipeline_test::pipeline_test;

#[pipeline_test("../../../../tests/pipelines/redis.yaml")]
#[tokio::test]
async fn twice_a_test() {}

fn main() {}

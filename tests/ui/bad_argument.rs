use pipeline_test::pipeline_test;

#[pipeline_test("../../../../tests/pipelines/redis.yaml")]
fn takes_a_number(port: u16) {
    let _ = port;
}

fn main() {}

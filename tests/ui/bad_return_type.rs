use pipeline_test::{pipeline_test, Stage};

#[pipeline_test("../../../../tests/pipelines/redis.yaml")]
fn returns_a_number(stage: &Stage) -> u32 {
    stage.services().len() as u32
}

fn main() {}

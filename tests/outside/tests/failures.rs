//! Tests that fail on purpose, each in its own way; `tests/failure_paths.rs` of pipeline-test
//! runs them one by one and checks what a user sees. Line numbers matter: the parent checks
//! that panics point here.

use std::time::Duration;

use pipeline_test::{Stage, pipeline_test};

#[pipeline_test("pipelines/crash.yaml")]
fn crashing_service(_stage: &Stage) {}

#[pipeline_test("pipelines/silent-port.yaml")]
fn never_listening_port(_stage: &Stage) {}

#[pipeline_test("pipelines/redis.yaml", timeout = "4s")]
fn sync_body_past_its_timeout(_stage: &Stage) {
    std::thread::sleep(Duration::from_secs(30));
}

#[pipeline_test("pipelines/redis.yaml")]
fn unknown_service(stage: &Stage) {
    stage.service("nope"); // line 22
}

#[pipeline_test("pipelines/redis.yaml")]
fn unpublished_port(stage: &Stage) {
    stage.service("cache").addr(1234); // line 27
}

#[pipeline_test("pipelines/failing.yaml")] // line 30
fn failing_stage() {}

#[pipeline_test("pipelines/redis.yaml")]
fn failing_body(_stage: &Stage) {
    panic!("the body's own assertion");
}

#[pipeline_test("pipelines/redis.yaml")]
fn passing(stage: &Stage) {
    let _ = stage.service("cache").addr(6379);
}

/// Passes: the Redis service of the crate's own GitHub Actions workflow, reached from the body.
#[pipeline_test(".github/workflows/ci.yml", job = "test")]
fn github_actions_redis(stage: &Stage) {
    use std::io::{Read, Write};
    let mut conn = std::net::TcpStream::connect(stage.service("redis").addr(6379)).unwrap();
    conn.write_all(b"PING\r\n").unwrap();
    let mut answer = [0u8; 7];
    conn.read_exact(&mut answer).unwrap();
    assert_eq!(&answer, b"+PONG\r\n");
}

#[pipeline_test("pipelines/never-healthy.yaml")]
fn never_healthy(_stage: &Stage) {}

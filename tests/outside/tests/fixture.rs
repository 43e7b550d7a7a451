//! Six tests whose fixture is the `test` job of this crate's own workflow
//! (`.github/workflows/service.yml`, as GitHub's documentation writes it): its services only,
//! each test with its own Redis and MySQL on free host ports, so they run in parallel.

use std::io::{Read, Write};

use pipeline_test::{Stage, pipeline_test};

fn redis(stage: &Stage, command: &str) -> String {
    let mut conn = std::net::TcpStream::connect(stage.service("redis").addr(6379)).unwrap();
    conn.write_all(format!("{command}\r\n").as_bytes()).unwrap();
    let mut answer = [0u8; 64];
    let n = conn.read(&mut answer).unwrap();
    String::from_utf8_lossy(&answer[..n]).trim_end().to_string()
}

fn mysql(stage: &Stage, sql: &str) -> String {
    let out = stage
        .service("mysql")
        .exec_blocking(&["mysql", "-uroot", "-proot", "-N", "-e", sql, "app"])
        .unwrap();
    assert_eq!(out.exit_code, 0, "{out:?}");
    out.stdout.trim().to_string()
}

/// MySQL greets on its published port: the real server, not its init phase.
fn mysql_greets(stage: &Stage) {
    let mut conn = std::net::TcpStream::connect(stage.service("mysql").addr(3306)).unwrap();
    let mut greeting = [0u8; 5];
    conn.read_exact(&mut greeting).unwrap();
}

#[pipeline_test(".github/workflows/service.yml", job = "test")]
fn redis_answers(stage: &Stage) {
    assert_eq!(redis(stage, "PING"), "+PONG");
}

#[pipeline_test(".github/workflows/service.yml", job = "test")]
fn redis_keeps_what_it_is_given(stage: &Stage) {
    assert_eq!(redis(stage, "SET k v"), "+OK");
    assert_eq!(redis(stage, "GET k"), "$1\r\nv");
}

#[pipeline_test(".github/workflows/service.yml", job = "test")]
fn redis_starts_empty(stage: &Stage) {
    assert_eq!(redis(stage, "DBSIZE"), ":0");
}

#[pipeline_test(".github/workflows/service.yml", job = "test")]
fn mysql_has_the_database(stage: &Stage) {
    mysql_greets(stage);
    assert_eq!(mysql(stage, "SELECT DATABASE()"), "app");
}

#[pipeline_test(".github/workflows/service.yml", job = "test")]
fn mysql_takes_a_table(stage: &Stage) {
    mysql(stage, "CREATE TABLE t (id INT)");
    mysql(stage, "INSERT INTO t VALUES (1), (2)");
    assert_eq!(mysql(stage, "SELECT COUNT(*) FROM t"), "2");
}

#[pipeline_test(".github/workflows/service.yml", job = "test")]
fn the_job_own_test_command_does_not_run(stage: &Stage) {
    let cargo_test = stage.steps().iter().find(|s| s.name == "Run cargo test");
    assert!(
        matches!(
            cargo_test.map(|s| &s.status),
            Some(pipeline_test::StepStatus::NotRun { .. })
        ),
        "{:?}",
        stage.steps()
    );
}

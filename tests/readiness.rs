//! Readiness from the start (issue 23): services whose health checks are written as GitHub's
//! documentation writes them (`--health-interval 10s`) are probed by the harness from their
//! start, not first checked by Docker 10 s later; a server that answers its check during an
//! init phase with networking off is not ready until it listens.
//! (`cargo bench --bench stage` measures how much sooner, against a 100 ms interval; here
//! the check is what a user sees: ready before Docker's first check.)

use std::time::Duration;

use pipeline_test::{Stage, pipeline_test};

/// How long a service took to be ready, from the stage's report.
fn ready_after(stage: &Stage, service: &str) -> Duration {
    stage
        .steps()
        .iter()
        .find(|s| s.name == service)
        .unwrap_or_else(|| panic!("no step `{service}` in {:?}", stage.steps()))
        .duration
}

/// GitHub's documented Redis service: Docker's first check would come after 10 s.
#[pipeline_test("tests/formats/run/github-documented-health.yml", job = "redis")]
fn documented_redis_is_ready_long_before_dockers_first_check(stage: &Stage) {
    let took = ready_after(stage, "redis");
    assert!(
        took < Duration::from_secs(10),
        "redis took {took:?} to be ready; Docker would first check after 10 s"
    );
    let out = stage.service("redis").exec_blocking(&["redis-cli", "ping"]);
    assert_eq!(out.unwrap().stdout.trim(), "PONG");
}

/// The MySQL stand-in runs a temporary server on its socket, networking off, for 2 s (as the
/// real image does); `mysqladmin ping` passes then. Ready means it accepts connections on its
/// port, with the database its entrypoint creates.
#[pipeline_test("tests/formats/run/github-documented-health.yml", job = "mysql")]
fn documented_mysql_is_ready_when_its_real_server_listens(stage: &Stage) {
    let took = ready_after(stage, "mysql");
    assert!(
        took < Duration::from_secs(10),
        "mysql took {took:?}; Docker would first check after 10 s"
    );
    let mysql = stage.service("mysql");
    let logs = mysql.logs_blocking().unwrap();
    assert!(logs.contains("[entrypoint] initialised"), "{logs}");
    let url = format!("mysql://root:root@{}/app", mysql.addr(3306));
    let pool = mysql::Pool::new(url.as_str()).unwrap();
    let mut conn = pool.get_conn().unwrap();
    let one: Option<u32> = mysql::prelude::Queryable::query_first(&mut conn, "SELECT 1").unwrap();
    assert_eq!(one, Some(1));
}

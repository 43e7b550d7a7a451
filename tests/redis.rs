//! A Redis fixture from a test body: SET and GET through `service.addr(6379)`, sync and async.

use pipeline_test::{Stage, pipeline_test};
use redis::{AsyncCommands, Commands};

#[pipeline_test("tests/pipelines/redis.yaml")]
fn set_and_get_from_a_sync_test(stage: &Stage) -> redis::RedisResult<()> {
    let addr = stage.service("cache").addr(6379);
    let client = redis::Client::open(format!("redis://{addr}/"))?;
    let mut conn = client.get_connection()?;
    let _: () = conn.set("greeting", "hello")?;
    let got: String = conn.get("greeting")?;
    assert_eq!(got, "hello");
    Ok(())
}

#[pipeline_test("tests/pipelines/redis.yaml")]
async fn set_and_get_from_an_async_test(stage: &Stage) -> redis::RedisResult<()> {
    let cache = stage.service("cache");
    let client = redis::Client::open(format!("redis://{}/", cache.addr(6379)))?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let _: () = conn.set("n", 41).await?;
    let n: i64 = conn.incr("n", 1).await?;
    assert_eq!(n, 42);
    // The service is the container the steps used: the same data is visible from inside.
    let inside = cache.exec(&["redis-cli", "get", "n"]).await.unwrap();
    assert_eq!((inside.exit_code, inside.stdout.trim()), (0, "42"));
    Ok(())
}

#[pipeline_test("tests/pipelines/redis.yaml")]
fn ports_are_published_on_loopback_only(stage: &Stage) {
    let cache = stage.service("cache");
    assert!(cache.addr(6379).ip().is_loopback());
    assert_eq!(cache.host_port(6379), cache.addr(6379).port());
    assert_eq!(cache.ports().keys().collect::<Vec<_>>(), ["6379/tcp"]);
    assert_eq!(cache.hostnames(), ["cache"]);
    let logs = cache.logs_blocking().unwrap();
    assert!(logs.contains("Ready to accept connections"), "{logs}");
}

#[pipeline_test("tests/pipelines/redis.yaml")]
#[should_panic(expected = "has no service `db`; its services are: cache")]
fn an_unknown_service_names_the_known_ones(stage: &Stage) {
    stage.service("db");
}

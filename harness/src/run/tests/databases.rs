//! `Service::database` through the fake engine: the kind from the image, the errors a user
//! reads, and a database dropped with its value. Real servers are in `tests/database.rs`.

use super::*;
use crate::database::DatabaseKind;
use crate::engine::fake::Call;

fn execs(fake: &FakeEngine) -> usize {
    fake.calls()
        .iter()
        .filter(|c| matches!(c, Call::Exec(s) if s == "db"))
        .count()
}

fn with_env(image: &str, env: &str) -> String {
    format!("- {{name: db, type: background, spec: {{container: {image}, envs: {{{env}}}}}}}")
}

#[tokio::test]
async fn a_mysql_database_is_made_in_the_service_and_dropped_with_its_value() {
    let fake = FakeEngine::new().image("mysql:8.0", &[3306], false);
    let runner = Runner::with_engine(fake.engine(), options().0);
    let pipeline = v1(&[&with_env("mysql:8.0", "MYSQL_ROOT_PASSWORD: pw")]);
    let stage = runner.start_stage(&pipeline, 0).await.unwrap();
    let service = stage.service("db").unwrap();
    let before = execs(&fake);
    let db = service.database().await.unwrap();
    assert_eq!(db.kind(), DatabaseKind::MySql);
    assert!(db.name().starts_with("test_"), "{}", db.name());
    assert_eq!(db.user(), db.name());
    assert!(
        db.url().starts_with(&format!("mysql://{0}:", db.name())),
        "{}",
        db.url()
    );
    assert_eq!(execs(&fake), before + 1, "one exec makes database and user");
    drop(db);
    assert_eq!(execs(&fake), before + 2, "dropping it runs one more");
    stage.finish().await;
}

#[tokio::test]
async fn what_a_user_reads_when_no_database_can_be_made() {
    let fake = FakeEngine::new().image("mysql:8.0", &[3306], false);
    let runner = Runner::with_engine(fake.engine(), options().0);
    let pipeline = v1(&[
        &with_env("mysql:8.0", "MYSQL_RANDOM_ROOT_PASSWORD: 'yes'"),
        &service("web", "nginx"),
        &service("cache", "redis"),
    ]);
    let stage = runner.start_stage(&pipeline, 0).await.unwrap();
    let mut said = Vec::new();
    for name in ["db", "web", "cache"] {
        let service = stage.service(name).unwrap();
        said.push(service.database().await.unwrap_err().to_string());
    }
    let cache = stage.service("cache").unwrap();
    let err = cache.database_of(DatabaseKind::Postgres).await.unwrap_err();
    said.push(err.to_string());
    insta::assert_snapshot!(said.join("\n"));
    stage.finish().await;
}

#[tokio::test]
async fn keep_on_failure_keeps_a_database_dropped_while_the_test_panics() {
    let fake = FakeEngine::new().image("mysql:8.0", &[3306], false);
    let (mut options, _) = options();
    options.engine.keep = Keep::OnFailure;
    let runner = Runner::with_engine(fake.engine(), options);
    let pipeline = v1(&[&with_env("mysql:8.0", "MYSQL_ROOT_PASSWORD: pw")]);
    let stage = runner.start_stage(&pipeline, 0).await.unwrap();
    let service = stage.service("db").unwrap();
    let passed = service.database().await.unwrap();
    let failed = service.database().await.unwrap();
    let before = execs(&fake);
    drop(passed);
    assert_eq!(
        execs(&fake),
        before + 1,
        "a passing test's database is dropped"
    );
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        let _db = failed;
        panic!("the test failed");
    }));
    assert!(panicked.is_err());
    assert_eq!(
        execs(&fake),
        before + 1,
        "a failing test's database is kept"
    );
    stage.finish().await;
}

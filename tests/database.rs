//! A database of each test's own on one shared server: twenty at once on MySQL, PostgreSQL and
//! Redis, each seeing only its own data, and nothing of theirs left once they are dropped.

use std::sync::Barrier;

use mysql::prelude::Queryable;
use pipeline_test::{DatabaseKind, Service, Stage, pipeline_test};

const TESTS: usize = 20;

/// `sql` run by the service's superuser on PostgreSQL database `db`: its rows, `|`-separated.
fn psql(service: &Service, db: &str, sql: &str) -> Vec<String> {
    let out = service
        .exec_blocking(&["psql", "-X", "-At", "-U", "postgres", "-d", db, "-c", sql])
        .unwrap();
    assert_eq!(out.exit_code, 0, "{sql}: {}", out.stderr);
    out.stdout.lines().map(str::to_string).collect()
}

#[pipeline_test("tests/pipelines/databases.yaml", stage = "mysql", timeout = "3m")]
fn mysql_tests_at_once_each_see_only_their_own_database(stage: &Stage) {
    let service = stage.service("mysql");
    let barrier = Barrier::new(TESTS);
    let names: Vec<String> = std::thread::scope(|s| {
        let tests: Vec<_> = (0..TESTS)
            .map(|i| {
                let barrier = &barrier;
                s.spawn(move || {
                    let db = service.database_blocking().unwrap();
                    assert_eq!(db.kind(), DatabaseKind::MySql);
                    assert!(db.url().starts_with("mysql://test_"), "{}", db.url());
                    let mut conn = mysql::Conn::new(db.url().as_str()).unwrap();
                    conn.query_drop(format!("CREATE TABLE t{i} (id INT)"))
                        .unwrap();
                    conn.query_drop(format!("INSERT INTO t{i} VALUES ({i})"))
                        .unwrap();
                    barrier.wait(); // every test's table exists now
                    let tables: Vec<String> = conn.query("SHOW TABLES").unwrap();
                    assert_eq!(tables, [format!("t{i}")]);
                    let mut dbs: Vec<String> = conn.query("SHOW DATABASES").unwrap();
                    dbs.sort();
                    assert_eq!(dbs, ["information_schema", db.name()]);
                    let other = conn.query_drop("SELECT * FROM app.t0");
                    assert!(other.is_err(), "a test's user reads another database");
                    drop(conn);
                    db.name().to_string()
                })
            })
            .collect();
        tests.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let mut distinct = names.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), TESTS, "{names:?}");
    let left = service
        .exec_blocking(&[
            "mysql",
            "-uroot",
            "-proot-secret",
            "-N",
            "-e",
            "SHOW DATABASES LIKE 'test\\_%'; SELECT user FROM mysql.user WHERE user LIKE 'test\\_%';",
        ])
        .unwrap();
    assert_eq!(left.exit_code, 0, "{}", left.stderr);
    assert_eq!(left.stdout.trim(), "", "databases or users left behind");
}

#[pipeline_test("tests/pipelines/databases.yaml", stage = "postgres", timeout = "3m")]
fn postgres_tests_get_copies_of_the_migrated_database(stage: &Stage) {
    let service = stage.service("postgres");
    let barrier = Barrier::new(TESTS);
    std::thread::scope(|s| {
        for i in 0..TESTS {
            let barrier = &barrier;
            s.spawn(move || {
                let db = service.database_blocking().unwrap();
                assert_eq!(db.kind(), DatabaseKind::Postgres);
                let prefix = format!("postgres://postgres:pg-secret@{}/test_", db.addr());
                assert!(db.url().starts_with(&prefix), "{}", db.url());
                // What the pipeline's `migrate` step wrote is there.
                assert_eq!(
                    psql(service, db.name(), "SELECT version FROM migrations"),
                    ["1"]
                );
                psql(service, db.name(), &format!("CREATE TABLE t{i} (id INT)"));
                barrier.wait();
                let tables = psql(
                    service,
                    db.name(),
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
                );
                assert_eq!(tables, ["migrations".to_string(), format!("t{i}")]);
            });
        }
    });
    let left = psql(
        service,
        "app",
        "SELECT datname FROM pg_database WHERE datname LIKE 'test\\_%'",
    );
    assert_eq!(left, Vec::<String>::new(), "databases left behind");
}

#[pipeline_test("tests/pipelines/databases.yaml", stage = "redis", timeout = "3m")]
fn redis_tests_beyond_the_servers_databases_wait_for_one(stage: &Stage) {
    let service = stage.service("cache");
    // Twenty tests, fifteen databases (1 to 15; 0 is the stage's): five wait for one to be
    // given back.
    let indexes: Vec<u32> = std::thread::scope(|s| {
        let tests: Vec<_> = (0..TESTS)
            .map(|i| {
                s.spawn(move || {
                    let db = service.database_blocking().unwrap();
                    let index = db.index().unwrap();
                    assert_eq!(db.url(), format!("redis://{}/{index}", db.addr()));
                    let client = redis::Client::open(db.url()).unwrap();
                    let mut conn = client.get_connection().unwrap();
                    let size: u64 = redis::cmd("DBSIZE").query(&mut conn).unwrap();
                    assert_eq!(size, 0, "database {index} was not empty");
                    redis::cmd("SET")
                        .arg("test")
                        .arg(i)
                        .exec(&mut conn)
                        .unwrap();
                    std::thread::sleep(std::time::Duration::from_millis(300));
                    let size: u64 = redis::cmd("DBSIZE").query(&mut conn).unwrap();
                    let mine: usize = redis::cmd("GET").arg("test").query(&mut conn).unwrap();
                    assert_eq!((size, mine), (1, i));
                    index
                })
            })
            .collect();
        tests.into_iter().map(|t| t.join().unwrap()).collect()
    });
    assert!(indexes.iter().all(|i| (1..16).contains(i)), "{indexes:?}");
    let keys = service.exec_blocking(&["redis-cli", "KEYS", "*"]).unwrap();
    assert_eq!(keys.stdout.trim(), "", "claims left in database 0");
    for index in 1..16 {
        let size = service
            .exec_blocking(&["redis-cli", "-n", &index.to_string(), "DBSIZE"])
            .unwrap();
        assert_eq!(size.stdout.trim(), "0", "database {index} was not flushed");
    }
}

//! What each of the 20 tests does: connect, SET, GET, INCR on Redis; a table, a row, a count on
//! MySQL.
#![allow(dead_code)] // each test file uses part of it

use std::net::SocketAddr;

use redis::Commands;

/// The Redis image testcontainers starts (`redis:7` unless the bench maps it).
pub fn image() -> (String, String) {
    split(std::env::var("SUITE_REDIS_IMAGE").unwrap_or_else(|_| "redis:7".into()))
}

/// The MySQL image testcontainers starts (`mysql:8.0` unless the bench maps it).
pub fn mysql_image() -> (String, String) {
    split(std::env::var("SUITE_MYSQL_IMAGE").unwrap_or_else(|_| "mysql:8.0".into()))
}

fn split(image: String) -> (String, String) {
    match image.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name.to_string(), tag.to_string()),
        _ => (image, "latest".to_string()),
    }
}

/// What each MySQL test does: a table of its own, a row, a count.
pub fn exercise_mysql(url: &str) {
    use mysql::prelude::Queryable;
    let mut conn = mysql::Conn::new(url).unwrap();
    conn.query_drop("CREATE TABLE greetings (id INT PRIMARY KEY, text VARCHAR(20))")
        .unwrap();
    conn.query_drop("INSERT INTO greetings VALUES (1, 'hello')")
        .unwrap();
    let n: Option<i64> = conn.query_first("SELECT COUNT(*) FROM greetings").unwrap();
    assert_eq!(n, Some(1));
}

pub fn exercise(addr: SocketAddr, test: &str) {
    let client = redis::Client::open(format!("redis://{addr}/")).unwrap();
    let mut con = client.get_connection().unwrap();
    let key = format!("{test}:greeting");
    let _: () = con.set(&key, "hello").unwrap();
    let value: String = con.get(&key).unwrap();
    assert_eq!(value, "hello");
    let n: i64 = con.incr("tests-run", 1).unwrap();
    assert!(n >= 1);
}

#[macro_export]
macro_rules! twenty {
    ($make:ident) => {
        $make!(
            t01, t02, t03, t04, t05, t06, t07, t08, t09, t10, t11, t12, t13, t14, t15, t16, t17,
            t18, t19, t20
        );
    };
}

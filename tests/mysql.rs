//! A MySQL fixture from a test body: create a table, insert, select.

use mysql::prelude::Queryable;
use pipeline_test::{Stage, pipeline_test};

#[pipeline_test("tests/pipelines/mysql.yaml", timeout = "3m")]
fn insert_and_select(stage: &Stage) -> Result<(), mysql::Error> {
    let addr = stage.service("database").addr(3306);
    let url = format!("mysql://gitness:gitness@{addr}/gitness_db");
    let pool = mysql::Pool::new(url.as_str())?;
    let mut conn = pool.get_conn()?;
    // The table the pipeline's `schema` step created.
    conn.exec_drop(
        "INSERT INTO pipelines (name) VALUES (?), (?)",
        ("build", "deploy"),
    )?;
    let names: Vec<String> = conn.query("SELECT name FROM pipelines ORDER BY id")?;
    assert_eq!(names, ["build", "deploy"]);
    conn.query_drop("CREATE TABLE runs (id INT PRIMARY KEY, ok BOOLEAN)")?;
    conn.exec_drop("INSERT INTO runs VALUES (?, ?)", (1, true))?;
    let ok: Option<bool> = conn.query_first("SELECT ok FROM runs WHERE id = 1")?;
    assert_eq!(ok, Some(true));
    Ok(())
}

//! (f) `#[pipeline_test(..., shared)]` on one MySQL server, each of the 20 tests with a database
//! of its own (`database()`), run under `cargo nextest run` (a process per test).

mod common;

use pipeline_test::{Stage, pipeline_test};

macro_rules! make {
    ($($name:ident),*) => {$(
        #[pipeline_test("mysql.yaml", shared)]
        fn $name(stage: &Stage) {
            let db = stage.service("db").database_blocking().unwrap();
            common::exercise_mysql(&db.url());
        }
    )*};
}
twenty!(make);

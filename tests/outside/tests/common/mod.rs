//! Six passing tests on one shared stage (`pipelines/shared-run.yaml`), for the test binaries
//! `suite_a` and `suite_b`: `tests/run_scope.rs` of the workspace runs them under
//! `cargo nextest run` and `cargo test` and counts the stages they had. Each test writes its
//! stage's run id and its process id to a file in `PIPELINE_TEST_OUTSIDE_DIR`, then pauses for
//! `PIPELINE_TEST_OUTSIDE_PAUSE_MS`.

use std::io::{Read, Write};

use pipeline_test::Stage;

/// The test `name`'s body.
pub fn check(stage: &Stage, name: &str) {
    let mut conn = std::net::TcpStream::connect(stage.service("cache").addr(6379)).unwrap();
    conn.write_all(b"GET migrated\r\n").unwrap();
    let mut answer = [0u8; 64];
    let n = conn.read(&mut answer).unwrap();
    assert_eq!(
        &answer[..n],
        b"$3\r\nyes\r\n",
        "the run step ran on this Redis"
    );
    if let Some(dir) = std::env::var_os("PIPELINE_TEST_OUTSIDE_DIR") {
        let line = format!("{} {}", stage.run_id(), std::process::id());
        std::fs::write(std::path::Path::new(&dir).join(name), line).unwrap();
    }
    if let Some(ms) = std::env::var("PIPELINE_TEST_OUTSIDE_PAUSE_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

/// Six tests named `<prefix>_<n>` on the shared stage.
#[macro_export]
macro_rules! six {
    ($($name:ident),*) => {$(
        #[pipeline_test::pipeline_test("pipelines/shared-run.yaml", shared)]
        fn $name(stage: &pipeline_test::Stage) {
            common::check(stage, concat!(module_path!(), "::", stringify!($name)));
        }
    )*};
}

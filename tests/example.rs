//! `examples/run_stage.rs`, run as a user would: it passes and leaves nothing of its own behind
//! (it returns instead of calling `process::exit`, so the runner's pooled network is removed).

use std::path::PathBuf;
use std::process::Command;

/// The example's binary, built by `cargo test` beside this test's (`target/debug/examples`).
fn example() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let debug = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let bin = debug.join("examples").join("run_stage");
    assert!(
        bin.exists(),
        "{} is missing: `cargo test` builds the examples; run `cargo build --examples`",
        bin.display()
    );
    bin
}

#[test]
fn the_run_stage_example_passes_and_cleans_up() {
    let images = std::env::var("PIPELINE_TEST_IMAGES").unwrap_or_default();
    let child = Command::new(example())
        .env(
            "PIPELINE_TEST_IMAGES",
            format!("{},{images}", pipeline_test_support::DEFAULT_IMAGES),
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let child = child.wait_with_output().unwrap();
    let out = String::from_utf8_lossy(&child.stdout);
    let err = String::from_utf8_lossy(&child.stderr);
    assert!(child.status.success(), "{out}\n{err}");
    assert!(out.contains("answered +PONG"), "{out}");
    // The child is gone; whatever it left would still carry its pid in its owner label.
    assert_eq!(
        pipeline_test_support::owned_by(pid),
        Vec::<String>::new(),
        "the example left resources behind"
    );
    assert!(
        !err.contains("could not remove"),
        "the example removed what it made: {err}"
    );
}

//! The run's identity, the stage's key and the scope (pure); joining a shared stage through
//! the fake engine is in `run/tests/shared.rs`.

use super::{RunIdentity, ShareScope, SharedKey};

#[test]
fn a_run_is_nextests_or_cargos() {
    let nextest = RunIdentity::from_parts(Some("9c1e-77"), 10, Some("cargo-nextest"), Some(5));
    assert_eq!(
        nextest.as_ref().map(RunIdentity::id),
        Some("nextest run 9c1e-77")
    );
    let cargo = RunIdentity::from_parts(None, 10, Some("cargo\n"), Some(5)).unwrap();
    assert_eq!(cargo.id(), "cargo (process 10, started at 5)");
    assert_eq!(
        RunIdentity::from_parts(None, 10, Some("bash"), Some(5)),
        None,
        "a test binary run from a shell has no run: its shared stages are its own"
    );
    assert_eq!(RunIdentity::from_parts(Some("x"), 10, None, None), None);
    assert_eq!(
        RunIdentity::from_parts(Some("9c1e-77"), 10, Some("shared-0f3a"), Some(5)),
        None,
        "a process a test started inherits NEXTEST_RUN_ID but is no test of the run"
    );
    assert_eq!(
        RunIdentity::from_parts(Some("9c1e-77"), 10, Some("cargo"), Some(5))
            .map(|r| r.id().to_string()),
        Some("cargo (process 10, started at 5)".to_string()),
        "cargo test run by a test under nextest: cargo's run"
    );
}

#[test]
fn one_key_per_run_and_stage() {
    let run = |id: &str| RunIdentity::from_parts(Some(id), 10, Some("nextest"), Some(5)).unwrap();
    let a = SharedKey::new(run("a"), "ci.yaml\0stage 0");
    assert_eq!(a, SharedKey::new(run("a"), "ci.yaml\0stage 0"));
    assert_ne!(
        a.run_id(),
        SharedKey::new(run("b"), "ci.yaml\0stage 0").run_id()
    );
    assert_ne!(
        a.run_id(),
        SharedKey::new(run("a"), "ci.yaml\0stage 1").run_id()
    );
    assert_eq!(a.run_id().len(), 12);
    assert!(a.run_id().bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(a.network(), format!("pipeline-test-shared-{}", a.run_id()));
}

#[test]
fn the_scope_from_its_variable() {
    assert_eq!(ShareScope::parse("RUN"), Some(ShareScope::Run));
    assert_eq!(ShareScope::parse(" process "), Some(ShareScope::Process));
    assert_eq!(ShareScope::parse("run,process"), None);
}

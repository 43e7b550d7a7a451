//! What the engine refuses or fails, and what the user is told.

use super::*;

fn error_of(report: &StageReport, step: &str) -> String {
    match status(report, step) {
        StepStatus::Error { message } => message,
        other => panic!("`{step}` ended {other:?}, not with an error"),
    }
}

#[tokio::test]
async fn a_refused_create_is_the_steps_error_in_the_engines_words() {
    let script = Script {
        refuse_create: Some("Conflict: name in use".into()),
        ..Script::default()
    };
    let fake = FakeEngine::new().script("a", script);
    let report = run_stage(&fake, &[&run("a"), &run("b")]).await;
    let message = error_of(&report, "a");
    assert!(
        message.contains("create the container of step `a`"),
        "{message}"
    );
    assert!(message.contains("Conflict: name in use"), "{message}");
    assert!(!report.passed());
    assert_eq!(status(&report, "b"), StepStatus::Skipped);
}

#[tokio::test]
async fn an_engine_error_at_each_request_of_a_run_step_names_what_was_being_done() {
    for (request, said) in [
        ("upload", "put the script of step `a` in its container"),
        ("attach", "attach to the container of step `a`"),
        ("wait", "wait for step `a`"),
    ] {
        let fake = FakeEngine::new().fail(request, Some("a"));
        let report = run_stage(&fake, &[&run("a")]).await;
        let message = error_of(&report, "a");
        assert!(message.contains(said), "{request}: {message}");
        assert!(
            message.contains(&format!("fake engine: {request} failed")),
            "{message}"
        );
        assert!(fake.alive().is_empty(), "{request}: {:?}", fake.alive());
    }
}

#[tokio::test]
async fn a_missing_shell_is_said_with_what_to_do() {
    let script = Script {
        refuse_start: Some("exec: \"/bin/sh\": stat /bin/sh: no such file or directory".into()),
        ..Script::default()
    };
    let fake = FakeEngine::new().script("a", script);
    let report = run_stage(&fake, &[&run("a")]).await;
    let message = error_of(&report, "a");
    assert!(message.contains("has no `/bin/sh`"), "{message}");
    assert!(
        message.contains("a step with a script needs a shell in its image"),
        "{message}"
    );
}

#[tokio::test]
async fn a_taken_host_port_is_said_with_what_to_do() {
    let script = Script {
        refuse_start: Some("Bind for 0.0.0.0:8080 failed: port is already allocated".into()),
        ..Script::default()
    };
    let fake = FakeEngine::new().script("web", script);
    let report = run_stage(&fake, &[&service("web", "nginx")]).await;
    let message = error_of(&report, "web");
    assert!(
        message.contains("another container or program holds that host port"),
        "{message}"
    );
}

#[tokio::test]
async fn a_refused_privileged_container_is_said_with_what_to_do() {
    let script = Script {
        refuse_start: Some("privileged mode is disabled".into()),
        ..Script::default()
    };
    let fake = FakeEngine::new().script("a", script);
    let report = run_stage(&fake, &[&run("a")]).await;
    assert!(error_of(&report, "a").contains("remove `privileged: true`"));
}

#[tokio::test]
async fn a_failed_prepare_is_the_stages_error_and_nothing_is_left() {
    let fake = FakeEngine::new().fail("prepare", None);
    let runner = Runner::with_engine(fake.engine(), options().0);
    let err = runner.run_stage(&v1(&[&run("a")]), 0).await.unwrap_err();
    assert!(err.to_string().contains("prepare the stage"), "{err}");
    assert!(created(&fake).is_empty());
    assert!(
        fake.calls()
            .iter()
            .any(|c| matches!(c, Call::Teardown { .. }))
    );
}

#[tokio::test]
async fn an_environment_the_kernel_would_refuse_is_refused_before_any_container() {
    let big = "x".repeat(crate::run::launch::MAX_ENV_ENTRY);
    let step = format!(
        "- {{name: a, type: run, spec: {{container: alpine, script: 'true', envs: {{BIG: {big}}}}}}}"
    );
    let fake = FakeEngine::new();
    let report = run_stage(&fake, &[&step]).await;
    let message = error_of(&report, "a");
    assert!(
        message.contains("Linux passes at most 128 KiB per variable"),
        "{}",
        &message[..200.min(message.len())]
    );
    assert!(created(&fake).is_empty());
}

#[tokio::test]
async fn an_engine_error_while_a_service_is_inspected_is_its_error() {
    let fake = FakeEngine::new()
        .image("redis", &[6379], false)
        .fail("inspect", Some("cache"));
    let report = run_stage(&fake, &[&service("cache", "redis"), &run("a")]).await;
    let message = error_of(&report, "cache");
    assert!(message.contains("inspect service `cache`"), "{message}");
    assert!(!report.passed());
}

#[tokio::test]
async fn a_health_check_that_cannot_run_says_so_when_the_budget_ends() {
    let fake = FakeEngine::new().fail("exec", Some("db"));
    let check = "- {name: db, type: background, spec: {container: redis, healthcheck: {test: redis-cli ping, interval: 100ms, retries: 1}}}";
    let report = run_stage(&fake, &[check]).await;
    assert_eq!(status(&report, "db"), StepStatus::Unhealthy);
    let tail = report.step("db").unwrap().output_tail.join("\n");
    assert!(tail.contains("the check could not run"), "{tail}");
}

#[tokio::test]
async fn a_refused_service_fails_the_stage_and_its_run_steps_do_not_start() {
    let script = Script {
        refuse_create: Some("no space left on device".into()),
        ..Script::default()
    };
    let fake = FakeEngine::new().script("db", script);
    let report = run_stage(&fake, &[&service("db", "mysql"), &run("a")]).await;
    assert!(error_of(&report, "db").contains("no space left on device"));
    assert_eq!(status(&report, "a"), StepStatus::Skipped);
    assert!(fake.alive().is_empty(), "{:?}", fake.alive());
}

#[tokio::test]
async fn an_always_step_still_runs_after_an_engine_error() {
    let always = "- {name: cleanup, type: run, when: '${{ always() }}', spec: {container: alpine, script: 'true'}}";
    let fake = FakeEngine::new().fail("create", Some("a"));
    let report = run_stage(&fake, &[&run("a"), always]).await;
    assert_eq!(status(&report, "cleanup"), StepStatus::Passed);
}

#[tokio::test]
async fn a_drone_step_that_may_fail_fails_allowed_and_the_pipeline_passes() {
    let yaml = "kind: pipeline\ntype: docker\nname: default\nsteps:\n- name: flaky\n  image: alpine\n  failure: ignore\n  commands: [exit 1]\n- name: next\n  image: alpine\n  commands: ['true']\n";
    let fake = FakeEngine::new().script("flaky", exits(1));
    let report = run_with(&fake, &parse(".drone.yml", yaml), options().0).await;
    assert_eq!(
        status(&report, "flaky"),
        StepStatus::FailedAllowed { exit_code: 1 }
    );
    assert_eq!(status(&report, "next"), StepStatus::Passed);
    assert!(report.passed(), "{}", report.summary());
}

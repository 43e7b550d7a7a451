//! Background steps: readiness (health checks, listening ports), crashes, the services
//! handed to a test body.

use super::*;
use crate::engine::HealthStatus;

fn checked(name: &str, extra: &str) -> String {
    format!(
        "- {{name: {name}, type: background, spec: {{container: redis, healthcheck: {{test: redis-cli ping, interval: 100ms, retries: 1{extra}}}}}}}"
    )
}

fn heard_text(observer: &CollectObserver) -> String {
    observer.take().join("\n")
}

#[tokio::test]
async fn a_service_without_check_or_ports_is_ready_at_once_and_keeps_running() {
    let fake = FakeEngine::new();
    let report = run_stage(&fake, &[&service("cache", "redis"), &run("a")]).await;
    assert!(report.passed(), "{}", report.summary());
    assert_eq!(status(&report, "cache"), StepStatus::Running);
    assert!(!fake.calls().contains(&Call::Exec("cache".into())));
}

#[tokio::test]
async fn a_health_check_is_tried_until_it_passes() {
    let script = Script {
        probes: vec![1, 1, 0],
        ..Script::default()
    };
    let fake = FakeEngine::new().script("db", script);
    let report = run_stage(&fake, &[&checked("db", ""), &run("a")]).await;
    assert!(report.passed(), "{}", report.summary());
    let tries = fake
        .calls()
        .iter()
        .filter(|c| **c == Call::Exec("db".into()))
        .count();
    assert_eq!(tries, 3);
}

#[tokio::test]
async fn a_run_step_after_a_checked_service_starts_its_script_only_once_it_is_healthy() {
    let script = Script {
        probes: vec![1, 1, 1, 0],
        ..Script::default()
    };
    let fake = FakeEngine::new().script("db", script);
    let (options, observer) = options();
    let report = run_with(&fake, &v1(&[&checked("db", ""), &run("a")]), options).await;
    assert!(report.passed(), "{}", report.summary());
    let heard = observer.take();
    let ready = heard.iter().position(|l| l.contains("db is healthy"));
    let a = heard
        .iter()
        .position(|l| l.contains("a") && l.contains("alpine"));
    assert!(ready.is_some() && ready < a, "{heard:#?}");
}

#[tokio::test]
async fn a_check_that_never_passes_makes_the_service_unhealthy_within_its_budget() {
    let script = Script {
        probes: vec![1],
        ..Script::default()
    };
    let fake = FakeEngine::new().script("db", script);
    let started = std::time::Instant::now();
    let report = run_stage(&fake, &[&checked("db", ""), &run("a")]).await;
    assert_eq!(status(&report, "db"), StepStatus::Unhealthy);
    assert!(!report.passed());
    let tail = report.step("db").unwrap().output_tail.join("\n");
    assert!(
        tail.contains("was not healthy within its readiness budget"),
        "{tail}"
    );
    assert!(tail.contains("exit code 1"), "{tail}");
    assert!(started.elapsed() < ms(2000), "{:?}", started.elapsed());
    assert!(!created(&fake).contains(&"a".to_string()) || fake.alive().is_empty());
}

#[tokio::test]
async fn the_engines_unhealthy_status_ends_the_wait_with_its_cause() {
    let script = Script {
        health: vec![HealthStatus::Starting, HealthStatus::Unhealthy],
        probes: vec![1],
        ..Script::default()
    };
    let fake = FakeEngine::new().script("db", script);
    let report = run_stage(&fake, &[&checked("db", ""), &run("a")]).await;
    assert_eq!(status(&report, "db"), StepStatus::Unhealthy);
    let tail = report.step("db").unwrap().output_tail.join("\n");
    assert!(tail.contains("service `db` is unhealthy"), "{tail}");
}

#[tokio::test]
async fn the_engines_healthy_status_is_enough() {
    let script = Script {
        health: vec![HealthStatus::Healthy],
        probes: vec![1],
        ..Script::default()
    };
    let fake = FakeEngine::new().script("db", script);
    let report = run_stage(&fake, &[&checked("db", ""), &run("a")]).await;
    assert!(report.passed(), "{}", report.summary());
    assert!(!fake.calls().contains(&Call::Exec("db".into())));
}

#[tokio::test]
async fn a_service_that_stops_before_it_is_healthy_says_how_it_ended() {
    let mut script = Script::default().prints("fatal: bad config\n");
    script.probes = vec![1];
    script.crashes = Some((ms(50), 2));
    let fake = FakeEngine::new().script("db", script);
    let report = run_stage(&fake, &[&checked("db", ""), &run("a")]).await;
    assert_eq!(status(&report, "db"), StepStatus::Unhealthy);
    let tail = report.step("db").unwrap().output_tail.join("\n");
    assert!(
        tail.contains("exit code 2") || tail.contains("exited"),
        "{tail}"
    );
}

#[tokio::test]
async fn a_service_is_waited_for_until_it_listens_on_its_images_port() {
    let script = Script {
        listens: Some((vec![6379], ms(150))),
        ..Script::default()
    };
    let fake = FakeEngine::new()
        .image("redis", &[6379], false)
        .script("cache", script);
    let (options, observer) = options();
    let started = std::time::Instant::now();
    let report = run_with(
        &fake,
        &v1(&[&service("cache", "redis"), &run("a")]),
        options,
    )
    .await;
    assert!(report.passed(), "{}", report.summary());
    assert!(started.elapsed() >= ms(150), "{:?}", started.elapsed());
    let heard = heard_text(&observer);
    assert!(!heard.contains("did not listen"), "{heard}");
}

#[tokio::test]
async fn a_service_that_never_listens_is_a_notice_after_its_budget_and_the_stage_goes_on() {
    let script = Script {
        listens: Some((vec![], ms(0))),
        ..Script::default()
    };
    let fake = FakeEngine::new()
        .image("redis", &[6379], false)
        .script("cache", script);
    let (options, observer) = options();
    let report = run_with(
        &fake,
        &v1(&[&service("cache", "redis"), &run("a")]),
        options,
    )
    .await;
    assert!(report.passed(), "{}", report.summary());
    let heard = heard_text(&observer);
    assert!(
        heard.contains(
            "service `cache` did not listen on port 6379 within its readiness budget of 400ms"
        ),
        "{heard}"
    );
}

#[tokio::test]
async fn a_service_that_exits_while_its_ports_are_waited_for_is_told_and_the_stage_goes_on() {
    let mut script = Script::default().prints("bye\n");
    script.listens = Some((vec![], ms(0)));
    script.crashes = Some((ms(60), 0));
    let fake = FakeEngine::new()
        .image("redis", &[6379], false)
        .script("cache", script);
    let (options, observer) = options();
    let report = run_with(
        &fake,
        &v1(&[&service("cache", "redis"), &run("a")]),
        options,
    )
    .await;
    assert_eq!(status(&report, "a"), StepStatus::Passed);
    let heard = heard_text(&observer);
    assert!(heard.contains("cache"), "{heard}");
    assert!(!heard.contains("did not listen"), "{heard}");
}

#[tokio::test]
async fn a_service_that_stopped_by_the_end_is_reported_as_exited() {
    let script = Script {
        crashes: Some((ms(30), 1)),
        ..Script::default()
    };
    let fake = FakeEngine::new()
        .script("cache", script)
        .script("a", exits(0).runs_for(ms(150)));
    let report = run_stage(&fake, &[&service("cache", "redis"), &run("a")]).await;
    assert!(
        matches!(
            status(&report, "cache"),
            StepStatus::Exited { exit_code: 1, .. }
        ),
        "{:?}",
        status(&report, "cache")
    );
}

#[tokio::test]
async fn the_test_body_gets_the_running_services() {
    let fake = FakeEngine::new().script("cache", Script::default().prints("ready to accept\n"));
    let runner = Runner::with_engine(fake.engine(), options().0);
    let stage = runner
        .start_stage(&v1(&[&service("cache", "redis"), &run("a")]), 0)
        .await
        .unwrap();
    let cache = stage.service("cache").expect("the service");
    assert_eq!(cache.name(), "cache");
    assert!(
        cache.hostnames().contains(&"cache".to_string()),
        "{:?}",
        cache.hostnames()
    );
    let ran = cache.exec(&["redis-cli", "ping"]).await.unwrap();
    assert_eq!(ran.exit_code, 0);
    tokio::time::sleep(ms(20)).await;
    assert!(cache.logs().await.unwrap().contains("ready to accept"));
    assert!(stage.service("nope").is_none());
    let report = stage.finish().await;
    assert!(report.passed());
    assert!(fake.alive().is_empty(), "{:?}", fake.alive());
}

#[tokio::test]
async fn a_services_exec_after_it_stopped_is_an_engine_error_naming_it() {
    let script = Script {
        crashes: Some((ms(10), 0)),
        ..Script::default()
    };
    let fake = FakeEngine::new().script("cache", script);
    let runner = Runner::with_engine(fake.engine(), options().0);
    let stage = runner
        .start_stage(&v1(&[&service("cache", "redis")]), 0)
        .await
        .unwrap();
    tokio::time::sleep(ms(50)).await;
    let err = stage
        .service("cache")
        .unwrap()
        .exec(&["true"])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("in `cache`"), "{err}");
    stage.finish().await;
}

#[tokio::test]
async fn consecutive_services_start_together() {
    let slow = Script {
        listens: Some((vec![6379], ms(300))),
        ..Script::default()
    };
    let fake = FakeEngine::new()
        .image("redis", &[6379], false)
        .script("one", slow.clone())
        .script("two", slow);
    let started = std::time::Instant::now();
    let report = run_stage(
        &fake,
        &[
            &service("one", "redis"),
            &service("two", "redis"),
            &run("a"),
        ],
    )
    .await;
    assert!(report.passed(), "{}", report.summary());
    assert!(
        started.elapsed() < ms(550),
        "one after the other: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_failed_stage_reports_its_services_last_log_lines_masked() {
    let (mut options, _) = options();
    options
        .build
        .context
        .secrets
        .insert("pw".into(), "s3cret".into());
    let fake = FakeEngine::new()
        .script(
            "cache",
            Script::default().prints("password s3cret accepted\n"),
        )
        .script("a", exits(1).runs_for(ms(30)));
    let report = run_with(
        &fake,
        &v1(&[&service("cache", "redis"), &run("a")]),
        options,
    )
    .await;
    assert!(!report.passed());
    let (name, lines) = &report.service_logs[0];
    assert_eq!(name, "cache");
    assert_eq!(lines, &["password ****** accepted"]);
}

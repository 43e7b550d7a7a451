//! Snapshots of what people read: the summary table, the failure message, every event.

use std::time::Duration;

use super::*;
use crate::plan::StepKind;

fn step(name: &str, kind: StepKind, status: StepStatus, ms: u64, tail: &[&str]) -> StepReport {
    StepReport {
        name: name.into(),
        type_name: if kind == StepKind::Service {
            "background"
        } else {
            "run"
        },
        kind,
        image: "pipeline-test-fixtures/redis:7".into(),
        exit_code: match &status {
            StepStatus::Failed { exit_code } | StepStatus::Exited { exit_code, .. } => {
                Some(*exit_code)
            }
            StepStatus::Passed => Some(0),
            _ => None,
        },
        status,
        duration: Duration::from_millis(ms),
        output_tail: tail.iter().map(|s| s.to_string()).collect(),
    }
}

fn report(
    outcome: Outcome,
    steps: Vec<StepReport>,
    logs: Vec<(String, Vec<String>)>,
) -> StageReport {
    StageReport {
        stage: "build".into(),
        run_id: "0123456789ab".into(),
        network: "pipeline-test-net-0123456789ab".into(),
        steps,
        outcome,
        service_logs: logs,
        teardown_errors: Vec::new(),
        duration: Duration::from_millis(2345),
        timings: Timings::default(),
        outputs: Vec::new(),
    }
}

fn passed() -> StageReport {
    report(
        Outcome::Passed,
        vec![
            step("cache", StepKind::Service, StepStatus::Running, 61, &[]),
            step(
                "ping",
                StepKind::Run,
                StepStatus::Passed,
                620,
                &["+ redis-cli -h cache ping", "PONG"],
            ),
        ],
        Vec::new(),
    )
}

fn failed() -> StageReport {
    let status = StepStatus::Failed { exit_code: 2 };
    report(
        Outcome::Failed {
            step: "test".into(),
            status: status.clone(),
        },
        vec![
            step(
                "db",
                StepKind::Service,
                StepStatus::Exited {
                    exit_code: 1,
                    after: Some(Duration::from_millis(310)),
                },
                80,
                &[],
            ),
            step(
                "test",
                StepKind::Run,
                status,
                1500,
                &["+ make test", "FAIL: 1 of 12"],
            ),
            step("deploy", StepKind::Run, StepStatus::Skipped, 0, &[]),
            step(
                "notify",
                StepKind::Run,
                StepStatus::NotRun {
                    reason: "it runs only after a failure (`when: failure()`)".into(),
                },
                0,
                &[],
            ),
            step("cleanup", StepKind::Run, StepStatus::Passed, 20, &[]),
        ],
        vec![
            ("db".into(), vec!["starting".into(), "ready".into()]),
            ("quiet".into(), Vec::new()),
        ],
    )
}

#[test]
fn summary_of_a_passed_stage() {
    insta::assert_snapshot!(passed().summary());
}

#[test]
fn summary_of_a_failed_stage() {
    insta::assert_snapshot!(failed().summary());
}

#[test]
fn failure_message() {
    assert_eq!(passed().failure_message(), None);
    insta::assert_snapshot!(failed().failure_message().unwrap());
}

#[test]
fn failure_message_after_the_output_was_shown() {
    insta::assert_snapshot!(failed().failure_message_after_output().unwrap());
}

#[test]
fn an_unhealthy_service_keeps_what_was_found() {
    let status = StepStatus::Unhealthy;
    let r = report(
        Outcome::Failed {
            step: "db".into(),
            status: status.clone(),
        },
        vec![step(
            "db",
            StepKind::Service,
            status,
            310,
            &[
                "service `db` exited with code 1 after 310ms while waiting for its health check; reason: You need to specify one of MYSQL_ROOT_PASSWORD",
            ],
        )],
        vec![(
            "db".into(),
            vec!["  You need to specify one of MYSQL_ROOT_PASSWORD".into()],
        )],
    );
    insta::assert_snapshot!(r.failure_message_after_output().unwrap());
}

#[test]
fn failure_message_of_an_engine_error_and_a_timeout() {
    let error = StepStatus::Error {
        message: "Docker engine error while trying to start the container of step `x`: 500".into(),
    };
    let mut r = report(
        Outcome::Failed {
            step: "x".into(),
            status: error.clone(),
        },
        vec![step("x", StepKind::Run, error, 3, &[])],
        Vec::new(),
    );
    let mut text = r.failure_message().unwrap();
    let after = Duration::from_secs(90);
    r.outcome = Outcome::Failed {
        step: "x".into(),
        status: StepStatus::TimedOut { after },
    };
    r.steps[0].status = StepStatus::TimedOut { after };
    text.push_str(&r.failure_message().unwrap());
    text.push_str(&r.summary());
    insta::assert_snapshot!(text);
}

#[test]
fn events() {
    let passed = passed();
    let failed = failed();
    let exit = crate::exit::ServiceExit::new(
        "db",
        1,
        Some(Duration::from_millis(9)),
        "waiting for it to listen on port 3306",
        vec!["error: no password".into()],
    );
    let events = [
        Event::StageStarted {
            stage: "build",
            run_id: "0123456789ab",
        },
        Event::StepStarted {
            step: "cache",
            type_name: "background",
            image: "redis",
            resolved_image: "pipeline-test-fixtures/redis:7",
        },
        Event::StepStarted {
            step: "ping",
            type_name: "run",
            image: "alpine",
            resolved_image: "alpine",
        },
        Event::Output {
            step: "ping",
            line: "PONG",
        },
        Event::ServiceReady {
            step: "cache",
            after: Duration::from_millis(61),
            healthy: false,
            docker_first_check: None,
        },
        Event::ServiceReady {
            step: "db",
            after: Duration::from_millis(4200),
            healthy: true,
            docker_first_check: None,
        },
        Event::ServiceReady {
            step: "redis",
            after: Duration::from_millis(340),
            healthy: true,
            docker_first_check: Some(Duration::from_secs(10)),
        },
        Event::StepFinished {
            report: &passed.steps[1],
        },
        Event::StepFinished {
            report: &failed.steps[1],
        },
        Event::Notice {
            message: "pulling redis",
        },
        Event::ServiceExited { exit: &exit },
        Event::StageFinished { report: &passed },
        Event::StageFinished { report: &failed },
    ];
    let text: Vec<String> = events.iter().map(Event::render).collect();
    insta::assert_snapshot!(text.join("\n"));
}

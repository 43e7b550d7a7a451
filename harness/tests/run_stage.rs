//! Stages on the real Docker engine: outcomes, waits, workspace, parallelism. Every test also
//! checks that its run left no container, network or volume behind.

mod common;

use common::{run, stage};
use pipeline_test_harness::{Outcome, StepStatus};

#[tokio::test]
async fn a_failing_step_fails_the_stage_and_later_steps_do_not_run() {
    let (report, lines) = run(&stage(
        "      - name: ok
        type: run
        spec: {container: redis, script: echo first}
      - name: broken
        type: run
        spec:
          container: redis
          script:
          - echo about to fail
          - exit 3
      - name: never
        type: run
        spec: {container: redis, script: echo never}
",
    ))
    .await;
    assert_eq!(
        report.outcome,
        Outcome::Failed {
            step: "broken".into(),
            status: StepStatus::Failed { exit_code: 3 }
        }
    );
    assert_eq!(report.step("ok").unwrap().status, StepStatus::Passed);
    assert_eq!(report.step("never").unwrap().status, StepStatus::Skipped);
    assert!(!lines.iter().any(|l| l.contains("[never]")), "{lines:#?}");
    let message = report.failure_message().unwrap();
    assert!(
        message.contains("step `broken` FAILED (exit 3)"),
        "{message}"
    );
    assert!(message.contains("about to fail"), "{message}");
    assert!(report.summary().contains("skipped"));
    // The trace line precedes each command, as Gitness prints it.
    assert!(lines.iter().any(|l| l == "[broken] + exit 3"), "{lines:#?}");
}

#[tokio::test]
async fn a_background_step_that_exits_non_zero_does_not_fail_the_stage() {
    let (report, _) = run(&stage(
        "      - name: flaky
        type: background
        spec:
          container: redis
          script: exit 7
      - name: later
        type: run
        spec: {container: redis, script: sleep 1}
",
    ))
    .await;
    assert!(report.passed(), "{}", report.summary());
    assert!(
        matches!(
            report.step("flaky").unwrap().status,
            StepStatus::Exited {
                exit_code: 7,
                after: Some(_)
            }
        ),
        "{}",
        report.summary()
    );
    // The summary says when it exited.
    let summary = report.summary();
    assert!(
        summary.contains("exited 7 after ") && summary.contains(" (ignored)"),
        "{summary}"
    );
}

#[tokio::test]
async fn a_declared_health_check_holds_the_next_step() {
    let (report, lines) = run(&stage(
        "      - name: slow
        type: background
        spec:
          container: redis
          script: sleep 2 && touch /tmp/ready && sleep 600
          healthcheck:
            test: test -f /tmp/ready
            interval: 200ms
      - name: after
        type: run
        spec: {container: redis, script: echo after}
",
    ))
    .await;
    assert!(report.passed(), "{}", report.summary());
    let ready = lines
        .iter()
        .position(|l| l.starts_with("<-- slow is healthy"))
        .expect("healthy event");
    let next = lines
        .iter()
        .position(|l| l.starts_with("--> after"))
        .unwrap();
    assert!(ready < next, "{lines:#?}");
    assert!(report.step("slow").unwrap().duration.as_secs_f64() >= 2.0);
}

#[tokio::test]
async fn an_unhealthy_service_fails_the_stage_with_its_logs() {
    let (report, _) = run(&stage(
        "      - name: sick
        type: background
        spec:
          container: redis
          script: echo starting the sick service && sleep 600
          healthcheck:
            test: [\"CMD-SHELL\", \"echo not ready yet; exit 1\"]
            interval: 200ms
            retries: 2
      - name: never
        type: run
        spec: {container: redis, script: echo never}
",
    ))
    .await;
    assert_eq!(
        report.outcome,
        Outcome::Failed {
            step: "sick".into(),
            status: StepStatus::Unhealthy
        }
    );
    assert_eq!(report.step("never").unwrap().status, StepStatus::Skipped);
    let message = report.failure_message().unwrap();
    assert!(
        message.contains("last log lines of service `sick`"),
        "{message}"
    );
    assert!(message.contains("starting the sick service"), "{message}");
}

#[tokio::test]
async fn a_workspace_file_written_by_one_step_is_read_by_the_next() {
    let (report, lines) = run(&stage(
        "      - name: write
        type: run
        spec: {container: redis, script: echo hello-from-write > note.txt}
      - name: read
        type: script
        spec:
          image: redis
          run: cat $DRONE_WORKSPACE/note.txt && pwd
",
    ))
    .await;
    assert!(report.passed(), "{}", report.summary());
    assert!(
        lines.iter().any(|l| l == "[read] hello-from-write"),
        "{lines:#?}"
    );
    assert!(lines.iter().any(|l| l == "[read] /gitness"), "{lines:#?}");
}

#[tokio::test]
async fn parallel_steps_overlap_in_time() {
    // Each waits for the other to have started: they can only both finish if they overlap.
    let (report, _) = run(&stage(
        "      - type: parallel
        spec:
          steps:
          - name: a
            type: run
            timeout: 60s
            spec:
              container: redis
              script: touch a.started && until [ -f b.started ]; do sleep 0.1; done
          - name: b
            type: run
            timeout: 60s
            spec:
              container: redis
              script: touch b.started && until [ -f a.started ]; do sleep 0.1; done
",
    ))
    .await;
    assert!(report.passed(), "{}", report.summary());
}

#[tokio::test]
async fn exit_78_skips_the_rest_and_passes() {
    let (report, _) = run(&stage(
        "      - name: stop
        type: run
        spec: {container: redis, script: exit 78}
      - name: skipped
        type: run
        spec: {container: redis, script: exit 1}
",
    ))
    .await;
    assert!(report.passed(), "{}", report.summary());
    assert_eq!(report.step("stop").unwrap().status, StepStatus::SkippedRest);
    assert_eq!(report.step("skipped").unwrap().status, StepStatus::Skipped);
}

#[tokio::test]
async fn a_step_timeout_is_enforced() {
    let (report, _) = run(&stage(
        "      - name: slow
        type: run
        timeout: 1s
        spec: {container: redis, script: sleep 600}
",
    ))
    .await;
    assert!(matches!(
        report.outcome,
        Outcome::Failed {
            status: StepStatus::TimedOut { .. },
            ..
        }
    ));
    assert!(
        report.summary().contains("TIMED OUT after 1.00s"),
        "{}",
        report.summary()
    );
}

#[tokio::test]
async fn environment_reaches_the_step() {
    let yaml = "kind: pipeline
spec:
  options:
    envs: {LEVEL: options, GLOBAL: g}
  stages:
  - name: env
    type: ci
    spec:
      envs: {LEVEL: stage}
      steps:
      - name: show
        type: run
        spec:
          container: redis
          envs: {PORT: \"6379\"}
          script: echo \"$GLOBAL $LEVEL $PORT $CI $DRONE_STEP_NAME $DRONE_STEP_NUMBER\"
";
    let (report, lines) = run(yaml).await;
    assert!(report.passed());
    assert!(
        lines.iter().any(|l| l == "[show] g stage 6379 true show 2"),
        "{lines:#?}"
    );
}

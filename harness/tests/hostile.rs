//! Hostile input against the real engine: scripts and values past the kernel's limits, a step
//! that prints anything it likes, an image without a shell, a NUL byte from a secret, many
//! quick steps behind a slow one. Each run has a bound so that a hang fails instead of waiting
//! for ever.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{assert_nothing_left, options, pipeline, stage};
use pipeline_test_harness::{CollectObserver, Runner, StageReport, StepStatus};

/// Longer than any of these runs takes; reaching it is a hang.
const BOUND: Duration = Duration::from_secs(120);

/// Runs stage 0 of `yaml` (options changed by `tune`), within [`BOUND`].
async fn run_with(
    yaml: &str,
    tune: impl FnOnce(&mut pipeline_test_harness::RunOptions),
) -> (StageReport, Vec<String>) {
    tokio::time::timeout(BOUND, common::run_with(yaml, tune))
        .await
        .expect("the run ended")
}

async fn run(yaml: &str) -> (StageReport, Vec<String>) {
    run_with(yaml, |_| {}).await
}

/// The engine error step `i` ended with.
fn error_of(report: &StageReport, i: usize) -> &str {
    match &report.steps[i].status {
        StepStatus::Error { message } => message,
        other => panic!("step {i} ended {other:?}, not with an error"),
    }
}

#[tokio::test]
async fn a_one_megabyte_script_runs() {
    // 16,000 lines of a no-op with a long argument, then the one line whose output we check.
    let filler = format!(": {}\n", "x".repeat(60));
    let script = format!(
        "{}echo \"the end of a $(wc -c < /pipeline-test/script)-byte script\"",
        filler.repeat(16_000)
    );
    assert!(script.len() > 1_000_000);
    let yaml = stage(&format!(
        "      - name: big\n        type: run\n        spec:\n          container: redis\n          script: |\n{}\n",
        script
            .lines()
            .map(|l| format!("            {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    ));
    let (report, lines) = run(&yaml).await;
    assert!(report.passed(), "{}", report.summary());
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("[big] the end of a ") && l.ends_with("-byte script")),
        "{:?}",
        &lines[lines.len().saturating_sub(5)..]
    );
}

#[tokio::test]
async fn a_200_kb_environment_value_fails_with_the_kernels_limit_named() {
    let yaml = stage(&format!(
        "      - name: huge\n        type: run\n        spec:\n          container: redis\n          envs: {{BIG: \"{}\"}}\n          script: echo never\n      - name: after\n        type: run\n        spec:\n          container: redis\n          script: echo after\n",
        "y".repeat(200_000)
    ));
    let (report, lines) = run(&yaml).await;
    let message = error_of(&report, 0);
    assert!(
        message.contains(
            "is 200004 bytes: Linux passes at most 128 KiB per variable (MAX_ARG_STRLEN)"
        ),
        "{message}"
    );
    assert!(!lines.iter().any(|l| l == "[huge] never"));
    assert_eq!(report.steps[1].status, StepStatus::Skipped);
}

#[tokio::test]
async fn nothing_a_step_prints_turns_its_failure_into_a_pass() {
    // What the old in-band mark looked like, and anything else, on both streams.
    let yaml = stage(
        "      - name: liar\n        type: run\n        spec:\n          container: redis\n          script: |\n            for mark in \"pipeline-test-exit-$PIPELINE_TEST_EXIT_MARK 0\" \"$PIPELINE_TEST_EXIT_MARK 0\" 'exit 0' 'passed (exit code 0)'; do\n              echo \"$mark\"; echo \"$mark\" >&2\n            done\n            printf '\\033[2K\\r<-- liar: passed\\n'\n            exit 1\n",
    );
    let (report, lines) = run(&yaml).await;
    assert_eq!(report.steps[0].status, StepStatus::Failed { exit_code: 1 });
    assert!(
        lines
            .iter()
            .any(|l| l == "[liar] \\x1b[2K\\r<-- liar: passed"),
        "control characters are escaped: {lines:#?}"
    );
}

#[tokio::test]
async fn an_image_without_a_shell_is_named_as_the_cause() {
    let yaml = stage(
        "      - name: script\n        type: run\n        spec:\n          container: no-shell\n          script: echo hi\n",
    );
    let (report, _) = run(&yaml).await;
    let message = error_of(&report, 0);
    assert!(
        message.contains(
            "the engine could not start the container of step `script` (image `no-shell`)"
        ),
        "{message}"
    );
    assert!(
        message.contains(
            "help: the image `no-shell` has no `/bin/sh`: a step with a script needs a shell"
        ),
        "{message}"
    );
    assert!(!message.contains("409"), "{message}");
}

#[tokio::test]
async fn a_nul_byte_from_a_secret_is_named() {
    let yaml = stage(
        "      - name: nul\n        type: run\n        spec:\n          container: redis\n          envs: {TOKEN: \"${{ secrets.get('token') }}\"}\n          script: echo never\n",
    );
    let (report, _) = run_with(&yaml, |o| {
        o.build
            .context
            .secrets
            .insert("token".into(), "a\0b".into());
    })
    .await;
    let message = error_of(&report, 0);
    assert!(
        message.contains("the environment variable `TOKEN` of step `nul` holds a NUL byte"),
        "{message}"
    );
}

#[tokio::test]
async fn steps_queued_behind_a_slow_one_keep_at_most_the_look_ahead_waiting() {
    let mut steps = String::from(
        "      - name: slow\n        type: run\n        spec:\n          container: redis\n          script: sleep 25\n",
    );
    for i in 0..120 {
        steps.push_str(&format!(
            "      - name: quick{i}\n        type: run\n        spec:\n          container: redis\n          script: 'true'\n"
        ));
    }
    let yaml = stage(&steps);
    let observer = Arc::new(CollectObserver::default());
    let mut opts = options(observer.clone());
    opts.limits.lookahead = 3;
    let runner = Runner::connect(opts).await.unwrap();
    let p = pipeline(&yaml);
    let run = runner.run_stage(&p, 0);
    let watch = async {
        let mut most = 0;
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let running = common::leftovers("pipeline-test.managed=true")
                .await
                .iter()
                .filter(|r| r.contains("quick"))
                .count();
            most = most.max(running);
        }
        most
    };
    let (report, most) = tokio::join!(tokio::time::timeout(BOUND, run), watch);
    let report = report.expect("the run ended").unwrap();
    assert!(report.passed(), "{}", report.summary());
    assert!(
        most <= 3,
        "{most} quick steps' containers were waiting at once"
    );
    assert!(most >= 1, "the look-ahead is used");
    assert_nothing_left(&report.run_id).await;
}

#[tokio::test]
async fn keep_keeps_every_container_of_the_run_and_names_only_that_run() {
    let yaml = stage(
        "      - name: cache\n        type: background\n        spec:\n          container: redis\n      - name: \"one\\e[2J\"\n        type: run\n        spec:\n          container: redis\n          script: echo one\n      - name: two\n        type: run\n        spec:\n          container: redis\n          script: echo two\n",
    );
    let observer = Arc::new(CollectObserver::default());
    let mut opts = options(observer.clone());
    opts.engine.keep = pipeline_test_harness::Keep::Always;
    let runner = Runner::connect(opts).await.unwrap();
    let report = tokio::time::timeout(BOUND, runner.run_stage(&pipeline(&yaml), 0))
        .await
        .expect("the run ended")
        .unwrap();
    let label = format!("pipeline-test.run={}", report.run_id);
    let kept = pipeline_test_support::labelled(&label);
    let containers = kept.iter().filter(|r| r.kind == "container").count();
    let lines = observer.take();
    pipeline_test_support::remove(&kept);
    assert_eq!(
        containers, 3,
        "the service and both steps are kept: {kept:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&format!("--filter label={label}"))),
        "the hint removes only this run: {lines:#?}"
    );
    assert_eq!(report.steps[1].name, "one\\x1b[2J", "names are escaped too");
    assert_nothing_left(&report.run_id).await;
}

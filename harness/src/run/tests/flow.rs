//! Which steps run, in which order, and how each ends.

use super::*;
use crate::report::Outcome;

/// Not run: skipped after a failure, or its `when` is false.
fn not_run(s: &StepStatus) -> bool {
    matches!(s, StepStatus::NotRun { .. } | StepStatus::Skipped)
}

#[tokio::test]
async fn steps_run_in_file_order_and_the_stage_passes() {
    let fake = FakeEngine::new();
    let report = run_stage(&fake, &[&run("a"), &run("b"), &run("c")]).await;
    assert!(report.passed(), "{}", report.summary());
    assert_eq!(created(&fake), ["a", "b", "c"]);
    for s in ["a", "b", "c"] {
        assert_eq!(status(&report, s), StepStatus::Passed);
        assert_eq!(report.step(s).unwrap().exit_code, Some(0));
    }
}

#[tokio::test]
async fn a_failing_step_fails_the_stage_and_the_next_steps_do_not_run() {
    let fake = FakeEngine::new().script("b", exits(3));
    let report = run_stage(&fake, &[&run("a"), &run("b"), &run("c")]).await;
    assert!(!report.passed());
    assert_eq!(status(&report, "b"), StepStatus::Failed { exit_code: 3 });
    assert!(not_run(&status(&report, "c")), "{:?}", status(&report, "c"));
    assert!(matches!(report.outcome, Outcome::Failed { .. }));
}

#[tokio::test]
async fn a_failure_step_runs_only_after_a_failure() {
    let on_failure =
        "- {name: report, type: run, when: 'failure()', spec: {container: alpine, script: 'true'}}";
    let fake = FakeEngine::new();
    let report = run_stage(&fake, &[&run("a"), on_failure]).await;
    assert!(not_run(&status(&report, "report")));
    assert!(report.passed());

    let fake = FakeEngine::new().script("a", exits(1));
    let report = run_stage(&fake, &[&run("a"), on_failure]).await;
    assert_eq!(status(&report, "report"), StepStatus::Passed);
    assert!(!report.passed());
}

#[tokio::test]
async fn an_always_step_runs_after_a_failure_and_a_false_when_never_runs() {
    let always = "- {name: cleanup, type: run, when: '${{ always() }}', spec: {container: alpine, script: 'true'}}";
    let never = "- {name: dev, type: run, when: 'build.branch == \"dev\"', spec: {container: alpine, script: 'true'}}";
    let fake = FakeEngine::new().script("a", exits(1));
    let report = run_stage(&fake, &[&run("a"), always, never]).await;
    assert_eq!(status(&report, "cleanup"), StepStatus::Passed);
    assert!(not_run(&status(&report, "dev")));
    assert!(!created(&fake).contains(&"dev".to_string()));
}

#[tokio::test]
async fn exit_code_78_passes_and_skips_the_rest() {
    let fake = FakeEngine::new().script("a", exits(78));
    let report = run_stage(&fake, &[&run("a"), &run("b")]).await;
    assert_eq!(status(&report, "a"), StepStatus::SkippedRest);
    assert!(report.passed(), "{}", report.summary());
    assert!(!matches!(status(&report, "b"), StepStatus::Passed));
}

#[tokio::test]
async fn a_step_past_its_timeout_times_out() {
    let slow = "- {name: slow, type: run, timeout: 1s, spec: {container: alpine, script: 'true'}}";
    let fake = FakeEngine::new().script("slow", exits(0).runs_for(ms(5000)));
    let started = std::time::Instant::now();
    let report = run_stage(&fake, &[slow, &run("after")]).await;
    assert!(matches!(
        status(&report, "slow"),
        StepStatus::TimedOut { .. }
    ));
    assert!(not_run(&status(&report, "after")));
    assert!(started.elapsed() < ms(3000), "{:?}", started.elapsed());
    assert!(fake.alive().is_empty(), "{:?}", fake.alive());
}

#[tokio::test]
async fn the_output_tail_keeps_every_line_in_order() {
    let fake = FakeEngine::new().script(
        "a",
        exits(0)
            .prints("one\ntw")
            .prints_after(ms(20), "o\nthree\n")
            .prints_err("oops\n"),
    );
    let report = run_stage(&fake, &[&run("a")]).await;
    assert_eq!(
        report.step("a").unwrap().output_tail,
        ["one", "two", "three", "oops"]
    );
}

#[tokio::test]
async fn a_line_without_its_newline_at_the_end_is_kept() {
    let fake = FakeEngine::new().script("a", exits(1).prints("last words"));
    let report = run_stage(&fake, &[&run("a")]).await;
    assert_eq!(report.step("a").unwrap().output_tail, ["last words"]);
}

#[tokio::test]
async fn secrets_are_masked_in_output_and_failure_messages() {
    let (mut options, observer) = options();
    options
        .build
        .context
        .secrets
        .insert("token".into(), "hunter2".into());
    let fake = FakeEngine::new().script("a", exits(1).prints("the token is hunter2\n"));
    let report = run_with(&fake, &v1(&[&run("a")]), options).await;
    assert_eq!(
        report.step("a").unwrap().output_tail,
        ["the token is ******"]
    );
    let heard = observer.take().join("\n");
    assert!(!heard.contains("hunter2"), "{heard}");
    assert!(!report.summary().contains("hunter2"));
}

#[tokio::test]
async fn control_characters_in_output_are_escaped() {
    let fake = FakeEngine::new().script("a", exits(0).prints("\u{1b}[2Jcleared\n"));
    let report = run_stage(&fake, &[&run("a")]).await;
    let line = &report.step("a").unwrap().output_tail[0];
    assert!(!line.contains('\u{1b}'), "{line:?}");
    assert!(line.ends_with("cleared"));
}

#[tokio::test]
async fn parallel_steps_all_run() {
    let fake = FakeEngine::new()
        .script("p1", exits(0).runs_for(ms(300)))
        .script("p2", exits(0).runs_for(ms(300)));
    let par = "- {name: both, type: parallel, spec: {steps: [{name: p1, type: run, spec: {container: alpine, script: 'true'}}, {name: p2, type: run, spec: {container: alpine, script: 'true'}}]}}";
    let started = std::time::Instant::now();
    let report = run_stage(&fake, &[par]).await;
    assert!(report.passed(), "{}", report.summary());
    assert!(
        started.elapsed() < ms(550),
        "ran one after the other: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_failure_inside_a_group_stops_the_steps_after_the_group() {
    let group = "- {name: g, type: group, spec: {steps: [{name: g1, type: run, spec: {container: alpine, script: 'true'}}, {name: g2, type: run, spec: {container: alpine, script: 'true'}}]}}";
    let fake = FakeEngine::new().script("g1", exits(2));
    let report = run_stage(&fake, &[group, &run("after")]).await;
    assert_eq!(status(&report, "g1"), StepStatus::Failed { exit_code: 2 });
    assert!(not_run(&status(&report, "g2")));
    assert!(not_run(&status(&report, "after")));
}

#[tokio::test]
async fn run_steps_with_a_shell_wait_at_their_gate_and_others_run_directly() {
    let python =
        "- {name: py, type: run, spec: {container: python, shell: python, script: 'print(1)'}}";
    let fake = FakeEngine::new();
    let report = run_stage(&fake, &[&run("sh"), python]).await;
    assert!(report.passed(), "{}", report.summary());
    let creates: Vec<Call> = fake
        .calls()
        .into_iter()
        .filter(|c| matches!(c, Call::Create(..)))
        .collect();
    assert_eq!(
        creates,
        [
            Call::Create("sh".into(), true),
            Call::Create("py".into(), false)
        ]
    );
}

#[tokio::test]
async fn the_look_ahead_bounds_the_containers_waiting_at_their_gates() {
    let steps: Vec<String> = (0..10).map(|i| run(&format!("s{i}"))).collect();
    let steps: Vec<&str> = steps.iter().map(String::as_str).collect();
    for lookahead in [1, 3] {
        let mut fake = FakeEngine::new();
        for i in 0..10 {
            fake = fake.script(&format!("s{i}"), exits(0).runs_for(ms(20)));
        }
        let (mut options, _) = options();
        options.limits.lookahead = lookahead;
        let report = run_with(&fake, &v1(&steps), options).await;
        assert!(report.passed(), "{}", report.summary());
        // Waiting at gates, plus the step that runs, plus one being removed.
        assert!(
            fake.max_alive() <= lookahead + 2,
            "look-ahead {lookahead}: {} containers at once",
            fake.max_alive()
        );
    }
}

#[tokio::test]
async fn every_step_gets_its_environment() {
    let step = "- {name: a, type: run, spec: {container: alpine, script: 'true', envs: {GREETING: hello}}}";
    let fake = FakeEngine::new();
    run_stage(&fake, &[step]).await;
    let env = fake.env_of("a").unwrap();
    assert!(
        env.contains(&("GREETING".into(), "hello".into())),
        "{env:?}"
    );
    assert!(
        env.iter().any(|(k, v)| k == "DRONE_STEP_NAME" && v == "a"),
        "{env:?}"
    );
}

#[tokio::test]
async fn events_tell_each_step_start_and_end() {
    let (options, observer) = options();
    let fake = FakeEngine::new().script("a", exits(0).prints("hi\n"));
    run_with(&fake, &v1(&[&run("a")]), options).await;
    let heard = observer.take();
    let start = heard
        .iter()
        .position(|l| l.contains("a") && l.contains("alpine"));
    let out = heard.iter().position(|l| l.contains("hi"));
    assert!(
        start.is_some() && out.is_some() && start < out,
        "{heard:#?}"
    );
}

#[tokio::test]
async fn the_stage_timeout_ends_a_stage_that_runs_too_long() {
    let yaml = "kind: pipeline\nspec:\n  options:\n    timeout: 1s\n  stages:\n  - type: ci\n    spec:\n      steps:\n      - {name: slow, type: run, spec: {container: alpine, script: 'true'}}\n";
    let fake = FakeEngine::new().script("slow", exits(0).runs_for(ms(10_000)));
    let started = std::time::Instant::now();
    let report = run_with(&fake, &parse("t.yaml", yaml), options().0).await;
    assert!(!report.passed());
    assert!(started.elapsed() < ms(4000), "{:?}", started.elapsed());
    assert!(fake.alive().is_empty(), "{:?}", fake.alive());
}

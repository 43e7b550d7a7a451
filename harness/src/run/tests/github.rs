//! GitHub Actions jobs through the fake engine: `if:` at a step's turn, `continue-on-error`,
//! `steps.<id>`, services.

use super::*;

fn workflow(steps: &str) -> Pipeline {
    let yaml = format!(
        "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    container: alpine\n    steps:\n{steps}"
    );
    parse(".github/workflows/ci.yml", &yaml)
}

async fn run_job(fake: &FakeEngine, steps: &str) -> StageReport {
    run_with(fake, &workflow(steps), options().0).await
}

#[tokio::test]
async fn steps_after_a_failure_are_skipped_and_if_failure_runs() {
    let fake = FakeEngine::new().script("bad", exits(1));
    let report = run_job(
        &fake,
        "      - {name: bad, run: exit 1}\n      - {name: next, run: 'true'}\n      - {name: on-failure, if: failure(), run: 'true'}\n",
    )
    .await;
    assert_eq!(status(&report, "bad"), StepStatus::Failed { exit_code: 1 });
    assert!(!matches!(status(&report, "next"), StepStatus::Passed));
    assert_eq!(status(&report, "on-failure"), StepStatus::Passed);
    assert!(!report.passed());
}

#[tokio::test]
async fn continue_on_error_lets_the_job_pass_and_steps_see_the_outcome() {
    let fake = FakeEngine::new().script("flaky", exits(2));
    let report = run_job(
        &fake,
        "      - {id: a, name: flaky, run: exit 2, continue-on-error: true}\n      - {name: handled, if: \"steps.a.outcome == 'failure'\", run: 'true'}\n      - {name: unseen, if: \"steps.a.conclusion == 'failure'\", run: 'true'}\n",
    )
    .await;
    assert_eq!(
        status(&report, "flaky"),
        StepStatus::FailedAllowed { exit_code: 2 }
    );
    assert_eq!(status(&report, "handled"), StepStatus::Passed);
    assert!(matches!(
        status(&report, "unseen"),
        StepStatus::NotRun { .. } | StepStatus::Skipped
    ));
    assert!(report.passed(), "{}", report.summary());
}

#[tokio::test]
async fn an_if_false_at_its_turn_skips_the_step_without_a_container() {
    let fake = FakeEngine::new();
    let report = run_job(
        &fake,
        "      - {name: a, run: 'true'}\n      - {name: b, if: \"github.event_name == 'schedule'\", run: 'true'}\n",
    )
    .await;
    assert!(report.passed());
    assert!(
        !created(&fake).contains(&"b".to_string()),
        "{:?}",
        created(&fake)
    );
}

#[tokio::test]
async fn job_services_start_before_the_steps() {
    let yaml = "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    container: alpine\n    services:\n      redis:\n        image: redis\n    steps:\n      - {name: ping, run: 'true'}\n";
    let fake = FakeEngine::new();
    let report = run_with(&fake, &parse(".github/workflows/ci.yml", yaml), options().0).await;
    assert!(report.passed(), "{}", report.summary());
    let order = created(&fake);
    assert_eq!(
        order.first().map(String::as_str),
        Some("redis"),
        "{order:?}"
    );
    assert!(fake.alive().is_empty());
}

#[tokio::test]
async fn a_step_with_env_evaluated_at_its_turn_gets_it() {
    let fake = FakeEngine::new();
    let report = run_job(
        &fake,
        "      - {id: a, name: a, run: 'true'}\n      - {name: b, run: 'true', env: {OUTCOME: '${{ steps.a.outcome }}'}}\n",
    )
    .await;
    assert!(report.passed(), "{}", report.summary());
    // Evaluated at its turn, it reaches the step through the file its gate reads.
    let files = fake.uploads_of("b");
    let env = files
        .iter()
        .find(|(path, _)| path == crate::plan::ENV_FILE.trim_start_matches('/'))
        .map(|(_, text)| text.as_str())
        .unwrap_or_else(|| panic!("no env file in {files:?}"));
    assert!(env.contains("OUTCOME") && env.contains("success"), "{env}");
}

#[tokio::test]
async fn a_passing_job_leaves_nothing() {
    let fake = FakeEngine::new().script("slow", exits(0).runs_for(ms(50)));
    let report = run_job(&fake, "      - {name: slow, run: sleep 1}\n").await;
    assert!(report.passed());
    assert!(fake.alive().is_empty());
}

//! Teardown through the engine: order, `PIPELINE_TEST_KEEP`, drops, detached finishes.

use super::*;

fn teardowns(fake: &FakeEngine) -> Vec<(Vec<String>, bool)> {
    fake.calls()
        .into_iter()
        .filter_map(|c| match c {
            Call::Teardown { containers, keep } => Some((containers, keep)),
            _ => None,
        })
        .collect()
}

async fn until_nothing_alive(fake: &FakeEngine) {
    for _ in 0..200 {
        if fake.alive().is_empty() {
            return;
        }
        tokio::time::sleep(ms(10)).await;
    }
    panic!("still alive after 2 s: {:?}", fake.alive());
}

#[tokio::test]
async fn a_passed_stage_leaves_nothing_and_its_teardown_comes_last() {
    let fake = FakeEngine::new();
    let report = run_stage(&fake, &[&service("cache", "redis"), &run("a"), &run("b")]).await;
    assert!(report.passed());
    assert!(fake.alive().is_empty(), "{:?}", fake.alive());
    assert!(matches!(
        fake.calls().last(),
        Some(Call::Teardown { keep: false, .. })
    ));
    assert!(report.teardown_errors.is_empty());
}

#[tokio::test]
async fn finished_steps_are_removed_while_the_stage_runs() {
    let fake = FakeEngine::new().script("b", exits(0).runs_for(ms(100)));
    run_stage(&fake, &[&run("a"), &run("b")]).await;
    let calls = fake.calls();
    let removed_a = calls.iter().position(|c| *c == Call::Remove("a".into()));
    let b_done = calls
        .iter()
        .position(|c| matches!(c, Call::Teardown { .. }));
    assert!(removed_a.is_some() && removed_a < b_done, "{calls:#?}");
}

#[tokio::test]
async fn services_are_removed_beside_the_last_removals_before_the_run_is_torn_down() {
    let fake = FakeEngine::new();
    run_stage(&fake, &[&service("cache", "redis"), &run("a")]).await;
    let calls = fake.calls();
    let cache = calls
        .iter()
        .position(|c| *c == Call::Remove("cache".into()));
    let teardown = calls
        .iter()
        .position(|c| matches!(c, Call::Teardown { .. }));
    assert!(cache.is_some() && cache < teardown, "{calls:#?}");
}

#[tokio::test]
async fn slow_removals_are_awaited_before_the_report() {
    let mut slow = exits(0);
    slow.slow_removal = ms(150);
    let fake = FakeEngine::new().script("a", slow.clone()).script(
        "cache",
        Script {
            slow_removal: ms(150),
            ..Script::default()
        },
    );
    run_stage(&fake, &[&service("cache", "redis"), &run("a")]).await;
    assert!(fake.alive().is_empty(), "{:?}", fake.alive());
}

#[tokio::test]
async fn keep_always_keeps_everything_and_says_how_to_remove_it() {
    let (mut options, observer) = options();
    options.engine.keep = Keep::Always;
    let fake = FakeEngine::new();
    let report = run_with(
        &fake,
        &v1(&[&service("cache", "redis"), &run("a")]),
        options,
    )
    .await;
    assert!(report.passed());
    assert!(fake.calls().contains(&Call::MarkKept));
    assert_eq!(fake.alive(), ["a", "cache"], "finished steps are kept too");
    assert_eq!(teardowns(&fake).last().map(|t| t.1), Some(true));
    let heard = observer.take().join("\n");
    assert!(heard.contains("kept run"), "{heard}");
}

#[tokio::test]
async fn keep_on_failure_removes_a_passed_stage() {
    let (mut options, _) = options();
    options.engine.keep = Keep::OnFailure;
    let fake = FakeEngine::new();
    run_with(
        &fake,
        &v1(&[&service("cache", "redis"), &run("a")]),
        options,
    )
    .await;
    assert!(fake.alive().is_empty(), "{:?}", fake.alive());
    assert_eq!(teardowns(&fake).last().map(|t| t.1), Some(false));
}

#[tokio::test]
async fn keep_on_failure_keeps_a_failed_stage() {
    let (mut options, _) = options();
    options.engine.keep = Keep::OnFailure;
    let fake = FakeEngine::new().script("a", exits(1));
    run_with(
        &fake,
        &v1(&[&service("cache", "redis"), &run("a")]),
        options,
    )
    .await;
    assert_eq!(fake.alive(), ["a", "cache"]);
    assert_eq!(teardowns(&fake).last().map(|t| t.1), Some(true));
}

#[tokio::test]
async fn a_body_that_failed_keeps_the_stage_on_failure() {
    let (mut options, _) = options();
    options.engine.keep = Keep::OnFailure;
    let fake = FakeEngine::new();
    let runner = Runner::with_engine(fake.engine(), options);
    let mut stage = runner
        .start_stage(&v1(&[&service("cache", "redis")]), 0)
        .await
        .unwrap();
    stage.mark_failed();
    stage.finish().await;
    assert_eq!(fake.alive(), ["cache"]);
}

#[tokio::test]
async fn a_dropped_stage_is_torn_down() {
    let fake = FakeEngine::new();
    let runner = Runner::with_engine(fake.engine(), options().0);
    let stage = runner
        .start_stage(&v1(&[&service("cache", "redis"), &run("a")]), 0)
        .await
        .unwrap();
    drop(stage);
    until_nothing_alive(&fake).await;
    // A drop does not know every create returned: the run is torn down as incomplete.
    assert!(!teardowns(&fake).is_empty());
}

#[tokio::test]
async fn a_detached_finish_reports_at_once_and_tears_down_off_the_callers_path() {
    let slow = Script {
        slow_removal: ms(600),
        ..Script::default()
    };
    let fake = FakeEngine::new().script("cache", slow);
    let runner = Runner::with_engine(fake.engine(), options().0);
    let stage = runner
        .start_stage(&v1(&[&service("cache", "redis")]), 0)
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let report = stage.finish_detached().await;
    assert!(report.passed());
    assert!(started.elapsed() < ms(400), "{:?}", started.elapsed());
    until_nothing_alive(&fake).await;
}

#[tokio::test]
async fn a_failed_stage_finished_detached_is_finished_in_place() {
    let fake = FakeEngine::new().script("a", exits(1));
    let runner = Runner::with_engine(fake.engine(), options().0);
    let stage = runner
        .start_stage(&v1(&[&service("cache", "redis"), &run("a")]), 0)
        .await
        .unwrap();
    let report = stage.finish_detached().await;
    assert!(!report.passed());
    assert_eq!(
        report.service_logs.len(),
        1,
        "the failure's service logs are read"
    );
    assert!(fake.alive().is_empty(), "{:?}", fake.alive());
}

#[tokio::test]
async fn leftovers_are_empty_after_a_finish() {
    let fake = FakeEngine::new();
    let runner = Runner::with_engine(fake.engine(), options().0);
    runner
        .run_stage(&v1(&[&service("cache", "redis"), &run("a")]), 0)
        .await
        .unwrap();
    assert!(runner.leftovers().await.unwrap().is_empty());
}

#[tokio::test]
async fn an_engine_error_mid_stage_still_tears_everything_down() {
    let fake = FakeEngine::new().fail("create", Some("b"));
    let report = run_stage(&fake, &[&service("cache", "redis"), &run("a"), &run("b")]).await;
    assert!(!report.passed());
    assert!(fake.alive().is_empty(), "{:?}", fake.alive());
}

#[tokio::test]
async fn a_timed_out_step_is_removed_with_the_rest() {
    let slow = "- {name: slow, type: run, timeout: 1s, spec: {container: alpine, script: 'true'}}";
    let (mut options, _) = options();
    options.engine.keep = Keep::Never;
    let fake = FakeEngine::new().script("slow", exits(0).runs_for(ms(60_000)));
    run_with(&fake, &v1(&[slow]), options).await;
    assert!(fake.alive().is_empty(), "{:?}", fake.alive());
}

//! A stage shared by the processes of a run, through the fake engine (two runners on one
//! engine stand for two processes): one claims and starts it, the others get the same services
//! without starting anything, or the same failure; a claim given up is claimed again.

use super::{options, run, service, v1};
use crate::engine::fake::FakeEngine;
use crate::run::{Runner, prepare_stage};
use crate::share::{Joined, RunIdentity, SharedKey};

fn key() -> SharedKey {
    let run =
        RunIdentity::from_parts(Some("fake"), 1, Some("cargo-nextest"), Some(1)).expect("a run");
    SharedKey::new(run, "t.yaml\0stage 0")
}

fn any_plan() -> crate::plan::StagePlan {
    let pipeline = v1(&[&service("cache", "redis")]);
    prepare_stage(&pipeline, 0, &options().0.build).expect("planned")
}

/// A process: a runner on the shared fake engine.
fn process(fake: &FakeEngine) -> Runner {
    Runner::with_engine(fake.engine(), options().0)
}

#[tokio::test]
async fn the_first_process_starts_it_the_others_get_its_services() {
    let fake = FakeEngine::new().image("redis", &[6379], false);
    let pipeline = v1(&[&service("cache", "redis"), &run("migrate")]);
    let first = process(&fake);
    let plan = prepare_stage(&pipeline, 0, &first.options().build).expect("planned");
    let Joined::Claimed(claim) = first.join_shared(&key(), &plan).await.expect("joined") else {
        panic!("the first process claims the stage")
    };
    let running = claim.start(&first, plan.clone()).await.expect("started");
    assert!(running.passed());
    assert_eq!(
        running.run_id(),
        key().run_id(),
        "its resources carry the key's id"
    );
    let ports = running.services()[0].ports.clone();
    claim
        .ready(running, "test `a` (process 1)")
        .await
        .expect("recorded");
    for _ in 0..3 {
        let Joined::Ready(stage) = process(&fake)
            .join_shared(&key(), &any_plan())
            .await
            .expect("joined")
        else {
            panic!("another process finds it ready")
        };
        assert_eq!(stage.run_id, key().run_id());
        assert_eq!(stage.started_by, "test `a` (process 1)");
        assert_eq!(stage.services.len(), 1);
        assert_eq!(stage.services[0].name(), "cache");
        assert_eq!(stage.services[0].ports, ports);
        assert!(
            stage.services[0].ready_by.is_none(),
            "never waited for again"
        );
        let steps: Vec<&str> = stage.steps.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(steps, ["cache", "migrate"]);
    }
    // The steps ran once for all four processes; the service is still up (the finished run
    // step's container goes in the background).
    assert_eq!(super::created(&fake), ["cache", "migrate"]);
    tokio::time::sleep(super::ms(100)).await;
    assert_eq!(fake.alive(), ["cache"]);
    assert_eq!(fake.shared_users(key().run_id()), 4);
}

/// Process `fake`'s runner joins the stage.
async fn join(fake: &FakeEngine) -> Joined {
    process(fake)
        .join_shared(&key(), &any_plan())
        .await
        .expect("joined")
}

#[tokio::test]
async fn a_failure_is_every_users_failure() {
    let fake = FakeEngine::new();
    let Joined::Claimed(claim) = join(&fake).await else {
        panic!("the first process claims the stage")
    };
    claim.failed("step `migrate` failed (exit code 1)").await;
    for _ in 0..2 {
        match join(&fake).await {
            Joined::Failed(message) => assert_eq!(message, "step `migrate` failed (exit code 1)"),
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn a_claim_given_up_is_claimed_again() {
    let fake = FakeEngine::new();
    let Joined::Claimed(claim) = join(&fake).await else {
        panic!("the first process claims the stage")
    };
    drop(claim);
    let again = join(&fake).await;
    assert!(matches!(again, Joined::Claimed(_)), "{again:?}");
}

#[tokio::test(start_paused = true)]
async fn a_waiting_process_is_told_at_once_when_the_stage_is_recorded() {
    let fake = FakeEngine::new();
    let Joined::Claimed(claim) = join(&fake).await else {
        panic!("the first process claims the stage")
    };
    let waiting = tokio::spawn({
        let fake = fake.clone();
        async move { join(&fake).await }
    });
    // Past its first pauses, the waiting process looks at 975 ms, then at 1175 ms: the record
    // made at 1010 ms reaches it at once, not at its next look.
    tokio::time::sleep(super::ms(1010)).await;
    let recorded = tokio::time::Instant::now();
    claim.failed("step `migrate` failed (exit code 1)").await;
    let joined = waiting.await.expect("the waiting process ends");
    assert!(matches!(joined, Joined::Failed(_)), "{joined:?}");
    assert_eq!(recorded.elapsed(), std::time::Duration::ZERO);
}

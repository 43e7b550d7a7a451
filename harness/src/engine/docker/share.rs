//! The Docker side of a stage shared by the processes of a run (see `crate::share`): the
//! container whose name is the lock, the stage's network, the record volume, the users' volumes, and the run watcher
//! started by the process that won.

use std::collections::HashMap;
use std::io::Write;
use std::process::ChildStdin;
use std::sync::Mutex;

use bollard::Docker;
use bollard::models::{ContainerCreateBody, NetworkCreateRequest, VolumeCreateRequest};
use bollard::query_parameters::{CreateContainerOptionsBuilder, EventsOptionsBuilder};
use futures::StreamExt;
use futures::stream::BoxStream;

use super::client::{engine_error, is_not_found};
use super::prepare::prepare_image;
use super::reaper::lease::create_heartbeat;
use crate::Error;
use crate::engine::EngineError;
use crate::labels::{
    LEASE, LEASE_LABEL, MANAGED_LABEL, OWNER, OWNER_LABEL, RUN_LABEL, SHARED_LABEL,
};
use crate::plan::StagePlan;
use crate::share::{SharedKey, SharedState};

/// On a user's volume: the shared stage it uses.
pub(crate) const USER_LABEL: &str = "pipeline-test.shared-user";
/// On the record volume: the ready stage's record (JSON).
pub(crate) const RECORD_LABEL: &str = "pipeline-test.shared-record";
/// On the record volume: the message the stage failed with.
const FAILED_LABEL: &str = "pipeline-test.shared-failed";

/// The pipes to the run watchers of the stages this process claimed and has not recorded yet.
static PIPES: Mutex<Vec<(String, ChildStdin)>> = Mutex::new(Vec::new());

/// On the container whose name is the stage's lock.
const LOCK_LABEL: &str = "pipeline-test.shared-lock";

fn lock_name(key: &SharedKey) -> String {
    format!("pipeline-test-shared-{}", key.run_id())
}

fn record_volume(key: &SharedKey) -> String {
    format!("pipeline-test-shared-{}-record", key.run_id())
}

/// The labels of the shared stage's own resources: its lease, which the run watcher holds.
fn stage_labels(key: &SharedKey) -> HashMap<String, String> {
    [
        (MANAGED_LABEL, "true"),
        (RUN_LABEL, key.run_id()),
        (LEASE_LABEL, key.run_id()),
        (SHARED_LABEL, key.run_id()),
        (OWNER_LABEL, OWNER.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn error(e: bollard::errors::Error) -> EngineError {
    EngineError::new(e)
}

/// Yields each time the engine reports the record volume of `key` created (see
/// [`publish`]): its event stream, from a few seconds back so that a record made while the
/// stream opens is not missed (and on an engine whose clock is a little off). Ends when the
/// engine ends the stream; the waiting process then looks after pauses alone.
pub(crate) fn changes(docker: &Docker, key: &SharedKey) -> BoxStream<'static, ()> {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        .saturating_sub(10);
    let filters = HashMap::from([
        ("type".to_string(), vec!["volume".to_string()]),
        ("event".to_string(), vec!["create".to_string()]),
        ("volume".to_string(), vec![record_volume(key)]),
    ]);
    let options = EventsOptionsBuilder::default()
        .since(&since.to_string())
        .filters(&filters)
        .build();
    docker
        .events(Some(options))
        .take_while(|event| std::future::ready(event.is_ok()))
        .map(|_| ())
        .boxed()
}

/// Registers this process as a user of `key`: a volume naming the process (its owner label:
/// host, pid, start time), which the run watcher judges by that process's life and removes
/// with the stage. It carries no lease: a process that only uses the stage takes none (a sweep
/// judges it by its owner).
pub(crate) async fn join(docker: &Docker, key: &SharedKey) -> Result<(), EngineError> {
    let labels = [
        (MANAGED_LABEL, "true"),
        (OWNER_LABEL, OWNER.as_str()),
        (USER_LABEL, key.run_id()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    docker
        .create_volume(VolumeCreateRequest {
            name: Some(format!(
                "pipeline-test-shared-{}-user-{}",
                key.run_id(),
                LEASE.as_str()
            )),
            labels: Some(labels),
            ..Default::default()
        })
        .await
        .map(|_| ())
        .map_err(error)
}

/// The record, or whether the stage is claimed.
pub(crate) async fn state(docker: &Docker, key: &SharedKey) -> Result<SharedState, EngineError> {
    match docker.inspect_volume(&record_volume(key)).await {
        Ok(volume) => {
            if let Some(json) = volume.labels.get(RECORD_LABEL) {
                return Ok(SharedState::Ready(json.clone()));
            }
            let message = volume.labels.get(FAILED_LABEL).cloned().unwrap_or_default();
            return Ok(SharedState::Failed(message));
        }
        Err(e) if is_not_found(&e) => {}
        Err(e) => return Err(error(e)),
    }
    match docker
        .inspect_container(
            &lock_name(key),
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
    {
        Ok(_) => Ok(SharedState::Starting),
        Err(e) if is_not_found(&e) => Ok(SharedState::Unclaimed),
        Err(e) => Err(error(e)),
    }
}

/// Claims the stage: creates a container named after it (never started). The engine gives a
/// container name once, atomically (a network's name is not: concurrent creates of one name
/// may all succeed), so one process wins. The container is made from the stage's first image,
/// pulled first when it is missing. The winner's heartbeat for the stage's lease comes first
/// (a sweep judges a resource by its lease); then its network, and its run watcher.
pub(crate) async fn claim(
    docker: &Docker,
    endpoint: &str,
    key: &SharedKey,
    plan: &StagePlan,
) -> Result<bool, Error> {
    super::reaper::lease::measure_skew(docker, endpoint).await;
    create_heartbeat(docker, key.run_id(), 0)
        .await
        .map_err(|e| engine_error("create the shared stage's heartbeat", e))?;
    let Some((image, pull, login)) = plan.images().into_iter().next() else {
        return Err(Error::InvalidEnv {
            name: "the shared stage",
            reason: "it has no step that runs in a container".into(),
        });
    };
    let mut labels = stage_labels(key);
    labels.insert(LOCK_LABEL.into(), "true".into());
    let body = ContainerCreateBody {
        image: Some(image.clone()),
        labels: Some(labels),
        entrypoint: Some(vec!["true".into()]),
        cmd: Some(Vec::new()),
        ..Default::default()
    };
    let options = CreateContainerOptionsBuilder::default()
        .name(&lock_name(key))
        .build();
    let mut pulled = false;
    loop {
        match docker
            .create_container(Some(options.clone()), body.clone())
            .await
        {
            Ok(_) => break,
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 409, ..
            }) => return Ok(false),
            Err(e) if is_not_found(&e) && !pulled => {
                let quiet = crate::report::CollectObserver::default();
                super::prepare::forget_image(endpoint, &image);
                prepare_image(docker, (endpoint, &quiet), &image, pull, login.clone()).await?;
                pulled = true;
            }
            Err(e) => return Err(engine_error("claim the shared stage", e)),
        }
    }
    if plan.is_lone() {
        // Its one container runs on the engine's default network, as any lone stage's does.
        return Ok(spawn_watcher(key));
    }
    let network = NetworkCreateRequest {
        name: key.network(),
        driver: Some("bridge".into()),
        labels: Some(stage_labels(key)),
        ..Default::default()
    };
    match docker.create_network(network).await {
        Ok(_) => {}
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 409, ..
        }) => {}
        Err(e) => return Err(engine_error(format!("create network {}", key.network()), e)),
    }
    Ok(spawn_watcher(key))
}

/// Starts the run watcher of the stage this process won; true.
fn spawn_watcher(key: &SharedKey) -> bool {
    let (parent, parent_start) = key.parent();
    match super::reaper::spawn::spawn_run_watcher(key.run_id(), parent, parent_start) {
        Ok(pipe) => PIPES
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((key.run_id().to_string(), pipe)),
        Err(why) => eprintln!(
            "pipeline-test: no run watcher for the shared stage ({why}); the next run's sweep removes it once its heartbeat stops"
        ),
    }
    true
}

/// Records the stage as ready or failed, then tells the run watcher.
pub(crate) async fn publish(
    docker: &Docker,
    key: &SharedKey,
    state: &SharedState,
) -> Result<(), EngineError> {
    let mut labels = stage_labels(key);
    match state {
        SharedState::Ready(json) => labels.insert(RECORD_LABEL.into(), json.clone()),
        SharedState::Failed(message) => labels.insert(FAILED_LABEL.into(), message.clone()),
        SharedState::Starting | SharedState::Unclaimed => return Ok(()),
    };
    let created = docker
        .create_volume(VolumeCreateRequest {
            name: Some(record_volume(key)),
            labels: Some(labels),
            ..Default::default()
        })
        .await
        .map(|_| ())
        .map_err(error);
    if let Some(mut pipe) = take_pipe(key) {
        let _ = writeln!(pipe, "recorded");
        let _ = pipe.flush();
    }
    created
}

/// Closes the pipe to the run watcher without a record: it removes what was started.
pub(crate) fn abandon(key: &SharedKey) {
    drop(take_pipe(key));
}

fn take_pipe(key: &SharedKey) -> Option<ChildStdin> {
    let mut pipes = PIPES.lock().unwrap_or_else(|e| e.into_inner());
    let at = pipes.iter().position(|(id, _)| id == key.run_id())?;
    Some(pipes.swap_remove(at).1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::share::RunIdentity;

    /// A process waiting for the stage is told by the engine when the record is made, also
    /// when it is made after the process asked and before it first listened.
    #[tokio::test]
    async fn the_engine_tells_a_waiting_process_that_the_record_is_made() {
        let (docker, _) = crate::engine::docker::client::connect()
            .await
            .expect("the Docker engine answers");
        let run_id = format!("events-{}", std::process::id());
        let run = RunIdentity::from_parts(Some(&run_id), 1, Some("cargo-nextest"), Some(1))
            .expect("a run");
        let key = SharedKey::new(run, "t.yaml\0stage 0");
        let mut changes = changes(&docker, &key);
        publish(&docker, &key, &SharedState::Failed("step failed".into()))
            .await
            .expect("the record is made");
        let told = tokio::time::timeout(std::time::Duration::from_secs(30), changes.next()).await;
        let _ = docker
            .remove_volume(
                &record_volume(&key),
                None::<bollard::query_parameters::RemoveVolumeOptions>,
            )
            .await;
        assert_eq!(told, Ok(Some(())), "the engine's events said nothing");
    }
}

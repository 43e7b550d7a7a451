//! The run watcher of a stage shared by the processes of a run (see `crate::share`): it holds
//! the stage's lease (its heartbeat) and removes the stage when the run is over: the run's
//! parent (nextest, cargo) has ended and no process using the stage is alive. Also when the
//! process that claimed the stage ends before recording it: then what it started goes, and the
//! next process to look claims the stage again.

use std::collections::HashSet;
use std::io::BufRead;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::Duration;

use bollard::Docker;
use bollard::query_parameters::RemoveVolumeOptionsBuilder;

use super::lease::{HEARTBEAT, create_heartbeat, heartbeat_name};
use super::watch::remove_leased;
use crate::engine::docker::client::{remove_volumes, volumes_labelled};
use crate::engine::docker::share::{RECORD_LABEL, USER_LABEL};
use crate::engine::docker::sweep::{KEPT_PREFIX, is_dead_owner};
use crate::labels::{OWNER_LABEL, host_name, process_start_time};
use crate::teardown::Keep;

/// How often the run's parent and the stage's users are looked at.
const LOOK_EVERY: Duration = Duration::from_millis(200);

/// What the run watcher of a stage knows: from its environment.
#[derive(Debug, PartialEq, Eq)]
struct Watched {
    /// The stage's id: its run id and lease.
    stage: String,
    parent: u32,
    parent_start: u64,
}

fn parse(spec: &str) -> Option<Watched> {
    let mut parts = spec.split_whitespace();
    Some(Watched {
        stage: parts.next()?.to_string(),
        parent: parts.next()?.parse().ok()?,
        parent_start: parts.next()?.parse().ok()?,
    })
}

/// What the claiming process said on the pipe.
enum Claimer {
    /// Still starting the stage.
    Starting,
    /// It recorded the stage (ready or failed).
    Recorded,
    /// Its end of the pipe closed before a record.
    Gone,
}

/// Runs the run watcher described by `spec`; returns the process's exit code.
pub(crate) fn serve(spec: &str) -> i32 {
    let Some(watched) = parse(spec) else {
        return 2;
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::Builder::new()
        .name("pipeline-test-run-watcher-pipe".into())
        .spawn(move || {
            for line in std::io::stdin().lock().lines() {
                match line {
                    Ok(l) if l.trim() == "recorded" => {
                        let _ = tx.send(());
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        });
    if reader.is_err() {
        return 2;
    }
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return 2;
    };
    rt.block_on(watch(&watched, &rx))
}

fn claimer(rx: &Receiver<()>, recorded: bool) -> Claimer {
    match rx.try_recv() {
        Ok(()) => Claimer::Recorded,
        Err(TryRecvError::Empty) if recorded => Claimer::Recorded,
        Err(TryRecvError::Empty) => Claimer::Starting,
        Err(TryRecvError::Disconnected) if recorded => Claimer::Recorded,
        Err(TryRecvError::Disconnected) => Claimer::Gone,
    }
}

async fn watch(watched: &Watched, rx: &Receiver<()>) -> i32 {
    let Ok((docker, endpoint)) = crate::engine::docker::client::connect().await else {
        return 2;
    };
    super::lease::measure_skew(&docker, &endpoint).await;
    let host = host_name();
    let mut recorded = false;
    let mut seq = 0;
    let mut beat = tokio::time::Instant::now() + HEARTBEAT;
    loop {
        tokio::time::sleep(LOOK_EVERY).await;
        if tokio::time::Instant::now() >= beat {
            renew(&docker, &watched.stage, &mut seq).await;
            beat = tokio::time::Instant::now() + HEARTBEAT;
        }
        match claimer(rx, recorded) {
            Claimer::Recorded => recorded = true,
            Claimer::Starting => {}
            Claimer::Gone => break,
        }
        if process_start_time(watched.parent) == Some(watched.parent_start) {
            continue;
        }
        if users_alive(&docker, &watched.stage, &host).await {
            continue;
        }
        break;
    }
    i32::from(!remove(&docker, &watched.stage).await)
}

/// The next heartbeat first, then the last one removed: the lease is never without one.
async fn renew(docker: &Docker, stage: &str, seq: &mut u64) {
    if create_heartbeat(docker, stage, *seq + 1).await.is_ok() {
        let remove = RemoveVolumeOptionsBuilder::default().force(true).build();
        let _ = docker
            .remove_volume(&heartbeat_name(stage, *seq), Some(remove))
            .await;
        *seq += 1;
    }
}

/// True while a process registered as a user of `stage` lives (one of another host counts as
/// alive while its volume exists: its own watcher removes it). When the engine cannot list
/// them, nobody is judged gone.
async fn users_alive(docker: &Docker, stage: &str, host: &str) -> bool {
    let Ok(users) = volumes_labelled(docker, &format!("{USER_LABEL}={stage}")).await else {
        return true;
    };
    users.iter().any(|v| {
        v.labels
            .get(OWNER_LABEL)
            .is_none_or(|owner| !is_dead_owner(owner, host))
    })
}

/// Removes the stage (but a run `PIPELINE_TEST_KEEP` keeps) and its users' volumes; true when
/// everything went.
async fn remove(docker: &Docker, stage: &str) -> bool {
    let mut kept = HashSet::new();
    let marked = docker
        .inspect_volume(&format!("{KEPT_PREFIX}{stage}"))
        .await
        .is_ok();
    let keep = std::env::var(crate::run::KEEP_ENV)
        .ok()
        .and_then(|v| Keep::parse(&v))
        .unwrap_or(Keep::Never);
    let failed = docker
        .inspect_volume(&format!("pipeline-test-shared-{stage}-record"))
        .await
        .is_ok_and(|v| !v.labels.contains_key(RECORD_LABEL));
    if marked && keep.keeps(failed) {
        kept.insert(stage.to_string());
    }
    let users = async {
        let Ok(users) = volumes_labelled(docker, &format!("{USER_LABEL}={stage}")).await else {
            return false;
        };
        let names: Vec<String> = users.into_iter().map(|v| v.name).collect();
        remove_volumes(docker, &names).await.is_empty()
    };
    // Every user has ended and the claimer recorded the stage (or ended): no create is in
    // flight.
    let (stage_errors, users_removed) =
        tokio::join!(remove_leased(docker, stage, &kept, false), users);
    stage_errors.is_empty() && users_removed
}

#[cfg(test)]
mod tests {
    use super::{Watched, parse};

    #[test]
    fn the_watchers_environment() {
        assert_eq!(
            parse("0123456789ab 4242 99"),
            Some(Watched {
                stage: "0123456789ab".into(),
                parent: 4242,
                parent_start: 99,
            })
        );
        assert_eq!(parse("0123456789ab x 99"), None);
        assert_eq!(parse(""), None);
    }
}

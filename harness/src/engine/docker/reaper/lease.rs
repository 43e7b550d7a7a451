//! The heartbeat: a volume `pipeline-test-lease-<token>-<n>` that a live process replaces every
//! [`HEARTBEAT`], labelled with the time by the engine's clock, and the rule every run applies
//! to another owner: alive while its newest heartbeat is younger than [`LEASE_TTL`] by the
//! engine's clock.
//!
//! The time is a label, not the volume's `CreatedAt`: that field's type changes with bollard's
//! `time` and `chrono` features, which another crate of the user's build (testcontainers) may
//! turn on.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bollard::Docker;
use bollard::models::VolumeCreateRequest;
use bollard::query_parameters::RemoveVolumeOptionsBuilder;

use crate::Error;
use crate::engine::docker::client::{engine_error, volumes_labelled};
use crate::labels::{LEASE, LEASE_LABEL, MANAGED_LABEL};

/// How often a live process renews its lease.
pub(crate) const HEARTBEAT: Duration = Duration::from_secs(3);
/// How old a lease may be before its owner counts as dead.
pub(crate) const LEASE_TTL: Duration = Duration::from_secs(15);
/// The label that makes a volume a heartbeat (its lease is its `pipeline-test.lease`): when it
/// was made, in seconds since the epoch by the engine's clock.
pub(crate) const HEARTBEAT_AT_LABEL: &str = "pipeline-test.heartbeat-at";

static STOPPED: AtomicBool = AtomicBool::new(false);
/// The current heartbeat's number, locked while it is being renewed.
static CURRENT: tokio::sync::Mutex<u64> = tokio::sync::Mutex::const_new(0);
/// The engine's clock minus this machine's, in seconds, measured when the lease is taken.
static SKEW: std::sync::OnceLock<i64> = std::sync::OnceLock::new();

fn local_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Now, by the engine's clock.
fn engine_time() -> i64 {
    local_now() + SKEW.get().copied().unwrap_or(0)
}

fn volume_name(seq: u64) -> String {
    heartbeat_name(LEASE.as_str(), seq)
}

/// The name of heartbeat `seq` of lease `token`.
pub(crate) fn heartbeat_name(token: &str, seq: u64) -> String {
    format!("pipeline-test-lease-{token}-{seq}")
}

async fn create(docker: &Docker, seq: u64) -> Result<(), bollard::errors::Error> {
    create_heartbeat(docker, LEASE.as_str(), seq).await
}

/// Creates heartbeat `seq` of lease `token`, dated now by the engine's clock.
pub(crate) async fn create_heartbeat(
    docker: &Docker,
    token: &str,
    seq: u64,
) -> Result<(), bollard::errors::Error> {
    let labels = HashMap::from([
        (MANAGED_LABEL.to_string(), "true".to_string()),
        (LEASE_LABEL.to_string(), token.to_string()),
        (HEARTBEAT_AT_LABEL.to_string(), engine_time().to_string()),
    ]);
    docker
        .create_volume(VolumeCreateRequest {
            name: Some(heartbeat_name(token, seq)),
            labels: Some(labels),
            ..Default::default()
        })
        .await
        .map(|_| ())
}

/// Measures the engine's clock against this machine's, once per process (heartbeats are dated
/// by the engine's clock). An engine behind a unix socket runs on this machine's clock: nothing
/// to ask it, on the first stage's path.
pub(crate) async fn measure_skew(docker: &Docker, endpoint: &str) {
    if endpoint.starts_with("unix://") {
        let _ = SKEW.set(0);
    }
    if SKEW.get().is_none() {
        if let Some(engine) = engine_now(docker).await {
            let _ = SKEW.set(engine - local_now());
        }
    }
}

/// Takes the lease (its first heartbeat) and renews it from a thread of its own until the
/// process ends or [`stop_heartbeat`] is called.
pub(crate) async fn start_heartbeat(docker: &Docker, endpoint: &str) -> Result<(), Error> {
    measure_skew(docker, endpoint).await;
    create(docker, 0)
        .await
        .map_err(|e| engine_error("create this process's lease volume", e))?;
    let spawned = crate::async_drop::spawn(
        "pipeline-test-lease",
        crate::engine::docker::client::reconnector(endpoint),
        |docker: Docker| async move {
            let remove = RemoveVolumeOptionsBuilder::default().force(true).build();
            loop {
                tokio::time::sleep(HEARTBEAT).await;
                let mut seq = CURRENT.lock().await;
                if STOPPED.load(Ordering::SeqCst) {
                    return;
                }
                // The new one first: the lease is never without a heartbeat.
                if create(&docker, *seq + 1).await.is_ok() {
                    let _ = docker
                        .remove_volume(&volume_name(*seq), Some(remove.clone()))
                        .await;
                    *seq += 1;
                }
            }
        },
    );
    spawned.map(|_| ()).map_err(|why| Error::InvalidEnv {
        name: "the lease thread",
        reason: why,
    })
}

/// Stops renewing the lease (the process is about to remove everything and exit).
pub(crate) fn stop_heartbeat() {
    STOPPED.store(true, Ordering::SeqCst);
}

/// Ends the lease: no heartbeat is renewed after this, and the current one is removed now
/// rather than by the watcher after the process's exit. Nothing happens when no lease was
/// taken.
pub(crate) async fn release(docker: &Docker) {
    STOPPED.store(true, Ordering::SeqCst);
    let seq = CURRENT.lock().await;
    let remove = RemoveVolumeOptionsBuilder::default().force(true).build();
    let _ = docker.remove_volume(&volume_name(*seq), Some(remove)).await;
}

/// The engine's clock, in seconds since the epoch.
pub(crate) async fn engine_now(docker: &Docker) -> Option<i64> {
    let info = docker.info().await.ok()?;
    parse_time(info.system_time.as_deref()?)
}

/// The tokens whose heartbeat is fresh at engine time `now`; `None` when the engine cannot list
/// volumes (then no owner may be judged dead).
pub(crate) async fn alive_leases(docker: &Docker, now: i64) -> Option<HashSet<String>> {
    let volumes = volumes_labelled(docker, HEARTBEAT_AT_LABEL).await.ok()?;
    let ttl = i64::try_from(LEASE_TTL.as_secs()).unwrap_or(i64::MAX);
    Some(
        volumes
            .into_iter()
            .filter(|v| {
                v.labels
                    .get(HEARTBEAT_AT_LABEL)
                    .and_then(|t| t.parse::<i64>().ok())
                    // A heartbeat of unknown age counts as fresh: never remove a live run.
                    .is_none_or(|t| now - t <= ttl)
            })
            .filter_map(|v| v.labels.get(LEASE_LABEL).cloned())
            .collect(),
    )
}

/// Seconds since the epoch of an RFC 3339 time as engines write it
/// (`2026-11-28T15:50:01.123456789Z`, `2026-11-28T16:50:01+01:00`); `None` when it is not one.
pub(crate) fn parse_time(text: &str) -> Option<i64> {
    let text = text.trim();
    let num = |s: &str| s.parse::<i64>().ok();
    let (date, rest) = text.split_once(['T', ' '])?;
    let mut d = date.splitn(3, '-');
    let (y, m, day) = (num(d.next()?)?, num(d.next()?)?, num(d.next()?)?);
    let clock = rest.get(..8)?;
    let mut c = clock.splitn(3, ':');
    let (h, min, s) = (num(c.next()?)?, num(c.next()?)?, num(c.next()?)?);
    let zone = rest[8..].trim_start_matches(|ch: char| ch == '.' || ch.is_ascii_digit());
    let offset = match zone {
        "" | "Z" | "z" => 0,
        z => {
            let sign = match z.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (oh, om) = z[1..]
                .split_once(':')
                .unwrap_or((z.get(1..3)?, z.get(3..)?));
            sign * (num(oh)? * 3600 + num(om).unwrap_or(0) * 60)
        }
    };
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + min * 60 + s - offset)
}

#[cfg(test)]
mod tests {
    use super::parse_time;

    #[test]
    fn engine_times() {
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_time("2026-11-28T15:50:01Z"), Some(1_795_881_001));
        assert_eq!(
            parse_time("2026-11-28T15:50:01.123456789Z"),
            Some(1_795_881_001)
        );
        assert_eq!(
            parse_time("2026-11-28T16:50:01+01:00"),
            Some(1_795_881_001),
            "Podman writes local time with an offset"
        );
        assert_eq!(
            parse_time("2026-11-28T10:50:01.5-0500"),
            Some(1_795_881_001)
        );
        assert_eq!(parse_time("2000-02-29T00:00:00Z"), Some(951_782_400));
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(parse_time("2026-13-01T00:00:00Z"), None);
    }
}

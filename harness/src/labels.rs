//! The labels every resource the harness creates carries, and the identities in them: the
//! run, the owning process, its lease.

use std::sync::LazyLock;

/// Every container, network and volume the harness creates carries this label, set to `true`.
pub const MANAGED_LABEL: &str = "pipeline-test.managed";
/// The run a resource belongs to.
pub const RUN_LABEL: &str = "pipeline-test.run";
/// The process that created a resource: `host/pid/start-time`.
pub const OWNER_LABEL: &str = "pipeline-test.owner";
/// The lease of the process that created a resource (see the `reaper` module): alive while its
/// heartbeat on the engine is fresh.
pub const LEASE_LABEL: &str = "pipeline-test.lease";
/// The step a container runs.
pub const STEP_LABEL: &str = "pipeline-test.step";
/// On the marker volume of a run kept by `PIPELINE_TEST_KEEP` (`pipeline-test-kept-<run>`):
/// neither the watcher nor a sweep removes that run; `pipeline-test clean` does.
pub const KEPT_LABEL: &str = "pipeline-test.kept";

/// This process's lease token (12 hex digits).
pub(crate) static LEASE: LazyLock<String> = LazyLock::new(new_run_id);

/// This process's owner label value: `host/pid/start-time`.
pub(crate) static OWNER: LazyLock<String> = LazyLock::new(|| {
    let pid = std::process::id();
    format!(
        "{}/{pid}/{}",
        host_name(),
        process_start_time(pid).unwrap_or(0)
    )
});

/// The machine's host name (`/proc/sys/kernel/hostname`, else `$HOSTNAME`).
pub(crate) fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".to_string())
}

/// The start time of process `pid` in clock ticks since boot (Linux), to tell a live owner
/// from a new process that reused its pid; `None` when it is gone (or has ended and waits to
/// be reaped).
pub(crate) fn process_start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    let mut fields = after.split_whitespace();
    // A zombie has ended: only its parent has not reaped it yet.
    if matches!(fields.next(), Some("Z" | "X" | "x")) {
        return None;
    }
    fields.nth(18)?.parse().ok()
}

/// On the resources of a stage shared by the processes of a run: the stage's id (see
/// `crate::share`).
pub const SHARED_LABEL: &str = "pipeline-test.shared";

/// Runs whose resources carry a lease other than this process's: shared stages, whose lease
/// the run watcher holds. Run id -> lease token.
static RUN_LEASES: std::sync::Mutex<Vec<(String, String)>> = std::sync::Mutex::new(Vec::new());

/// The resources of run `run_id` carry lease `token` (a shared stage's) rather than this
/// process's: this process's end does not remove them.
pub(crate) fn set_run_lease(run_id: &str, token: &str) {
    let mut leases = RUN_LEASES.lock().unwrap_or_else(|e| e.into_inner());
    if !leases.iter().any(|(r, _)| r == run_id) {
        leases.push((run_id.to_string(), token.to_string()));
    }
}

/// The lease run `run_id`'s resources carry.
pub(crate) fn lease_of(run_id: &str) -> String {
    RUN_LEASES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .find(|(r, _)| r == run_id)
        .map_or_else(|| LEASE.clone(), |(_, token)| token.clone())
}

/// Labels for a new resource of run `run_id`.
pub(crate) fn labels(run_id: &str) -> std::collections::HashMap<String, String> {
    let lease = lease_of(run_id);
    [
        (MANAGED_LABEL, "true"),
        (RUN_LABEL, run_id),
        (OWNER_LABEL, OWNER.as_str()),
        (LEASE_LABEL, lease.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Labels for a network: it may serve several runs of this process (see `pool`), so it
/// carries no run id.
pub(crate) fn network_labels() -> std::collections::HashMap<String, String> {
    [
        (MANAGED_LABEL, "true"),
        (OWNER_LABEL, OWNER.as_str()),
        (LEASE_LABEL, LEASE.as_str()),
        ("pipeline-test.pool", "true"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// A fresh, random run id (12 hex digits).
pub(crate) fn new_run_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u32(std::process::id());
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    format!("{:012x}", h.finish() & 0xffff_ffff_ffff)
}

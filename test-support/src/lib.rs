//! Docker helpers shared by pipeline-test's own tests, benches and command-line tests: the
//! stand-in image map, and the resources a run, a process or a label left behind. Not
//! published; it talks to the engine through its API, as the harness does.
//!
//! # Examples
//!
//! ```no_run
//! // Nothing of run `0123456789ab` is left.
//! assert!(pipeline_test_support::leftovers("pipeline-test.run=0123456789ab").is_empty());
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::collections::HashMap;

use bollard::Docker;
use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListNetworksOptionsBuilder, ListVolumesOptionsBuilder,
};
use pipeline_test_harness::ImageMap;

/// The stand-in images `scripts/fixture-images.sh` builds, under the names tests use.
pub const DEFAULT_IMAGES: &str = "redis=pipeline-test-fixtures/redis:7,mysql:8.0=pipeline-test-fixtures/mysql:8.0,plugins/env=pipeline-test-fixtures/plugin-env:1,no-shell=pipeline-test-fixtures/no-shell:1";

/// The label every resource of the harness carries.
pub const MANAGED: &str = "pipeline-test.managed=true";

/// The stand-ins, overridden by `PIPELINE_TEST_IMAGES`.
///
/// # Panics
///
/// When `PIPELINE_TEST_IMAGES` is malformed.
pub fn images() -> ImageMap {
    let mut map = ImageMap::parse(DEFAULT_IMAGES).expect("DEFAULT_IMAGES is well-formed");
    map.extend(ImageMap::from_env().unwrap_or_else(|e| panic!("{e}")));
    map
}

/// A container, network or volume, with its labels.
#[derive(Debug, Clone)]
pub struct Resource {
    /// `container`, `network` or `volume`.
    pub kind: &'static str,
    /// Its name.
    pub name: String,
    /// Its labels.
    pub labels: HashMap<String, String>,
}

impl std::fmt::Display for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.kind, self.name)
    }
}

impl Resource {
    /// The process id in its `pipeline-test.owner` label (`host/pid/start`).
    pub fn owner_pid(&self) -> Option<u32> {
        self.labels
            .get("pipeline-test.owner")?
            .rsplit('/')
            .nth(1)?
            .parse()
            .ok()
    }
}

/// Every container (running or not), network and volume carrying `label` (`key` or
/// `key=value`).
///
/// # Panics
///
/// When the engine cannot be reached or refuses to list.
pub async fn labelled_async(label: &str) -> Vec<Resource> {
    let docker = Docker::connect_with_defaults()
        .expect("a Docker client")
        .negotiate_version()
        .await
        .expect("the Docker engine answers (is it running? `docker info`)");
    let filters = HashMap::from([("label".to_string(), vec![label.to_string()])]);
    let mut out = Vec::new();
    let containers = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&filters)
        .build();
    for c in docker.list_containers(Some(containers)).await.unwrap() {
        out.push(Resource {
            kind: "container",
            name: c.names.unwrap_or_default().join(","),
            labels: c.labels.unwrap_or_default(),
        });
    }
    let networks = ListNetworksOptionsBuilder::default()
        .filters(&filters)
        .build();
    for n in docker.list_networks(Some(networks)).await.unwrap() {
        out.push(Resource {
            kind: "network",
            name: n.name.unwrap_or_default(),
            labels: n.labels.unwrap_or_default(),
        });
    }
    let volumes = ListVolumesOptionsBuilder::default()
        .filters(&filters)
        .build();
    for v in docker
        .list_volumes(Some(volumes))
        .await
        .unwrap()
        .volumes
        .unwrap_or_default()
    {
        out.push(Resource {
            kind: "volume",
            name: v.name,
            labels: v.labels,
        });
    }
    out
}

/// [`labelled_async`] from anywhere, async context or not (it runs on a thread of its own).
pub fn labelled(label: &str) -> Vec<Resource> {
    let label = label.to_string();
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(labelled_async(&label))
    })
    .join()
    .unwrap_or_else(|e| std::panic::resume_unwind(e))
}

/// What carries `label`, as `kind name` lines (empty when nothing is left).
pub fn leftovers(label: &str) -> Vec<String> {
    labelled(label).iter().map(ToString::to_string).collect()
}

/// [`leftovers`] for async tests.
pub async fn leftovers_async(label: &str) -> Vec<String> {
    labelled_async(label)
        .await
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// The harness's resources created by process `pid`.
pub fn resources_of(pid: u32) -> Vec<Resource> {
    labelled(MANAGED)
        .into_iter()
        .filter(|r| r.owner_pid() == Some(pid))
        .collect()
}

/// The harness's resources created by process `pid`, as `kind name` lines.
pub fn owned_by(pid: u32) -> Vec<String> {
    resources_of(pid).iter().map(ToString::to_string).collect()
}

/// Removes `resources` (containers first, with their volumes), for tests that keep a run on
/// purpose.
pub fn remove(resources: &[Resource]) {
    let resources = resources.to_vec();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        rt.block_on(async {
            let docker = Docker::connect_with_defaults()
                .expect("a Docker client")
                .negotiate_version()
                .await
                .expect("the Docker engine answers");
            let force = bollard::query_parameters::RemoveContainerOptionsBuilder::default()
                .force(true)
                .v(true)
                .build();
            for r in resources.iter().filter(|r| r.kind == "container") {
                let name = r.name.trim_start_matches('/');
                let _ = docker.remove_container(name, Some(force.clone())).await;
            }
            for r in &resources {
                let _ = match r.kind {
                    "network" => docker.remove_network(&r.name).await,
                    "volume" => {
                        docker
                            .remove_volume(
                                &r.name,
                                None::<bollard::query_parameters::RemoveVolumeOptions>,
                            )
                            .await
                    }
                    _ => Ok(()),
                };
            }
        });
    })
    .join()
    .unwrap_or_else(|e| std::panic::resume_unwind(e));
}

/// A small deterministic generator (xorshift64*), so that a failure found with a seed can be
/// replayed from it.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    /// The next number.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % (n.max(1) as u64)).unwrap_or(0)
    }
}

/// A `/proc/self/status` field in KiB (`VmRSS` now, `VmHWM` the peak so far); 0 where the
/// system has none.
pub fn proc_status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

/// The lease token (`pipeline-test.lease`) of the resources process `pid` created.
pub fn lease_of(pid: u32) -> Option<String> {
    resources_of(pid)
        .into_iter()
        .find_map(|r| r.labels.get("pipeline-test.lease").cloned())
}

/// Everything carrying lease `token` (its heartbeat volumes included), as `kind name` lines.
pub fn leased(token: &str) -> Vec<String> {
    leftovers(&format!("pipeline-test.lease={token}"))
}

/// Waits until nothing carries lease `token`; returns how long that took, or what is still
/// there after `limit`.
///
/// # Errors
///
/// What is left after `limit`, as `kind name` lines.
pub fn gone_within(
    token: &str,
    limit: std::time::Duration,
) -> Result<std::time::Duration, Vec<String>> {
    let start = std::time::Instant::now();
    loop {
        let left = leased(token);
        if left.is_empty() {
            return Ok(start.elapsed());
        }
        if start.elapsed() >= limit {
            return Err(left);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// The watcher of process `pid` (its child carrying `PIPELINE_TEST_WATCHER`): its pid and the
/// lease token it watches.
pub fn watcher_child_of(pid: u32) -> Option<(u32, String)> {
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let child: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            let ppid: u32 = stat[stat.rfind(')')? + 1..]
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            if ppid != pid {
                return None;
            }
            let environ = std::fs::read(entry.path().join("environ")).ok()?;
            environ.split(|b| *b == 0).find_map(|v| {
                let token = v.strip_prefix(b"PIPELINE_TEST_WATCHER=")?;
                Some((child, String::from_utf8_lossy(token).into_owned()))
            })
        })
}

/// How many containers process `pid` created from `since` (seconds since the epoch) until now,
/// from the engine's event log.
pub fn containers_created_by(pid: u32, since: u64) -> usize {
    containers_created(since)
        .into_iter()
        .filter(|labels| {
            labels
                .get("pipeline-test.owner")
                .and_then(|o| o.rsplit('/').nth(1)?.parse::<u32>().ok())
                == Some(pid)
        })
        .count()
}

/// The steps (`pipeline-test.step`) of the containers of run `run_id` created from `since`
/// (seconds since the epoch) until now, from the engine's event log, whichever process
/// created them; a shared stage's lock (a container created, never started) is `(lock)`.
pub fn steps_created_in_run(run_id: &str, since: u64) -> Vec<String> {
    containers_created(since)
        .into_iter()
        .filter(|labels| labels.get("pipeline-test.run").map(String::as_str) == Some(run_id))
        .map(|labels| match labels.get("pipeline-test.step") {
            Some(step) => step.clone(),
            None if labels.contains_key("pipeline-test.shared-lock") => "(lock)".to_string(),
            None => String::new(),
        })
        .collect()
}

/// The labels of every managed container created from `since` until now, from the engine's
/// event log.
fn containers_created(since: u64) -> Vec<HashMap<String, String>> {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(async move {
                let docker = Docker::connect_with_defaults()
                    .expect("a Docker client")
                    .negotiate_version()
                    .await
                    .expect("the Docker engine answers");
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs() + 1)
                    .unwrap_or(0);
                let filters = HashMap::from([
                    ("type", vec!["container"]),
                    ("event", vec!["create"]),
                    ("label", vec![MANAGED]),
                ]);
                let options = bollard::query_parameters::EventsOptionsBuilder::default()
                    .since(&since.to_string())
                    .until(&now.to_string())
                    .filters(&filters)
                    .build();
                let mut events = docker.events(Some(options));
                let mut created = Vec::new();
                while let Some(Ok(event)) = futures_next(&mut events).await {
                    created.push(event.actor.and_then(|a| a.attributes).unwrap_or_default());
                }
                created
            })
    })
    .join()
    .unwrap_or_else(|e| std::panic::resume_unwind(e))
}

async fn futures_next<S: futures::Stream + Unpin>(s: &mut S) -> Option<S::Item> {
    futures::StreamExt::next(s).await
}

/// What process `pid`, which has ended, still owns once its watcher had up to 3 seconds to
/// remove it (a passed test's stage is removed off the test's path, so it may outlive the
/// process by a moment); empty when everything is gone.
pub fn owned_after_exit(pid: u32) -> Vec<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    loop {
        let left = owned_by(pid);
        if left.is_empty() || std::time::Instant::now() >= deadline {
            return left;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Builds the tests of the crate at `manifest` (`cargo test --no-run`, into `target_dir`) and
/// returns each test target's name and executable.
///
/// # Panics
///
/// When cargo cannot run or the build fails (with cargo's own words).
pub fn test_binaries(
    manifest: &std::path::Path,
    target_dir: &std::path::Path,
) -> Vec<(String, std::path::PathBuf)> {
    let out = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "test",
            "--no-run",
            "--message-format=json",
            "--manifest-path",
        ])
        .arg(manifest)
        .env("CARGO_TARGET_DIR", target_dir)
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "building the tests of {} failed:\n{}",
        manifest.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let field = |line: &str, key: &str| {
        let start = line.find(key)? + key.len();
        Some(line[start..].split('"').next()?.to_string())
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let exe = field(l, "\"executable\":\"")?;
            Some((field(l, "\"name\":\"")?, std::path::PathBuf::from(exe)))
        })
        .collect()
}

//! `cargo bench --bench stage`: a whole stage through the harness, as users get it, against
//! the same work done the obvious way with bollard and with the `docker` command line,
//! alternating round by round on the same machine.
//!
//! Two stages: the seed's Redis pipeline (one service, one run step) and one with three
//! services and three run steps. `harness` runs them through one long-lived `Runner`, as a
//! test binary or the command line does (its network is reused from one stage to the next);
//! `harness-no-reuse` through a new `Runner` each time with `reuse_networks` off, so that
//! every stage creates and removes its own network, inside the timing. Prints each phase's median and min-max, then one line per
//! comparison: `ratio vs-minimal-bollard <harness / bollard>` and `ratio vs-docker-cli
//! <harness / CLI>`. Exits 1 when a ratio misses its target.
//!
//! Then GitHub's documented Redis and MySQL services (`--health-interval 10s`) against the same
//! job checked every 100 ms (`health.rs`).
//!
//! `PIPELINE_TEST_BENCH_ROUNDS` sets the rounds (default 10); images come from
//! `PIPELINE_TEST_IMAGES` (the stand-ins of `scripts/fixture-images.sh` by default).

#[path = "stage/health.rs"]
mod health;

use std::collections::HashMap;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::models::{
    ContainerCreateBody, EndpointSettings, HostConfig, NetworkCreateRequest, NetworkingConfig,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, LogsOptionsBuilder, RemoveContainerOptionsBuilder,
    WaitContainerOptionsBuilder,
};
use futures::StreamExt;
use pipeline_test::harness::ImageMap;
use pipeline_test::harness::Pipeline;
use pipeline_test::harness::SourceFile;
use pipeline_test::harness::{Event, Observer};
use pipeline_test::harness::{RunOptions, Runner, Workspace};

const PHASES: [&str; 6] = ["prepare", "network", "start", "health", "steps", "teardown"];

/// One stage, in the two forms: YAML for the harness, lists for the hand-written sequences.
struct Bench {
    name: &'static str,
    yaml: String,
    services: Vec<&'static str>,
    steps: Vec<(&'static str, String)>,
}

fn stages() -> Vec<Bench> {
    let seed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/seed/communication.yaml"
    ))
    .unwrap();
    let mut three = String::from(
        "kind: pipeline\nspec:\n  stages:\n  - name: three\n    type: ci\n    spec:\n      steps:\n",
    );
    for i in 1..=3 {
        three.push_str(&format!("      - name: cache{i}\n        type: background\n        spec:\n          container: redis\n"));
    }
    for i in 1..=3 {
        three.push_str(&format!(
            "      - name: ping{i}\n        type: run\n        spec:\n          container: redis\n          script: redis-cli -h cache{i} ping\n"
        ));
    }
    vec![
        Bench {
            name: "seed",
            yaml: seed,
            services: vec!["cache"],
            steps: vec![("ping", "redis-cli -h cache ping".into())],
        },
        Bench {
            name: "three-services",
            yaml: three,
            services: vec!["cache1", "cache2", "cache3"],
            steps: (1..=3)
                .map(|i| {
                    (
                        ["ping1", "ping2", "ping3"][i - 1],
                        format!("redis-cli -h cache{i} ping"),
                    )
                })
                .collect(),
        },
    ]
}

#[derive(Clone, Default)]
struct Sample {
    total: Duration,
    phases: [Option<Duration>; 6],
}

impl Sample {
    /// A hand-written sequence's sample from the times at which each phase ended.
    fn sequence(network: Duration, started: Duration, steps: Duration, total: Duration) -> Self {
        Sample {
            total,
            phases: [
                None,
                Some(network),
                Some(started - network),
                None,
                Some(steps - started),
                Some(total - steps),
            ],
        }
    }
}

struct Quiet;
impl Observer for Quiet {
    fn on_event(&self, _: &Event<'_>) {}
}

fn options(images: &ImageMap, reuse_networks: bool) -> RunOptions {
    let mut options = RunOptions::from_env(".").unwrap();
    options.engine.reuse_networks = reuse_networks;
    options.build.plan.images = images.clone();
    options.build.workspace = Workspace::Directory(std::env::temp_dir());
    options.observer = Arc::new(Quiet);
    options
}

/// One stage through the harness. With `runner`, through that long-lived runner (which reuses
/// its network from one stage to the next); without, through a fresh one, dropped at the end.
async fn harness(b: &Bench, images: &ImageMap, runner: Option<&Runner>) -> Sample {
    let t0 = Instant::now();
    let pipeline = Pipeline::parse(&SourceFile::new(b.name, b.yaml.clone())).unwrap();
    let fresh = match runner {
        Some(_) => None,
        None => Some(Runner::connect(options(images, false)).await.unwrap()),
    };
    let report = runner
        .or(fresh.as_ref())
        .unwrap()
        .run_stage(&pipeline, 0)
        .await
        .unwrap();
    assert!(report.passed(), "{}", report.summary());
    let t = report.timings;
    let mut teardown = t.teardown;
    if let Some(fresh) = fresh {
        let dropped = Instant::now();
        drop(fresh);
        teardown += dropped.elapsed();
    }
    Sample {
        total: t0.elapsed(),
        phases: [
            Some(t.prepare),
            Some(t.network),
            Some(t.start_services),
            Some(t.health),
            Some(t.total_steps),
            Some(teardown),
        ],
    }
}

fn labels() -> HashMap<String, String> {
    HashMap::from([
        ("pipeline-test.managed".to_string(), "true".to_string()),
        ("pipeline-test.bench".to_string(), "minimal".to_string()),
    ])
}

fn unique(prefix: &str) -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

/// The obvious sequence: create the network; create and start each service; for each run
/// step create, start, wait, read the logs; kill and remove everything; remove the network.
async fn minimal_bollard(docker: &Docker, b: &Bench, image: &str) -> Sample {
    let t0 = Instant::now();
    let net = unique("bench-net");
    docker
        .create_network(NetworkCreateRequest {
            name: net.clone(),
            labels: Some(labels()),
            ..Default::default()
        })
        .await
        .unwrap();
    let t_net = t0.elapsed();
    let mut ids = Vec::new();
    let create = |alias: &str, cmd: Option<Vec<String>>| ContainerCreateBody {
        image: Some(image.to_string()),
        entrypoint: cmd
            .as_ref()
            .map(|_| vec!["/bin/sh".to_string(), "-c".to_string()]),
        cmd,
        labels: Some(labels()),
        host_config: Some(HostConfig {
            network_mode: Some(net.clone()),
            ..Default::default()
        }),
        networking_config: Some(NetworkingConfig {
            endpoints_config: Some(HashMap::from([(
                net.clone(),
                EndpointSettings {
                    aliases: Some(vec![alias.to_string()]),
                    ..Default::default()
                },
            )])),
        }),
        ..Default::default()
    };
    for s in &b.services {
        let name = unique(s);
        let opts = CreateContainerOptionsBuilder::default().name(&name).build();
        let id = docker
            .create_container(Some(opts), create(s, None))
            .await
            .unwrap()
            .id;
        docker.start_container(&id, None).await.unwrap();
        ids.push(id);
    }
    let t_start = t0.elapsed();
    for (step, script) in &b.steps {
        let name = unique(step);
        let opts = CreateContainerOptionsBuilder::default().name(&name).build();
        let id = docker
            .create_container(Some(opts), create(step, Some(vec![script.clone()])))
            .await
            .unwrap()
            .id;
        ids.push(id.clone());
        docker.start_container(&id, None).await.unwrap();
        let wait = WaitContainerOptionsBuilder::default()
            .condition("not-running")
            .build();
        let code = match docker.wait_container(&id, Some(wait)).next().await {
            Some(Ok(r)) => r.status_code,
            Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => code,
            other => panic!("wait failed: {other:?}"),
        };
        let logs = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .build();
        let mut out = Vec::new();
        let mut stream = docker.logs(&id, Some(logs));
        while let Some(Ok(chunk)) = stream.next().await {
            out.extend_from_slice(&chunk.into_bytes());
        }
        assert_eq!(code, 0, "{step}: {}", String::from_utf8_lossy(&out));
    }
    let t_steps = t0.elapsed();
    for id in &ids {
        let opts = RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(true)
            .build();
        docker.remove_container(id, Some(opts)).await.unwrap();
    }
    docker.remove_network(&net).await.unwrap();
    Sample::sequence(t_net, t_start, t_steps, t0.elapsed())
}

fn docker_cli(args: &[&str]) -> String {
    let out = Command::new("docker")
        .args(args)
        .output()
        .expect("the docker command runs");
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The same sequence with the `docker` command line.
fn minimal_cli(b: &Bench, image: &str) -> Sample {
    let t0 = Instant::now();
    let net = unique("bench-cli-net");
    let label = "--label=pipeline-test.managed=true";
    docker_cli(&["network", "create", label, &net]);
    let t_net = t0.elapsed();
    let mut ids = Vec::new();
    for s in &b.services {
        let name = unique(s);
        let id = docker_cli(&[
            "create",
            label,
            "--name",
            &name,
            "--network",
            &net,
            "--network-alias",
            s,
            image,
        ]);
        docker_cli(&["start", &id]);
        ids.push(id);
    }
    let t_start = t0.elapsed();
    for (step, script) in &b.steps {
        let name = unique(step);
        let id = docker_cli(&[
            "create",
            label,
            "--name",
            &name,
            "--network",
            &net,
            "--network-alias",
            step,
            "--entrypoint",
            "/bin/sh",
            image,
            "-c",
            script,
        ]);
        ids.push(id.clone());
        docker_cli(&["start", &id]);
        let code = docker_cli(&["wait", &id]);
        let logs = docker_cli(&["logs", &id]);
        assert_eq!(code, "0", "{step}: {logs}");
    }
    let t_steps = t0.elapsed();
    let mut rm = vec!["rm", "-f", "-v"];
    rm.extend(ids.iter().map(String::as_str));
    docker_cli(&rm);
    docker_cli(&["network", "rm", &net]);
    Sample::sequence(t_net, t_start, t_steps, t0.elapsed())
}

fn median(mut v: Vec<Duration>) -> (Duration, Duration, Duration) {
    v.sort();
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

fn ms(d: Duration) -> String {
    format!("{:.0}", d.as_secs_f64() * 1e3)
}

fn row(name: &str, samples: &[Sample]) -> Duration {
    let (m, lo, hi) = median(samples.iter().map(|s| s.total).collect());
    let mut line = format!("  {name:<16} {:>6} ms ({}-{})", ms(m), ms(lo), ms(hi));
    for (i, phase) in PHASES.iter().enumerate() {
        let values: Vec<Duration> = samples.iter().filter_map(|s| s.phases[i]).collect();
        if values.is_empty() {
            line.push_str(&format!("  {phase} -"));
        } else {
            let (m, lo, hi) = median(values);
            line.push_str(&format!("  {phase} {} ({}-{})", ms(m), ms(lo), ms(hi)));
        }
    }
    println!("{line}");
    m
}

fn main() {
    // Its own watcher: if the bench is killed, its stages are removed all the same.
    pipeline_test::serve_if_watcher();
    let rounds: usize = std::env::var("PIPELINE_TEST_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let images = pipeline_test_support::images();
    let redis = images.resolve("redis");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let docker = rt.block_on(async {
        Docker::connect_with_defaults()
            .unwrap()
            .negotiate_version()
            .await
            .unwrap()
    });
    let runner = rt
        .block_on(Runner::connect(options(&images, true)))
        .unwrap();
    let mut ratios = Vec::new();
    for b in stages() {
        // Warm up: images in the page cache, the version negotiated, the first run's sweep.
        rt.block_on(harness(&b, &images, Some(&runner)));
        rt.block_on(minimal_bollard(&docker, &b, &redis));
        minimal_cli(&b, &redis);
        let (mut h, mut f, mut m, mut c) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for r in 0..rounds {
            for k in 0..4 {
                match (r + k) % 4 {
                    0 => h.push(rt.block_on(harness(&b, &images, Some(&runner)))),
                    1 => f.push(rt.block_on(harness(&b, &images, None))),
                    2 => m.push(rt.block_on(minimal_bollard(&docker, &b, &redis))),
                    _ => c.push(minimal_cli(&b, &redis)),
                }
            }
        }
        println!(
            "stage `{}`: {} service(s), {} run step(s), {rounds} rounds; medians in ms (min-max)",
            b.name,
            b.services.len(),
            b.steps.len()
        );
        let hm = row("harness", &h);
        row("harness-no-reuse", &f);
        let mm = row("minimal-bollard", &m);
        let cm = row("docker-cli", &c);
        ratios.push((
            b.name,
            hm.as_secs_f64() / mm.as_secs_f64(),
            hm.as_secs_f64() / cm.as_secs_f64(),
        ));
    }
    drop(runner);
    let mut missed = !health::bench(&rt, &docker, &images, rounds);
    for (name, vs_bollard, vs_cli) in &ratios {
        let target = if *name == "seed" { 0.80 } else { 0.70 };
        missed |= *vs_bollard > target;
        println!("ratio vs-minimal-bollard {vs_bollard:.2} ({name}, target <= {target:.2})");
        if *name == "seed" {
            missed |= *vs_cli > 0.60;
            println!("ratio vs-docker-cli {vs_cli:.2} ({name}, target <= 0.60)");
        } else {
            println!("ratio vs-docker-cli {vs_cli:.2} ({name})");
        }
    }
    if missed {
        eprintln!("stage benchmark: a ratio misses its target");
        std::process::exit(1);
    }
}

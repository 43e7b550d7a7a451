//! The same 20-test file (each test: connect, SET, GET, INCR on one Redis; the pipeline is one
//! background Redis step) four ways, each a test binary of `benches/suite` run as `cargo test`
//! runs it (default threads), alternating, several rounds:
//!
//! - (a) `per-test`: `#[pipeline_test("redis.yaml")]`, a stage per test;
//! - (b) `shared`: `#[pipeline_test("redis.yaml", shared)]`, one stage for the file;
//! - (c) `testcontainers`: testcontainers-rs, a `GenericImage` with a log wait per test;
//! - (d) `testcontainers-static`: testcontainers-rs with a `static` `OnceCell` container.
//!
//! After each binary exits, and 3 seconds for the watcher to finish (a passed test's stage is
//! removed off its path), it counts what that binary left: pipeline-test's labelled resources
//! for (a) and (b), containers of the Redis image for (c) and (d) (then removes (d)'s leak).
//! Last lines: `ratio <name> <value>` from the medians. Exits 1 when a target is missed:
//! a/c <= 0.60, b/d <= 1.0, b/a <= 0.15, and (a), (b) leave nothing.
//!
//! `SUITE_ROUNDS` sets the rounds (5). The Redis image is `redis` as `PIPELINE_TEST_IMAGES`
//! maps it (the stand-in on a machine without a registry).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const VARIANTS: [(&str, &str); 4] = [
    ("per-test", "per_test"),
    ("shared", "shared"),
    ("testcontainers", "testcontainers"),
    ("testcontainers-static", "testcontainers_static"),
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `redis` as `PIPELINE_TEST_IMAGES` maps it.
fn redis_image() -> String {
    let images = pipeline_test_support::images();
    images.resolve("redis").to_string()
}

/// Builds the four test binaries; their paths by target name.
fn build() -> Vec<(String, PathBuf)> {
    pipeline_test_support::test_binaries(
        &root().join("benches/suite/Cargo.toml"),
        &root().join("target/suite-bench"),
    )
}

fn docker_count(args: &[&str]) -> usize {
    let out = Command::new("docker").args(args).output().expect("docker");
    String::from_utf8_lossy(&out.stdout).lines().count()
}

/// What a variant left: pipeline-test's resources, or containers of the image.
fn left(variant: &str, image: &str) -> usize {
    if variant.starts_with("testcontainers") {
        docker_count(&[
            "ps",
            "-aq",
            "--filter",
            &format!("ancestor={image}"),
            "--filter",
            "label=org.testcontainers.managed-by=testcontainers",
        ])
    } else {
        let label = "label=pipeline-test.managed";
        docker_count(&["ps", "-aq", "--filter", label])
            + docker_count(&["network", "ls", "-q", "--filter", label])
            + docker_count(&["volume", "ls", "-q", "--filter", label])
    }
}

fn remove_testcontainers() {
    let ids = Command::new("docker")
        .args([
            "ps",
            "-aq",
            "--filter",
            "label=org.testcontainers.managed-by=testcontainers",
        ])
        .output()
        .expect("docker");
    let ids: Vec<String> = String::from_utf8_lossy(&ids.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    if !ids.is_empty() {
        let _ = Command::new("docker")
            .args(["rm", "-f", "-v"])
            .args(&ids)
            .stdout(Stdio::null())
            .status();
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn run(exe: &Path, image: &str) -> Duration {
    let start = Instant::now();
    let out = Command::new(exe)
        .env("SUITE_REDIS_IMAGE", image)
        .current_dir(root().join("benches/suite"))
        .output()
        .expect("the test binary runs");
    let took = start.elapsed();
    assert!(
        out.status.success(),
        "{} failed:\n{}\n{}",
        exe.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` lists benchmarks; nothing to list here
    }
    let rounds: usize = std::env::var("SUITE_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let image = redis_image();
    let binaries = build();
    let exe = |target: &str| {
        binaries
            .iter()
            .find(|(n, _)| n == target)
            .map(|(_, p)| p.clone())
            .unwrap_or_else(|| panic!("no test binary `{target}` in benches/suite"))
    };
    remove_testcontainers();
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); VARIANTS.len()];
    let mut leaks: Vec<Vec<usize>> = vec![Vec::new(); VARIANTS.len()];
    for round in 0..rounds {
        // Alternating, each round starting one further.
        for k in 0..VARIANTS.len() {
            let i = (round + k) % VARIANTS.len();
            let (name, target) = VARIANTS[i];
            let took = run(&exe(target), &image);
            std::thread::sleep(Duration::from_secs(3));
            let n = left(name, &image);
            println!(
                "round {} {name}: {:.2}s, left {n}",
                round + 1,
                took.as_secs_f64()
            );
            times[i].push(took.as_secs_f64());
            leaks[i].push(n);
            remove_testcontainers();
        }
    }
    let mut medians = Vec::new();
    for (i, (name, _)) in VARIANTS.iter().enumerate() {
        let min = times[i].iter().copied().fold(f64::INFINITY, f64::min);
        let max = times[i].iter().copied().fold(0.0, f64::max);
        let m = median(&mut times[i]);
        medians.push(m);
        println!(
            "{name}: median {m:.2}s (min {min:.2}, max {max:.2}) over {rounds} runs; left behind after exit: {:?}",
            leaks[i]
        );
    }
    let ratios = [
        ("per-test-vs-testcontainers", medians[0] / medians[2], 0.60),
        (
            "shared-vs-testcontainers-static",
            medians[1] / medians[3],
            1.0,
        ),
        ("shared-vs-per-test", medians[1] / medians[0], 0.15),
    ];
    let mut missed = Vec::new();
    for (name, value, target) in ratios {
        if value > target {
            missed.push(format!("{name} {value:.2} > {target}"));
        }
    }
    for (i, (name, _)) in VARIANTS.iter().enumerate().take(2) {
        let total: usize = leaks[i].iter().sum();
        println!("left {name} {total}");
        if total > 0 {
            missed.push(format!("{name} left {total} resources"));
        }
    }
    println!("left testcontainers {}", leaks[2].iter().sum::<usize>());
    println!(
        "left testcontainers-static {} (expected: a static is never dropped)",
        leaks[3].iter().sum::<usize>()
    );
    for (name, value, _) in ratios {
        println!("ratio {name} {value:.2}");
    }
    if !missed.is_empty() {
        eprintln!("suite: targets missed: {}", missed.join("; "));
        std::process::exit(1);
    }
}

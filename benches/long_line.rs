//! `cargo bench --bench long_line`: a step that prints one 100 MB line without a newline must
//! stream through `pipeline-test` in under 10 s, with the process's peak memory growing by
//! under 50 MB (the line is passed on in 64 KiB pieces, never held whole).
//!
//! Prints the median time and the memory growth of 3 runs; exits 1 when a target is missed.
//! Images come from `PIPELINE_TEST_IMAGES` (the stand-ins of `scripts/fixture-images.sh`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use pipeline_test::harness::{
    Event, ImageMap, Observer, Pipeline, RunOptions, Runner, SourceFile, Workspace,
};

const TIME_TARGET: Duration = Duration::from_secs(10);
const MEMORY_TARGET_KIB: usize = 50 * 1024;

#[derive(Default)]
struct Count(AtomicUsize);

impl Observer for Count {
    fn on_event(&self, event: &Event<'_>) {
        if let Event::Output { line, .. } = event {
            self.0.fetch_add(line.len(), Ordering::Relaxed);
        }
    }
}

fn peak_kib() -> usize {
    usize::try_from(pipeline_test_support::proc_status_kib("VmHWM")).unwrap_or(0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // Its own watcher: if the bench is killed, its stages are removed all the same.
    pipeline_test::serve_if_watcher();
    let yaml = "kind: pipeline\nspec:\n  stages:\n  - name: flood\n    type: ci\n    spec:\n      steps:\n      - name: flood\n        type: run\n        spec:\n          container: redis\n          script: head -c 100000000 /dev/zero | tr '\\0' x\n";
    let pipeline = Pipeline::parse(&SourceFile::new("flood.yaml", yaml)).expect("valid");
    let count = Arc::new(Count::default());
    let mut options = RunOptions::from_env(env!("CARGO_MANIFEST_DIR")).expect("options");
    let mut images = ImageMap::parse("redis=pipeline-test-fixtures/redis:7").expect("map");
    images.extend(ImageMap::from_env().expect("PIPELINE_TEST_IMAGES"));
    options.build.plan.images = images;
    options.build.workspace = Workspace::Volume;
    options.observer = count.clone();
    let runner = Runner::connect(options).await.expect("a Docker engine");
    let before = peak_kib();
    let mut times = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let report = runner
            .run_stage(&pipeline, 0)
            .await
            .expect("the stage runs");
        times.push(started.elapsed());
        assert!(report.passed(), "{}", report.summary());
    }
    times.sort();
    let grew = peak_kib().saturating_sub(before);
    let median = times[1];
    println!(
        "100 MB line: median {:.2} s (min {:.2}, max {:.2}), target < {} s; peak memory +{} KiB, target < {} KiB; {} MB passed on",
        median.as_secs_f64(),
        times[0].as_secs_f64(),
        times[2].as_secs_f64(),
        TIME_TARGET.as_secs(),
        grew,
        MEMORY_TARGET_KIB,
        count.0.load(Ordering::Relaxed) / 1_000_000
    );
    if median >= TIME_TARGET || grew >= MEMORY_TARGET_KIB {
        eprintln!("long_line benchmark: a target is missed");
        std::process::exit(1);
    }
}

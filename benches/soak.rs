//! `cargo bench --bench soak`: the seed's Redis pipeline run 500 times one after another in
//! one process. Prints the process's resident memory every 50 runs, checks that nothing
//! labelled `pipeline-test.managed` and owned by this process is left at the end, and exits 1 if memory grew by more
//! than 20 MiB after the first 50 runs or anything was left. `PIPELINE_TEST_SOAK_RUNS`
//! changes the count.

use std::sync::Arc;
use std::time::Instant;

use pipeline_test::harness::Pipeline;
use pipeline_test::harness::{Event, Observer};
use pipeline_test::harness::{RunOptions, Runner, Workspace};

struct Quiet;
impl Observer for Quiet {
    fn on_event(&self, _: &Event<'_>) {}
}

fn rss_kib() -> u64 {
    pipeline_test_support::proc_status_kib("VmRSS")
}

/// Labelled containers, networks and volumes owned by this process.
fn labelled() -> usize {
    pipeline_test_support::owned_by(std::process::id()).len()
}

fn main() {
    // Its own watcher: if the bench is killed, its stages are removed all the same.
    pipeline_test::serve_if_watcher();
    let runs: usize = std::env::var("PIPELINE_TEST_SOAK_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let pipeline = Pipeline::from_path(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/seed/communication.yaml"
    ))
    .unwrap();
    let images = pipeline_test_support::images();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut options = RunOptions::from_env(std::env::temp_dir()).unwrap();
    options.build.plan.images = images;
    options.build.workspace = Workspace::Directory(std::env::temp_dir());
    options.observer = Arc::new(Quiet);
    let runner = rt.block_on(Runner::connect(options)).unwrap();
    let started = Instant::now();
    let mut after_warmup = 0;
    println!("run 0: rss {} KiB", rss_kib());
    for i in 1..=runs {
        let report = rt.block_on(runner.run_stage(&pipeline, 0)).unwrap();
        assert!(report.passed(), "run {i}: {}", report.summary());
        if i % 50 == 0 {
            let rss = rss_kib();
            if i == 50 {
                after_warmup = rss;
            }
            println!(
                "run {i}: rss {rss} KiB, {:.2} s per run so far",
                started.elapsed().as_secs_f64() / i as f64
            );
        }
    }
    drop(runner);
    let final_rss = rss_kib();
    let left = labelled();
    println!(
        "{runs} runs in {:.0} s; rss after 50 runs {after_warmup} KiB, at the end {final_rss} KiB (growth {} KiB); labelled resources left: {left}",
        started.elapsed().as_secs_f64(),
        final_rss as i64 - after_warmup as i64
    );
    if left > 0 || (after_warmup > 0 && final_rss > after_warmup + 20 * 1024) {
        std::process::exit(1);
    }
}

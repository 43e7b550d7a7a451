//! A 100 MB line without a newline streams through in bounded memory, cut into marked pieces.
//! Alone in its binary, so that the process's peak memory is this run's.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{assert_nothing_left, options, pipeline, stage};
use pipeline_test_harness::{Event, Observer, Runner};

/// Counts what a run prints instead of keeping it.
#[derive(Default)]
struct Count {
    pieces: AtomicUsize,
    bytes: AtomicUsize,
}

impl Observer for Count {
    fn on_event(&self, event: &Event<'_>) {
        if let Event::Output { line, .. } = event {
            self.pieces.fetch_add(1, Ordering::Relaxed);
            self.bytes.fetch_add(line.len(), Ordering::Relaxed);
        }
    }
}

/// The process's peak resident memory so far, in KiB.
fn peak_kib() -> usize {
    usize::try_from(pipeline_test_support::proc_status_kib("VmHWM")).unwrap_or(0)
}

#[tokio::test]
async fn a_100_mb_line_streams_in_bounded_memory() {
    let yaml = stage(
        "      - name: flood\n        type: run\n        spec:\n          container: redis\n          script: head -c 100000000 /dev/zero | tr '\\0' x\n",
    );
    let count = Arc::new(Count::default());
    let mut opts = options(Arc::new(pipeline_test_harness::CollectObserver::default()));
    opts.observer = count.clone();
    let runner = Runner::connect(opts).await.unwrap();
    let before = peak_kib();
    let started = Instant::now();
    let report = tokio::time::timeout(
        Duration::from_secs(120),
        runner.run_stage(&pipeline(&yaml), 0),
    )
    .await
    .expect("the run ended")
    .unwrap();
    let took = started.elapsed();
    let grew = peak_kib().saturating_sub(before);
    println!(
        "100 MB line: {took:?}, {} pieces, peak memory +{grew} KiB",
        count.pieces.load(Ordering::Relaxed)
    );
    assert!(report.passed(), "{}", report.summary());
    assert!(count.bytes.load(Ordering::Relaxed) >= 100_000_000);
    assert!(count.pieces.load(Ordering::Relaxed) >= 100_000_000 / (64 * 1024));
    assert!(grew < 50 * 1024, "peak memory grew by {grew} KiB");
    let tail = &report.steps[0].output_tail;
    assert!(
        tail.iter()
            .rev()
            .nth(1)
            .unwrap()
            .ends_with(" [line continues]")
    );
    assert_nothing_left(&report.run_id).await;
}

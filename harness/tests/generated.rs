//! Generated pipelines against the real engine, for a bounded time: random step counts,
//! script sizes, exit codes, sleeps and output shapes (long lines, both streams, no final
//! newline, control characters, text that looks like a verdict). Each run must end, its
//! outcome must follow from the steps' exit codes (the first failure fails the stage and the
//! rest is skipped; exit 78 passes and skips the rest), and nothing may be left.
//!
//! `PIPELINE_TEST_GENERATED_SEED` replays one seed; `PIPELINE_TEST_GENERATED_SECS` sets the
//! budget (default 45 s).

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{assert_nothing_left, options, pipeline, stage};
use pipeline_test_harness::{CollectObserver, Runner, StepStatus};
use pipeline_test_support::Rng;

struct Generated {
    yaml: String,
    codes: Vec<i64>,
}

fn generate(rng: &mut Rng) -> Generated {
    let steps = 1 + rng.below(5);
    let mut yaml = String::new();
    let mut codes = Vec::new();
    if rng.below(3) == 0 {
        yaml.push_str("      - name: svc\n        type: background\n        spec:\n          container: redis\n");
    }
    for i in 0..steps {
        let code = [0, 0, 0, 0, 1, 2, 78, 137][rng.below(8)];
        let mut script = Vec::new();
        match rng.below(6) {
            0 => {}
            1 => script.push(format!(
                "for i in $(seq {}); do echo line $i; done",
                rng.below(200)
            )),
            2 => script.push(format!(
                "head -c {} /dev/zero | tr '\\0' y",
                1 + rng.below(300_000)
            )),
            3 => script.push("echo out; echo err >&2; printf 'no newline'".to_string()),
            4 => script.push("printf 'bell \\007 and \\033[2J clear\\n'".to_string()),
            _ => script.push(format!(
                "echo 'exit 0'; echo 'passed (exit code 0)' >&2; echo step-{i}"
            )),
        }
        if rng.below(4) == 0 {
            script.push(format!("sleep 0.{}", rng.below(4)));
        }
        if rng.below(5) == 0 {
            // A large script: thousands of comment lines.
            for _ in 0..2000 {
                script.push(format!("# {}", "z".repeat(100)));
            }
        }
        script.push(match code {
            137 => "kill -9 $$".to_string(),
            c => format!("exit {c}"),
        });
        let body: Vec<String> = script.iter().map(|l| format!("            {l}")).collect();
        yaml.push_str(&format!(
            "      - name: s{i}\n        type: run\n        spec:\n          container: redis\n          script: |\n{}\n",
            body.join("\n")
        ));
        codes.push(code);
    }
    Generated {
        yaml: stage(&yaml),
        codes,
    }
}

fn expected(codes: &[i64]) -> (bool, Vec<StepStatus>) {
    let mut out = Vec::new();
    let mut stopped: Option<bool> = None; // Some(passed) once the rest is skipped
    for &c in codes {
        out.push(match stopped {
            Some(_) => StepStatus::Skipped,
            None => match c {
                0 => StepStatus::Passed,
                78 => {
                    stopped = Some(true);
                    StepStatus::SkippedRest
                }
                c => {
                    stopped = Some(false);
                    StepStatus::Failed { exit_code: c }
                }
            },
        });
    }
    (stopped.unwrap_or(true), out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_pipelines_end_as_their_exit_codes_say_and_leave_nothing() {
    let budget = std::env::var("PIPELINE_TEST_GENERATED_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(Duration::from_secs(45), Duration::from_secs);
    let fixed = std::env::var("PIPELINE_TEST_GENERATED_SEED")
        .ok()
        .and_then(|s| s.parse::<u64>().ok());
    let started = Instant::now();
    let mut seed = fixed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
            | 1
    });
    let observer = Arc::new(CollectObserver::default());
    let runner = Runner::connect(options(observer.clone())).await.unwrap();
    let mut runs = 0;
    while runs == 0 || (fixed.is_none() && started.elapsed() < budget) {
        let mut rng = Rng(seed);
        let g = generate(&mut rng);
        let report = tokio::time::timeout(
            Duration::from_secs(90),
            runner.run_stage(&pipeline(&g.yaml), 0),
        )
        .await
        .unwrap_or_else(|_| panic!("seed {seed}: the run did not end\n{}", g.yaml))
        .unwrap_or_else(|e| panic!("seed {seed}: {e}\n{}", g.yaml));
        observer.take();
        let (passed, statuses) = expected(&g.codes);
        let got: Vec<StepStatus> = report
            .steps
            .iter()
            .filter(|s| s.name != "svc")
            .map(|s| s.status.clone())
            .collect();
        assert_eq!(
            got, statuses,
            "seed {seed} (replay with PIPELINE_TEST_GENERATED_SEED={seed})\n{}",
            g.yaml
        );
        assert_eq!(report.passed(), passed, "seed {seed}\n{}", report.summary());
        assert_nothing_left(&report.run_id).await;
        runs += 1;
        seed = rng.next() | 1;
    }
    println!("{runs} generated pipelines in {:?}", started.elapsed());
}

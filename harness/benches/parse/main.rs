//! `cargo bench --bench parse`: parsing a generated 1,000-step pipeline must take under 10 ms,
//! and linting hostile files must stay linear and bounded (see `scale.rs`).
//!
//! Prints the median and the min-max of 50 runs, and exits non-zero when the median misses
//! the target or a lint-scale case fails. `cargo bench --bench parse -- lint` runs only the
//! lint-scale part.

mod generate;
mod scale;

use std::time::{Duration, Instant};

use pipeline_test_harness::Pipeline;
use pipeline_test_harness::SourceFile;

const STEPS: usize = 1000;
const TARGET: Duration = Duration::from_millis(10);

/// A stage of 1,000 steps shaped like the seed's: Redis and MySQL services, run steps that
/// ping them, script steps that wait for the database.
fn generate() -> String {
    let mut y = String::from(
        "kind: pipeline\nspec:\n  stages:\n  - name: big\n    type: ci\n    spec:\n      steps:\n",
    );
    for i in 0..STEPS {
        let step = match i % 5 {
            0 => format!(
                "      - name: cache{i}\n        type: background\n        spec:\n          container: redis\n"
            ),
            1 => format!(
                "      - name: ping{i}\n        type: run\n        spec:\n          container: redis\n          script: |-\n            redis-cli -h cache{} ping\n",
                i - 1
            ),
            2 => format!(
                "      - name: database{i}\n        type: background\n        spec:\n          image: mysql:8.0\n          envs:\n            MYSQL_ALLOW_EMPTY_PASSWORD: \"yes\"\n            MYSQL_DATABASE: gitness_db\n            MYSQL_PASSWORD: gitness\n            MYSQL_USER: gitness\n"
            ),
            3 => format!(
                "      - name: healthcheck{i}\n        type: script\n        spec:\n          image: mysql:8.0\n          run: |-\n            while ! mysqladmin ping -h database{} -u gitness -pgitness --silent; do sleep 1; done\n            mysql -h database{} -u gitness -pgitness -e \"SELECT 1\"\n",
                i - 1,
                i - 1
            ),
            _ => format!(
                "      - name: sleep{i}\n        type: run\n        spec:\n          container: redis\n          script: |-\n            sleep 5\n            redis-cli -h cache{} ping\n",
                i - 4
            ),
        };
        y.push_str(&step);
    }
    y
}

fn main() {
    if scale::child() {
        return;
    }
    let only_lint = std::env::args().any(|a| a == "lint");
    let parse_ok = only_lint || parse_bench();
    let failures = scale::run();
    for f in &failures {
        eprintln!("lint-scale benchmark: {f}");
    }
    if !parse_ok || !failures.is_empty() {
        std::process::exit(1);
    }
}

/// The 1,000-step parse and resolve: true when the parse median meets its target.
fn parse_bench() -> bool {
    let file = SourceFile::new("generated.yaml", generate());
    let lines = file.text().lines().count();
    let mut times = Vec::new();
    for _ in 0..50 {
        let start = Instant::now();
        let p = Pipeline::parse(&file).expect("the generated pipeline is valid");
        times.push(start.elapsed());
        assert_eq!(p.stages[0].steps.len(), STEPS);
    }
    times.sort();
    let median = times[times.len() / 2];
    println!(
        "parse {STEPS} steps ({lines} lines, {} KiB): median {:.2} ms (min {:.2} ms, max {:.2} ms), target < {} ms",
        file.text().len() / 1024,
        median.as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3,
        TARGET.as_millis()
    );
    // Resolving it for a build (expressions, `when`, hostnames again) comes on top, once per
    // run: reported beside the parse, with no target of its own.
    let pipeline = Pipeline::parse(&file).expect("valid");
    let ctx = pipeline_test_harness::context::BuildContext::default();
    let mut resolve_times = Vec::new();
    for _ in 0..50 {
        let start = Instant::now();
        let r = pipeline_test_harness::resolve::resolve(&pipeline, &ctx).expect("resolves");
        resolve_times.push(start.elapsed());
        assert_eq!(r.stages[0].steps.len(), STEPS);
    }
    resolve_times.sort();
    println!(
        "resolve {STEPS} steps: median {:.2} ms (min {:.2} ms, max {:.2} ms)",
        resolve_times[25].as_secs_f64() * 1e3,
        resolve_times[0].as_secs_f64() * 1e3,
        resolve_times[49].as_secs_f64() * 1e3,
    );
    if median >= TARGET {
        eprintln!(
            "parse benchmark: the median misses the {} ms target",
            TARGET.as_millis()
        );
        return false;
    }
    true
}

//! The lint-scale bench: every hostile generator linted at n and 4n, each in a process of its
//! own so that its peak resident memory is its own. It fails when a case grows more than 5x
//! from n to 4n, or when a file of 1 MB or less takes over 2 s or over 256 MB.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pipeline_test_harness::context::BuildContext;
use pipeline_test_harness::{Diagnostics, Pipeline, SourceFile, resolve};

use crate::generate::{ALL, Generator};

/// The argument that makes this binary lint one case and report it.
const CASE: &str = "--lint-case";
const GROWTH: f64 = 5.0;
/// The file size the time and memory limits are for.
const ONE_MB: usize = 1 << 20;
const MAX_TIME: Duration = Duration::from_secs(2);
const MAX_RSS_MB: u64 = 256;
/// Times under this are noise: the growth ratio is taken from this floor.
const FLOOR: Duration = Duration::from_millis(5);
/// A case is killed after this: far past any target, it only keeps the bench from hanging.
const KILL_AFTER: Duration = Duration::from_secs(60);

/// One case's measurement, as the child prints it.
struct Measure {
    time: Duration,
    rss_mb: u64,
    output: usize,
    bytes: usize,
}

/// In the child: `--lint-case INDEX N` lints one generated file and prints its measurement
/// (`--print` also writes its report to stderr, to see what a case exercises).
/// Returns false when this process is not a child.
pub fn child() -> bool {
    let args: Vec<String> = std::env::args().collect();
    let Some(at) = args.iter().position(|a| a == CASE) else {
        return false;
    };
    let index: usize = args[at + 1].parse().expect("a case index");
    let n: usize = args[at + 2].parse().expect("a size");
    let g = &ALL[index];
    let text = (g.text)(n);
    let bytes = text.len();
    let start = Instant::now();
    let output = lint(g.file, text, args.iter().any(|a| a == "--print"));
    let time = start.elapsed();
    println!(
        "{} {} {output} {bytes}",
        time.as_nanos(),
        peak_rss_kb() / 1024
    );
    true
}

/// What `pipeline-test lint` does with a file, without the git facts: the length of its report.
fn lint(name: &str, text: String, print: bool) -> usize {
    let file = SourceFile::new(name, text);
    let report = match Pipeline::parse(&file) {
        Err(d) => d.to_string(),
        Ok(p) => match resolve::resolve(&p, &BuildContext::default()) {
            Ok(r) => Diagnostics::new(file.clone(), r.warnings).to_string(),
            Err(d) => d.to_string(),
        },
    };
    if print {
        eprintln!("{report}");
    }
    report.len()
}

/// This process's peak resident memory, in KiB (Linux).
fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Runs one case in a child process, under a 4 GiB address-space limit and a time bound.
fn measure(index: usize, n: usize) -> Result<Measure, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 4194304; exec \"$0\" \"$@\"")
        .arg(exe)
        .args([CASE, &index.to_string(), &n.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            let mut out = String::new();
            let mut err = String::new();
            child.stdout.take().unwrap().read_to_string(&mut out).ok();
            child.stderr.take().unwrap().read_to_string(&mut err).ok();
            if !status.success() {
                let last = err.lines().rev().take(3).collect::<Vec<_>>();
                return Err(format!("the case died ({status}): {}", last.join(" | ")));
            }
            let f: Vec<u128> = out
                .split_whitespace()
                .map(|w| w.parse().unwrap_or(0))
                .collect();
            return Ok(Measure {
                time: Duration::from_nanos(f[0] as u64),
                rss_mb: f[1] as u64,
                output: f[2] as usize,
                bytes: f[3] as usize,
            });
        }
        if start.elapsed() > KILL_AFTER {
            child.kill().ok();
            child.wait().ok();
            return Err(format!("killed after {}s", KILL_AFTER.as_secs()));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Runs per size: the best time of them counts, and the largest resident memory.
const RUNS: usize = 7;

/// `b` or `m`, whichever ran faster, with the larger resident memory of the two.
fn better(b: Option<Measure>, m: Measure) -> Measure {
    match b {
        Some(b) if b.time <= m.time => Measure {
            rss_mb: b.rss_mb.max(m.rss_mb),
            ..b
        },
        Some(b) => Measure {
            rss_mb: b.rss_mb.max(m.rss_mb),
            ..m
        },
        None => m,
    }
}

/// The best of [`RUNS`] runs at `n` and at `4n`, taken in turn (n, 4n, n, 4n, ...) so that
/// a change in the machine's load falls on both sizes alike.
fn best_of_runs(index: usize, n: usize) -> Result<(Measure, Measure), String> {
    let (mut small, mut large) = (None, None);
    for _ in 0..RUNS {
        small = Some(better(small, measure(index, n)?));
        large = Some(better(large, measure(index, 4 * n)?));
    }
    Ok((small.expect("runs"), large.expect("runs")))
}

/// Runs every generator at n and 4n and prints a row each. Returns the failures.
pub fn run() -> Vec<String> {
    println!(
        "lint scale (best of {RUNS}, n and 4n in turn; fails over {GROWTH}x from n to 4n, or over {}s or {MAX_RSS_MB} MB for a file of 1 MB or less):",
        MAX_TIME.as_secs()
    );
    let mut failures = Vec::new();
    for (index, g) in ALL.iter().enumerate() {
        if let Err(e) = row(index, g, &mut failures) {
            println!("  {:<30} {e}", g.name);
            failures.push(format!("{}: {e}", g.name));
        }
    }
    failures
}

fn row(index: usize, g: &Generator, failures: &mut Vec<String>) -> Result<(), String> {
    let (small, large) = best_of_runs(index, g.n)?;
    // The size that makes about 1 MB, for the time and memory limits (once, best of three).
    let n_mb = 4 * g.n * (ONE_MB / large.bytes.max(1));
    let mut mb = None;
    if n_mb > 4 * g.n {
        for _ in 0..3 {
            mb = Some(better(mb, measure(index, n_mb)?));
        }
    }
    let ratio = large.time.max(FLOOR).as_secs_f64() / small.time.max(FLOOR).as_secs_f64();
    let at_mb = mb.as_ref().map_or(String::new(), |m| {
        format!(
            " | {:>5} KB {:>8.2} ms {:>4} MB",
            m.bytes / 1024,
            m.time.as_secs_f64() * 1e3,
            m.rss_mb
        )
    });
    println!(
        "  {:<30} n={:<6} {:>6} KB {:>8.2} ms {:>4} MB | 4n {:>6} KB {:>8.2} ms {:>4} MB | x{ratio:.2}{at_mb} | report {} B",
        g.name,
        g.n,
        small.bytes / 1024,
        small.time.as_secs_f64() * 1e3,
        small.rss_mb,
        large.bytes / 1024,
        large.time.as_secs_f64() * 1e3,
        large.rss_mb,
        large.output,
    );
    if ratio > GROWTH {
        failures.push(format!("{}: grew {ratio:.1}x from n to 4n", g.name));
    }
    for m in [Some(&small), Some(&large), mb.as_ref()]
        .into_iter()
        .flatten()
    {
        if m.bytes <= ONE_MB && (m.time > MAX_TIME || m.rss_mb > MAX_RSS_MB) {
            failures.push(format!(
                "{}: a {} KB file took {:.2} s and {} MB",
                g.name,
                m.bytes / 1024,
                m.time.as_secs_f64(),
                m.rss_mb
            ));
        }
    }
    Ok(())
}

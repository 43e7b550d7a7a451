//! Drives the harness without the attribute: runs the seed's Redis pipeline, talks to its
//! service while it is up, then tears it down and prints the report.
//!
//! ```text
//! PIPELINE_TEST_IMAGES="$(scripts/fixture-images.sh | tail -n 1)" cargo run --example run_stage
//! ```

use std::io::{BufRead, BufReader, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use pipeline_test::harness::{Pipeline, PrintObserver, RunOptions, Runner};

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() -> Result<ExitCode, Box<dyn std::error::Error>> {
    // This program's own executable is its watcher: if it is killed, that copy removes the
    // stage's containers, network and volumes.
    pipeline_test::serve_if_watcher();
    let dir = env!("CARGO_MANIFEST_DIR");
    let pipeline = Pipeline::from_path(format!("{dir}/examples/seed/communication.yaml"))?;
    let mut options = RunOptions::from_env(dir)?;
    options.observer = Arc::new(PrintObserver);
    let runner = Runner::connect(options).await?;

    // Run the steps, keeping the services up. (An error returned from here on still tears the
    // stage down: dropping `running` does.)
    let running = runner.start_stage(&pipeline, 0).await?;
    let talked = async {
        if !running.passed() {
            return Ok(());
        }
        running.wait_for_ports(Duration::from_secs(60)).await?;
        let addr = running
            .service("cache")
            .expect("the seed has a `cache` service")
            .addr(6379);
        let reply = tokio::task::spawn_blocking(move || -> std::io::Result<String> {
            let mut conn = std::net::TcpStream::connect(addr)?;
            conn.write_all(b"PING\r\n")?;
            let mut line = String::new();
            BufReader::new(conn).read_line(&mut line)?;
            Ok(line)
        })
        .await??;
        println!("cache at {addr} answered {}", reply.trim());
        Ok::<_, Box<dyn std::error::Error>>(())
    }
    .await;

    // Tear down and report, on every path; the runner is dropped on return, which removes the
    // networks it kept for reuse (`std::process::exit` would skip that).
    let report = running.finish().await;
    talked?;
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

//! `pipeline-test`: lint and run Harness / Gitness v1 pipeline files.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use pipeline_test_harness::Pipeline;
use pipeline_test_harness::SourceFile;
use pipeline_test_harness::{Keep, RunOptions, Runner, Workspace};

/// Run CI pipeline files (Harness / Gitness v1 YAML) locally, on Docker.
#[derive(Debug, Parser)]
#[command(name = "pipeline-test", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check pipeline files and report every problem with its file:line:column.
    ///
    /// Exits 0 when every file is valid, 1 when any is not.
    Lint {
        /// The pipeline files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Run a pipeline's stages on Docker, in order, and remove everything afterwards.
    ///
    /// Exits 0 when every stage passes, 1 when a step failed, 2 for a bad pipeline or an
    /// engine error (daemon unreachable, image missing).
    Run {
        /// The pipeline file.
        file: PathBuf,
        /// Run only the stage with this name (or id).
        #[arg(long)]
        stage: Option<String>,
        /// Add an environment variable to every step (lowest precedence), as NAME=value.
        #[arg(long = "env", value_name = "NAME=VALUE", value_parser = parse_env)]
        env: Vec<(String, String)>,
        /// Keep containers, network and volumes after the run, and print how to remove them.
        #[arg(long)]
        keep: bool,
        /// Give the steps a fresh empty volume as workspace instead of the current directory.
        #[arg(long)]
        workspace_volume: bool,
    },
}

fn parse_env(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("`{s}` is not NAME=value")),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Lint { files } => lint(&files),
        Command::Run {
            file,
            stage,
            env,
            keep,
            workspace_volume,
        } => {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("error: cannot start the async runtime: {e}");
                    return ExitCode::from(2);
                }
            };
            runtime.block_on(run(file, stage, env, keep, workspace_volume))
        }
    }
}

fn lint(files: &[PathBuf]) -> ExitCode {
    let mut bad = 0;
    for path in files {
        let file = match SourceFile::read(path) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("error: {e}");
                bad += 1;
                continue;
            }
        };
        match Pipeline::parse(&file) {
            Ok(p) => println!("{}: ok: {}", file.name(), p.summary()),
            Err(diags) => {
                eprint!("{diags}");
                bad += 1;
            }
        }
    }
    if bad == 0 {
        ExitCode::SUCCESS
    } else {
        if files.len() > 1 {
            eprintln!("{bad} of {} files have problems", files.len());
        }
        ExitCode::FAILURE
    }
}

async fn run(
    file: PathBuf,
    stage: Option<String>,
    env: Vec<(String, String)>,
    keep: bool,
    workspace_volume: bool,
) -> ExitCode {
    let pipeline = match Pipeline::from_path(&file) {
        Ok(p) => p,
        Err(e) => {
            eprint!("{e}");
            if !e.to_string().ends_with('\n') {
                eprintln!();
            }
            return ExitCode::from(2);
        }
    };
    let indices: Vec<usize> = match &stage {
        None => (0..pipeline.stages.len()).collect(),
        Some(name) => match pipeline.select_stage(name) {
            Ok(i) => vec![i],
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
    };
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let mut options = match RunOptions::from_env(cwd) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    options.plan.env = env;
    if keep {
        options.keep = Keep::Always;
    }
    // Nothing outside the stage talks to its services here.
    options.publish_ports = false;
    if workspace_volume {
        options.workspace = Workspace::Volume;
    }
    let runner = match Runner::connect(options).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let work = async {
        for (n, &i) in indices.iter().enumerate() {
            match runner.run_stage(&pipeline, i).await {
                Ok(report) if report.passed() => {}
                Ok(_) => {
                    let rest = indices.len() - n - 1;
                    if rest > 0 {
                        eprintln!("{rest} later stage(s) not run");
                    }
                    return ExitCode::from(1);
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            }
        }
        ExitCode::SUCCESS
    };
    tokio::select! {
        code = work => code,
        signal = shutdown_signal() => {
            // Dropping `work` dropped the run's guard, which removed its resources.
            eprintln!("pipeline-test: {signal}: stopped; the run's containers, network and volumes were removed");
            ExitCode::from(if signal == "SIGTERM" { 143 } else { 130 })
        }
    }
}

/// Resolves on SIGINT or SIGTERM with the signal's name.
async fn shutdown_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = int.recv() => "SIGINT",
            _ = term.recv() => "SIGTERM",
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "SIGINT"
    }
}

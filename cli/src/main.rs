//! `pipeline-test`: lint and run Harness / Gitness v1 pipeline files.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use pipeline_test_harness::source::SourceFile;
use pipeline_test_harness::spec::Pipeline;

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Lint { files } => lint(&files),
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

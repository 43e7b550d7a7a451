//! `pipeline-test`: lint and run CI files (GitHub Actions workflows, Drone, Harness NextGen and Harness / Gitness v1 pipelines), and clean up kept runs.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

mod build_args;
mod clean;

use build_args::{BuildArgs, parse_env};
use clap::{Parser, Subcommand};
use pipeline_test_harness::context::{BuildContext, JobResult};
use pipeline_test_harness::resolve::StepChoice;
use pipeline_test_harness::resolve::resolve;
use pipeline_test_harness::spec::Format;
use pipeline_test_harness::{Diagnostics, Pipeline, Severity, SourceFile};
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
        /// Treat warnings as errors (notes stay notes).
        #[arg(long)]
        deny_warnings: bool,
        #[command(flatten)]
        build: BuildArgs,
    },
    /// Run a pipeline's stages on Docker, in order, and remove everything afterwards.
    ///
    /// Exits 0 when every stage passes, 1 when a step failed, 2 for a bad pipeline or an
    /// engine error (daemon unreachable, image missing).
    Run {
        /// The pipeline file.
        file: PathBuf,
        /// Run only the stage with this name (or id): a GitHub Actions job, a Drone pipeline.
        #[arg(long, visible_alias = "job")]
        stage: Option<String>,
        /// Add an environment variable to every step (lowest precedence), as NAME=value.
        #[arg(long = "env", value_name = "NAME=VALUE", value_parser = parse_env)]
        env: Vec<(String, String)>,
        /// Keep containers, network and volumes after the run, and print how to remove them.
        #[arg(long)]
        keep: bool,
        /// Give the steps a fresh empty volume as workspace instead of the repository's root.
        #[arg(long)]
        workspace_volume: bool,
        /// Which steps run: `all` (the default), `services` (the services only), or the names
        /// of the steps to run with the services, comma-separated.
        #[arg(long, value_name = "all|services|NAME,...", default_value = "all")]
        steps: String,
        #[command(flatten)]
        build: BuildArgs,
    },
    /// Remove the runs kept with `--keep` / `PIPELINE_TEST_KEEP`, and what killed processes
    /// left behind: their containers, volumes and networks.
    Clean,
}

/// The directory of a pipeline file, for its repository and workspace.
fn dir_of(file: &std::path::Path) -> PathBuf {
    match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Prints diagnostics (to stderr); true when one of them is an error, or a warning under
/// `--deny-warnings`.
fn report(diags: &Diagnostics, deny_warnings: bool) -> bool {
    if !diags.is_empty() {
        eprint!("{diags}");
    }
    diags.iter().any(|d| {
        d.severity == Severity::Error || (deny_warnings && d.severity == Severity::Warning)
    })
}

fn main() -> ExitCode {
    // If this process was started as the watcher of another `pipeline-test`, it does that.
    pipeline_test_harness::serve_if_watcher();
    let cli = Cli::parse();
    match cli.command {
        Command::Lint {
            files,
            deny_warnings,
            build,
        } => lint(&files, deny_warnings, &build),
        Command::Clean => clean::clean(),
        Command::Run {
            file,
            stage,
            env,
            keep,
            workspace_volume,
            steps,
            build,
        } => {
            let runtime = match runtime() {
                Ok(rt) => rt,
                Err(code) => return code,
            };
            let steps = StepChoice::parse(&steps);
            runtime.block_on(run(
                file,
                stage,
                env,
                (keep, workspace_volume),
                steps,
                build,
            ))
        }
    }
}

fn lint(files: &[PathBuf], deny_warnings: bool, build: &BuildArgs) -> ExitCode {
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
        let pipeline = match Pipeline::parse_with_actions(&file, &build.action_dirs()) {
            Ok(p) => p,
            Err(diags) => {
                report(&diags, deny_warnings);
                if let Some(format) = Format::of(&file) {
                    eprintln!("{}: read as a {format}", file.name());
                }
                bad += 1;
                continue;
            }
        };
        let mut ctx = BuildContext::from_git(dir_of(path)).with_env();
        if let Err(e) = build.apply(&mut ctx) {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
        let diags = match resolve(&pipeline, &ctx) {
            Ok(p) => Diagnostics::new(file.clone(), p.warnings),
            Err(d) => d,
        };
        if report(&diags, deny_warnings) {
            bad += 1;
        } else {
            println!(
                "{}: ok ({}): {}",
                file.name(),
                pipeline.format,
                pipeline.summary()
            );
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
    (keep, workspace_volume): (bool, bool),
    steps: StepChoice,
    build: BuildArgs,
) -> ExitCode {
    let read = SourceFile::read(&file);
    let parsed = read.and_then(|f| {
        Pipeline::parse_with_actions(&f, &build.action_dirs())
            .map_err(pipeline_test_harness::Error::from)
    });
    let pipeline = match parsed {
        Ok(p) => p,
        Err(e) => {
            eprint!("{e}");
            if !e.to_string().ends_with('\n') {
                eprintln!();
            }
            return ExitCode::from(2);
        }
    };
    let mut options = match RunOptions::from_env(dir_of(&file)) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = build.apply(&mut options.build.context) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    if build.default_image.is_some() {
        options.build.plan.default_image = build.default_image.clone();
    }
    // The stage asked for, as written (a stage matrix makes several of it once resolved).
    let selected = match &stage {
        None => None,
        Some(name) => match pipeline.select_stage(name) {
            Ok(i) => Some(pipeline.stages[i].span),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
    };
    if let (Some(span), StepChoice::Named(_)) = (selected, &steps) {
        let i = pipeline.stages_written_at(span).next().unwrap_or(0);
        if let Err(e) = steps.check(&pipeline, i) {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    }
    // Expressions, matrices and `when`, for this build; warnings (a secret not supplied)
    // are shown before anything runs.
    let written = pipeline;
    let mut context = options.build.context.clone();
    let pipeline = match resolve(&written, &options.build.context) {
        Ok(p) => {
            // Another job's outputs are known once it has run: a run of every job runs it
            // first.
            let warnings = Diagnostics::new(
                written.file.clone(),
                p.warnings
                    .iter()
                    .filter(|d| d.severity != Severity::Note)
                    .filter(|d| d.until_job_runs.is_none() || selected.is_some())
                    .cloned()
                    .collect(),
            );
            report(&warnings, false);
            chosen(p, &steps)
        }
        Err(diags) => {
            report(&diags, false);
            return ExitCode::from(2);
        }
    };
    let indices: Vec<usize> = match selected {
        None => (0..pipeline.stages.len()).collect(),
        Some(span) => pipeline.stages_written_at(span).collect(),
    };
    options.build.plan.env = env;
    if keep {
        options.engine.keep = Keep::Always;
    }
    // Nothing outside the stage talks to its services here, but for the run steps of a
    // GitHub Actions job without a `container:`: they reach them on the host's ports.
    options.engine.publish_ports = pipeline.format == Format::GitHubActions;
    // A host-network step may reach a service on the port its mapping writes.
    options.build.fixed_host_ports = true;
    if workspace_volume {
        options.build.workspace = Workspace::Volume;
    }
    let runner = match Runner::connect(options).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    // The stages in order, those written at one place (a matrix's copies) together.
    let mut groups: Vec<(pipeline_test_harness::source::Span, Vec<usize>)> = Vec::new();
    for &i in &indices {
        let span = pipeline.stages[i].span;
        match groups.last_mut() {
            Some((s, g)) if *s == span => g.push(i),
            _ => groups.push((span, vec![i])),
        }
    }
    let github = pipeline.format == Format::GitHubActions;
    let work = async {
        // As on Gitness: after a failed stage, only stages whose `when` allows it run.
        let mut failed = false;
        for (span, group) in &groups {
            // A GitHub job is resolved again once the jobs before it have run: `needs.*`
            // (outputs, results, a matrix made from them) is known then.
            let again;
            let (current, group) = if github && !context.job_results.is_empty() {
                again = match resolve(&written, &context) {
                    Ok(p) => chosen(p, &steps),
                    Err(diags) => {
                        report(&diags, false);
                        return ExitCode::from(2);
                    }
                };
                let now: Vec<usize> = again.stages_written_at(*span).collect();
                (&again, now)
            } else {
                (&pipeline, group.clone())
            };
            let mut results = Vec::new();
            for i in group {
                let stage = &current.stages[i];
                let name = stage.display_name(i);
                let skip = stage.policy.skip(failed).map(|s| s.reason("stage"));
                if let Some(reason) = skip {
                    eprintln!("stage `{name}` skipped: {reason}");
                    results.push(("skipped", Vec::new()));
                    continue;
                }
                match runner.run_stage(current, i).await {
                    Ok(report) if report.passed() => results.push(("success", report.outputs)),
                    Ok(report) => {
                        failed = true;
                        results.push(("failure", report.outputs));
                    }
                    Err(e) => {
                        eprintln!("error: {e}");
                        return ExitCode::from(2);
                    }
                }
            }
            if github {
                if let Some(id) = written
                    .stages
                    .iter()
                    .find(|s| s.span == *span)
                    .and_then(|s| s.id.as_ref())
                {
                    context
                        .job_results
                        .insert(id.value.clone(), JobResult::of_copies(results));
                }
            }
        }
        if failed {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        }
    };
    let signal = tokio::select! {
        code = work => {
            runner.release().await;
            return code;
        }
        signal = shutdown_signal() => signal,
    };
    // Dropping `work` dropped the run's guard, which removed its resources (or said why not,
    // above). Say "removed" only when the engine agrees.
    match runner.leftovers().await {
        Ok(left) if left.is_empty() => eprintln!(
            "pipeline-test: {signal}: stopped; the run's containers, network and volumes were removed"
        ),
        Ok(left) => eprintln!(
            "pipeline-test: {signal}: stopped, but these are left: {}; the next run removes them, or: docker rm -f -v $(docker ps -aq --filter label=pipeline-test.managed)",
            left.join(", ")
        ),
        Err(e) => eprintln!("pipeline-test: {signal}: stopped; could not check what is left: {e}"),
    }
    ExitCode::from(if signal == "SIGTERM" { 143 } else { 130 })
}

/// The command line's async runtime; exit code 2, saying why, when it cannot start.
fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("error: cannot start the async runtime: {e}");
            ExitCode::from(2)
        })
}

/// `p` with only the chosen steps of each stage to run (`--steps`).
fn chosen(mut p: Pipeline, choice: &StepChoice) -> Pipeline {
    for i in 0..p.stages.len() {
        choice.apply(&mut p, i);
    }
    p
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

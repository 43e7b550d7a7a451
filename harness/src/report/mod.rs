//! What happened in a run: events as they happen, and the report at the end.

mod event;

pub use event::{CollectObserver, Event, Observer, PrintObserver};

use std::fmt::Write as _;
use std::time::Duration;

use crate::duration::format_duration;
use crate::plan::StepKind;

/// How a step ended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum StepStatus {
    /// Exited 0.
    Passed,
    /// Exited non-zero: the stage fails.
    Failed {
        /// The exit code.
        exit_code: i64,
    },
    /// Exited non-zero, and its failure does not fail the stage (GitHub Actions'
    /// `continue-on-error`, Drone's `failure: ignore`, NextGen's `Ignore` strategy).
    FailedAllowed {
        /// The exit code.
        exit_code: i64,
    },
    /// Ran longer than its `timeout` and was killed.
    TimedOut {
        /// The timeout.
        after: Duration,
    },
    /// Exited 78: the rest of the stage is skipped and the stage passes.
    SkippedRest,
    /// Did not run, because an earlier step failed or exited 78.
    Skipped,
    /// Did not run, for the reason given: its `when` (false, or `failure()` in a passing
    /// stage), or a step that runs only on Harness.
    NotRun {
        /// Why.
        reason: String,
    },
    /// A service that was still running when the stage ended.
    Running,
    /// A service that exited on its own; its exit code is only information.
    Exited {
        /// The exit code.
        exit_code: i64,
        /// How long it ran, when the engine says.
        after: Option<Duration>,
    },
    /// A service whose health check failed.
    Unhealthy,
    /// The container could not be run (an engine error).
    Error {
        /// What went wrong.
        message: String,
    },
}

impl StepStatus {
    /// True for the statuses that fail a stage.
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            StepStatus::Failed { .. }
                | StepStatus::TimedOut { .. }
                | StepStatus::Unhealthy
                | StepStatus::Error { .. }
        )
    }

    pub(crate) fn label(&self) -> String {
        match self {
            StepStatus::Passed => "passed".into(),
            StepStatus::Failed { exit_code } => format!("FAILED (exit {exit_code})"),
            StepStatus::FailedAllowed { exit_code } => {
                format!("failed (exit {exit_code}), allowed to fail")
            }
            StepStatus::TimedOut { after } => {
                format!("TIMED OUT after {}", format_duration(*after))
            }
            StepStatus::SkippedRest => "passed (exit 78: rest skipped)".into(),
            StepStatus::Skipped => "skipped".into(),
            StepStatus::NotRun { reason } => format!("skipped: {reason}"),
            StepStatus::Running => "running".into(),
            StepStatus::Exited {
                exit_code,
                after: Some(after),
            } => format!(
                "exited {exit_code} after {} (ignored)",
                format_duration(*after)
            ),
            StepStatus::Exited { exit_code, .. } => format!("exited {exit_code} (ignored)"),
            StepStatus::Unhealthy => "UNHEALTHY".into(),
            StepStatus::Error { .. } => "ERROR".into(),
        }
    }
}

/// One step's result.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StepReport {
    /// The step's name.
    pub name: String,
    /// The YAML `type`.
    pub type_name: &'static str,
    /// Service or run.
    pub kind: StepKind,
    /// The image used (after the image map).
    pub image: String,
    /// How it ended.
    pub status: StepStatus,
    /// The exit code, when the container exited.
    pub exit_code: Option<i64>,
    /// How long it ran (for a service: until it was started, or healthy).
    pub duration: Duration,
    /// The last lines of its output.
    pub output_tail: Vec<String>,
}

/// How a stage ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Every step passed.
    Passed,
    /// A step failed.
    Failed {
        /// The step that failed.
        step: String,
        /// Its status.
        status: StepStatus,
    },
}

/// Where a stage's time went. Phases overlap (images are checked while the network is
/// created; run steps' containers start while services start and earlier steps run), so
/// they do not add up to the total.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timings {
    /// Checking (and pulling) the images.
    pub prepare: Duration,
    /// Creating the stage's network.
    pub network: Duration,
    /// Creating and starting the services (summed).
    pub start_services: Duration,
    /// Waiting for services to be healthy (summed).
    pub health: Duration,
    /// Creating and starting run steps' containers ahead of their turn (summed).
    pub start_run_containers: Duration,
    /// Running the run steps, from each one's turn to its exit (summed).
    pub run_steps: Duration,
    /// Wall time from the first step to the end of the last.
    pub total_steps: Duration,
    /// Removing everything.
    pub teardown: Duration,
}

/// The result of one stage.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StageReport {
    /// The stage's name.
    pub stage: String,
    /// The run's id: every resource of the run carries the label `pipeline-test.run=<id>`.
    pub run_id: String,
    /// The Docker network the stage ran on (reused by later stages while the runner lives).
    pub network: String,
    /// Every step, in YAML order.
    pub steps: Vec<StepReport>,
    /// How it ended.
    pub outcome: Outcome,
    /// Last log lines of each service, collected when the stage failed.
    pub service_logs: Vec<(String, Vec<String>)>,
    /// Teardown problems (reported, never raised).
    pub teardown_errors: Vec<String>,
    /// Wall time of the whole stage, teardown included.
    pub duration: Duration,
    /// Where the time went.
    pub timings: Timings,
    /// A GitHub Actions job's `outputs:`, evaluated when it ended (name, value).
    pub outputs: Vec<(String, String)>,
}

impl StageReport {
    /// True when the stage passed.
    pub fn passed(&self) -> bool {
        self.outcome == Outcome::Passed
    }

    /// The report of step `name`.
    pub fn step(&self, name: &str) -> Option<&StepReport> {
        self.steps.iter().find(|s| s.name == name)
    }

    /// The summary table, one line per step.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), pipeline_test_harness::Error> {
    /// use pipeline_test_harness::{Pipeline, RunOptions, Runner};
    /// let pipeline = Pipeline::from_path("ci.yaml")?;
    /// let runner = Runner::connect(RunOptions::from_env(".")?).await?;
    /// let report = runner.run_stage(&pipeline, 0).await?;
    /// print!("{}", report.summary());
    /// // STEP  TYPE        IMAGE  STATUS   TIME
    /// // ping  run         redis  passed   620ms
    /// // stage `build` passed in 2.00s
    /// # Ok(()) }
    /// ```
    pub fn summary(&self) -> String {
        let verdict = match &self.outcome {
            Outcome::Passed => "passed".to_string(),
            Outcome::Failed { step, .. } => format!("FAILED at step `{step}`"),
        };
        format!(
            "{}stage `{}` {verdict} in {}\n",
            self.table(),
            self.stage,
            format_duration(self.duration)
        )
    }

    /// The summary's table alone: a header and one line per step.
    pub fn table(&self) -> String {
        let mut rows = vec![[
            "STEP".to_string(),
            "TYPE".to_string(),
            "IMAGE".to_string(),
            "STATUS".to_string(),
            "TIME".to_string(),
        ]];
        for s in &self.steps {
            rows.push([
                s.name.clone(),
                s.type_name.to_string(),
                s.image.clone(),
                s.status.label(),
                if matches!(s.status, StepStatus::Skipped | StepStatus::NotRun { .. }) {
                    "-".into()
                } else {
                    format_duration(s.duration)
                },
            ]);
        }
        let widths: Vec<usize> = (0..5)
            .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
            .collect();
        let mut out = String::new();
        for r in &rows {
            let mut line = String::from("  ");
            for (c, cell) in r.iter().enumerate() {
                if c == 4 {
                    line.push_str(cell);
                } else {
                    let _ = write!(line, "{cell:<w$}  ", w = widths[c]);
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    /// A message for a failed stage: the step, its exit code, the tail of its output and of
    /// the services' logs. `None` when the stage passed.
    pub fn failure_message(&self) -> Option<String> {
        self.failure(true)
    }

    /// [`StageReport::failure_message`] for a reader who has just seen the steps' output
    /// stream by (the command line, a test's captured output): without the failed run step's
    /// output again.
    pub fn failure_message_after_output(&self) -> Option<String> {
        self.failure(false)
    }

    fn failure(&self, with_output: bool) -> Option<String> {
        let Outcome::Failed { step, status } = &self.outcome else {
            return None;
        };
        let mut out = format!(
            "stage `{}` failed: step `{step}` {} (run {})",
            self.stage,
            status.label(),
            self.run_id
        );
        if let StepStatus::Error { message } = status {
            let _ = write!(out, ": {message}");
        }
        out.push('\n');
        if let Some(s) = self.step(step) {
            // A service's tail holds what the harness found, never streamed before.
            let streamed = s.kind == StepKind::Run && !with_output;
            if !s.output_tail.is_empty() && !streamed {
                let _ = writeln!(out, "last output of `{step}`:");
                for l in &s.output_tail {
                    let _ = writeln!(out, "  | {l}");
                }
            }
        }
        for (service, lines) in &self.service_logs {
            let _ = writeln!(out, "last log lines of service `{service}`:");
            if lines.is_empty() {
                out.push_str("  | (no output)\n");
            }
            for l in lines {
                let _ = writeln!(out, "  | {l}");
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests;

pub use crate::escape::escape_controls;

//! What happened in a run: events as they happen, and the report at the end.

use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use crate::duration::format_duration;
use crate::plan::StepKind;

/// How a step ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepStatus {
    /// Exited 0.
    Passed,
    /// Exited non-zero: the stage fails.
    Failed {
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
    /// A service that was still running when the stage ended.
    Running,
    /// A service that exited on its own; its exit code is only information.
    Exited {
        /// The exit code.
        exit_code: i64,
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

    fn label(&self) -> String {
        match self {
            StepStatus::Passed => "passed".into(),
            StepStatus::Failed { exit_code } => format!("FAILED (exit {exit_code})"),
            StepStatus::TimedOut { after } => {
                format!("TIMED OUT after {}", format_duration(*after))
            }
            StepStatus::SkippedRest => "passed (exit 78: rest skipped)".into(),
            StepStatus::Skipped => "skipped".into(),
            StepStatus::Running => "running".into(),
            StepStatus::Exited { exit_code } => format!("exited {exit_code} (ignored)"),
            StepStatus::Unhealthy => "UNHEALTHY".into(),
            StepStatus::Error { .. } => "ERROR".into(),
        }
    }
}

/// One step's result.
#[derive(Debug, Clone)]
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
    /// ```
    /// use std::time::Duration;
    /// use pipeline_test_harness::report::{Outcome, StageReport, StepReport, StepStatus};
    /// use pipeline_test_harness::plan::StepKind;
    /// let report = StageReport {
    ///     stage: "build".into(), run_id: "0123456789ab".into(), network: "net".into(),
    ///     steps: vec![StepReport {
    ///         name: "ping".into(), type_name: "run", kind: StepKind::Run, image: "redis".into(),
    ///         status: StepStatus::Passed, exit_code: Some(0),
    ///         duration: Duration::from_millis(620), output_tail: vec![],
    ///     }],
    ///     outcome: Outcome::Passed, service_logs: vec![], teardown_errors: vec![],
    ///     duration: Duration::from_secs(2), timings: Default::default(),
    /// };
    /// assert!(report.summary().contains("ping"));
    /// ```
    pub fn summary(&self) -> String {
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
                if s.status == StepStatus::Skipped {
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
        let verdict = match &self.outcome {
            Outcome::Passed => "passed".to_string(),
            Outcome::Failed { step, .. } => format!("FAILED at step `{step}`"),
        };
        let _ = writeln!(
            out,
            "stage `{}` {verdict} in {}",
            self.stage,
            format_duration(self.duration)
        );
        out
    }

    /// A message for a failed stage: the step, its exit code, the tail of its output and of
    /// the services' logs. `None` when the stage passed.
    pub fn failure_message(&self) -> Option<String> {
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
            if !s.output_tail.is_empty() {
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

/// Something that happened during a run.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event<'a> {
    /// A stage begins.
    StageStarted {
        /// Its name.
        stage: &'a str,
        /// The run's id (the `pipeline-test.run` label of its resources).
        run_id: &'a str,
    },
    /// A step's container is about to run.
    StepStarted {
        /// The step.
        step: &'a str,
        /// Its YAML type.
        type_name: &'a str,
        /// The image as written.
        image: &'a str,
        /// The image used.
        resolved_image: &'a str,
    },
    /// One line of a step's output.
    Output {
        /// The step.
        step: &'a str,
        /// The line, without its newline.
        line: &'a str,
    },
    /// A service is up (started, and healthy if it has a health check).
    ServiceReady {
        /// The service.
        step: &'a str,
        /// Time from start to ready.
        after: Duration,
        /// Whether a health check was waited for.
        healthy: bool,
    },
    /// A step ended.
    StepFinished {
        /// Its report.
        report: &'a StepReport,
    },
    /// Something worth saying: a pull, a kept resource, a teardown problem.
    Notice {
        /// The message.
        message: &'a str,
    },
    /// A stage ended.
    StageFinished {
        /// Its report.
        report: &'a StageReport,
    },
}

impl Event<'_> {
    /// The event as the lines the command line prints.
    pub fn render(&self) -> String {
        match self {
            Event::StageStarted { stage, run_id } => format!("=== stage `{stage}` (run {run_id})"),
            Event::StepStarted {
                step,
                type_name,
                image,
                resolved_image,
            } => {
                if image == resolved_image {
                    format!("--> {step} ({type_name}, {image})")
                } else {
                    format!("--> {step} ({type_name}, {image} as {resolved_image})")
                }
            }
            Event::Output { step, line } => format!("[{step}] {line}"),
            Event::ServiceReady {
                step,
                after,
                healthy,
            } => format!(
                "<-- {step} is {} after {}",
                if *healthy { "healthy" } else { "started" },
                format_duration(*after)
            ),
            Event::StepFinished { report } => match report.exit_code {
                Some(code) => format!(
                    "<-- {}: {} (exit code {code}) in {}",
                    report.name,
                    report.status.label(),
                    format_duration(report.duration)
                ),
                None => format!("<-- {}: {}", report.name, report.status.label()),
            },
            Event::Notice { message } => format!("note: {message}"),
            Event::StageFinished { report } => {
                let mut s = format!(
                    "=== summary of stage `{}`\n{}",
                    report.stage,
                    report.summary()
                );
                if let Some(m) = report.failure_message() {
                    s.push_str(&m);
                }
                s.trim_end().to_string()
            }
        }
    }
}

/// Receives events as a run goes. Called from the runner's tasks: keep it quick.
pub trait Observer: Send + Sync {
    /// One event.
    fn on_event(&self, event: &Event<'_>);
}

/// Prints every event to standard output as it happens (the command line's observer).
#[derive(Debug, Default, Clone, Copy)]
pub struct PrintObserver;

impl Observer for PrintObserver {
    fn on_event(&self, event: &Event<'_>) {
        println!("{}", event.render());
    }
}

/// Keeps every event's rendering in memory, to be printed later from the right thread
/// (libtest captures only what the test's own thread prints).
///
/// # Examples
///
/// ```
/// use pipeline_test_harness::report::{CollectObserver, Event, Observer};
/// let c = CollectObserver::default();
/// c.on_event(&Event::Notice { message: "hello" });
/// assert_eq!(c.take(), vec!["note: hello".to_string()]);
/// ```
#[derive(Debug, Default)]
pub struct CollectObserver {
    lines: Mutex<Vec<String>>,
}

impl CollectObserver {
    /// Takes the lines collected so far.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.lines.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Observer for CollectObserver {
    fn on_event(&self, event: &Event<'_>) {
        self.lines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(event.render());
    }
}

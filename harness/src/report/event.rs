//! Events as a run goes, and who hears them.

use std::sync::Mutex;
use std::time::Duration;

use super::{StageReport, StepReport, StepStatus};
use crate::duration::format_duration;
use crate::exit::ServiceExit;

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
        /// When the engine would have run the health check first (its interval), for a check
        /// whose interval is over a second: the harness probed it from the start instead.
        docker_first_check: Option<Duration>,
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
    /// A service stopped while it was waited for (its exit code is information: the stage
    /// goes on).
    ServiceExited {
        /// Who, with what code, why, and its last log lines.
        exit: &'a ServiceExit,
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
                docker_first_check,
            } => {
                let mut line = format!(
                    "<-- {step} is {} after {}",
                    if *healthy { "healthy" } else { "started" },
                    format_duration(*after)
                );
                if let Some(interval) = docker_first_check {
                    let interval = match interval.as_secs() {
                        s @ 1..60 if interval.subsec_nanos() == 0 => format!("{s}s"),
                        _ => format_duration(*interval),
                    };
                    line.push_str(&format!(
                        " (probed every 100 ms; Docker would first check after {interval})"
                    ));
                }
                line
            }
            Event::StepFinished { report }
                if matches!(report.status, StepStatus::NotRun { .. }) =>
            {
                format!("<-- {}: {}", report.name, report.status.label())
            }
            Event::StepFinished { report } => {
                let label = report.status.label();
                // The exit code, once: `FAILED (exit 2)` says it already.
                let code = match report.exit_code {
                    Some(code) if !label.contains("exit") => format!(" (exit code {code})"),
                    _ => String::new(),
                };
                format!(
                    "<-- {}: {label}{code} in {}",
                    report.name,
                    format_duration(report.duration)
                )
            }
            Event::Notice { message } => format!("note: {message}"),
            Event::ServiceExited { exit } => format!("note: {exit}"),
            Event::StageFinished { report } => {
                let mut s = format!(
                    "=== summary of stage `{}`\n{}",
                    report.stage,
                    report.summary()
                );
                if let Some(m) = report.failure_message_after_output() {
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
/// use pipeline_test_harness::{CollectObserver, Event, Observer};
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

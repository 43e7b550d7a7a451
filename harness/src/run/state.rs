//! The one record of a running stage: what each step returned, which containers exist, the
//! services that are up, and where the time went. Step functions return a [`StepResult`];
//! [`RunState::record`] is the only place that decides whether the stage goes on, and
//! [`outcome`] turns the record into the report's steps and outcome (pure, unit-tested).
//!
//! Run policies (`when`, `failure()`, `always()`) belong here: they read the record.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crate::plan::{PlannedStep, StepKind};
use crate::report::{Outcome, StepReport, StepStatus, Timings};
use crate::service::Service;
use crate::spec::Skip;

/// How one step ended, as its step function saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StepResult {
    pub status: StepStatus,
    pub exit_code: Option<i64>,
    pub duration: Duration,
    pub output_tail: Vec<String>,
}

impl StepResult {
    /// True when the steps after this one may run (a failure lets the `failure()` and
    /// `always()` steps after it run; exit 78 stops everything).
    pub fn goes_on(&self) -> bool {
        self.status != StepStatus::SkippedRest
    }

    /// A step that did not run, and why.
    pub fn not_run(reason: String) -> Self {
        StepResult {
            status: StepStatus::NotRun { reason },
            exit_code: None,
            duration: Duration::ZERO,
            output_tail: Vec::new(),
        }
    }
}

/// Everything recorded while a stage runs.
#[derive(Debug, Default)]
pub(crate) struct RunState {
    /// By step index: its result, once it has one.
    results: Vec<Option<StepResult>>,
    /// By step index: its container, once created.
    containers: Vec<Option<String>>,
    /// Services that came up, in the order they did.
    pub services: Vec<Service>,
    /// The first step that failed.
    first_failure: Option<usize>,
    /// Set once a step failed or exited 78: nothing more is started ahead of its turn.
    stopped: bool,
    /// Set once a step exited 78: nothing more runs.
    skip_rest: bool,
    pub timings: Timings,
}

impl RunState {
    /// A record for `steps` steps.
    pub fn new(steps: usize) -> Self {
        RunState {
            results: vec![None; steps],
            containers: vec![None; steps],
            ..Default::default()
        }
    }

    /// Whether a step has failed (the job's status is `failure`).
    pub fn failing(&self) -> bool {
        self.first_failure.is_some()
    }

    /// Records step `index`'s result; true when the steps after it may run.
    pub fn record(&mut self, index: usize, result: StepResult) -> bool {
        let go_on = result.goes_on();
        if !go_on || result.status.is_failure() {
            self.stopped = true;
        }
        if !go_on {
            self.skip_rest = true;
        }
        if result.status.is_failure() {
            self.first_failure.get_or_insert(index);
        }
        self.results[index] = Some(result);
        go_on
    }

    /// Records the container of step `index`.
    pub fn container_created(&mut self, index: usize, id: &str) {
        self.containers[index] = Some(id.to_string());
    }

    /// True once nothing more is started ahead of its turn (a step failed or exited 78).
    pub fn stopped(&self) -> bool {
        self.stopped
    }

    /// Why step `step` must not run now, if it must not: its policy against whether the
    /// stage is failing, or an earlier exit 78.
    pub fn skip_reason(&self, step: &PlannedStep) -> Option<StepResult> {
        if self.skip_rest {
            return Some(StepResult {
                status: StepStatus::Skipped,
                exit_code: None,
                duration: Duration::ZERO,
                output_tail: Vec::new(),
            });
        }
        match step.policy.skip(self.first_failure.is_some())? {
            Skip::AfterFailure => Some(StepResult {
                status: StepStatus::Skipped,
                exit_code: None,
                duration: Duration::ZERO,
                output_tail: Vec::new(),
            }),
            other => Some(StepResult::not_run(other.reason("step"))),
        }
    }

    /// The containers of the service steps that were created, healthy or not: (step, id).
    pub fn service_containers(&self, steps: &[PlannedStep]) -> Vec<(String, String)> {
        steps
            .iter()
            .zip(&self.containers)
            .filter(|(s, _)| s.kind == StepKind::Service)
            .filter_map(|(s, id)| Some((s.name.clone(), id.clone()?)))
            .collect()
    }
}

/// The run state behind its lock, for a short look or change (never held across an await).
pub(crate) fn lock(state: &Mutex<RunState>) -> MutexGuard<'_, RunState> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// The report of every step, in YAML order, and how the stage ended. A step without a result
/// did not run (`Skipped`), unless the stage's `timeout` cut it short: then the first run step
/// without one is the one that was running.
pub(crate) fn outcome(
    steps: &[PlannedStep],
    state: &RunState,
    timed_out: Option<Duration>,
) -> (Vec<StepReport>, Outcome) {
    let mut reports: Vec<StepReport> = steps
        .iter()
        .zip(&state.results)
        .map(|(step, result)| {
            let r = result.clone().unwrap_or(StepResult {
                status: StepStatus::Skipped,
                exit_code: None,
                duration: Duration::ZERO,
                output_tail: Vec::new(),
            });
            step_report(step, r)
        })
        .collect();
    let outcome = match (state.first_failure, timed_out) {
        (Some(i), _) => Outcome::Failed {
            step: reports[i].name.clone(),
            status: reports[i].status.clone(),
        },
        (None, Some(after)) => {
            let running = reports
                .iter_mut()
                .find(|r| r.kind == StepKind::Run && r.status == StepStatus::Skipped);
            let step = match running {
                Some(r) => {
                    r.status = StepStatus::TimedOut { after };
                    r.name.clone()
                }
                None => String::from("(stage)"),
            };
            Outcome::Failed {
                step,
                status: StepStatus::TimedOut { after },
            }
        }
        (None, None) => Outcome::Passed,
    };
    (reports, outcome)
}

/// A step's report from its plan and its result.
pub(crate) fn step_report(step: &PlannedStep, result: StepResult) -> StepReport {
    StepReport {
        name: step.name.clone(),
        type_name: step.type_name,
        kind: step.kind,
        image: step.resolved_image.clone(),
        status: result.status,
        exit_code: result.exit_code,
        duration: result.duration,
        output_tail: result.output_tail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps() -> Vec<PlannedStep> {
        crate::plan::plan_for_test(
            "      steps:\n      - {name: db, type: background, spec: {image: redis}}\n      - {name: one, type: run, spec: {container: alpine, script: x}}\n      - {name: two, type: run, spec: {container: alpine, script: y}}\n",
        )
        .steps
    }

    fn result(status: StepStatus) -> StepResult {
        StepResult {
            exit_code: match status {
                StepStatus::Failed { exit_code } => Some(exit_code),
                _ => None,
            },
            status,
            duration: Duration::from_millis(5),
            output_tail: Vec::new(),
        }
    }

    #[test]
    fn all_passed() {
        let steps = steps();
        let mut state = RunState::new(3);
        assert!(state.record(0, result(StepStatus::Running)));
        assert!(state.record(1, result(StepStatus::Passed)));
        assert!(state.record(2, result(StepStatus::Passed)));
        let (reports, outcome) = outcome(&steps, &state, None);
        assert_eq!(outcome, Outcome::Passed);
        assert_eq!(reports.len(), 3);
        assert!(!state.stopped());
    }

    #[test]
    fn the_first_failure_decides_and_later_steps_are_skipped() {
        let steps = steps();
        let mut state = RunState::new(3);
        state.record(0, result(StepStatus::Running));
        // A failure lets later steps be considered (for `failure()`), but stops prefetching.
        assert!(state.record(1, result(StepStatus::Failed { exit_code: 2 })));
        assert!(state.stopped());
        let (reports, outcome) = outcome(&steps, &state, None);
        assert_eq!(
            outcome,
            Outcome::Failed {
                step: "one".into(),
                status: StepStatus::Failed { exit_code: 2 }
            }
        );
        assert_eq!(reports[2].status, StepStatus::Skipped);
    }

    #[test]
    fn exit_78_stops_without_failing() {
        let steps = steps();
        let mut state = RunState::new(3);
        assert!(!state.record(1, result(StepStatus::SkippedRest)));
        let (reports, outcome) = outcome(&steps, &state, None);
        assert_eq!(outcome, Outcome::Passed);
        assert_eq!(reports[2].status, StepStatus::Skipped);
    }

    #[test]
    fn a_stage_timeout_blames_the_step_that_was_running() {
        let steps = steps();
        let mut state = RunState::new(3);
        state.record(0, result(StepStatus::Running));
        state.record(1, result(StepStatus::Passed));
        let after = Duration::from_secs(1);
        let (reports, outcome) = outcome(&steps, &state, Some(after));
        assert_eq!(reports[2].status, StepStatus::TimedOut { after });
        assert_eq!(
            outcome,
            Outcome::Failed {
                step: "two".into(),
                status: StepStatus::TimedOut { after }
            }
        );
        let (_, outcome) = outcome_with_all_done(&steps, after);
        assert!(matches!(outcome, Outcome::Failed { step, .. } if step == "(stage)"));
    }

    fn outcome_with_all_done(steps: &[PlannedStep], after: Duration) -> (Vec<StepReport>, Outcome) {
        let mut state = RunState::new(3);
        for i in 0..3 {
            state.record(i, result(StepStatus::Passed));
        }
        outcome(steps, &state, Some(after))
    }

    #[test]
    fn service_containers_lists_only_services() {
        let steps = steps();
        let mut state = RunState::new(3);
        state.container_created(0, "a");
        state.container_created(1, "b");
        assert_eq!(
            state.service_containers(&steps),
            [("db".to_string(), "a".to_string())]
        );
    }
}

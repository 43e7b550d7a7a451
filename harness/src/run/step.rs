//! A stage while its steps run: the blocks in order, each step to its end, its result into
//! the run state.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use futures::future::{BoxFuture, join_all};
use futures::{FutureExt, TryFutureExt};
use tokio::io::AsyncWriteExt;

use super::gate::{Gated, Gates};
use super::github::Job;
use super::launch::{Launcher, Removals};
use super::output::{Tail, pump_lines};
use super::schedule::{Start, batches};
use super::service::ServiceStart;
use super::state::{RunState, StepResult, lock};
use crate::Error;
use crate::engine::{Attached, EngineError};
use crate::plan::{Block, PlannedStep, StagePlan, StepKind};
use crate::report::{Event, Observer, StepStatus};

/// How a step's own function saw it end; [`StageRun::step`] adds the time and the output.
#[derive(Debug)]
pub(crate) struct Ended {
    pub status: StepStatus,
    pub exit_code: Option<i64>,
}

/// A stage whose resources are prepared, running its steps.
///
/// Its parts each own one concern: [`Launcher`] asks the engine for containers, [`Gates`]
/// holds run steps' containers started ahead of their turn, [`super::service::ServiceStart`]
/// waits for a service's readiness, [`Job`] carries a GitHub job's contexts from step to step.
/// This type owns the run state and decides, step by step, what runs.
pub(crate) struct StageRun {
    pub plan: StagePlan,
    pub launch: Launcher,
    pub gates: Gates,
    pub observer: Arc<dyn Observer>,
    /// The readiness budget of a service without one of its own.
    pub ready_timeout: std::time::Duration,
    pub state: Mutex<RunState>,
    /// `PIPELINE_TEST_KEEP`: finished steps' containers are kept unless it is `Never`
    /// (removed with the rest at teardown, or kept); a test's databases are kept by it.
    pub keep: crate::teardown::Keep,
    pub removals: Removals,
    /// A GitHub Actions job: what its steps have handed on so far.
    pub github: Option<Job>,
}

impl StageRun {
    /// The run state, for a short look or change (never held across an await).
    pub(crate) fn state(&self) -> MutexGuard<'_, RunState> {
        lock(&self.state)
    }

    /// Starts the run steps' containers ahead of their turn (see [`Gates::prefetch`]).
    pub(crate) async fn prefetch(&self) {
        self.gates
            .prefetch(&self.plan.steps, &self.launch, &self.state)
            .await;
    }

    /// The job's `outputs:`, evaluated now that its steps have run.
    pub(crate) fn github_outputs(&self) -> Vec<(String, String)> {
        let Some(job) = &self.github else {
            return Vec::new();
        };
        let failing = self.state().failing();
        job.outputs(&self.plan.outputs, failing, self.observer.as_ref())
    }

    /// Runs `block`; false when the steps after it must not run.
    pub(crate) fn exec<'a>(&'a self, block: &'a Block) -> BoxFuture<'a, bool> {
        async move {
            match block {
                Block::Step(i) => self.step(*i).await,
                Block::Sequence(children) => {
                    for batch in batches(children, |b| self.start_of(b)) {
                        // Alone, a block is awaited as it is (measurably quicker than a join).
                        let go = if batch.len() == 1 {
                            self.exec(&children[batch.start]).await
                        } else {
                            join_all(children[batch].iter().map(|c| self.exec(c)))
                                .await
                                .into_iter()
                                .all(|g| g)
                        };
                        if !go {
                            return false;
                        }
                    }
                    true
                }
                Block::Parallel(children) => join_all(children.iter().map(|c| self.exec(c)))
                    .await
                    .into_iter()
                    .all(|go| go),
            }
        }
        .boxed()
    }

    fn start_of(&self, block: &Block) -> Start {
        let Block::Step(i) = block else {
            return Start::InTurn;
        };
        let step = &self.plan.steps[*i];
        match step.kind {
            StepKind::Service
                if super::readiness::Readiness::of(
                    step,
                    &self.launch.prepared.facts(&step.resolved_image),
                )
                .health_check() =>
            {
                Start::HoldsNext
            }
            StepKind::Service => Start::Detached,
            StepKind::Run => Start::InTurn,
        }
    }

    /// Runs step `i` and records its result; false when the steps after it must not run.
    async fn step(&self, i: usize) -> bool {
        let step = &self.plan.steps[i];
        let mut skip = self.state().skip_reason(step);
        let mut turn = None;
        if let (None, Some(job), Some(_)) = (&skip, &self.github, &step.github) {
            match job.turn(step, &self.state) {
                Ok(super::github::Decision::Run(t)) => turn = Some(t),
                Ok(super::github::Decision::Skip(reason)) => {
                    skip = Some(StepResult::not_run(reason));
                }
                Err(message) => {
                    skip = Some(StepResult {
                        status: StepStatus::Error { message },
                        exit_code: None,
                        duration: std::time::Duration::ZERO,
                        output_tail: Vec::new(),
                    });
                }
            }
        }
        if let Some(result) = skip {
            if let Some(job) = &self.github {
                let failing = self.state().failing();
                job.skipped(step, failing, self.observer.as_ref());
            }
            if let StepStatus::NotRun { .. } = result.status {
                let report = super::state::step_report(step, result.clone());
                self.observer
                    .on_event(&Event::StepFinished { report: &report });
            }
            return self.state().record(i, result);
        }
        self.observer.on_event(&Event::StepStarted {
            step: &step.name,
            type_name: step.type_name,
            image: &step.image,
            resolved_image: &step.resolved_image,
        });
        let started = Instant::now();
        let tail = Mutex::new(Tail::default());
        let ended = match step.kind {
            StepKind::Service => {
                let start = ServiceStart {
                    launch: &self.launch,
                    state: &self.state,
                    observer: self.observer.as_ref(),
                    masks: &self.plan.masks,
                    ready_timeout: self.ready_timeout,
                    keep: self.keep,
                };
                start.run(step, started, &tail).await
            }
            StepKind::Run => self.run_step(step, &tail, turn).await,
        }
        .unwrap_or_else(|e| Ended {
            status: StepStatus::Error {
                message: e.to_string(),
            },
            exit_code: None,
        });
        let result = StepResult {
            status: ended.status,
            exit_code: ended.exit_code,
            duration: started.elapsed(),
            output_tail: tail.into_inner().unwrap_or_else(|e| e.into_inner()).lines(),
        };
        if step.kind == StepKind::Run || result.status.is_failure() {
            let report = super::state::step_report(step, result.clone());
            self.observer
                .on_event(&Event::StepFinished { report: &report });
        }
        let mut state = self.state();
        if step.kind == StepKind::Run {
            state.timings.run_steps += result.duration;
        }
        state.record(i, result)
    }

    /// A run step: its gated container is given the go (or, without one, a container runs
    /// the ordinary way); its output is pumped until its script ends.
    async fn run_step(
        &self,
        step: &PlannedStep,
        tail: &Mutex<Tail>,
        turn: Option<super::github::Turn>,
    ) -> Result<Ended, Error> {
        let engine = self.launch.engine.as_ref();
        let observer = self.observer.as_ref();
        let (id, work): (String, BoxFuture<'_, Result<i64, EngineError>>) =
            match self.gates.take(step, &self.launch, &self.state).await {
                Some(Ok(Gated { id, attached, .. })) => {
                    if let Some(turn) = &turn {
                        self.launch.upload_turn(step, &id, turn).await?;
                    }
                    let wait_id = id.clone();
                    let work = async move {
                        let Attached { output, mut input } = attached;
                        // The go: the gate reads one line and the shell becomes the script.
                        input.write_all(b"run\n").await.map_err(EngineError::new)?;
                        let _ = input.shutdown().await;
                        pump_lines(output, &step.name, observer, tail, &self.plan.masks).await;
                        // The output ended with the script: its exit code, from the engine.
                        engine.wait(&wait_id).await
                    };
                    (id, work.boxed())
                }
                Some(Err(e)) => return Err(e),
                None => {
                    let created = |id: &str| self.state().container_created(step.index, id);
                    let id = self
                        .launch
                        .create_and_start(step, turn.as_ref(), created)
                        .await?;
                    let container = id.clone();
                    let work = async move {
                        let stream = engine.logs(&container, true, None);
                        let lines =
                            pump_lines(stream, &step.name, observer, tail, &self.plan.masks);
                        tokio::join!(lines, engine.wait(&container)).1
                    };
                    (id, work.boxed())
                }
            };
        let exit = match step.timeout {
            Some(t) => tokio::time::timeout(t, work).map_err(|_| t).await,
            None => Ok(work.await),
        };
        let handed_on = match (&self.github, &turn) {
            (Some(job), Some(_)) => {
                let passed = matches!(exit, Ok(Ok(0)));
                let failing = self.state().failing();
                let observer = self.observer.as_ref();
                job.after(
                    step,
                    (&id, passed),
                    engine,
                    (failing, &self.plan.masks),
                    observer,
                )
                .await
            }
            _ => Ok(()),
        };
        if self.keep == crate::teardown::Keep::Never {
            let launch = &self.launch;
            self.removals
                .remove_soon(&launch.engine, id, launch.guard.resources());
        }
        let code = match exit {
            Err(after) => {
                return Ok(Ended {
                    status: StepStatus::TimedOut { after },
                    exit_code: None,
                });
            }
            Ok(code) => code.map_err(|e| e.doing(format!("wait for step `{}`", step.name)))?,
        };
        if let Err(message) = handed_on {
            return Ok(Ended {
                status: StepStatus::Error { message },
                exit_code: Some(code),
            });
        }
        let status = match code {
            0 => StepStatus::Passed,
            78 => StepStatus::SkippedRest,
            exit_code if step.continue_on_error => StepStatus::FailedAllowed { exit_code },
            exit_code => StepStatus::Failed { exit_code },
        };
        Ok(Ended {
            status,
            exit_code: Some(code),
        })
    }
}

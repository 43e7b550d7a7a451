//! A stage while its steps run: the blocks in order, each step to its end, its result into
//! the run state.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use futures::future::{BoxFuture, join_all};
use futures::{FutureExt, TryFutureExt};
use tokio::io::AsyncWriteExt;

use super::gate::{GateCell, Gated};
use super::launch::Removals;
use super::output::{Tail, pump_lines};
use super::prepare::Prepared;
use super::schedule::{Start, batches};
use super::state::{RunState, StepResult};
use crate::Error;
use crate::engine::{Attached, Engine, EngineError};
use crate::plan::{Block, PlannedStep, StagePlan, StepKind};
use crate::report::{Event, Observer, StepStatus};
use crate::teardown::Guard;

/// How a step's own function saw it end; [`StageRun::step`] adds the time and the output.
#[derive(Debug)]
pub(crate) struct Ended {
    pub status: StepStatus,
    pub exit_code: Option<i64>,
}

/// A stage whose resources are prepared, running its steps.
pub(crate) struct StageRun {
    pub engine: Engine,
    pub plan: StagePlan,
    pub prepared: Prepared,
    pub guard: Guard,
    pub observer: Arc<dyn Observer>,
    pub publish_ports: bool,
    /// Where published ports are bound and reached.
    pub reach: crate::engine::Reach,
    /// The readiness budget of a service without one of its own.
    pub ready_timeout: std::time::Duration,
    pub state: Mutex<RunState>,
    /// Per step: its container, started ahead of its turn and waiting at the gate.
    pub gates: Vec<GateCell>,
    /// Places for containers waiting at their gates ahead of their turn.
    pub lookahead: Arc<tokio::sync::Semaphore>,
    /// Finished steps' containers are kept for `PIPELINE_TEST_KEEP` (removed with the rest
    /// at teardown, or kept).
    pub keep_steps: bool,
    pub removals: Removals,
    /// A GitHub Actions job: what its steps have handed on so far.
    pub github: Option<Mutex<super::github::JobRun>>,
}

impl StageRun {
    /// The run state, for a short look or change (never held across an await).
    pub(crate) fn state(&self) -> MutexGuard<'_, RunState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
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
                    &self.prepared.facts(&step.resolved_image),
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
        if skip.is_none() && step.github.is_some() {
            match self.github_turn(step) {
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
            self.github_skipped(step);
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
            StepKind::Service => self.service(step, started, &tail).await,
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
        let engine = self.engine.as_ref();
        let observer = self.observer.as_ref();
        let (id, work): (String, BoxFuture<'_, Result<i64, EngineError>>) =
            match self.take_gated(step).await {
                Some(Ok(Gated { id, attached, .. })) => {
                    if let Some(turn) = &turn {
                        self.upload_turn(step, &id, turn).await?;
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
                    let id = match &turn {
                        Some(turn) => self.create_and_start_turn(step, turn).await?,
                        None => self.create_and_start(step).await?,
                    };
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
        let handed_on = match &exit {
            Ok(Ok(code)) if turn.is_some() => self.github_after(step, &id, *code == 0).await,
            _ if turn.is_some() => self.github_after(step, &id, false).await,
            _ => Ok(()),
        };
        if !self.keep_steps {
            self.removals
                .remove_soon(&self.engine, id, self.guard.resources());
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

//! Run steps' containers started ahead of their turn, each held at a gate.
//!
//! The gate is the step's own shell reading one line of standard input: on `run` it runs the
//! step's script (uploaded as a file before the container started) and exits with its status,
//! so the container's exit code is the script's, read from the engine once the container
//! stops: nothing the script prints can change it. On anything else (end of input: the harness went
//! away) it exits without running the script.
//!
//! At most a few containers wait at their gates at once ([`Limits::lookahead`]
//! (crate::Limits::lookahead)): one started ahead of its turn holds a permit until its step
//! takes it.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures::StreamExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::launch::Launcher;
use super::state::{RunState, lock};
use crate::Error;
use crate::engine::Attached;
use crate::plan::{ENV_FILE, PlannedStep, SCRIPT_PATH, StepKind};
use crate::spec::RunPolicy;

/// How many run steps' containers are being started ahead of their turn at once.
pub(crate) const PREFETCH: usize = 4;
/// How many started containers may wait at their gates at once, by default.
pub const DEFAULT_LOOKAHEAD: usize = 4;

/// The command that holds a run step's container at its gate. `None` for steps that do not
/// run a script through a shell with an absolute path (they run the ordinary way).
pub(crate) fn gate_command(step: &PlannedStep) -> Option<Vec<String>> {
    if step.kind != StepKind::Run || step.script.is_none() {
        return None;
    }
    let shell = step.entrypoint.as_ref()?.first()?;
    shell.starts_with('/').then(|| {
        vec![
            shell.clone(),
            "-c".into(),
            // The script runs as a child (a process 1 ignores signals it has no handler
            // for), and its status is the container's exit code.
            format!(
                "read -r go && [ \"$go\" = run ] || exit 1; [ ! -f {ENV_FILE} ] || . {ENV_FILE}; {shell} {SCRIPT_PATH}; exit $?"
            ),
        ]
    })
}

/// A run step's container, started ahead of its turn, waiting at its gate.
pub(crate) struct Gated {
    pub id: String,
    pub attached: Attached,
    /// The look-ahead place it takes until its step starts.
    pub _permit: Option<OwnedSemaphorePermit>,
}

/// What the gate of a step holds: nothing yet taken, or why its container could not start.
pub(crate) type GateCell = tokio::sync::OnceCell<Mutex<Option<Result<Gated, Error>>>>;

/// The gates of a stage's steps, and the look-ahead places their containers take.
pub(crate) struct Gates {
    /// Per step: its container, started ahead of its turn and waiting at the gate.
    cells: Vec<GateCell>,
    /// Places for containers waiting at their gates ahead of their turn.
    lookahead: Arc<Semaphore>,
}

impl Gates {
    /// Gates for `steps`, at most `lookahead` (at least one) waiting at once.
    pub(crate) fn new(steps: usize, lookahead: usize) -> Gates {
        Gates {
            cells: (0..steps).map(|_| GateCell::default()).collect(),
            lookahead: Arc::new(Semaphore::new(lookahead.max(1))),
        }
    }

    /// Starts the run steps' containers ahead of their turn, in order, while the services
    /// start and earlier steps run; never more than the look-ahead waiting at once, and
    /// nothing once the run `stopped`.
    pub(crate) async fn prefetch(
        &self,
        steps: &[PlannedStep],
        launch: &Launcher,
        state: &Mutex<RunState>,
    ) {
        // Only steps that run while the stage passes: a failure stops the prefetching anyway.
        let steps = steps.iter().filter(|s| {
            matches!(s.policy, RunPolicy::OnSuccess | RunPolicy::Always)
                && gate_command(s).is_some()
        });
        futures::stream::iter(steps)
            .for_each_concurrent(PREFETCH, |step| async move {
                let Ok(permit) = self.lookahead.clone().acquire_owned().await else {
                    return;
                };
                if lock(state).stopped() || self.cells[step.index].initialized() {
                    return;
                }
                self.cells[step.index]
                    .get_or_init(|| async {
                        Mutex::new(Some(start_gated(step, Some(permit), launch, state).await))
                    })
                    .await;
            })
            .await;
    }

    /// Step `step`'s gated container: started now, or already by the prefetcher, or the
    /// engine's reason it could not start; `None` when the step has no gate or it was taken.
    pub(crate) async fn take(
        &self,
        step: &PlannedStep,
        launch: &Launcher,
        state: &Mutex<RunState>,
    ) -> Option<Result<Gated, Error>> {
        gate_command(step)?;
        self.cells[step.index]
            .get_or_init(|| async {
                Mutex::new(Some(start_gated(step, None, launch, state).await))
            })
            .await
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }
}

/// Creates a run step's container with its script behind the gate, attaches to it (before it
/// starts, so that not a byte and not an early exit is missed), and starts it.
async fn start_gated(
    step: &PlannedStep,
    permit: Option<OwnedSemaphorePermit>,
    launch: &Launcher,
    state: &Mutex<RunState>,
) -> Result<Gated, Error> {
    let gate = gate_command(step).unwrap_or_default();
    let started = Instant::now();
    let id = launch
        .create(step, Some(gate), |id| {
            lock(state).container_created(step.index, id);
        })
        .await?;
    let attached = launch
        .engine
        .attach(&id)
        .await
        .map_err(|e| e.doing(format!("attach to the container of step `{}`", step.name)))?;
    launch.start(step, &id).await?;
    lock(state).timings.start_run_containers += started.elapsed();
    Ok(Gated {
        id,
        attached,
        _permit: permit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(spec: &str) -> PlannedStep {
        crate::plan::plan_for_test(&format!("      steps:\n      - {{name: s, {spec}}}\n"))
            .steps
            .remove(0)
    }

    #[test]
    fn the_gate_becomes_the_steps_shell_running_the_script_file() {
        let gate = gate_command(&step(
            "type: run, spec: {container: alpine, shell: bash, script: x}",
        ))
        .unwrap();
        assert_eq!(
            gate,
            [
                "/bin/bash",
                "-c",
                "read -r go && [ \"$go\" = run ] || exit 1; [ ! -f /pipeline-test/env ] || . /pipeline-test/env; /bin/bash /pipeline-test/script; exit $?"
            ]
        );
    }

    #[test]
    fn no_gate_for_services_or_shells_without_a_path() {
        assert!(gate_command(&step("type: background, spec: {image: redis}")).is_none());
        assert!(
            gate_command(&step(
                "type: run, spec: {container: alpine, shell: python, script: x}"
            ))
            .is_none()
        );
    }
}

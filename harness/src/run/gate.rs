//! Run steps' containers started ahead of their turn, each held at a gate.
//!
//! The gate is the step's own shell reading one line of standard input: on `run` it runs the
//! step's script, then prints an exit mark with the script's exit code on both streams, so a
//! step ends when its script does, not when its container has stopped. On anything else (end
//! of input: the harness went away) it exits without running the script.

use std::sync::Mutex;
use std::time::Instant;

use bollard::container::AttachContainerResults;
use bollard::query_parameters::AttachContainerOptionsBuilder;
use futures::StreamExt;

use super::step::StageRun;
use crate::plan::{PlannedStep, StepKind};
use crate::spec::RunPolicy;

/// How many run steps' containers are started ahead of their turn at once.
pub(crate) const PREFETCH: usize = 4;
/// The variable a gated container finds its script in.
pub(crate) const SCRIPT_ENV: &str = "PIPELINE_TEST_SCRIPT";
/// The variable holding the mark the gate prints, with the script's exit code, when the
/// script ends.
pub(crate) const MARK_ENV: &str = "PIPELINE_TEST_EXIT_MARK";

/// The exit mark of step `index` of run `run_id`: not something a script prints by chance.
pub(crate) fn exit_mark(run_id: &str, index: usize) -> String {
    format!("pipeline-test-exit-{run_id}-{index}")
}

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
            format!(
                "read -r go && [ \"$go\" = run ] && {{ {shell} -c \"${SCRIPT_ENV}\"; c=$?; printf '%s %d\\n' \"${MARK_ENV}\" $c; printf '%s %d\\n' \"${MARK_ENV}\" $c >&2; exit $c; }}"
            ),
        ]
    })
}

/// Finds `mark` in an output line: what the line held before it, and the exit code after it.
pub(crate) fn find_mark<'a>(line: &'a [u8], mark: &str) -> Option<(&'a [u8], Option<i64>)> {
    let mark = mark.as_bytes();
    let at = line.windows(mark.len()).position(|w| w == mark)?;
    let code = std::str::from_utf8(&line[at + mark.len()..])
        .ok()
        .and_then(|s| s.trim().parse().ok());
    Some((&line[..at], code))
}

/// The exit marks seen so far on standard output (0) and standard error (1).
#[derive(Debug, Default)]
pub(crate) struct ExitMarks([Option<i64>; 2]);

impl ExitMarks {
    /// Records a mark on `stream`; the script's exit code once both streams have theirs.
    pub fn seen(&mut self, stream: usize, code: Option<i64>) -> Option<i64> {
        self.0[stream] = code;
        match self.0 {
            [Some(code), Some(_)] => Some(code),
            _ => None,
        }
    }
}

/// A run step's container, started ahead of its turn, waiting at its gate.
pub(crate) struct Gated {
    pub id: String,
    pub attached: AttachContainerResults,
}

impl StageRun {
    /// Starts the run steps' containers ahead of their turn, a few at a time and in order,
    /// while the services start and earlier steps run.
    pub(crate) async fn prefetch(&self) {
        // Only steps that run while the stage passes: a failure stops the prefetching anyway.
        let steps = self.plan.steps.iter().filter(|s| {
            matches!(s.policy, RunPolicy::OnSuccess | RunPolicy::Always)
                && gate_command(s).is_some()
        });
        futures::stream::iter(steps)
            .for_each_concurrent(PREFETCH, |step| async move {
                if !self.state().stopped() {
                    self.gated(step).await;
                }
            })
            .await;
    }

    /// Step `step`'s gated container: started now, or already by the prefetcher; `None` when
    /// that was not possible (the step then runs the ordinary way) or it was taken already.
    pub(crate) async fn take_gated(&self, step: &PlannedStep) -> Option<Gated> {
        gate_command(step)?;
        self.gated(step)
            .await
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }

    async fn gated(&self, step: &PlannedStep) -> &Mutex<Option<Gated>> {
        self.gates[step.index]
            .get_or_init(|| async { Mutex::new(self.start_gated(step).await) })
            .await
    }

    /// Creates and starts a run step's container with its script behind the gate, and
    /// attaches to it.
    async fn start_gated(&self, step: &PlannedStep) -> Option<Gated> {
        let gate = gate_command(step)?;
        let started = Instant::now();
        let id = self.create(step, Some(gate)).await.ok()?;
        let opts = AttachContainerOptionsBuilder::default()
            .stdin(true)
            .stdout(true)
            .stderr(true)
            .stream(true)
            .build();
        let attached = self.docker.attach_container(&id, Some(opts)).await.ok();
        self.state().timings.start_run_containers += started.elapsed();
        match attached {
            Some(attached) => Some(Gated { id, attached }),
            None => {
                self.removals.remove_soon(&self.docker, id);
                None
            }
        }
    }
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
    fn the_gate_runs_the_script_with_the_steps_shell_and_prints_the_mark_twice() {
        let gate = gate_command(&step(
            "type: run, spec: {container: alpine, shell: bash, script: x}",
        ))
        .unwrap();
        assert_eq!(gate[0], "/bin/bash");
        assert_eq!(gate[1], "-c");
        assert!(gate[2].starts_with(
            "read -r go && [ \"$go\" = run ] && { /bin/bash -c \"$PIPELINE_TEST_SCRIPT\""
        ));
        assert_eq!(gate[2].matches("$PIPELINE_TEST_EXIT_MARK").count(), 2);
        assert!(gate[2].ends_with(">&2; exit $c; }"));
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

    #[test]
    fn marks() {
        let mark = exit_mark("0123456789ab", 2);
        assert_eq!(mark, "pipeline-test-exit-0123456789ab-2");
        let line = format!("partial{mark} 3");
        assert_eq!(
            find_mark(line.as_bytes(), &mark),
            Some((&b"partial"[..], Some(3)))
        );
        assert_eq!(
            find_mark(format!("{mark} x").as_bytes(), &mark),
            Some((&b""[..], None))
        );
        assert_eq!(find_mark(b"no mark here", &mark), None);
        let mut seen = ExitMarks::default();
        assert_eq!(seen.seen(1, Some(3)), None);
        assert_eq!(seen.seen(0, Some(3)), Some(3));
    }
}

//! GitHub Actions steps at their turn, as the runner does them: an `if:` or fields that read
//! what has run are evaluated then; each step gets fresh `$GITHUB_OUTPUT`, `$GITHUB_ENV`,
//! `$GITHUB_PATH` and `$GITHUB_STEP_SUMMARY` files, read back once it ends, so that
//! `steps.<id>.outputs`, `outcome` and `conclusion`, and variables and paths it added, reach
//! the steps after it.

use std::sync::Mutex;

mod expr;
mod job_run;

use self::expr::{expand, holds, status_of};
use self::job_run::JobRun;
use super::file_commands::parse_file_command;
use super::state::{RunState, lock};
use crate::engine::ContainerEngine;
use crate::expr::github::{Data, Status};
use crate::plan::PlannedStep;
use crate::ports::Protocol;
use crate::report::Observer;

/// A step's turn: the script to run instead of the planned one, and the variables its gate
/// exports.
#[derive(Debug, Default)]
pub(crate) struct Turn {
    pub script: Option<String>,
    /// The arguments, evaluated at the turn (a Docker action's `args`).
    pub cmd: Option<Vec<String>>,
    pub env: Vec<(String, String)>,
    /// Directories `$GITHUB_PATH` put before `PATH`, the latest first.
    pub path: Vec<String>,
}

/// `PATH` where neither the image's nor the step's is known: Debian's default.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

impl Turn {
    /// The turn's variables for a container created at the turn (no shell in between):
    /// `PATH` with the added directories before the step's own, or a default.
    pub(crate) fn container_env(&self, step_env: &[(String, String)]) -> Vec<(String, String)> {
        let mut env = self.env.clone();
        if !self.path.is_empty() {
            let base = step_env
                .iter()
                .rev()
                .find(|(k, _)| k == "PATH")
                .map_or(DEFAULT_PATH, |(_, v)| v.as_str());
            env.push(("PATH".into(), format!("{}:{base}", self.path.join(":"))));
        }
        env
    }
}

/// Whether a step runs at its turn.
pub(crate) enum Decision {
    Run(Turn),
    /// Skipped, with the reason.
    Skip(String),
}

/// A GitHub job while its steps run: what they have handed on, behind its lock.
#[derive(Debug)]
pub(crate) struct Job(Mutex<JobRun>);

impl Job {
    /// The job whose contexts, before its first step, are `contexts`.
    pub(crate) fn new(contexts: Data) -> Job {
        Job(Mutex::new(JobRun::new(contexts)))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, JobRun> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A GitHub step's turn: whether it runs, and with what (the run's `state` tells what
    /// failed and which services are up).
    pub(crate) fn turn(
        &self,
        step: &PlannedStep,
        state: &Mutex<RunState>,
    ) -> Result<Decision, String> {
        let Some(gh) = &step.github else {
            return Ok(Decision::Run(Turn::default()));
        };
        let (failing, services) = {
            let state = lock(state);
            let tcp = |s: &crate::service::Service| {
                let ports = s
                    .ports()
                    .iter()
                    .filter(|(p, _)| p.protocol == Protocol::Tcp);
                ports.map(|(p, h)| (p.number, *h)).collect::<Vec<_>>()
            };
            let services: Vec<_> = state
                .services
                .iter()
                .map(|s| (s.name.clone(), tcp(s)))
                .collect();
            (state.failing(), services)
        };
        let status = status_of(failing);
        let mut job = self.lock();
        job.published(&services);
        let contexts = job.scoped(gh.scope.as_ref(), failing, status)?;
        if let Some(c) = &gh.condition {
            if !holds(c, &contexts, status)? {
                return Ok(Decision::Skip(format!("`if: {}` is false", c.trim())));
            }
        }
        let mut turn = Turn::default();
        if let Some(commands) = &gh.commands {
            let expanded = commands
                .iter()
                .map(|c| expand(c, &contexts, status))
                .collect::<Result<Vec<_>, _>>()?;
            turn.script = Some(crate::plan::script_with(
                gh.set,
                expanded.iter().map(String::as_str),
            ));
        }
        let declared: Vec<&str> = step.env.iter().map(|(k, _)| k.as_str()).collect();
        for (k, v) in &job.env {
            if !declared.contains(&k.as_str()) {
                turn.env.push((k.clone(), v.clone()));
            }
        }
        if let Some(args) = &gh.args {
            let expanded = args
                .iter()
                .map(|a| expand(a, &contexts, status))
                .collect::<Result<Vec<_>, _>>()?;
            turn.cmd = Some(expanded);
        }
        if gh.commands.is_some() || gh.args.is_some() {
            for (k, v) in &step.env {
                if gh.env.contains(k) {
                    turn.env.push((k.clone(), expand(v, &contexts, status)?));
                }
            }
        }
        turn.path = job.path.clone();
        Ok(Decision::Run(turn))
    }

    /// The job's `outputs:`, evaluated now that its steps have run; one that cannot be is
    /// said and left out.
    pub(crate) fn outputs(
        &self,
        outputs: &[(String, String)],
        failing: bool,
        observer: &dyn Observer,
    ) -> Vec<(String, String)> {
        let status = status_of(failing);
        let contexts = self.lock().now(failing);
        let mut out = Vec::new();
        for (name, text) in outputs {
            match expand(text, &contexts, status) {
                Ok(v) => out.push((name.clone(), v)),
                Err(e) => {
                    let message = format!("the job output `{name}` cannot be evaluated: {e}");
                    observer.on_event(&crate::report::Event::Notice { message: &message });
                }
            }
        }
        out
    }

    /// A GitHub step that did not run: `steps.<id>.outcome` is `skipped`.
    pub(crate) fn skipped(&self, step: &PlannedStep, failing: bool, observer: &dyn Observer) {
        let Some(gh) = &step.github else {
            return;
        };
        let mut job = self.lock();
        let scope = gh.scope.as_ref();
        job.record(scope, gh.id.as_deref(), Vec::new(), "skipped", "skipped");
        for end in &gh.ends {
            if let Err(e) = job.finish(end, failing, Status::Success) {
                let message = format!(
                    "the outputs of the action `{}` cannot be evaluated: {e}",
                    end.uses
                );
                observer.on_event(&crate::report::Event::Notice { message: &message });
            }
        }
    }

    /// After a GitHub step's container `id` ended (`passed`: exit code 0): its file commands
    /// read back into the job, its summary printed (masked), its outcome recorded against
    /// whether the stage was `failing` before it.
    pub(crate) async fn after(
        &self,
        step: &PlannedStep,
        (id, passed): (&str, bool),
        engine: &dyn ContainerEngine,
        (failing, masks): (bool, &[String]),
        observer: &dyn Observer,
    ) -> Result<(), String> {
        let Some(gh) = &step.github else {
            return Ok(());
        };
        let files = super::file_commands::read(engine, id).await?;
        let get = |name: &str| {
            files
                .iter()
                .find(|(n, _)| n == name)
                .map_or("", |(_, t)| t.as_str())
        };
        let outputs =
            parse_file_command(get("output")).map_err(|e| format!("$GITHUB_OUTPUT: {e}"))?;
        let env = parse_file_command(get("env")).map_err(|e| format!("$GITHUB_ENV: {e}"))?;
        let summary = get("summary").trim_end();
        if !summary.is_empty() {
            let masked = crate::mask::apply(summary, masks);
            let message = format!("summary of step `{}`:\n{masked}", step.name);
            observer.on_event(&crate::report::Event::Notice { message: &message });
        }
        let mut job = self.lock();
        for (k, v) in env {
            job.env.retain(|(name, _)| *name != k);
            job.env.push((k, v));
        }
        for dir in get("path").lines().map(str::trim).filter(|l| !l.is_empty()) {
            job.path.insert(0, dir.to_string());
        }
        let outcome = if passed { "success" } else { "failure" };
        let conclusion = if passed || step.continue_on_error {
            "success"
        } else {
            "failure"
        };
        job.record(
            gh.scope.as_ref(),
            gh.id.as_deref(),
            outputs,
            outcome,
            conclusion,
        );
        let failing = (!passed && !step.continue_on_error) || failing;
        let status = status_of(failing);
        for end in &gh.ends {
            job.finish(end, failing, status)
                .map_err(|e| format!("the outputs of the action `{}`: {e}", end.uses))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_at_the_turn() {
        let ctx = Data::object([(
            "steps",
            Data::object([("a", Data::object([("outcome", Data::from("failure"))]))]),
        )]);
        assert!(holds("steps.a.outcome == 'failure'", &ctx, Status::Success).unwrap());
        assert!(!holds("steps.a.outcome == 'failure'", &ctx, Status::Failure).unwrap());
        assert!(
            holds(
                "${{ always() && steps.a.outcome == 'failure' }}",
                &ctx,
                Status::Failure
            )
            .unwrap()
        );
    }
}

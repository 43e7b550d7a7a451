//! GitHub Actions steps at their turn, as the runner does them: an `if:` or fields that read
//! what has run are evaluated then; each step gets fresh `$GITHUB_OUTPUT`, `$GITHUB_ENV`,
//! `$GITHUB_PATH` and `$GITHUB_STEP_SUMMARY` files, read back once it ends, so that
//! `steps.<id>.outputs`, `outcome` and `conclusion`, and variables and paths it added, reach
//! the steps after it.

use std::sync::{Arc, Mutex};

use super::file_commands::parse_file_command;
use super::state::{RunState, lock};
use crate::engine::ContainerEngine;
use crate::expr::github::{Data, Expr, Status, templates};
use crate::plan::PlannedStep;
use crate::ports::Protocol;
use crate::report::Observer;

use crate::spec::ActionScope;

/// What a GitHub job's steps have handed on so far.
#[derive(Debug)]
struct JobRun {
    /// The job's contexts, with `steps` as the steps have ended.
    contexts: Data,
    /// `NAME=value` from `$GITHUB_ENV`, in order.
    env: Vec<(String, String)>,
    /// Directories from `$GITHUB_PATH`, the latest first.
    path: Vec<String>,
    /// Each composite action in use, by its key: its `inputs` and `steps`.
    scopes: std::collections::HashMap<String, ScopeState>,
}

/// A composite action's own contexts while its steps run.
#[derive(Debug)]
struct ScopeState {
    inputs: Data,
    steps: crate::expr::github::Object,
    failed: bool,
}

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

impl JobRun {
    fn new(contexts: Data) -> JobRun {
        JobRun {
            contexts,
            env: Vec::new(),
            path: Vec::new(),
            scopes: Default::default(),
        }
    }

    /// `job.services.<id>.ports` as the engine published them (a free port it picked, in a
    /// test), from `(service, container port -> host port)`.
    fn published(&mut self, services: &[(String, Vec<(u16, u16)>)]) {
        let Data::Object(all) = &self.contexts else {
            return;
        };
        let mut all = (**all).clone();
        let Some(Data::Object(job)) = all.get("job") else {
            return;
        };
        let mut job = (**job).clone();
        let Some(Data::Object(known)) = job.get("services") else {
            return;
        };
        let mut known = (**known).clone();
        for (name, ports) in services.iter().filter(|(_, p)| !p.is_empty()) {
            let Some(Data::Object(entry)) = known.get(name) else {
                continue;
            };
            let mut entry = (**entry).clone();
            let ports = ports
                .iter()
                .map(|(c, h)| (c.to_string(), Data::from(h.to_string())));
            entry.set("ports", Data::object(ports));
            known.set(name.clone(), Data::Object(entry.into()));
        }
        job.set("services", Data::Object(known.into()));
        all.set("job", Data::Object(job.into()));
        self.contexts = Data::Object(all.into());
    }

    /// The contexts now: `job.status`, and `env` with what `$GITHUB_ENV` added.
    fn now(&self, failing: bool) -> Data {
        let Data::Object(all) = &self.contexts else {
            return self.contexts.clone();
        };
        let mut all = (**all).clone();
        let status = Data::from(if failing { "failure" } else { "success" });
        if let Some(Data::Object(job)) = all.get("job") {
            let mut job = (**job).clone();
            job.set("status", status);
            all.set("job", Data::Object(job.into()));
        }
        if !self.env.is_empty() {
            if let Some(Data::Object(env)) = all.get("env") {
                let mut env = (**env).clone();
                for (k, v) in &self.env {
                    env.insert(k.clone(), Data::from(v.as_str()));
                }
                all.set("env", Data::Object(env.into()));
            }
        }
        Data::Object(all.into())
    }

    /// The contexts a step of `scope` sees (the job's for `None`): a composite action's
    /// steps see its `inputs` (its `with:` evaluated in the caller's scope when it starts) and
    /// its own `steps`.
    fn scoped(
        &mut self,
        scope: Option<&Arc<ActionScope>>,
        failing: bool,
        status: Status,
    ) -> Result<Data, String> {
        let Some(scope) = scope else {
            return Ok(self.now(failing));
        };
        if !self.scopes.contains_key(&scope.key) {
            let caller = self.scoped(scope.parent.as_ref(), failing, status)?;
            let mut inputs = crate::expr::github::Object::default();
            for (name, text) in &scope.inputs {
                inputs.insert(name.clone(), Data::from(expand(text, &caller, status)?));
            }
            let state = ScopeState {
                inputs: Data::Object(inputs.into()),
                steps: Default::default(),
                failed: false,
            };
            self.scopes.insert(scope.key.clone(), state);
        }
        let Data::Object(all) = self.now(failing) else {
            return Ok(self.now(failing));
        };
        let mut all = (*all).clone();
        let state = &self.scopes[&scope.key];
        all.set("inputs", state.inputs.clone());
        all.set("steps", Data::Object(state.steps.clone().into()));
        Ok(Data::Object(all.into()))
    }

    /// Records how a step of `scope` ended in its `steps.<id>`.
    fn record(
        &mut self,
        scope: Option<&Arc<ActionScope>>,
        id: Option<&str>,
        outputs: Vec<(String, String)>,
        outcome: &str,
        conclusion: &str,
    ) {
        if let Some(state) = scope.and_then(|s| self.scopes.get_mut(&s.key)) {
            state.failed |= conclusion == "failure";
        }
        let Some(id) = id else { return };
        let outputs = Data::object(outputs.into_iter().map(|(k, v)| (k, Data::from(v))));
        let entry = Data::object([
            ("outputs", outputs),
            ("outcome", Data::from(outcome)),
            ("conclusion", Data::from(conclusion)),
        ]);
        if let Some(state) = scope.and_then(|s| self.scopes.get_mut(&s.key)) {
            state.steps.set(id, entry);
            return;
        }
        let Data::Object(all) = &mut self.contexts else {
            return;
        };
        let all = Arc::make_mut(all);
        let mut steps = match all.get("steps") {
            Some(Data::Object(s)) => (**s).clone(),
            _ => Default::default(),
        };
        steps.set(id, entry);
        all.set("steps", Data::Object(steps.into()));
    }

    /// A composite action's last step has ended: its `outputs`, evaluated in its scope,
    /// become the calling step's, with its outcome.
    fn finish(
        &mut self,
        scope: &Arc<ActionScope>,
        failing: bool,
        status: Status,
    ) -> Result<(), String> {
        let contexts = self.scoped(Some(scope), failing, status)?;
        let mut outputs = Vec::new();
        for (name, text) in &scope.outputs {
            outputs.push((name.clone(), expand(text, &contexts, status)?));
        }
        let failed = self.scopes.remove(&scope.key).is_some_and(|s| s.failed);
        let outcome = if failed { "failure" } else { "success" };
        self.record(
            scope.parent.as_ref(),
            scope.id.as_deref(),
            outputs,
            outcome,
            outcome,
        );
        Ok(())
    }
}

/// What the status functions see: `failure()` once a step has failed.
fn status_of(failing: bool) -> Status {
    if failing {
        Status::Failure
    } else {
        Status::Success
    }
}

/// Every `${{ }}` of `text` evaluated against `contexts`.
fn expand(text: &str, contexts: &Data, status: Status) -> Result<String, String> {
    let found = templates(text).map_err(|e| e.message)?;
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for t in found {
        out.push_str(&text[last..t.whole.0]);
        let code = text[t.inner.0..t.inner.1].trim();
        let value = Expr::parse(code, &crate::context::github::names())
            .and_then(|e| e.eval(contexts, status))
            .map_err(|e| format!("`${{{{ {code} }}}}`: {}", e.located(code)))?;
        out.push_str(&value.to_text());
        last = t.whole.1;
    }
    out.push_str(&text[last..]);
    Ok(nextgen_outputs(&out, contexts))
}

/// `text` with every Harness NextGen `<+execution.steps.X.output.outputVariables.Y>` (or
/// `<+steps.X...>`, or a step group's `<+execution.steps.G.steps.X...>`) replaced by step `X`'s
/// output `Y`, empty when it has none.
fn nextgen_outputs(text: &str, contexts: &Data) -> String {
    const KEY: &str = ".output.outputVariables.";
    if !text.contains(KEY) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("<+") {
        let Some(len) = rest[start..].find('>') else {
            break;
        };
        let inner = &rest[start + 2..start + len];
        out.push_str(&rest[..start]);
        let value = inner.split_once(KEY).and_then(|(path, var)| {
            let step = path.rsplit("steps.").next()?;
            let outputs = contexts.get("steps")?.get(step)?.get("outputs")?;
            Some(outputs.get(var).map(Data::to_text).unwrap_or_default())
        });
        match value {
            Some(v) => out.push_str(&v),
            None if inner.contains(KEY) => {}
            None => out.push_str(&rest[start..=start + len]),
        }
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    out
}

/// An `if:` evaluated at the step's turn: `success() &&` unless it calls a status function.
fn holds(condition: &str, contexts: &Data, status: Status) -> Result<bool, String> {
    let t = condition.trim();
    let code = t
        .strip_prefix("${{")
        .and_then(|c| c.strip_suffix("}}"))
        .filter(|c| !c.contains("${{"))
        .unwrap_or(t)
        .trim();
    let e = Expr::parse(code, &crate::context::github::names()).map_err(|e| e.located(code))?;
    let value = e.eval(contexts, status).map_err(|e| e.located(code))?;
    Ok(value.truthy() && (e.calls_status() || status == Status::Success))
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

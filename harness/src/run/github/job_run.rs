//! What a GitHub job's steps have handed on while they run: the contexts (`steps`, `env`,
//! `job.services`), `$GITHUB_ENV` and `$GITHUB_PATH`, and each composite action's own scope.

use std::sync::Arc;

use super::expr::expand;
use crate::expr::github::{Data, Status};
use crate::spec::ActionScope;

/// What a GitHub job's steps have handed on so far.
#[derive(Debug)]
pub(super) struct JobRun {
    /// The job's contexts, with `steps` as the steps have ended.
    contexts: Data,
    /// `NAME=value` from `$GITHUB_ENV`, in order.
    pub(super) env: Vec<(String, String)>,
    /// Directories from `$GITHUB_PATH`, the latest first.
    pub(super) path: Vec<String>,
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

impl JobRun {
    pub(super) fn new(contexts: Data) -> JobRun {
        JobRun {
            contexts,
            env: Vec::new(),
            path: Vec::new(),
            scopes: Default::default(),
        }
    }

    /// `job.services.<id>.ports` as the engine published them (a free port it picked, in a
    /// test), from `(service, container port -> host port)`.
    pub(super) fn published(&mut self, services: &[(String, Vec<(u16, u16)>)]) {
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
    pub(super) fn now(&self, failing: bool) -> Data {
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
    pub(super) fn scoped(
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
    pub(super) fn record(
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
    pub(super) fn finish(
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

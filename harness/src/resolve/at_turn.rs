//! GitHub Actions steps whose expressions read what only the job's run knows (`steps`,
//! `job`, `needs`, `env` set by `$GITHUB_ENV`): kept as written, checked, and evaluated at the
//! step's turn by the runner; a composite action's steps likewise, in their action's scope.

use super::Resolver;
use crate::diagnostic::Diagnostic;
use crate::expr::github::{Data, Expr, templates};
use crate::source::Spanned;
use crate::spec::RunPolicy;
/// What only the job's run knows: a step's outputs, the job's status, another job's
/// results; `env` names the file does not declare may come from `$GITHUB_ENV`.
pub(super) fn reads_at_turn(text: &str, whole: bool, contexts: &Data) -> bool {
    let codes: Vec<&str> = if whole && !text.contains("${{") {
        vec![text]
    } else {
        match templates(text) {
            Ok(t) => t.iter().map(|t| &text[t.inner.0..t.inner.1]).collect(),
            Err(_) => return false,
        }
    };
    codes.iter().any(|code| {
        let Ok(e) = Expr::parse(code, &crate::context::github::names()) else {
            return false;
        };
        e.paths().iter().any(|(p, _)| match p.as_slice() {
            [root, ..] if matches!(root.as_str(), "steps" | "job" | "needs") => true,
            [root, name, ..] if root == "env" => {
                contexts.get("env").and_then(|env| env.get(name)).is_none()
            }
            [root] => root == "env",
            _ => false,
        })
    })
}

impl Resolver<'_> {
    /// A GitHub run step whose expressions read what exists only once the job runs: those
    /// fields stay as written (checked, not evaluated) for the runner to evaluate at the
    /// step's turn. True when the step is done with (its `if:` decides at its turn).
    pub(super) fn github_at_turn(&mut self, step: &mut crate::spec::Step, contexts: &Data) -> bool {
        let in_action = matches!(
            step.spec,
            crate::spec::StepSpec::Run(_) | crate::spec::StepSpec::Script(_)
        );
        if step.at_turn.scope.is_some() && in_action {
            // A composite action's step: its expressions see the action's scope, known at
            // its turn.
            step.at_turn.fields = true;
            step.policy = match &step.when {
                Some(crate::spec::When::Expr(e)) => {
                    step.at_turn.condition = Some(e.clone());
                    RunPolicy::Always
                }
                _ => RunPolicy::OnSuccess,
            };
            return true;
        }
        let crate::spec::StepSpec::Run(run) = &step.spec else {
            return false;
        };
        let fields = run
            .script
            .iter()
            .any(|s| reads_at_turn(&s.value, false, contexts))
            || run
                .envs
                .iter()
                .any(|(_, v)| reads_at_turn(v, false, contexts));
        let condition = match &step.when {
            Some(crate::spec::When::Expr(e)) if reads_at_turn(&e.value, true, contexts) => {
                Some(e.clone())
            }
            _ => None,
        };
        if fields {
            step.at_turn.fields = true;
            let crate::spec::StepSpec::Run(run) = &mut step.spec else {
                return false;
            };
            let mut texts: Vec<Spanned<String>> = run.script.clone();
            texts.extend(run.envs.0.iter().map(|e| e.value.clone()));
            for t in &texts {
                self.github_check(t);
            }
            if let Some(c) = &mut run.container {
                self.container(c, &scope_of(contexts));
            }
        }
        let Some(condition) = condition else {
            if fields {
                // The `if:` (if any) is known now.
                step.policy = match step.when.clone() {
                    Some(crate::spec::When::Expr(e)) => self.github_policy(&e, contexts),
                    _ => RunPolicy::OnSuccess,
                };
            }
            return fields;
        };
        self.github_check_condition(&condition);
        step.at_turn.condition = Some(condition);
        step.policy = RunPolicy::Always;
        if !fields {
            let scope = scope_of(contexts);
            if let crate::spec::StepSpec::Run(r) = &mut step.spec {
                self.list(&mut r.script, &scope);
                self.envs(&mut r.envs, &scope);
                if let Some(c) = &mut r.container {
                    self.container(c, &scope);
                }
            }
        }
        true
    }

    /// Parses every `${{ }}` of `s` (kept for the step's turn): GitHub's refusals now.
    fn github_check(&mut self, s: &Spanned<String>) {
        let Ok(found) = templates(&s.value) else {
            let mut copy = s.clone();
            self.github_one(&mut copy, &Data::object::<&str>([]));
            return;
        };
        for t in found {
            let raw = &s.value[t.inner.0..t.inner.1];
            let at = t.inner.0 + raw.len() - raw.trim_start().len();
            let code = raw.trim();
            match Expr::parse(code, &crate::context::github::names()) {
                Ok(e) => self.step_reads(s, at, &e),
                Err(e) => self.github_error(s, at, &e, code),
            }
        }
    }

    fn github_check_condition(&mut self, e: &Spanned<String>) {
        if e.value.contains("${{") {
            self.github_check(e);
            return;
        }
        match Expr::parse(e.value.trim(), &crate::context::github::names()) {
            Ok(parsed) => self.step_reads(e, 0, &parsed),
            Err(err) => self.github_error(e, 0, &err, e.value.trim()),
        }
    }

    /// A warning for `steps.<id>` that no step of the job has, or whose step is an action
    /// skipped here: it is empty.
    fn step_reads(&mut self, s: &Spanned<String>, at: usize, e: &Expr) {
        for (path, offset) in e.paths() {
            let [root, id, rest @ ..] = path.as_slice() else {
                continue;
            };
            if root != "steps" || id == "*" {
                continue;
            }
            let written = path.join(".");
            let message = match self.step_ids.iter().find(|(i, _)| i == id) {
                None => format!("`{written}` is empty: no step of this job has the id `{id}`"),
                Some((_, true)) if rest.first().is_some_and(|r| r == "outputs") => format!(
                    "`{written}` is empty here: the step `{id}` is an action, which pipeline-test skips"
                ),
                _ => continue,
            };
            let span = self.at(s, at + offset);
            let ids: Vec<&str> = self.step_ids.iter().map(|(i, _)| i.as_str()).collect();
            let mut d = Diagnostic::new(span, message).warning();
            if let Some(m) = crate::diagnostic::did_you_mean(id, &ids) {
                d = d.with_label(format!("did you mean `{m}`?"));
            }
            self.diags.push(d);
        }
    }
}

/// A scope of these GitHub contexts alone.
fn scope_of(contexts: &Data) -> crate::expr::Scope {
    let mut s = crate::expr::Scope::default();
    s.set_github(contexts.clone());
    s
}

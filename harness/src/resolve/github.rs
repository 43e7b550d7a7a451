//! GitHub Actions files: their `${{ }}` in GitHub's own language, against the job's
//! contexts, and `if:` as GitHub reads it (`success() &&` unless a status function is
//! called). What exists only once the job runs (`steps.*`, `needs.*.outputs`) is empty here,
//! with a warning where it is read.

use super::Resolver;
use crate::diagnostic::Diagnostic;
use crate::expr::github::{Data, ErrorKind, Expr, GhError, Status, templates};
use crate::source::Spanned;
use crate::spec::RunPolicy;

impl Resolver<'_> {
    /// Expands every `${{ }}` of `s` in place.
    pub(super) fn github_one(&mut self, s: &mut Spanned<String>, contexts: &Data) {
        if !s.value.contains("${{") {
            return;
        }
        let found =
            match templates(&s.value) {
                Ok(f) => f,
                Err(e) => {
                    // GitHub's message says it all; no position within an expression.
                    let span = self.at(s, e.offset);
                    self.diags.push(Diagnostic::new(span, e.message).with_help(
                        "GitHub refuses the workflow with this error; close it with `}}`",
                    ));
                    return;
                }
            };
        let mut out = String::with_capacity(s.value.len());
        let mut last = 0;
        let mut failed = false;
        for t in &found {
            out.push_str(&s.value[last..t.whole.0]);
            match self.github_eval(s, t.inner, contexts, Status::Success) {
                Some(v) => out.push_str(&v.to_text()),
                None => failed = true,
            }
            last = t.whole.1;
        }
        out.push_str(&s.value[last..]);
        if !failed {
            s.value = out;
        }
    }

    /// An `if:` of a job or a step: with or without `${{ }}`, `success() && (...)` unless it
    /// calls a status function.
    pub(super) fn github_policy(&mut self, e: &Spanned<String>, contexts: &Data) -> RunPolicy {
        let text = e.value.as_str();
        let trimmed = text.trim();
        let lead = text.len() - text.trim_start().len();
        let whole = templates(text).ok().and_then(|t| match t.as_slice() {
            [one] if one.whole == (lead, lead + trimmed.len()) => Some(one.inner),
            _ => None,
        });
        let inner = match whole {
            Some(inner) => inner,
            None if !text.contains("${{") => (0, text.len()),
            None => {
                // Text around an expression: a string, true when not empty.
                let mut copy = e.clone();
                self.github_one(&mut copy, contexts);
                return if copy.value.is_empty() {
                    RunPolicy::Never(format!("`if: {trimmed}` is false"))
                } else {
                    RunPolicy::OnSuccess
                };
            }
        };
        let raw = &text[inner.0..inner.1];
        let inner = (
            inner.0 + raw.len() - raw.trim_start().len(),
            inner.0 + raw.trim_end().len(),
        );
        let code = &text[inner.0..inner.1];
        let parsed = match Expr::parse(code, &crate::spec::github_names()) {
            Ok(p) => p,
            Err(err) => {
                self.github_error(e, inner.0, &err, code);
                return RunPolicy::OnSuccess;
            }
        };
        self.runtime_reads(e, inner.0, &parsed);
        if let Some(job) = self.not_run(&parsed) {
            return RunPolicy::Never(format!(
                "its `if:` reads the outputs of the job `{job}`, which has not run (run the whole workflow)"
            ));
        }
        let status = parsed.calls_status();
        let mut holds = |st: Status| match parsed.eval(contexts, st) {
            Ok(v) => Some(v.truthy()),
            Err(err) => {
                self.github_error(e, inner.0, &err, code);
                None
            }
        };
        let Some(on_success) = holds(Status::Success) else {
            return RunPolicy::OnSuccess;
        };
        let on_failure = status && holds(Status::Failure).unwrap_or(false);
        match (on_success, on_failure) {
            (true, true) => RunPolicy::Always,
            (true, false) => RunPolicy::OnSuccess,
            (false, true) => RunPolicy::OnFailure,
            (false, false) => RunPolicy::Never(format!("`if: {trimmed}` is false")),
        }
    }

    /// Parses and evaluates the expression at `inner` of `s`; a problem is a diagnostic.
    pub(super) fn github_eval(
        &mut self,
        s: &Spanned<String>,
        inner: (usize, usize),
        contexts: &Data,
        status: Status,
    ) -> Option<Data> {
        // GitHub reads the expression without the spaces around it.
        let raw = &s.value[inner.0..inner.1];
        let inner = (
            inner.0 + raw.len() - raw.trim_start().len(),
            inner.0 + raw.trim_end().len(),
        );
        let code = &s.value[inner.0..inner.1];
        let parsed = match Expr::parse(code, &crate::spec::github_names()) {
            Ok(p) => p,
            Err(e) => {
                self.github_error(s, inner.0, &e, code);
                return None;
            }
        };
        self.runtime_reads(s, inner.0, &parsed);
        self.missing_secrets(s, inner.0, &parsed, contexts);
        self.unknown_properties(s, inner.0, &parsed, contexts);
        let root = self.ctx.root.clone();
        let hash = move |patterns: &[String]| match &root {
            Some(r) => crate::expr::github::hash_files(r, patterns),
            None => Err("hashFiles needs a workspace: run inside a git repository".into()),
        };
        match parsed.eval_with(contexts, status, &hash) {
            Ok(v) => Some(v),
            // What it reads is not known yet (warned above): no error of its own.
            Err(_) if self.not_run(&parsed).is_some() => None,
            Err(e) => {
                self.github_error(s, inner.0, &e, code);
                None
            }
        }
    }

    /// A job whose outputs `e` reads and that has not run.
    fn not_run(&self, e: &Expr) -> Option<String> {
        e.paths().into_iter().find_map(|(p, _)| match p.as_slice() {
            [root, job, out, ..]
                if root == "needs"
                    && out == "outputs"
                    && !self.ctx.job_results.contains_key(job) =>
            {
                Some(job.clone())
            }
            _ => None,
        })
    }

    fn github_error(&mut self, s: &Spanned<String>, at: usize, e: &GhError, code: &str) {
        let span = self.at(s, at + e.offset);
        let help = match e.kind {
            ErrorKind::Evaluation => "GitHub fails the job at this expression; fix it",
            _ => "GitHub refuses the workflow with this error; fix the expression",
        };
        self.diags.push(
            Diagnostic::new(
                span,
                format!("cannot evaluate this expression: {}", e.located(code)),
            )
            .with_help(help),
        );
    }

    /// A warning for each read of another job's outputs before that job has run.
    fn runtime_reads(&mut self, s: &Spanned<String>, at: usize, e: &Expr) {
        for (path, offset) in e.paths() {
            let written = path.join(".");
            let [root, job, out, ..] = path.as_slice() else {
                continue;
            };
            if root != "needs" || out != "outputs" || self.ctx.job_results.contains_key(job) {
                continue;
            }
            let mut d = Diagnostic::new(
                self.at(s, at + offset),
                format!("`{written}` is known once the job `{job}` has run"),
            )
            .warning()
            .with_label("known only at run time")
            .with_help(format!(
                "`pipeline-test run` of the whole workflow runs `{job}` first; a run or a test of this job alone sees it empty"
            ));
            d.until_job_runs = Some(job.clone());
            self.diags.push(d);
        }
    }

    /// A warning for a property that `github`, `runner` or `strategy` never have (a likely
    /// typo): it is empty, as on GitHub, which runs the workflow all the same.
    fn unknown_properties(&mut self, s: &Spanned<String>, at: usize, e: &Expr, contexts: &Data) {
        for (path, offset) in e.paths() {
            let [root, name, ..] = path.as_slice() else {
                continue;
            };
            if !matches!(root.as_str(), "github" | "runner" | "strategy") {
                continue;
            }
            let Some(Data::Object(o)) = contexts.get(root) else {
                continue;
            };
            if o.get(name).is_some() {
                continue;
            }
            let keys: Vec<&str> = o.entries().iter().map(|(k, _)| k.as_str()).collect();
            let mut d = Diagnostic::new(
                self.at(s, at + offset),
                format!("`{root}` has no `{name}`: it is empty here, as on GitHub"),
            )
            .warning();
            d = match crate::diagnostic::did_you_mean(name, &keys) {
                Some(m) => d.with_label(format!("did you mean `{m}`?")),
                None => d.with_help(format!("`{root}` has: {}", keys.join(", "))),
            };
            self.diags.push(d);
        }
    }

    /// A warning for each `secrets.NAME` not supplied (it is empty, as on GitHub).
    fn missing_secrets(&mut self, s: &Spanned<String>, at: usize, e: &Expr, contexts: &Data) {
        for (path, offset) in e.paths() {
            let [root, name, ..] = path.as_slice() else {
                continue;
            };
            if root != "secrets" || contexts.get("secrets").and_then(|x| x.get(name)).is_some() {
                continue;
            }
            let span = self.at(s, at + offset);
            let upper = name.to_ascii_uppercase();
            self.diags.push(
                Diagnostic::new(
                    span,
                    format!("the secret `{name}` is not supplied: it expands to \"\", as on GitHub"),
                )
                .warning()
                .with_help(format!(
                    "pass it with `--secret {name}=VALUE` or `--secret-file FILE`, or set {}{upper}",
                    crate::context::SECRET_ENV_PREFIX
                )),
            );
        }
    }
}

/// The GitHub contexts of one matrix copy: `matrix` with its values typed (each is JSON
/// text, see the GitHub reader), `strategy` with its index and count.
pub(super) fn with_matrix(
    scope: &mut crate::expr::Scope,
    combo: &[(String, String)],
    index: usize,
    total: usize,
) {
    let matrix = Data::object(combo.iter().map(|(k, v)| (k.clone(), typed(v))));
    scope.set_github_context("matrix", matrix);
    let strategy = Data::object([
        ("fail-fast", Data::Bool(true)),
        ("job-index", Data::Number(index as f64)),
        ("job-total", Data::Number(total as f64)),
        ("max-parallel", Data::Number(total as f64)),
    ]);
    scope.set_github_context("strategy", strategy);
}

/// A matrix value: JSON text as the GitHub reader writes it.
fn typed(v: &str) -> Data {
    crate::expr::github::from_json(v).unwrap_or_else(|_| Data::from(v))
}

/// How GitHub names a matrix copy: `test (stable, ubuntu-latest)`, an object's values in
/// their order.
pub(super) fn label(name: &str, combo: &[(String, String)]) -> String {
    fn flat(v: &Data, out: &mut Vec<String>) {
        match v {
            Data::Object(o) => o.entries().iter().for_each(|(_, v)| flat(v, out)),
            Data::Array(a) => a.items.iter().for_each(|v| flat(v, out)),
            v => out.push(v.to_text()),
        }
    }
    let mut parts = Vec::new();
    for (_, v) in combo {
        flat(&typed(v), &mut parts);
    }
    format!("{name} ({})", parts.join(", "))
}

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
        let Ok(e) = Expr::parse(code, &crate::spec::github_names()) else {
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
            match Expr::parse(code, &crate::spec::github_names()) {
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
        match Expr::parse(e.value.trim(), &crate::spec::github_names()) {
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

impl Resolver<'_> {
    /// A job's matrix with what expressions compute (`matrix: ${{ fromJSON(...) }}`, or an
    /// axis), evaluated now. `Err` with the reason when it reads a job that has not run.
    pub(super) fn github_matrix(
        &mut self,
        stage: &crate::spec::Stage,
        contexts: &Data,
    ) -> Result<crate::spec::Matrix, String> {
        let mut m = stage
            .strategy
            .as_ref()
            .and_then(|s| s.matrix.clone())
            .unwrap_or_default();
        for (axis, e) in &stage.matrix_exprs {
            let text = e.value.trim();
            let inner = match templates(text).ok().as_deref() {
                Some([t]) if t.whole == (0, text.len()) => t.inner,
                _ => (0, text.len()),
            };
            let lead = e.value.len() - e.value.trim_start().len();
            let code = text[inner.0..inner.1].trim();
            if let Ok(parsed) = Expr::parse(code, &crate::spec::github_names()) {
                let waiting = parsed
                    .paths()
                    .into_iter()
                    .find_map(|(p, _)| match p.as_slice() {
                        [root, job, ..]
                            if root == "needs" && !self.ctx.job_results.contains_key(job) =>
                        {
                            Some(job.clone())
                        }
                        _ => None,
                    });
                if let Some(job) = waiting {
                    let mut d = Diagnostic::new(
                            self.at(e, lead + inner.0),
                            format!("this matrix is computed from the job `{job}`'s outputs: it is known once `{job}` has run"),
                        )
                        .warning()
                        .with_label("known only at run time")
                        .with_help(format!("`pipeline-test run` of the whole workflow runs `{job}` first; alone, this job is skipped"));
                    d.until_job_runs = Some(job.clone());
                    self.diags.push(d);
                    return Err(format!(
                        "its matrix comes from the outputs of the job `{job}`, which has not run (run the whole workflow)"
                    ));
                }
            }
            let spanned = Spanned::new(e.value.clone(), e.span);
            let Some(value) = self.github_eval(
                &spanned,
                (lead + inner.0, lead + inner.1),
                contexts,
                Status::Success,
            ) else {
                return Err("its matrix expression cannot be evaluated".into());
            };
            let json = |v: &Data| Spanned::new(crate::expr::github::to_json_compact(v), e.span);
            let combos = |v: Option<&Data>| -> Vec<Vec<(String, String)>> {
                v.and_then(Data::items)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|c| match c {
                        Data::Object(o) => Some(
                            o.entries()
                                .iter()
                                .map(|(k, v)| (k.clone(), json(v).value))
                                .collect(),
                        ),
                        _ => None,
                    })
                    .collect()
            };
            match (axis, &value) {
                (Some(name), Data::Array(a)) => {
                    m.axis
                        .push((name.clone(), a.items.iter().map(json).collect()));
                }
                (None, Data::Object(o)) => {
                    for (k, v) in o.entries() {
                        match k.as_str() {
                            "include" => m.include.extend(combos(Some(v))),
                            "exclude" => m.exclude.extend(combos(Some(v))),
                            _ => {
                                let values =
                                    v.items().unwrap_or_default().iter().map(json).collect();
                                m.axis.push((Spanned::new(k.clone(), e.span), values));
                            }
                        }
                    }
                }
                (_, other) => {
                    let want = if axis.is_some() {
                        "an array"
                    } else {
                        "an object"
                    };
                    self.diags.push(
                        Diagnostic::new(
                            e.span,
                            format!(
                                "this matrix expression gives {} ({}), not {want}",
                                other.kind(),
                                other.to_text()
                            ),
                        )
                        .with_help("GitHub fails the job here"),
                    );
                    return Err("its matrix expression does not give a matrix".into());
                }
            }
        }
        Ok(m)
    }
}

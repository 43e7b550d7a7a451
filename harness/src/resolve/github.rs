//! GitHub Actions files: their `${{ }}` in GitHub's own language, against the job's
//! contexts, and `if:` as GitHub reads it (`success() &&` unless a status function is
//! called). What exists only once the job runs (`steps.*`, `needs.*.outputs`) is empty here,
//! with a warning where it is read.

use super::Resolver;
use crate::diagnostic::Diagnostic;
use crate::expr::Scope;
use crate::expr::github::{Data, ErrorKind, Expr, GhError, Status, templates};
use crate::source::Spanned;
use crate::spec::{Envs, RunPolicy};

/// `scope` with its `env` context holding `envs` (a GitHub job's workflow and job variables)
/// as evaluated, for the job's steps; `None` outside GitHub Actions or without variables.
pub(super) fn with_evaluated_env(scope: &Scope, envs: &Envs) -> Option<Scope> {
    let Some(Data::Object(env)) = scope.github()?.get("env") else {
        return None;
    };
    if envs.0.is_empty() {
        return None;
    }
    let mut env = env.clone();
    let o = std::sync::Arc::make_mut(&mut env);
    for e in &envs.0 {
        // The runner's own variables are not in the context.
        if o.get(&e.name.value).is_some() {
            o.set(e.name.value.clone(), Data::from(e.value.value.as_str()));
        }
    }
    let mut out = scope.clone();
    out.set_github_context("env", Data::Object(env));
    Some(out)
}

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
            if out.len() > crate::expr::MAX_VALUE_BYTES {
                let e = crate::expr::too_large(t.inner.0);
                let span = self.at(s, e.offset);
                self.diags.push(Diagnostic::new(span, e.message).with_help(
                    "this expands to more text than a pipeline needs; expand the value less often",
                ));
                return;
            }
        }
        out.push_str(&s.value[last..]);
        if !failed && self.charge(s, found[0].inner.0, out.len()) {
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
        let parsed = match Expr::parse(code, &crate::context::github::names()) {
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
        let unsupplied = self.unsupplied_input(&parsed);
        let mut holds = |st: Status| match parsed.eval(contexts, st) {
            Ok(v) => Some(v.truthy()),
            Err(err) => {
                match &unsupplied {
                    Some(input) => self.without_input(e, inner.0, &err, code, input),
                    None => self.github_error(e, inner.0, &err, code),
                }
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
        let parsed = match Expr::parse(code, &crate::context::github::names()) {
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
                match self.unsupplied_input(&parsed) {
                    // It reads an input the caller must give and that was not given: the
                    // file is not at fault.
                    Some(input) => self.without_input(s, inner.0, &e, code, &input),
                    None => self.github_error(s, inner.0, &e, code),
                }
                None
            }
        }
    }

    /// A required input without a default that `e` reads and the build does not supply.
    fn unsupplied_input(&self, e: &Expr) -> Option<String> {
        e.paths().into_iter().find_map(|(p, _)| {
            let name = match p.as_slice() {
                [root, name, ..] if root.eq_ignore_ascii_case("inputs") => name,
                [root, event, inputs, name, ..]
                    if root.eq_ignore_ascii_case("github")
                        && event.eq_ignore_ascii_case("event")
                        && inputs.eq_ignore_ascii_case("inputs") =>
                {
                    name
                }
                _ => return None,
            };
            let name = name.to_ascii_lowercase();
            self.unsupplied.contains(&name).then_some(name)
        })
    }

    /// A warning for an expression that fails only because a required input is not given.
    fn without_input(
        &mut self,
        s: &Spanned<String>,
        at: usize,
        e: &GhError,
        code: &str,
        input: &str,
    ) {
        let span = self.at(s, at + e.offset);
        self.diags.push(
            Diagnostic::new(
                span,
                format!(
                    "cannot evaluate this expression without the input `{input}`: {}",
                    e.located(code).replace('\n', " ")
                ),
            )
            .warning()
            .with_label(format!("`{input}` is required and not supplied"))
            .with_help(format!(
                "pass it with `--input {input}=VALUE`, or set {}{}",
                crate::context::INPUT_ENV_PREFIX,
                input.to_ascii_uppercase()
            )),
        );
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

    pub(super) fn github_error(&mut self, s: &Spanned<String>, at: usize, e: &GhError, code: &str) {
        let span = self.at(s, at + e.offset);
        let help = match e.kind {
            ErrorKind::Evaluation => "GitHub fails the job at this expression; fix it",
            _ => "GitHub refuses the workflow with this error; fix the expression",
        };
        self.diags.push(
            Diagnostic::new(
                span,
                // One line: an expression written over several lines is quoted on one.
                format!(
                    "cannot evaluate this expression: {}",
                    e.located(code).replace('\n', " ")
                ),
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
                None => d.with_help(format!(
                    "`{root}` has: {}",
                    crate::diagnostic::listed(&keys)
                )),
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

//! When a step or stage runs: its `when` (an expression, as Gitness evaluates it, or the
//! declarative forms of `schema/when.yaml`: `{branch: {eq: main}}`, `in`, `not`, and a list of
//! such maps, any of them) made a [`RunPolicy`].

use super::Resolver;
use crate::diagnostic::Diagnostic;
use crate::expr::{self, Scope, Value};
use crate::source::Span;
use crate::spec::{CondTest, Condition, Format, RunPolicy, When};

impl Resolver<'_> {
    pub(super) fn policy(&mut self, when: Option<&When>, scope: &Scope) -> RunPolicy {
        match when {
            None => RunPolicy::OnSuccess,
            Some(When::Expr(e)) => {
                if let Some(contexts) = scope.github() {
                    return self.github_policy(e, &contexts.clone());
                }
                if let Some((a, _)) =
                    expr::find_nextgen(&e.value).filter(|_| self.format == Format::HarnessV1)
                {
                    // Gitness cannot evaluate it, and a broken `when` drops the step.
                    self.nextgen(e, a);
                    return RunPolicy::Never("Gitness cannot evaluate its `when`".into());
                }
                match expr::eval_when(&e.value, scope) {
                    Ok(w) => match (w.on_success, w.on_failure) {
                        (true, true) => RunPolicy::Always,
                        (true, false) => RunPolicy::OnSuccess,
                        (false, true) => RunPolicy::OnFailure,
                        (false, false) => {
                            RunPolicy::Never(format!("`when: {}` is false", e.value.trim()))
                        }
                    },
                    Err(err) => {
                        let span = self.at(e, err.offset);
                        let d = Diagnostic::new(
                            span,
                            format!("cannot evaluate this `when`: {}", err.message),
                        );
                        if self.format == Format::HarnessV1 {
                            // Gitness treats it as false: the step never runs.
                            self.diags.push(
                                d.warning()
                                    .with_label("the step never runs, as on Gitness")
                                    .with_help(
                                        "fix the condition; `--deny-warnings` makes this an error",
                                    ),
                            );
                            return RunPolicy::Never("Gitness cannot evaluate its `when`".into());
                        }
                        self.diags.push(d.with_help(
                            "pipeline-test does not guess what it means: fix the condition",
                        ));
                        RunPolicy::OnSuccess
                    }
                }
            }
            Some(When::Conditions(any)) => match conditions(any, scope) {
                Ok(true) => RunPolicy::OnSuccess,
                Ok(false) => RunPolicy::Never("its `when` conditions do not hold".into()),
                Err((span, message)) => {
                    self.diags.push(Diagnostic::new(span, message));
                    RunPolicy::OnSuccess
                }
            },
        }
    }
}

/// True when one of the maps has all its conditions true.
pub(super) fn conditions(any: &[Vec<Condition>], scope: &Scope) -> Result<bool, (Span, String)> {
    for all in any {
        let mut ok = true;
        for c in all {
            let path = if c.key.value.contains('.') {
                c.key.value.clone()
            } else {
                format!("build.{}", c.key.value)
            };
            let value = expr::eval(&path, scope).map_err(|e| {
                (
                    c.key.span,
                    format!(
                        "`when` tests `{}`, which {}",
                        c.key.value,
                        e.message
                            .trim_start_matches('`')
                            .split_once("` ")
                            .map_or(e.message.as_str(), |(_, rest)| rest)
                    ),
                )
            })?;
            let text = match value {
                Value::Nil => String::new(),
                v => v.to_text(),
            };
            ok &= holds(&c.test, &text);
        }
        if ok {
            return Ok(true);
        }
    }
    Ok(any.is_empty())
}

fn holds(test: &CondTest, value: &str) -> bool {
    match test {
        CondTest::Eq(v) => v.value == value,
        CondTest::In(vs) => vs.iter().any(|v| v.value == value),
        CondTest::Not(t) => !holds(t, value),
        CondTest::All(ts) => ts.iter().all(|t| holds(t, value)),
    }
}

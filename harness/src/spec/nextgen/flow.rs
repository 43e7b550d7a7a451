//! When a NextGen step or stage runs and how often: `when` (`stageStatus`,
//! `pipelineStatus`, `condition`), `failureStrategies` that ignore failures, `strategy.matrix`.

use super::expr::{Form, Names, substitute};
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::source::Spanned;
use crate::spec::read::Diags;
use crate::spec::read::json_text;
use crate::spec::read::{fields, list, string, strings};
use crate::spec::*;
use crate::yaml::{Node, Value};

/// `when: {stageStatus: Success | Failure | All, condition: ...}` (`pipelineStatus` for a
/// stage) as an expression.
pub(super) fn when(
    node: &Node<'_>,
    status_key: &'static str,
    names: &Names,
    diags: &mut Diags,
) -> Option<When> {
    let mut f = fields(node, "`when`", diags)?;
    let status = string(f.get(status_key), status_key, diags);
    let condition = string(f.get("condition"), "condition", diags);
    f.finish(diags, &|_| None);
    let mut terms = Vec::new();
    if let Some(s) = &status {
        match s.as_str() {
            "Success" => {}
            "Failure" => terms.push("failure()".to_string()),
            "All" => terms.push("always()".to_string()),
            other => {
                let mut d = Diagnostic::new(s.span, format!("unknown {status_key} `{other}`"))
                    .with_help("write Success, Failure or All");
                if let Some(m) = did_you_mean(other, &["Success", "Failure", "All"]) {
                    d = d.with_label(format!("did you mean `{m}`?"));
                }
                diags.push(d);
            }
        }
    }
    if let Some(c) = &condition {
        let code = substitute(&c.value, c.span, names, Form::Code, diags);
        if !code.trim().is_empty() && code.trim() != "true" {
            terms.push(format!("({code})"));
        }
    }
    let span = condition
        .as_ref()
        .or(status.as_ref())
        .map_or(node.span, |s| s.span);
    (!terms.is_empty()).then(|| When::Expr(Spanned::new(terms.join(" && "), span)))
}

/// True when a failure strategy ignores every error (`Ignore`, `MarkAsSuccess`).
pub(super) fn ignores_failure(node: &Node<'_>) -> bool {
    let Value::Seq(items) = &node.value else {
        return false;
    };
    items.iter().any(|i| {
        let text = json_text(i);
        (text.contains("\"Ignore\"") || text.contains("\"MarkAsSuccess\""))
            && text.contains("AllErrors")
    })
}

pub(super) fn strategy(node: &Node<'_>, diags: &mut Diags) -> Option<Strategy> {
    let mut f = fields(node, "`strategy`", diags)?;
    let matrix = f.entry("matrix");
    let mut ignored = Vec::new();
    for k in ["parallelism", "repeat"] {
        if let Some(v) = f.accept(k, &mut ignored) {
            diags.push(
                Diagnostic::new(
                    v.span,
                    format!("`{k}` is not supported: the step runs once"),
                )
                .warning(),
            );
        }
    }
    f.finish(diags, &|_| None);
    let (key, m) = matrix?;
    let mf = fields(m, "`matrix`", diags)?;
    let mut out = Matrix::default();
    for (k, v) in mf.entries {
        let Some(axis) = k.as_scalar() else { continue };
        match axis {
            "maxConcurrency" => {
                out.concurrency = crate::spec::read::uint(Some(v), "maxConcurrency", diags)
            }
            "exclude" => {
                out.exclude = list(Some(v), "exclude", diags)
                    .iter()
                    .filter_map(|e| match &e.value {
                        Value::Map(p) => Some(
                            p.iter()
                                .filter_map(|(k, v)| {
                                    Some((k.as_scalar()?.to_string(), v.as_scalar()?.to_string()))
                                })
                                .collect(),
                        ),
                        _ => None,
                    })
                    .collect();
            }
            "nodeName" => {}
            _ => out.axis.push((
                Spanned::new(axis.to_string(), k.span),
                strings(Some(v), axis, diags),
            )),
        }
    }
    Some(Strategy {
        strategy_type: Spanned::new("matrix".into(), key.span),
        matrix: Some(out),
    })
}

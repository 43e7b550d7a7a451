//! `strategy:` (a matrix's axis, include, exclude and concurrency; `for` and `while`) and
//! `when:` in every form the schema allows: an expression, a map of conditions, a list of
//! such maps.

use super::*;
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::source::Spanned;
use crate::yaml::{Node, Value};

pub(super) fn strategy(node: Option<&Node<'_>>, diags: &mut Diags) -> Option<Strategy> {
    let node = node?;
    let mut f = fields(node, "`strategy`", diags)?;
    let t = string(f.get("type"), "type", diags);
    let spec = f.get("spec");
    f.finish(diags, &|_| None);
    let Some(t) = t else {
        diags.push(
            Diagnostic::new(node.span, "`strategy` has no `type`")
                .with_help("strategy types are: matrix, for, while"),
        );
        return None;
    };
    let matrix = match t.as_str() {
        "matrix" => Some(spec.map(|s| matrix(s, diags)).unwrap_or_default()),
        "for" | "while" => {
            diags.push(
                Diagnostic::new(
                    t.span,
                    format!(
                        "a `{}` strategy is ignored by Gitness and by pipeline-test",
                        t.value
                    ),
                )
                .warning()
                .with_label("the step runs once"),
            );
            None
        }
        other => {
            let mut d = Diagnostic::new(t.span, format!("unknown strategy type `{other}`"))
                .with_help("strategy types are: matrix, for, while");
            if let Some(m) = did_you_mean(other, &["matrix", "for", "while"]) {
                d = d.with_label(format!("did you mean `{m}`?"));
            }
            diags.push(d);
            None
        }
    };
    Some(Strategy {
        strategy_type: t,
        matrix,
    })
}

fn matrix(node: &Node<'_>, diags: &mut Diags) -> Matrix {
    let mut out = Matrix::default();
    let Some(mut f) = fields(node, "a matrix `spec`", diags) else {
        return out;
    };
    if let Some(axis) = f.get("axis") {
        if let Some(a) = fields(axis, "`axis`", diags) {
            for (k, v) in a.entries {
                let Some(name) = k.as_scalar() else { continue };
                let values = list(Some(v), "an axis", diags)
                    .iter()
                    .filter_map(|n| match &n.value {
                        Value::Scalar { text, .. } => Some(Spanned::new(text.to_string(), n.span)),
                        _ => {
                            diags.push(Diagnostic::new(
                                n.span,
                                format!("an axis value must be a string, found {}", n.kind_name()),
                            ));
                            None
                        }
                    })
                    .collect();
                out.axis
                    .push((Spanned::new(name.to_string(), k.span), values));
            }
        }
    }
    let combos = |node: Option<&Node<'_>>,
                  what: &'static str,
                  diags: &mut Diags|
     -> Vec<Vec<(String, String)>> {
        list(node, what, diags)
            .iter()
            .filter_map(|n| {
                let m = fields(n, "a matrix combination", diags)?;
                Some(
                    m.entries
                        .iter()
                        .filter_map(|(k, v)| Some((k.as_scalar()?.to_string(), json_text(v))))
                        .collect(),
                )
            })
            .collect()
    };
    out.include = combos(f.get("include"), "include", diags);
    out.exclude = combos(f.get("exclude"), "exclude", diags);
    out.concurrency = uint(f.get("concurrency"), "concurrency", diags);
    f.finish(diags, &|_| None);
    if out.axis.is_empty() && out.include.is_empty() {
        diags.push(
            Diagnostic::new(node.span, "the matrix has no `axis` and no `include`")
                .with_help("add `axis:` with a list of values per name, e.g. `axis: {go: [\"1.21\", \"1.22\"]}`"),
        );
    }
    out
}

/// `when:` as a string, a map of conditions, or a list of such maps.
pub(super) fn when(node: Option<&Node<'_>>, diags: &mut Diags) -> Option<When> {
    let node = node?;
    match &node.value {
        Value::Null => None,
        Value::Scalar { text, .. } => Some(When::Expr(Spanned::new(text.to_string(), node.span))),
        Value::Map(_) => Some(When::Conditions(vec![conditions(node, diags)])),
        Value::Seq(items) => Some(When::Conditions(
            items.iter().map(|n| conditions(n, diags)).collect(),
        )),
    }
}

fn conditions(node: &Node<'_>, diags: &mut Diags) -> Vec<Condition> {
    let Some(f) = fields(node, "a `when` condition", diags) else {
        return Vec::new();
    };
    f.entries
        .iter()
        .filter_map(|(k, v)| {
            let key = Spanned::new(k.as_scalar()?.to_string(), k.span);
            Some(Condition {
                key,
                test: cond_test(v, diags)?,
            })
        })
        .collect()
}

fn cond_test(node: &Node<'_>, diags: &mut Diags) -> Option<CondTest> {
    match &node.value {
        Value::Scalar { text, .. } => Some(CondTest::Eq(Spanned::new(text.to_string(), node.span))),
        Value::Seq(_) => Some(CondTest::In(strings(Some(node), "in", diags))),
        Value::Null => None,
        Value::Map(_) => {
            let mut f = fields(node, "a `when` test", diags)?;
            let mut all = Vec::new();
            if let Some(eq) = string(f.get("eq"), "eq", diags) {
                all.push(CondTest::Eq(eq));
            }
            if let Some(n) = f.get("in") {
                all.push(CondTest::In(strings(Some(n), "in", diags)));
            }
            if let Some(n) = f.get("not") {
                if let Some(t) = cond_test(n, diags) {
                    all.push(CondTest::Not(Box::new(t)));
                }
            }
            f.finish(diags, &|_| None);
            if all.is_empty() {
                diags.push(
                    Diagnostic::new(node.span, "this `when` condition tests nothing")
                        .with_help("write `eq: value`, `in: [a, b]` or `not: {eq: value}`"),
                );
                return None;
            }
            Some(if all.len() == 1 {
                all.remove(0)
            } else {
                CondTest::All(all)
            })
        }
    }
}

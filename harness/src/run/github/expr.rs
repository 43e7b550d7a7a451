//! The expressions of a GitHub step evaluated at its turn: `${{ }}` templates, an `if:`, and
//! the Harness NextGen output references a converted pipeline keeps.

use crate::expr::github::{Data, Expr, Status, templates};

/// What the status functions see: `failure()` once a step has failed.
pub(super) fn status_of(failing: bool) -> Status {
    if failing {
        Status::Failure
    } else {
        Status::Success
    }
}

/// Every `${{ }}` of `text` evaluated against `contexts`.
pub(super) fn expand(text: &str, contexts: &Data, status: Status) -> Result<String, String> {
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
pub(super) fn nextgen_outputs(text: &str, contexts: &Data) -> String {
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
pub(super) fn holds(condition: &str, contexts: &Data, status: Status) -> Result<bool, String> {
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

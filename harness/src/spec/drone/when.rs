//! Drone's `when:` and `trigger:` as the expression the resolver evaluates: each key's
//! `include` (or list) and `exclude` over the build, `status` as success, failure or both.

use crate::diagnostic::Diagnostic;
use crate::source::Spanned;
use crate::spec::When;
use crate::spec::read::Diags;
use crate::spec::read::{fields, strings};
use crate::yaml::{Node, Value};

/// `when:` / `trigger:` as an expression over the build: each key's `include` (or list) and
/// `exclude`, every key true; `status` picks success, failure or both.
pub(super) fn when(node: &Node<'_>, diags: &mut Diags) -> Option<When> {
    let f = fields(node, "`when`", diags)?;
    let mut terms = Vec::new();
    let (mut on_success, mut on_failure) = (true, false);
    for (k, v) in f.entries {
        let Some(key) = k.as_scalar() else { continue };
        let (include, exclude) = include_exclude(v, diags);
        let field = match key {
            "branch" => "build.branch",
            "event" => "build.event",
            "ref" => "build.ref",
            "repo" => "repo.slug",
            "target" => "build.target",
            "status" => {
                on_success = include.iter().any(|s| s.as_str() == "success");
                on_failure = include.iter().any(|s| s.as_str() == "failure");
                for s in include.iter().chain(&exclude) {
                    if !matches!(s.as_str(), "success" | "failure") {
                        diags.push(
                            Diagnostic::new(s.span, format!("unknown status `{}`", s.value))
                                .with_help("statuses are: success, failure"),
                        );
                    }
                }
                if include.is_empty() {
                    on_success = !exclude.iter().any(|s| s.as_str() == "success");
                    on_failure = !exclude.iter().any(|s| s.as_str() == "failure");
                }
                continue;
            }
            "instance" | "cron" | "action" | "paths" | "plugin" => {
                diags.push(
                    Diagnostic::new(
                        k.span,
                        format!("`{key}` is not tested locally: read as true"),
                    )
                    .note(),
                );
                continue;
            }
            other => {
                diags.push(
                    Diagnostic::new(k.span, format!("unknown condition `{other}`"))
                        .with_help("conditions are: branch, event, ref, repo, target, status, instance, cron, action, paths"),
                );
                continue;
            }
        };
        // `drone exec` builds a push; a build pipeline-test calls `manual` is Drone's `push`.
        let value = if key == "event" {
            "(build.event == \"manual\" ? \"push\" : build.event)".to_string()
        } else {
            field.to_string()
        };
        let test = |p: &Spanned<String>| format!("{value} matches \"{}\"", glob_regex(&p.value));
        if !include.is_empty() {
            let any: Vec<String> = include.iter().map(test).collect();
            terms.push(format!("({})", any.join(" || ")));
        }
        for e in &exclude {
            terms.push(format!("!({})", test(e)));
        }
    }
    let status = match (on_success, on_failure) {
        (true, true) => Some("always()"),
        (false, true) => Some("failure()"),
        (false, false) => Some("false"),
        (true, false) => None,
    };
    terms.splice(0..0, status.map(str::to_string));
    if terms.is_empty() {
        return None;
    }
    Some(When::Expr(Spanned::new(terms.join(" && "), node.span)))
}

fn include_exclude(
    v: &Node<'_>,
    diags: &mut Diags,
) -> (Vec<Spanned<String>>, Vec<Spanned<String>>) {
    if let Value::Map(_) = v.value {
        let Some(mut f) = fields(v, "a condition", diags) else {
            return (Vec::new(), Vec::new());
        };
        let inc = strings(f.get("include"), "include", diags);
        let exc = strings(f.get("exclude"), "exclude", diags);
        f.finish(diags, &|_| None);
        return (inc, exc);
    }
    (strings(Some(v), "a condition", diags), Vec::new())
}

/// Drone's glob (`feature/*`, `v1.?`) as an anchored regular expression: `*` and `?` stop
/// at `/`.
fn glob_regex(glob: &str) -> String {
    let mut out = String::from("^");
    for c in glob.chars() {
        match c {
            '*' => out.push_str("[^/]*"),
            '?' => out.push_str("[^/]"),
            c if c.is_alphanumeric() || c == '/' || c == '_' || c == '-' => out.push(c),
            '"' => out.push_str("\\\""),
            c => {
                out.push_str("\\\\");
                out.push(c);
            }
        }
    }
    out.push('$');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert_eq!(glob_regex("feature/*"), "^feature/[^/]*$");
        assert_eq!(glob_regex("v1.?"), "^v1\\\\.[^/]$");
        // Any Unicode letter, as Drone's glob matches any text.
        let re = glob_regex("fix/ü*");
        assert_eq!(re, "^fix/ü[^/]*$");
        assert!(regex::Regex::new(&re).unwrap().is_match("fix/über"));
    }
}

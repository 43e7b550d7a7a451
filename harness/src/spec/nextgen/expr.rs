//! NextGen's `<+ ... >` expressions, evaluated while the file is read: pipeline and stage
//! variables to their values, the build's fields and secrets to the `${{ }}` the resolver
//! evaluates. Any other is an error at its place, naming it.

use std::collections::HashMap;

use crate::diagnostic::Diagnostic;
use crate::source::Span;
use crate::spec::build::string_literal;
use crate::spec::read::Diags;

/// What `<+ >` can read in one place of the file.
#[derive(Debug, Clone, Default)]
pub(super) struct Names {
    /// `pipeline.variables.<name>` -> value (already substituted).
    pub pipeline_vars: HashMap<String, String>,
    /// `stage.variables.<name>` -> value.
    pub stage_vars: HashMap<String, String>,
    /// `pipeline.name`, `pipeline.identifier`, `stage.name`, `stage.identifier`.
    pub fixed: HashMap<&'static str, String>,
    /// The file, to point at an expression inside a value.
    pub file: Option<crate::source::SourceFile>,
}

/// Where `needle` is written, at or after `skip` bytes past the start of `span` (and within a
/// window after it); `span` when it is not found on one line (a folded or quoted value).
/// `skip` moves past what was found, so that the next expression of a value is looked for
/// after this one: repeated expressions each get their own place, and a value costs one pass.
pub(super) fn place(names: &Names, span: Span, needle: &str, skip: &mut usize) -> Span {
    const WINDOW: usize = 1 << 16;
    let Some(file) = &names.file else { return span };
    let start = file.offset(span.start) + *skip;
    let end = (start + needle.len() + WINDOW).min(file.text().len());
    let Some(n) = file.text().get(start..end).and_then(|t| t.find(needle)) else {
        return span;
    };
    *skip += n + needle.len();
    let (from, to) = (file.pos(start + n), file.pos(start + n + needle.len()));
    if from.line == to.line {
        Span::new(from, to)
    } else {
        span
    }
}

/// The form the result takes: text with `${{ }}` in it, or code for a condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Form {
    Text,
    Code,
}

/// The expressions the resolver evaluates, by NextGen name.
const BUILD: &[(&str, &str)] = &[
    ("codebase.branch", "build.branch"),
    ("codebase.commitSha", "build.commit"),
    ("codebase.tag", "build.tag"),
    ("codebase.repoUrl", "repo.git_http_url"),
    ("pipeline.properties.ci.codebase.repoName", "repo.name"),
    ("codebase.commitMessage", "build.message"),
    ("codebase.gitUserId", "build.author_login"),
    ("pipeline.sequenceId", "build.number"),
    (
        "codebase.build.type",
        "(build.tag != \"\" ? \"tag\" : (build.event == \"pull_request\" ? \"PR\" : \"branch\"))",
    ),
    ("pipeline.executionId", "build.number"),
    ("trigger.branch", "build.branch"),
    ("trigger.targetBranch", "build.target"),
    ("trigger.sourceBranch", "build.source"),
    (
        "trigger.event",
        "(build.event == \"pull_request\" ? \"PR\" : (build.event == \"push\" || build.event == \"tag\" ? \"PUSH\" : \"\"))",
    ),
    ("trigger.commitSha", "build.commit"),
    // Set in a NextGen pipeline's scope only (`resolve::nextgen_scope`).
    ("codebase.shortCommitSha", "codebase.shortCommitSha"),
    ("trigger.prLabels", "trigger.prLabels"),
];

/// `text` with every `<+ >` replaced. `span` is where `text` was written; errors point there.
pub(super) fn substitute(
    text: &str,
    span: Span,
    names: &Names,
    form: Form,
    diags: &mut Diags,
) -> String {
    if !text.contains("<+") {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut skip = 0;
    while let Some(start) = rest.find("<+") {
        let Some(len) = close(&rest[start + 2..]) else {
            diags.push(
                Diagnostic::new(span, "a `<+` expression is never closed")
                    .with_help("close it with `>`: `<+pipeline.variables.name>`"),
            );
            return text.to_string();
        };
        out.push_str(&rest[..start]);
        let inner = rest[start + 2..start + 2 + len].trim();
        let at = place(names, span, &rest[start..start + 2 + len + 1], &mut skip);
        out.push_str(&one(inner, at, names, form, diags));
        if out.len() > crate::expr::MAX_VALUE_BYTES {
            diags.push(
                Diagnostic::new(at, crate::expr::TOO_LARGE)
                .with_help("a variable used many times is copied each time; use it less often or make it shorter"),
            );
            return text.to_string();
        }
        rest = &rest[start + 2 + len + 1..];
    }
    out.push_str(rest);
    out
}

/// The length up to the `>` that closes an expression (quotes and nested `<+ >` skipped).
fn close(s: &str) -> Option<usize> {
    let mut depth = 0;
    let mut quote: Option<char> = None;
    let mut prev = ' ';
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '+') if prev == '<' => depth += 1,
            (None, '>') if depth == 0 => return Some(i),
            (None, '>') => depth -= 1,
            _ => {}
        }
        prev = c;
    }
    None
}

fn one(inner: &str, span: Span, names: &Names, form: Form, diags: &mut Diags) -> String {
    let wrap = |code: String| match form {
        Form::Text => format!("${{{{ {code} }}}}"),
        Form::Code => code,
    };
    let literal = |v: &str| match form {
        Form::Text => v.to_string(),
        Form::Code => string_literal(v),
    };
    if let Some(name) = inner.strip_prefix("pipeline.variables.") {
        if let Some(v) = names.pipeline_vars.get(name) {
            return literal(v);
        }
        return unknown(
            inner,
            span,
            "pipeline variables",
            names.pipeline_vars.keys(),
            diags,
        );
    }
    if let Some(name) = inner.strip_prefix("stage.variables.") {
        if let Some(v) = names.stage_vars.get(name) {
            return literal(v);
        }
        return unknown(
            inner,
            span,
            "stage variables",
            names.stage_vars.keys(),
            diags,
        );
    }
    if let Some(arg) = inner
        .strip_prefix("secrets.getValue(")
        .and_then(|a| a.strip_suffix(')'))
    {
        let name = arg.trim().trim_matches(|c| c == '"' || c == '\'');
        return wrap(crate::spec::build::secret_code(name));
    }
    if let Some(axis) = inner.strip_prefix("matrix.") {
        if axis.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return wrap(format!("matrix.{axis}"));
        }
    }
    if let Some((_, code)) = BUILD.iter().find(|(k, _)| *k == inner) {
        return wrap(code.to_string());
    }
    if let Some(v) = names.fixed.get(inner) {
        return literal(v);
    }
    if (inner.starts_with("execution.steps.") || inner.starts_with("steps."))
        && inner.contains(".output.outputVariables.")
        && form == Form::Text
    {
        // Read at the reading step's turn, from the output variables of the steps before.
        return format!("<+{inner}>");
    }
    if (inner.starts_with("execution.steps.") || inner.starts_with("steps."))
        && inner.contains(".output.outputVariables.")
    {
        diags.push(
            Diagnostic::new(span, format!("`<+{inner}>` is known only once that step has run"))
                .warning()
                .with_label("empty here")
                .with_help("pipeline-test hands output variables to the commands and variables of later steps, not yet to a `when` condition: here it is empty"),
        );
        return literal("");
    }
    let mut d = Diagnostic::new(span, format!("`<+{inner}>` cannot be evaluated outside Harness"))
        .with_help("pipeline-test evaluates <+pipeline.variables.x>, <+stage.variables.x>, <+secrets.getValue(\"x\")>, <+codebase.branch>, <+codebase.commitSha>, <+codebase.shortCommitSha>, <+codebase.tag>, <+trigger.prLabels>, <+pipeline.sequenceId>, <+pipeline.name>, <+stage.name>, <+matrix.x>");
    if inner == "input" || inner.starts_with("input.") {
        d = d.with_label("a runtime input: give the value in the file, or as a pipeline variable");
    }
    diags.push(d);
    String::new()
}

fn unknown<'a>(
    inner: &str,
    span: Span,
    what: &str,
    known: impl Iterator<Item = &'a String>,
    diags: &mut Diags,
) -> String {
    let mut known: Vec<&str> = known.map(String::as_str).collect();
    known.sort_unstable();
    let name = inner.rsplit('.').next().unwrap_or(inner);
    let mut d = Diagnostic::new(span, format!("`<+{inner}>` names no variable of this file"))
        .with_help(if known.is_empty() {
            format!("there are no {what}; declare it under `variables:`")
        } else {
            format!("the {what} are: {}", crate::diagnostic::listed(&known))
        });
    if let Some(m) = crate::diagnostic::did_you_mean(name, &known) {
        d = d.with_label(format!("did you mean `{m}`?"));
    }
    diags.push(d);
    String::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(text: &str, form: Form) -> (String, usize) {
        let mut names = Names::default();
        names.pipeline_vars.insert("region".into(), "eu".into());
        names.fixed.insert("stage.name", "Build".into());
        let mut d = Vec::new();
        let span = Span::point(crate::source::Pos::new(1, 1));
        (substitute(text, span, &names, form, &mut d), d.len())
    }

    #[test]
    fn evaluates_the_common_ones() {
        assert_eq!(
            sub("deploy <+pipeline.variables.region>", Form::Text),
            ("deploy eu".into(), 0)
        );
        assert_eq!(
            sub(
                "<+secrets.getValue(\"token\")> <+codebase.branch>",
                Form::Text
            ),
            (
                "${{ secrets.get(\"token\") }} ${{ build.branch }}".into(),
                0
            )
        );
        assert_eq!(
            sub(
                "<+codebase.branch> == \"main\" && <+stage.name> != \"x\"",
                Form::Code
            ),
            ("build.branch == \"main\" && \"Build\" != \"x\"".into(), 0)
        );
        assert_eq!(sub("<+pipeline.variables.regoin>", Form::Text).1, 1);
        assert_eq!(sub("<+artifact.tag>", Form::Text).1, 1);
        assert_eq!(sub("<+codebase.branch", Form::Text).1, 1);
    }
}

//! NextGen steps: `- step: {type: Run | Background | RunTests | Plugin}`, `- stepGroup:`,
//! `- parallel:`, `serviceDependencies`, and `when` / `failureStrategies`.

use super::container_step::container_step;
use super::expr::{Form, Names, substitute};
use super::flow::{ignores_failure, strategy, when};
use crate::diagnostic::Diagnostic;
use crate::source::{Span, Spanned};
use crate::spec::read::Diags;
use crate::spec::read::json_text;
use crate::spec::read::{Fields, boolean, fields, list, string, strings};
use crate::spec::*;
use crate::yaml::{Node, Value};

/// Step types that run locally.
const TYPES: &[&str] = &["Run", "Background", "RunTests", "Plugin"];

/// The entries of a `steps:` list.
pub(super) fn items(node: Option<&Node<'_>>, names: &Names, diags: &mut Diags) -> Vec<Step> {
    let mut out = Vec::new();
    for item in list(node, "steps", diags) {
        let Some(mut f) = fields(item, "an entry of `steps`", diags) else {
            continue;
        };
        let step = f.get("step");
        let group = f.get("stepGroup");
        let parallel = f.get("parallel");
        // Written beside `step:` by Harness's editor; no meaning for a run.
        f.entry("contextType");
        f.finish(diags, &|_| None);
        if let Some(s) = step {
            out.extend(self::step(s, names, diags));
        } else if let Some(g) = group {
            out.extend(self::group(g, names, diags));
        } else if let Some(p) = parallel {
            let children = items(Some(p), names, diags);
            out.push(Step::new(p.span, StepSpec::Parallel(children)));
        } else {
            diags.push(
                Diagnostic::new(
                    Span::point(item.span.start),
                    "an entry of `steps` holds neither `step`, `stepGroup` nor `parallel`",
                )
                .with_help("write `- step: {type: Run, name: ..., identifier: ..., spec: {...}}`"),
            );
        }
    }
    out
}

fn group(node: &Node<'_>, names: &Names, diags: &mut Diags) -> Option<Step> {
    let mut f = fields(node, "a step group", diags)?;
    let name = string(f.get("name"), "name", diags);
    let id = string(f.get("identifier"), "identifier", diags);
    let when = f
        .get("when")
        .and_then(|w| when(w, "stageStatus", names, diags));
    let mut ignored = Vec::new();
    for k in [
        "failureStrategies",
        "delegateSelectors",
        "strategy",
        "stepGroupInfra",
        "sharedPaths",
        "variables",
        "timeout",
        "contextType",
    ] {
        f.accept(k, &mut ignored);
    }
    let steps = f.get("steps");
    f.finish(diags, &|_| None);
    let mut step = Step::new(node.span, StepSpec::Group(items(steps, names, diags)));
    step.name = name;
    step.id = id;
    step.when = when;
    Some(step)
}

/// A scalar, substituted.
pub(super) fn text(
    f: &mut Fields<'_>,
    key: &'static str,
    names: &Names,
    diags: &mut Diags,
) -> Option<Spanned<String>> {
    let s = string(f.get(key), key, diags)?;
    let v = substitute(&s.value, s.span, names, Form::Text, diags);
    Some(Spanned::new(v, s.span))
}

/// `envVariables` / `settings`: a mapping of values, each substituted.
pub(super) fn pairs(
    node: Option<&Node<'_>>,
    what: &'static str,
    names: &Names,
    diags: &mut Diags,
) -> Vec<(Spanned<String>, Spanned<String>)> {
    let Some(f) = node.and_then(|n| fields(n, what, diags)) else {
        return Vec::new();
    };
    f.entries
        .iter()
        .filter_map(|(k, v)| {
            let key = Spanned::new(k.as_scalar()?.to_string(), k.span);
            let raw = match &v.value {
                Value::Scalar { text, .. } => text.to_string(),
                Value::Null => String::new(),
                _ => json_text(v),
            };
            Some((
                key,
                Spanned::new(substitute(&raw, v.span, names, Form::Text, diags), v.span),
            ))
        })
        .collect()
}

pub(super) fn envs_of(pairs: Vec<(Spanned<String>, Spanned<String>)>) -> Envs {
    Envs(
        pairs
            .into_iter()
            .map(|(name, value)| EnvVar { name, value })
            .collect(),
    )
}

/// Whether `text` reads another step's output variable, known at the reading step's turn.
pub(super) fn reads_outputs(text: &str) -> bool {
    text.contains(".output.outputVariables.")
        && (text.contains("<+execution.steps.") || text.contains("<+steps."))
}

fn step(node: &Node<'_>, names: &Names, diags: &mut Diags) -> Option<Step> {
    let mut f = fields(node, "a step", diags)?;
    let name = string(f.get("name"), "name", diags);
    let id = string(f.get("identifier"), "identifier", diags);
    let step_type = string(f.get("type"), "type", diags);
    let when = f
        .get("when")
        .and_then(|w| when(w, "stageStatus", names, diags));
    let timeout = super::timeout(f.get("timeout"), diags);
    let continue_on_error = f.get("failureStrategies").is_some_and(ignores_failure);
    let strategy = f.get("strategy").and_then(|s| strategy(s, diags));
    let mut ignored = Vec::new();
    for k in [
        "description",
        "delegateSelectors",
        "enforce",
        "template",
        "contextType",
    ] {
        f.accept(k, &mut ignored);
    }
    let spec = f.entry("spec");
    f.finish(diags, &|k| {
        matches!(
            k,
            "image" | "command" | "envVariables" | "shell" | "settings"
        )
        .then(|| format!("`{k}` belongs under the step's `spec:`"))
    });
    let Some(step_type) = step_type else {
        diags.push(
            Diagnostic::new(Span::point(node.span.start), "the step has no `type`")
                .with_help("add `type: Run`"),
        );
        return None;
    };
    let spec_node = spec.map(|(_, v)| v);
    let out = match step_type.as_str() {
        "Run" | "Background" | "RunTests" | "Plugin" => {
            let Some(s) = spec_node else {
                diags.push(
                    Diagnostic::new(Span::point(node.span.start), "the step has no `spec`")
                        .with_help("add `spec:` with `image` and `command`"),
                );
                return None;
            };
            container_step(step_type.as_str(), s, names, diags)?
        }
        other => {
            if let Some(m) = TYPES.iter().find(|t| t.eq_ignore_ascii_case(other)) {
                diags.push(
                    Diagnostic::new(step_type.span, format!("unknown step type `{other}`"))
                        .with_label(format!("did you mean `{m}`?"))
                        .with_help("step types are written as Harness writes them: Run, Background, RunTests, Plugin"),
                );
                return None;
            }
            diags.push(
                Diagnostic::new(
                    step_type.span,
                    format!("a `{other}` step runs only on Harness; pipeline-test skips it"),
                )
                .warning()
                .with_label("only Run, Background, RunTests and Plugin steps run locally"),
            );
            StepSpec::Unsupported(Spanned::new(
                format!("a `{other}` step runs only on Harness"),
                step_type.span,
            ))
        }
    };
    let mut step = Step::new(node.span, out);
    step.type_span = step_type.span;
    step.name = name;
    step.id = id;
    step.when = when;
    step.timeout = timeout;
    step.strategy = strategy;
    step.continue_on_error = continue_on_error;
    if let StepSpec::Run(r) = &step.spec {
        step.at_turn.fields = r.script.iter().any(|s| reads_outputs(&s.value))
            || r.envs.iter().any(|(_, v)| reads_outputs(v));
    }
    Some(step)
}
/// An entry of the older `serviceDependencies:` list: a background step.
pub(super) fn service_dependency(
    node: &Node<'_>,
    names: &Names,
    diags: &mut Diags,
) -> Option<Step> {
    let mut f = fields(node, "a service dependency", diags)?;
    let name = string(f.get("name"), "name", diags);
    let id = string(f.get("identifier"), "identifier", diags);
    f.accept("type", &mut Vec::new());
    f.accept("description", &mut Vec::new());
    let spec = f.get("spec");
    f.finish(diags, &|_| None);
    let mut sf = fields(spec?, "the service's `spec`", diags)?;
    let image = text(&mut sf, "image", names, diags);
    let envs = envs_of(pairs(
        sf.get("envVariables"),
        "`envVariables`",
        names,
        diags,
    ));
    let entrypoint = strings(sf.get("entrypoint"), "entrypoint", diags);
    let args = strings(sf.get("args"), "args", diags);
    let privileged = boolean(sf.get("privileged"), "privileged", diags).is_some_and(|b| b.value);
    for k in ["connectorRef", "resources", "imagePullPolicy", "runAsUser"] {
        sf.entry(k);
    }
    sf.finish(diags, &|_| None);
    let Some(image) = image else {
        diags.push(
            Diagnostic::new(Span::point(node.span.start), "the service has no `image`")
                .with_help("add `image:` under its `spec`"),
        );
        return None;
    };
    let mut c = Container::of(image);
    c.privileged = privileged;
    c.args = args;
    c.entrypoint = crate::spec::build::joined(&entrypoint);
    let mut step = Step::new(
        node.span,
        StepSpec::Background(Box::new(BackgroundStep {
            envs,
            container: Some(c),
            ..BackgroundStep::default()
        })),
    );
    step.name = name;
    step.id = id;
    Some(step)
}

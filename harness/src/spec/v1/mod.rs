//! Harness / Gitness v1 YAML -> pipeline model, checking every key and value.
//!
//! Every problem is pushed to a list of diagnostics and decoding goes on, so that a file with
//! several mistakes reports them all at once.

mod container;
mod step;
mod strategy;
mod values;

use self::container::*;
use self::step::*;
use self::strategy::*;
use self::values::*;
use super::read::*;
use super::*;
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::source::{SourceFile, Span, Spanned};
use crate::yaml::{Node, Value};

const UNSUPPORTED_STAGES: &[&str] = &[
    "cd", "custom", "iacm", "flag", "template", "group", "parallel",
];

pub(super) fn pipeline(file: &SourceFile, root: &Node<'_>, diags: &mut Diags) -> Option<Pipeline> {
    let mut f = fields(root, "the pipeline", diags)?;
    let mut ignored = Vec::new();
    let version = string(f.get("version"), "version", diags);
    let name = string(f.get("name"), "name", diags);
    f.accept("type", &mut ignored);
    match f.entry("kind") {
        None => diags.push(
            Diagnostic::new(Span::point(root.span.start), "the file has no `kind`")
                .with_label("expected `kind: pipeline`")
                .with_help("add `kind: pipeline` as the first line"),
        ),
        Some((_, v)) => {
            if let Some(kind) = string(Some(v), "kind", diags) {
                match kind.as_str() {
                    "pipeline" => {}
                    "template" | "plugin" => {
                        diags.push(
                            Diagnostic::new(
                                kind.span,
                                format!("a `{}` file has nothing to run on its own", kind.value),
                            )
                            .warning()
                            .with_label("only `kind: pipeline` files run")
                            .with_help(
                                "point pipeline-test at the pipeline that uses this template or plugin",
                            ),
                        );
                        f.entry("spec");
                        f.finish(diags, &|_| None);
                        return Some(Pipeline {
                            file: file.clone(),
                            version,
                            name,
                            options: Options::default(),
                            stages: Vec::new(),
                            inputs: Vec::new(),
                            ignored,
                            warnings: Vec::new(),
                            resolved: false,
                            format: Format::HarnessV1,
                        });
                    }
                    other => {
                        let mut d = Diagnostic::new(kind.span, format!("unknown kind `{other}`"))
                            .with_help("the kinds are: pipeline, template, plugin");
                        if let Some(m) = did_you_mean(other, &["pipeline", "template", "plugin"]) {
                            d = d.with_label(format!("did you mean `{m}`?"));
                        } else {
                            d = d.with_label("expected `pipeline`");
                        }
                        diags.push(d);
                    }
                }
            } else if v.value == Value::Null {
                diags.push(
                    Diagnostic::new(v.span, "`kind` is empty").with_label("expected `pipeline`"),
                );
            }
        }
    }
    let spec_entry = f.entry("spec");
    f.finish(diags, &|k| {
        matches!(k, "stages" | "options" | "inputs").then(|| format!("`{k}` belongs under `spec:`"))
    });

    let mut options = Options::default();
    let mut stages = Vec::new();
    let mut inputs = Vec::new();
    match spec_entry {
        None => diags.push(
            Diagnostic::new(Span::point(root.span.start), "the pipeline has no `spec`")
                .with_help("add `spec:` with a list of `stages:`"),
        ),
        Some((key, spec)) => {
            if let Some(mut s) = fields(spec, "the pipeline's `spec`", diags) {
                if let Some(i) = s.get("inputs") {
                    inputs = self::inputs(i, diags);
                }
                if let Some(o) = s.get("options") {
                    options = self::options(o, diags);
                }
                let stages_entry = s.entry("stages");
                s.finish(diags, &|k| {
                    matches!(k, "steps" | "envs").then(|| {
                        format!(
                            "`{k}` belongs to a stage: `stages: [{{type: ci, spec: {{{k}: ...}}}}]`"
                        )
                    })
                });
                match stages_entry {
                    None => diags.push(
                        Diagnostic::new(key.span, "the pipeline has no stages")
                            .warning()
                            .with_label("nothing to run")
                            .with_help(
                                "add `stages:` under `spec:`, with at least one `type: ci` stage",
                            ),
                    ),
                    Some((k, v)) => {
                        let items = list(Some(v), "stages", diags);
                        if items.is_empty() && matches!(v.value, Value::Null | Value::Seq(_)) {
                            diags.push(Diagnostic::new(k.span, "`stages` is empty").with_help(
                                "add at least one stage: `- type: ci` with `spec.steps`",
                            ));
                        }
                        let _ = k;
                        stages = items.iter().filter_map(|n| stage(n, diags)).collect();
                    }
                }
            }
        }
    }
    Some(Pipeline {
        file: file.clone(),
        version,
        name,
        options,
        stages,
        inputs,
        ignored,
        warnings: Vec::new(),
        resolved: false,
        format: Format::HarnessV1,
    })
}

fn inputs(node: &Node<'_>, diags: &mut Diags) -> Vec<Input> {
    let Some(f) = fields(node, "`inputs`", diags) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (k, v) in f.entries {
        let Some(name) = k.as_scalar() else { continue };
        let mut input = Input {
            kind: None,
            name: Spanned::new(name.to_string(), k.span),
            default: None,
            required: false,
        };
        if v.value != Value::Null {
            if let Some(mut i) = fields(v, "an input", diags) {
                input.default = i.get("default").map(|d| Spanned::new(json_text(d), d.span));
                input.required =
                    boolean(i.get("required"), "required", diags).is_some_and(|b| b.value);
                for key in [
                    "type",
                    "description",
                    "desc",
                    "options",
                    "enum",
                    "items",
                    "pattern",
                    "mask",
                    "label",
                    "ui",
                    "value",
                ] {
                    i.entry(key);
                }
                i.finish(diags, &|_| None);
            }
        }
        out.push(input);
    }
    out
}

fn options(node: &Node<'_>, diags: &mut Diags) -> Options {
    let mut out = Options::default();
    let Some(mut f) = fields(node, "`options`", diags) else {
        return out;
    };
    out.envs = envs(f.get("envs"), "options.envs", diags);
    (out.timeout, out.timeout_expr) = duration_or_expr(f.get("timeout"), "timeout", diags);
    for key in [
        "clone",
        "repository",
        "registry",
        "resources",
        "delegate",
        "barriers",
        "status",
    ] {
        f.accept(key, &mut out.ignored);
    }
    f.finish(diags, &|_| None);
    out
}

fn stage(node: &Node<'_>, diags: &mut Diags) -> Option<Stage> {
    let mut f = fields(node, "a stage", diags)?;
    let mut ignored = Vec::new();
    let id = string(f.get("id"), "id", diags);
    let name = string(f.get("name"), "name", diags);
    let desc = string(f.get("desc"), "desc", diags);
    let when = when(f.get("when"), diags);
    let failure = failures(f.get("failure"), diags);
    let strategy = strategy(f.get("strategy"), diags);
    for key in ["delegate", "status", "inputs"] {
        f.accept(key, &mut ignored);
    }
    let type_entry = f.entry("type");
    let spec_entry = f.entry("spec");
    f.finish(diags, &|k| {
        matches!(
            k,
            "steps" | "envs" | "volumes" | "platform" | "runtime" | "clone" | "cache"
        )
        .then(|| format!("`{k}` belongs under the stage's `spec:`"))
    });

    let (stage_type, type_name) = match type_entry {
        None => {
            diags.push(
                Diagnostic::new(Span::point(node.span.start), "the stage has no `type`")
                    .with_label("expected `type: ci`")
                    .with_help("add `type: ci` to the stage"),
            );
            return None;
        }
        Some((_, v)) => {
            let t = string(Some(v), "type", diags)?;
            match t.as_str() {
                "ci" => (Spanned::new(StageType::Ci, t.span), t),
                other if UNSUPPORTED_STAGES.contains(&other) => {
                    diags.push(
                        Diagnostic::new(
                            t.span,
                            format!(
                                "a `{other}` stage runs only on Harness; pipeline-test skips it"
                            ),
                        )
                        .warning()
                        .with_label("only `ci` stages run locally"),
                    );
                    (Spanned::new(StageType::Other, t.span), t)
                }
                other => {
                    let mut d = Diagnostic::new(t.span, format!("unknown stage type `{other}`"))
                        .with_help("stage types are: ci, cd, custom, iacm, flag, template, group, parallel");
                    if let Some(m) = did_you_mean(
                        other,
                        &[
                            "ci", "cd", "custom", "iacm", "flag", "template", "group", "parallel",
                        ],
                    ) {
                        d = d.with_label(format!("did you mean `{m}`?"));
                    }
                    diags.push(d);
                    return None;
                }
            }
        }
    };

    let mut out = Stage {
        span: node.span,
        id,
        name,
        desc,
        stage_type,
        type_name,
        envs: Envs::default(),
        steps: Vec::new(),
        volumes: Vec::new(),
        when,
        failure,
        strategy,
        ignored,
        policy: RunPolicy::OnSuccess,
        matrix: Vec::new(),
        timeout: None,
        workspace: None,
        needs: Vec::new(),
        outputs: Vec::new(),
        matrix_exprs: Vec::new(),
        github: None,
        timeout_expr: None,
    };
    if out.stage_type.value != StageType::Ci {
        return Some(out);
    }
    let Some((spec_key, spec)) = spec_entry else {
        diags.push(
            Diagnostic::new(
                Span::point(node.span.start),
                "the stage has no `spec`, so no steps",
            )
            .warning()
            .with_help("add `spec:` with a list of `steps:`; Gitness runs only its clone step"),
        );
        return Some(out);
    };
    let mut s = fields(spec, "a ci stage's `spec`", diags)?;
    out.envs = envs(s.get("envs"), "envs", diags);
    if let Some(p) = s.accept("platform", &mut out.ignored) {
        check_keys(
            p,
            "`platform`",
            &["arch", "features", "os", "variant", "version"],
            diags,
        );
    }
    if let Some(r) = s.accept("runtime", &mut out.ignored) {
        if !matches!(r.value, Value::Scalar { .. }) {
            check_keys(r, "`runtime`", &["type", "spec"], diags);
        }
    }
    if let Some(c) = s.accept("clone", &mut out.ignored) {
        check_keys(
            c,
            "`clone`",
            &["depth", "disabled", "insecure", "strategy", "trace"],
            diags,
        );
    }
    if let Some(c) = s.accept("cache", &mut out.ignored) {
        check_keys(c, "`cache`", &["enabled", "paths", "key", "policy"], diags);
    }
    out.volumes = list(s.get("volumes"), "volumes", diags)
        .iter()
        .filter_map(|v| volume(v, diags))
        .collect();
    let steps_entry = s.entry("steps");
    s.finish(diags, &|k| {
        matches!(k, "name" | "id" | "type" | "when" | "failure" | "strategy")
            .then(|| format!("`{k}` belongs to the stage itself, next to `spec:`"))
    });
    match steps_entry {
        None => diags.push(
            Diagnostic::new(spec_key.span, "the stage has no steps")
                .warning()
                .with_help("add `steps:` under the stage's `spec:`"),
        ),
        Some((k, v)) => {
            let items = list(Some(v), "steps", diags);
            if items.is_empty() && matches!(v.value, Value::Null | Value::Seq(_)) {
                diags.push(
                    Diagnostic::new(k.span, "`steps` is empty")
                        .warning()
                        .with_help("add at least one step"),
                );
            }
            out.steps = items.iter().filter_map(|n| step(n, diags)).collect();
        }
    }
    Some(out)
}

fn volume(node: &Node<'_>, diags: &mut Diags) -> Option<Volume> {
    let mut f = fields(node, "a volume", diags)?;
    let name = string(f.get("name"), "name", diags);
    let volume_type = string(f.get("type"), "type", diags);
    let spec = f.get("spec");
    f.finish(diags, &|_| None);
    let host_path = spec.and_then(|s| {
        let mut sf = fields(s, "a volume's `spec`", diags)?;
        let path = string(sf.get("path"), "path", diags);
        for k in ["type", "medium", "limit", "name", "size"] {
            sf.entry(k);
        }
        sf.finish(diags, &|_| None);
        path
    });
    let (Some(name), Some(volume_type)) = (name, volume_type) else {
        diags.push(
            Diagnostic::new(node.span, "a volume needs a `name` and a `type`")
                .with_help("for example `- name: data` and `type: temp`"),
        );
        return None;
    };
    if !matches!(volume_type.as_str(), "temp" | "host" | "claim" | "config") {
        diags.push(
            Diagnostic::new(
                volume_type.span,
                format!("unknown volume type `{}`", volume_type.value),
            )
            .with_help("volume types are: temp, host, claim, config"),
        );
    }
    Some(Volume {
        name,
        volume_type,
        host_path,
    })
}

fn failures(node: Option<&Node<'_>>, diags: &mut Diags) -> Vec<Failure> {
    let Some(node) = node else { return Vec::new() };
    let items: Vec<&Node<'_>> = match &node.value {
        Value::Seq(items) => items.iter().collect(),
        _ => vec![node],
    };
    items
        .into_iter()
        .filter_map(|n| {
            let mut f = fields(n, "`failure`", diags)?;
            let errors = strings(f.get("errors"), "errors", diags);
            let action = f.get("action").and_then(|a| {
                if let Value::Scalar { .. } = a.value {
                    return string(Some(a), "action", diags);
                }
                let mut af = fields(a, "a failure `action`", diags)?;
                let t = string(af.get("type"), "type", diags);
                af.entry("spec");
                af.finish(diags, &|_| None);
                t
            });
            f.finish(diags, &|_| None);
            Some(Failure { errors, action })
        })
        .collect()
}

/// How Gitness reads YAML: it drops every key it does not know and runs the file.
pub(super) const DIALECT: Dialect = Dialect {
    drops_unknown_keys: true,
    respelling: |key| {
        v1_spelling(key)
            .map(|v1| format!("`{key}` is from the older Harness format; in v1 YAML it is {v1}"))
    },
    ..Dialect::strict("Gitness")
};

//! Harness NextGen pipelines (`pipeline:` with `stages: - stage: {type: CI}`): each CI stage
//! is a stage, `execution.steps` its steps (`Run`, `Background`, `RunTests`, `Plugin`, step
//! groups, `parallel`), `serviceDependencies` background steps. `<+ >` expressions are
//! evaluated while reading ([`expr`]).

mod container_step;
mod expr;
mod flow;
mod step;

use self::expr::{Form, Names, substitute};
use super::read::{Diags, Dialect};
use super::read::{fields, list, string};
use super::*;
use crate::diagnostic::Diagnostic;
use crate::yaml::{Node, Value};

/// Keys of `pipeline:` that are accepted and not acted on.
const PIPELINE_KEYS: &[&str] = &[
    "projectIdentifier",
    "orgIdentifier",
    "accountIdentifier",
    "tags",
    "description",
    "properties",
    "timeout",
    "notificationRules",
    "delegateSelectors",
    "flowControl",
    "allowStageExecutions",
    "fixedInputsOnRerun",
    "labels",
];

/// Keys of a stage's `spec` that are accepted and not acted on.
const STAGE_SPEC_KEYS: &[&str] = &[
    "cloneCodebase",
    "caching",
    "cache",
    "buildIntelligence",
    "platform",
    "runtime",
    "infrastructure",
    "sharedPaths",
    "slsa_provenance",
    "sbom",
];

/// How Harness reads YAML, as far as the shared readers are concerned.
pub(super) const DIALECT: Dialect = Dialect::strict("Harness");

pub(super) fn pipeline(file: &SourceFile, root: &Node<'_>, diags: &mut Diags) -> Option<Pipeline> {
    let mut top = fields(root, "the file", diags)?;
    let mut p = Pipeline::empty(file, Format::HarnessNextGen);
    top.accept("version", &mut p.ignored);
    let Some((_, body)) = top.entry("pipeline") else {
        // Its keys belong under the root it lacks: one error says so.
        diags.push(
            Diagnostic::new(
                Span::point(root.span.start),
                "this Harness NextGen file has no `pipeline:` root",
            )
            .with_label("`name`, `identifier`, `stages` ... belong under `pipeline:`")
            .with_help("put the pipeline under `pipeline:`, as Harness writes it"),
        );
        return None;
    };
    top.finish(diags, &|_| None);
    let mut f = fields(body, "`pipeline`", diags)?;
    p.name = string(f.get("name"), "name", diags);
    let mut names = Names {
        file: Some(file.clone()),
        ..Names::default()
    };
    if let Some(n) = &p.name {
        names.fixed.insert("pipeline.name", n.value.clone());
    }
    if let Some(id) = string(f.get("identifier"), "identifier", diags) {
        names.fixed.insert("pipeline.identifier", id.value);
    }
    for k in PIPELINE_KEYS {
        f.accept(k, &mut p.ignored);
    }
    names.pipeline_vars = variables(f.get("variables"), &names, &mut p.inputs, diags)
        .into_iter()
        .map(|(k, v, _)| (k, v))
        .collect();
    if let Some(t) = f.get("template") {
        diags.push(
            Diagnostic::new(
                t.span,
                "the pipeline comes from a template, which only Harness can read",
            )
            .warning()
            .with_label("nothing to run")
            .with_help("point pipeline-test at a pipeline whose stages are written in the file"),
        );
    }
    let stages = f.entry("stages");
    f.finish(diags, &|k| {
        matches!(k, "steps" | "execution").then(|| format!("`{k}` belongs to a stage's `spec`"))
    });
    if let Some((_, v)) = stages {
        for item in list(Some(v), "stages", diags) {
            stage_item(item, &names, &mut p.stages, diags);
        }
    }
    Some(p)
}

/// `variables:`: `- {name, type, value}`; each value substituted. Returns
/// (name, value, where). A `<+input>` value becomes a pipeline input.
fn variables(
    node: Option<&Node<'_>>,
    names: &Names,
    inputs: &mut Vec<Input>,
    diags: &mut Diags,
) -> Vec<(String, String, Span)> {
    let mut out = Vec::new();
    for v in list(node, "variables", diags) {
        let Some(mut f) = fields(v, "a variable", diags) else {
            continue;
        };
        let name = string(f.get("name"), "name", diags);
        let kind = string(f.get("type"), "type", diags);
        let value = f.get("value");
        for k in ["description", "required", "default"] {
            f.entry(k);
        }
        f.finish(diags, &|_| None);
        let Some(name) = name else {
            diags.push(
                Diagnostic::new(v.span, "a variable has no `name`").with_help("add `name: NAME`"),
            );
            continue;
        };
        let text = value.map_or(String::new(), |v| match &v.value {
            Value::Scalar { text, .. } => text.to_string(),
            _ => super::read::json_text(v),
        });
        let span = value.map_or(name.span, |v| v.span);
        let trimmed = text.trim();
        let value = if trimmed == "<+input>" || trimmed.starts_with("<+input>.") {
            let default = trimmed.split_once(".default(").map(|(_, d)| {
                d.trim_end_matches(')')
                    .trim_matches(|c| c == '\'' || c == '"')
                    .to_string()
            });
            inputs.push(Input {
                kind: None,
                name: name.clone(),
                default: default.map(|d| Spanned::new(d, span)),
                required: false,
            });
            format!("${{{{ inputs.{} }}}}", name.value)
        } else if kind.as_ref().is_some_and(|k| k.as_str() == "Secret") {
            format!("${{{{ {} }}}}", super::build::secret_code(trimmed))
        } else {
            substitute(&text, span, names, Form::Text, diags)
        };
        out.push((name.value, value, span));
    }
    out
}

fn stage_item(item: &Node<'_>, names: &Names, out: &mut Vec<Stage>, diags: &mut Diags) {
    let Some(mut f) = fields(item, "an entry of `stages`", diags) else {
        return;
    };
    let stage = f.get("stage");
    let parallel = f.get("parallel");
    f.finish(diags, &|_| None);
    if let Some(s) = stage {
        out.extend(self::stage(s, names, diags));
    }
    if let Some(p) = parallel {
        for item in list(Some(p), "parallel", diags) {
            stage_item(item, names, out, diags);
        }
    }
    if stage.is_none() && parallel.is_none() {
        diags.push(
            Diagnostic::new(
                Span::point(item.span.start),
                "an entry of `stages` holds neither `stage` nor `parallel`",
            )
            .with_help("write `- stage: {name: ..., type: CI, spec: ...}`"),
        );
    }
}

fn stage(node: &Node<'_>, names: &Names, diags: &mut Diags) -> Option<Stage> {
    let mut f = fields(node, "a stage", diags)?;
    let mut stage = Stage::ci(node.span);
    stage.name = string(f.get("name"), "name", diags);
    stage.id = string(f.get("identifier"), "identifier", diags);
    stage.desc = string(f.get("description"), "description", diags);
    let mut names = names.clone();
    if let Some(n) = &stage.name {
        names.fixed.insert("stage.name", n.value.clone());
    }
    if let Some(i) = &stage.id {
        names.fixed.insert("stage.identifier", i.value.clone());
    }
    let mut ignored_inputs = Vec::new();
    let vars = variables(f.get("variables"), &names, &mut ignored_inputs, diags);
    for (k, v, span) in &vars {
        names.stage_vars.insert(k.clone(), v.clone());
        // CI stages hand their variables to every step as environment variables.
        stage.envs.push(k, v.clone(), *span);
    }
    stage.when = f
        .get("when")
        .and_then(|w| flow::when(w, "pipelineStatus", &names, diags));
    stage.timeout = timeout(f.get("timeout"), diags);
    for k in ["tags", "failureStrategies", "delegateSelectors", "strategy"] {
        f.accept(k, &mut stage.ignored);
    }
    let template = f.get("template");
    let type_entry = string(f.get("type"), "type", diags);
    let spec = f.entry("spec");
    f.finish(diags, &|k| {
        matches!(k, "execution" | "steps" | "serviceDependencies")
            .then(|| format!("`{k}` belongs under the stage's `spec:`"))
    });
    if let Some(t) = template {
        stage.stage_type = Spanned::new(StageType::Other, t.span);
        stage.type_name = Spanned::new(
            "the stage comes from a template, which only Harness can read".into(),
            t.span,
        );
        diags.push(
            Diagnostic::new(
                t.span,
                "the stage comes from a template; pipeline-test skips it",
            )
            .warning(),
        );
        return Some(stage);
    }
    match type_entry {
        None => {
            diags.push(
                Diagnostic::new(Span::point(node.span.start), "the stage has no `type`")
                    .with_help("add `type: CI`"),
            );
            return None;
        }
        Some(t) if t.as_str() != "CI" => {
            if t.as_str().eq_ignore_ascii_case("ci") {
                diags.push(
                    Diagnostic::new(t.span, format!("stage type `{}` is written `CI`", t.value))
                        .with_label("did you mean `CI`?"),
                );
                return None;
            }
            diags.push(
                Diagnostic::new(
                    t.span,
                    format!(
                        "a `{}` stage runs only on Harness; pipeline-test skips it",
                        t.value
                    ),
                )
                .warning()
                .with_label("only `CI` stages run locally"),
            );
            stage.stage_type = Spanned::new(StageType::Other, t.span);
            stage.type_name = Spanned::new(
                format!("a `{}` stage runs only on Harness", t.value),
                t.span,
            );
            return Some(stage);
        }
        Some(_) => {}
    }
    let Some((_, spec)) = spec else {
        diags.push(
            Diagnostic::new(Span::point(node.span.start), "the stage has no `spec`")
                .with_help("add `spec:` with `execution: {steps: [...]}`"),
        );
        return None;
    };
    let mut s = fields(spec, "a CI stage's `spec`", diags)?;
    infrastructure(s.get("infrastructure"), diags);
    for k in STAGE_SPEC_KEYS {
        s.accept(k, &mut stage.ignored);
    }
    for d in list(s.get("serviceDependencies"), "serviceDependencies", diags) {
        stage
            .steps
            .extend(step::service_dependency(d, &names, diags));
    }
    let execution = s.entry("execution");
    s.finish(diags, &|k| {
        matches!(k, "steps").then(|| "`steps` belongs under `execution:`".to_string())
    });
    let Some((key, execution)) = execution else {
        diags.push(
            Diagnostic::new(Span::point(spec.span.start), "the stage has no `execution`")
                .with_help("add `execution: {steps: [...]}`"),
        );
        return Some(stage);
    };
    let mut e = fields(execution, "`execution`", diags)?;
    e.accept("rollbackSteps", &mut stage.ignored);
    let steps = e.get("steps");
    e.finish(diags, &|_| None);
    if steps.is_none() {
        diags.push(
            Diagnostic::new(key.span, "`execution` has no `steps`")
                .with_help("add `steps:` with at least one `- step:`"),
        );
    }
    stage.steps.extend(step::items(steps, &names, diags));
    localhost_notes(&stage, &names, diags);
    // Output variables go from step to step as a GitHub job's step outputs do: the same
    // turn-by-turn run, with `steps.<identifier>.outputs`.
    let hands_on = stage.all_steps().iter().any(|s| match &s.spec {
        StepSpec::Run(r) => {
            s.at_turn.fields
                || r.script
                    .iter()
                    .any(|l| l.value.contains(container_step::CAPTURE_MARK))
        }
        _ => false,
    });
    if hands_on {
        stage.github = Some(crate::expr::github::Data::object([(
            "steps",
            crate::expr::github::Data::object::<&str>([]),
        )]));
    }
    Some(stage)
}

/// `timeout` of a stage or a step: Harness writes `timeout: ""` itself, meaning none.
pub(super) fn timeout(
    node: Option<&Node<'_>>,
    diags: &mut Diags,
) -> Option<Spanned<std::time::Duration>> {
    let node = node.filter(|n| !matches!(n.value, Value::Null) && n.as_scalar() != Some(""))?;
    super::read::duration(Some(node), "timeout", diags)
}

/// The infrastructure types Harness knows for a CI stage.
const INFRASTRUCTURES: &[&str] = &[
    "KubernetesDirect",
    "KubernetesHosted",
    "VM",
    "UseFromStage",
    "Docker",
];

/// `infrastructure.type`, checked against Harness's values.
fn infrastructure(node: Option<&Node<'_>>, diags: &mut Diags) {
    let Some(Value::Map(pairs)) = node.map(|n| &n.value) else {
        return;
    };
    let Some((_, t)) = pairs.iter().find(|(k, _)| k.as_scalar() == Some("type")) else {
        return;
    };
    let Some(text) = t.as_scalar() else { return };
    if INFRASTRUCTURES.contains(&text) || text.starts_with("<+") {
        return;
    }
    let mut d = Diagnostic::new(
        t.span,
        format!("`{text}` is not an infrastructure type Harness knows"),
    )
    .with_help(format!(
        "Harness's types are: {}",
        INFRASTRUCTURES.join(", ")
    ));
    if let Some(m) = crate::diagnostic::did_you_mean(text, INFRASTRUCTURES) {
        d = d.with_label(format!("did you mean `{m}`?"));
    }
    diags.push(d);
}

/// On Harness's Kubernetes infrastructure a stage's steps share one pod, where `localhost`
/// reaches a Background step; here every step has a container of its own, on the stage's
/// network, and reaches a Background step by its identifier (as on Harness Cloud and VMs).
/// Each run step that says `localhost` in a stage with Background steps gets a warning there.
fn localhost_notes(stage: &Stage, names: &Names, diags: &mut Diags) {
    let services: Vec<String> = stage
        .all_steps()
        .iter()
        .filter(|s| matches!(s.spec, StepSpec::Background(_)))
        .filter_map(|s| s.id.as_ref().map(|i| i.value.clone()))
        .collect();
    if services.is_empty() {
        return;
    }
    for step in stage.all_steps() {
        let StepSpec::Run(run) = &step.spec else {
            continue;
        };
        for line in &run.script {
            if line.value.contains("localhost") {
                diags.push(
                    Diagnostic::new(
                        self::expr::place(names, line.span, "localhost", &mut 0),
                        "`localhost` here is this step's own container",
                    )
                    .warning()
                    .with_label("on Harness's Kubernetes pods it reaches the Background steps")
                    .with_help(format!(
                        "reach a Background step by its identifier ({}), which works on every Harness infrastructure",
                        services.join(", ")
                    )),
                );
            }
        }
    }
}

//! GitHub Actions workflows: each job is a stage. Its `services:` are background steps
//! reachable by their key; its `run:` steps run in the job's `container:` on the services'
//! network, or, without one, in `--default-image` on the host's network, where the services'
//! published ports are (as on the runner's VM).

mod action;
mod js_action;
mod matrix;
mod service;
mod step;

use self::step::step;
use super::build::order_stages;
use super::read::json_text;
use super::read::{Diags, Dialect};
use super::read::{boolean, fields, list, string};
use super::*;
use crate::diagnostic::Diagnostic;
use crate::yaml::{Node, Value};
pub use action::ACTIONS_ENV;
pub(crate) use action::with_actions;

/// `defaults.run` of the workflow or a job.
#[derive(Clone, Default)]
struct RunDefaults {
    shell: Option<Spanned<String>>,
    dir: Option<Spanned<String>>,
}

/// A `<<` merge key, which GitHub Actions refuses: it takes anchors and aliases, not merges.
pub(super) fn merge_key(span: Span) -> Diagnostic {
    Diagnostic::new(span, "GitHub Actions does not support YAML merge keys (`<<`)")
        .with_label("GitHub refuses the workflow")
        .with_help("GitHub takes anchors and aliases of whole values (`&name`, `*name`): alias the whole mapping, or write its keys out")
}

/// How GitHub Actions reads YAML, as far as the shared readers are concerned.
pub(super) const DIALECT: Dialect = Dialect {
    refuses_unknown_keys: true,
    ..Dialect::strict("GitHub Actions")
};

pub(super) fn workflow(file: &SourceFile, root: &Node<'_>, diags: &mut Diags) -> Option<Pipeline> {
    let mut f = fields(root, "the workflow", diags)?;
    let mut p = Pipeline::empty(file, Format::GitHubActions);
    p.name = string(f.get("name"), "name", diags);
    if let Some(on) = f.accept("on", &mut p.ignored) {
        p.inputs = inputs(on, diags);
    }
    for k in [
        "true",
        "run-name",
        "description",
        "permissions",
        "concurrency",
    ] {
        f.accept(k, &mut p.ignored);
    }
    let env = service::env(f.get("env"), "env", diags);
    let defaults = defaults(f.get("defaults"), &RunDefaults::default(), diags);
    let jobs = f.entry("jobs");
    f.finish(diags, &|_| None);
    let Some((key, jobs)) = jobs else {
        diags.push(
            Diagnostic::new(Span::point(root.span.start), "the workflow has no `jobs`")
                .with_help("add `jobs:` with at least one job that has `steps:`"),
        );
        return None;
    };
    let Value::Map(entries) = &jobs.value else {
        diags.push(
            Diagnostic::new(
                jobs.span,
                format!("`jobs` is {}, not a mapping", jobs.kind_name()),
            )
            .with_help(
                "write each job under `jobs:` by its id: `test: {runs-on: ..., steps: [...]}`",
            ),
        );
        return None;
    };
    if entries.is_empty() {
        diags.push(Diagnostic::new(key.span, "`jobs` is empty").with_help("add a job"));
    }
    let mut stages: Vec<(Stage, Vec<Spanned<String>>)> = Vec::new();
    // Every job gets a copy of the workflow's `env`: bounded as expansions are.
    let env_bytes: usize = env
        .0
        .iter()
        .map(|e| e.name.value.len() + e.value.value.len())
        .sum();
    for (n, (k, v)) in entries.iter().enumerate() {
        if env_bytes.saturating_mul(n + 1) > crate::expr::MAX_FILE_EXPANSION_BYTES {
            let at = env.0.first().map_or(k.span, |e| e.name.span);
            diags.push(
                Diagnostic::new(at, format!(
                    "the workflow's `env` ({} KB) copied into {} jobs passes 16 MB: pipeline-test stops there",
                    env_bytes / 1024,
                    n + 1
                ))
                .with_label("this is pipeline-test's limit, not GitHub's")
                .with_help("move the long values to the jobs that need them"),
            );
            break;
        }
        if let Some(s) = job(file, k, v, &env, &defaults, diags) {
            stages.push(s);
        }
    }
    p.stages = order_stages(stages, "needs", diags);
    Some(p)
}

/// `timeout-minutes` of a job or a step: a number of minutes, or an expression the resolver
/// evaluates (the second value).
pub(super) fn minutes(
    t: &Node<'_>,
    diags: &mut Diags,
) -> (
    Option<Spanned<std::time::Duration>>,
    Option<Spanned<String>>,
) {
    let Some(text) = t.as_scalar() else {
        return (None, None);
    };
    if text.contains("${{") {
        return (None, Some(Spanned::new(text.to_string(), t.span)));
    }
    (minutes_of(text, t.span, diags), None)
}

/// A number of minutes: above 0, at most 35 days.
pub(crate) fn minutes_of(
    text: &str,
    span: Span,
    diags: &mut Vec<Diagnostic>,
) -> Option<Spanned<std::time::Duration>> {
    let t = Spanned::new((), span);
    // Actions allows at most 35 days, on self-hosted runners.
    let minutes = text
        .parse::<f64>()
        .ok()
        .filter(|m| *m > 0.0 && *m <= 35.0 * 24.0 * 60.0);
    match minutes.and_then(|m| std::time::Duration::try_from_secs_f64(m * 60.0).ok()) {
        Some(d) => Some(Spanned::new(d, t.span)),
        _ => {
            diags.push(
                Diagnostic::new(
                    t.span,
                    match text.parse::<f64>() {
                        Ok(m) if m > 0.0 => format!(
                            "`timeout-minutes: {text}` is more than 50400 minutes (35 days), GitHub's limit"
                        ),
                        Ok(_) => format!("`timeout-minutes: {text}` is not above 0"),
                        Err(_) => format!("`timeout-minutes: {text}` is not a number of minutes"),
                    },
                )
                .with_help("write a number of minutes above 0 and at most 50400 (35 days): `timeout-minutes: 10`"),
            );
            None
        }
    }
}

/// The inputs of `on.workflow_dispatch` and `on.workflow_call`, with their defaults:
/// `inputs.<name>` in expressions, `--input name=value` to override.
fn inputs(on: &Node<'_>, diags: &mut Diags) -> Vec<Input> {
    let Value::Map(events) = &on.value else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (event, body) in events {
        if !matches!(
            event.as_scalar(),
            Some("workflow_dispatch" | "workflow_call")
        ) {
            continue;
        }
        let Value::Map(keys) = &body.value else {
            continue;
        };
        let Some((_, declared)) = keys.iter().find(|(k, _)| k.as_scalar() == Some("inputs")) else {
            continue;
        };
        let Value::Map(declared) = &declared.value else {
            continue;
        };
        for (name, spec) in declared {
            let Some(n) = name.as_scalar() else { continue };
            if !seen.insert(n.to_string()) {
                continue;
            }
            let field = |key: &str| match &spec.value {
                Value::Map(m) => m
                    .iter()
                    .find(|(k, _)| k.as_scalar() == Some(key))
                    .map(|(_, v)| v),
                _ => None,
            };
            let default = field("default").map(|d| Spanned::new(json_text_or_scalar(d), d.span));
            let kind = field("type")
                .and_then(|t| t.as_scalar())
                .map(str::to_string);
            let required = field("required")
                .and_then(|r| boolean(Some(r), "required", diags))
                .is_some_and(|b| b.value);
            out.push(Input {
                name: Spanned::new(n.to_string(), name.span),
                default,
                required,
                kind,
            });
        }
    }
    out
}

fn json_text_or_scalar(n: &Node<'_>) -> String {
    n.as_scalar().map_or_else(|| json_text(n), str::to_string)
}

fn defaults(node: Option<&Node<'_>>, outer: &RunDefaults, diags: &mut Diags) -> RunDefaults {
    let mut out = outer.clone();
    let Some(mut f) = node.and_then(|n| fields(n, "`defaults`", diags)) else {
        return out;
    };
    if let Some(mut r) = f
        .get("run")
        .and_then(|r| fields(r, "`defaults.run`", diags))
    {
        if let Some(s) = string(r.get("shell"), "shell", diags) {
            out.shell = Some(s);
        }
        if let Some(d) = string(r.get("working-directory"), "working-directory", diags) {
            out.dir = Some(d);
        }
        r.finish(diags, &|_| None);
    }
    f.finish(diags, &|_| None);
    out
}

/// Variables Actions sets in every step, from the build.
pub(crate) const GITHUB_ENV: &[(&str, &str)] = &[
    ("CI", "true"),
    ("GITHUB_ACTIONS", "true"),
    ("GITHUB_WORKSPACE", "${{ github.workspace }}"),
    ("GITHUB_SHA", "${{ github.sha }}"),
    ("GITHUB_REF", "${{ github.ref }}"),
    ("GITHUB_REF_NAME", "${{ github.ref_name }}"),
    ("GITHUB_EVENT_NAME", "${{ github.event_name }}"),
    ("GITHUB_REPOSITORY", "${{ github.repository }}"),
    ("GITHUB_JOB", "${{ github.job }}"),
    ("GITHUB_RUN_NUMBER", "${{ github.run_number }}"),
    ("RUNNER_OS", "Linux"),
    ("RUNNER_TEMP", "/tmp"),
];

fn job(
    file: &SourceFile,
    key: &Node<'_>,
    node: &Node<'_>,
    workflow_env: &Envs,
    workflow_defaults: &RunDefaults,
    diags: &mut Diags,
) -> Option<(Stage, Vec<Spanned<String>>)> {
    let id = Spanned::new(key.as_scalar()?.to_string(), key.span);
    let mut f = fields(node, "a job", diags)?;
    let mut stage = Stage::ci(node.span);
    stage.name = string(f.get("name"), "name", diags);
    stage.id = Some(id);
    for (k, v) in GITHUB_ENV {
        stage.envs.push(k, *v, key.span);
    }
    stage.envs.0.extend(workflow_env.0.iter().cloned());
    stage
        .envs
        .0
        .extend(service::env(f.get("env"), "env", diags).0);
    let needs: Vec<Spanned<String>> = match f.get("needs") {
        Some(n) if matches!(n.value, Value::Scalar { .. }) => {
            string(Some(n), "needs", diags).into_iter().collect()
        }
        n => list(n, "needs", diags)
            .iter()
            .filter_map(|n| string(Some(n), "needs", diags))
            .collect(),
    };
    stage.when = string(f.get("if"), "if", diags).map(When::Expr);
    stage.strategy = f
        .get("strategy")
        .and_then(|s| matrix::strategy(s, diags, &mut stage.matrix_exprs));
    stage.outputs = f.get("outputs").map(outputs).unwrap_or_default();
    (stage.timeout, stage.timeout_expr) = f
        .get("timeout-minutes")
        .map_or((None, None), |t| minutes(t, diags));
    stage.needs = needs.iter().map(|n| n.value.clone()).collect();
    for k in [
        "runs-on",
        "permissions",
        "environment",
        "concurrency",
        "continue-on-error",
        "cancel-timeout-minutes",
        "snapshot",
        "with",
        "secrets",
    ] {
        f.accept(k, &mut stage.ignored);
    }
    let defaults = defaults(f.get("defaults"), workflow_defaults, diags);
    let container = f
        .get("container")
        .and_then(|c| service::container(file, c, "the job's `container`", diags));
    let services = f.get("services");
    let uses = string(f.get("uses"), "uses", diags);
    let steps = f.entry("steps");
    f.finish(diags, &|k| {
        matches!(k, "run" | "image" | "script")
            .then(|| format!("`{k}` belongs to a step: `steps: [{{{k}: ...}}]`"))
    });
    if let Some(u) = uses {
        diags.push(
            Diagnostic::new(
                u.span,
                format!(
                    "the job calls the reusable workflow `{}`; pipeline-test skips it",
                    u.value
                ),
            )
            .warning()
            .with_help("point pipeline-test at the called workflow's file"),
        );
        stage.stage_type = Spanned::new(StageType::Other, u.span);
        stage.type_name = Spanned::new(
            format!("the job calls the reusable workflow `{}`", u.value),
            u.span,
        );
        return Some((stage, needs));
    }
    if let Some(s) = services {
        match &s.value {
            Value::Map(entries) => {
                for (k, v) in entries {
                    stage.steps.extend(service::service(file, k, v, diags));
                }
            }
            _ => diags.push(
                Diagnostic::new(
                    s.span,
                    format!("`services` is {}, not a mapping", s.kind_name()),
                )
                .with_help(
                    "write each service by the name steps reach it by: `redis: {image: redis}`",
                ),
            ),
        }
    }
    let host_network = container.is_none();
    if host_network {
        // Steps reach services at localhost:<published port>, as on the runner's VM: a port
        // published on a random host port is published on its own number instead, so that
        // `job.services.<id>.ports[...]` is known before the job starts.
        for step in &mut stage.steps {
            if let StepSpec::Background(b) = &mut step.spec {
                if let Some(c) = &mut b.container {
                    for p in &mut c.ports {
                        if let Ok(m) = p.value.parse::<crate::ports::PortMapping>() {
                            if m.host.is_none() {
                                p.value = format!("{}:{}", m.container.number, p.value);
                            }
                        }
                    }
                }
            }
        }
    }
    match steps {
        None => diags.push(
            Diagnostic::new(Span::point(node.span.start), "the job has no `steps`")
                .with_help("add `steps:` with at least one `run:` step"),
        ),
        Some((_, v)) => {
            for s in list(Some(v), "steps", diags) {
                stage
                    .steps
                    .extend(step(file, s, container.as_ref(), &defaults, None, diags));
            }
        }
    }
    Some((stage, needs))
}

/// A job's `outputs:`: each name with its expression.
fn outputs(node: &Node<'_>) -> Vec<(String, Spanned<String>)> {
    let Value::Map(pairs) = &node.value else {
        return Vec::new();
    };
    pairs
        .iter()
        .filter_map(|(k, v)| {
            let text = v.as_scalar()?;
            Some((
                k.as_scalar()?.to_string(),
                Spanned::new(text.to_string(), v.span),
            ))
        })
        .collect()
}

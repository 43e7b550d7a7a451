//! GitHub Actions workflows: each job is a stage. Its `services:` are background steps
//! reachable by their key; its `run:` steps run in the job's `container:` on the services'
//! network, or, without one, in `--default-image` on the host's network, where the services'
//! published ports are (as on the runner's VM).

mod expr;
mod service;

pub(crate) use expr::scope;

use self::expr::{condition, rewrite};
use super::build::order_stages;
use super::decode::Diags;
use super::decode::fields::{Fields, boolean, fields, list, string};
use super::decode::values::json_text;
use super::*;
use crate::diagnostic::Diagnostic;
use crate::yaml::{Node, Value};

/// `defaults.run` of the workflow or a job.
#[derive(Clone, Default)]
struct RunDefaults {
    shell: Option<Spanned<String>>,
    dir: Option<Spanned<String>>,
}

pub(super) fn workflow(file: &SourceFile, root: &Node<'_>, diags: &mut Diags) -> Option<Pipeline> {
    let mut f = fields(root, "the workflow", diags)?;
    let mut p = Pipeline::empty(file, Format::GitHubActions);
    p.name = string(f.get("name"), "name", diags);
    for k in ["on", "true", "run-name", "permissions", "concurrency"] {
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
    for (k, v) in entries {
        if let Some(s) = job(k, v, &env, &defaults, diags) {
            stages.push(s);
        }
    }
    p.stages = order_stages(stages, "needs", diags);
    Some(p)
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
const GITHUB_ENV: &[(&str, &str)] = &[
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
    key: &Node<'_>,
    node: &Node<'_>,
    workflow_env: &Envs,
    workflow_defaults: &RunDefaults,
    diags: &mut Diags,
) -> Option<(Stage, Vec<Spanned<String>>)> {
    let id = Spanned::new(key.as_scalar()?.to_string(), key.span);
    let mut f = fields(node, "a job", diags)?;
    let mut stage = Stage::ci(node.span);
    stage.name =
        string(f.get("name"), "name", diags).map(|n| Spanned::new(rewrite(&n.value), n.span));
    stage.id = Some(id);
    for (k, v) in GITHUB_ENV {
        stage.envs.push(k, *v, key.span);
    }
    stage.envs.0.extend(workflow_env.0.iter().cloned());
    stage
        .envs
        .0
        .extend(service::env(f.get("env"), "env", diags).0);
    let needs = match f.get("needs") {
        Some(n) if matches!(n.value, Value::Scalar { .. }) => {
            string(Some(n), "needs", diags).into_iter().collect()
        }
        n => list(n, "needs", diags)
            .iter()
            .filter_map(|n| string(Some(n), "needs", diags))
            .collect(),
    };
    stage.when = string(f.get("if"), "if", diags)
        .map(|c| When::Expr(Spanned::new(condition(&c.value), c.span)));
    stage.strategy = f.get("strategy").and_then(|s| strategy(s, diags));
    for k in [
        "runs-on",
        "permissions",
        "environment",
        "concurrency",
        "outputs",
        "timeout-minutes",
        "continue-on-error",
        "with",
        "secrets",
    ] {
        f.accept(k, &mut stage.ignored);
    }
    let defaults = defaults(f.get("defaults"), workflow_defaults, diags);
    let container = f
        .get("container")
        .and_then(|c| service::container(c, "the job's `container`", diags));
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
                    stage.steps.extend(service::service(k, v, diags));
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
                    .extend(step(s, container.as_ref(), &defaults, diags));
            }
        }
    }
    Some((stage, needs))
}

fn strategy(node: &Node<'_>, diags: &mut Diags) -> Option<Strategy> {
    let mut f = fields(node, "`strategy`", diags)?;
    let mut ignored = Vec::new();
    f.accept("fail-fast", &mut ignored);
    let concurrency =
        crate::spec::decode::fields::uint(f.get("max-parallel"), "max-parallel", diags);
    let matrix = f.entry("matrix");
    f.finish(diags, &|_| None);
    let (key, m) = matrix?;
    if let Some(text) = m.as_scalar() {
        diags.push(
            Diagnostic::new(
                m.span,
                format!("a matrix computed by an expression (`{text}`) is not supported"),
            )
            .with_help("write the matrix's axes in the file"),
        );
        return None;
    }
    let Value::Map(entries) = &m.value else {
        diags.push(
            Diagnostic::new(m.span, "`matrix` is not a mapping")
                .with_help("write `matrix: {rust: [stable, beta]}`"),
        );
        return None;
    };
    let mut out = Matrix {
        concurrency,
        ..Matrix::default()
    };
    for (k, v) in entries {
        let Some(name) = k.as_scalar() else { continue };
        let combos = |v: &Node<'_>, diags: &mut Diags| -> Vec<Vec<(String, String)>> {
            list(Some(v), name, diags)
                .iter()
                .filter_map(|item| match &item.value {
                    Value::Map(pairs) => Some(
                        pairs
                            .iter()
                            .filter_map(|(k, v)| Some((k.as_scalar()?.to_string(), text_of(v))))
                            .collect(),
                    ),
                    _ => {
                        diags.push(Diagnostic::new(
                            item.span,
                            format!("each `{name}` entry is a mapping of axis values"),
                        ));
                        None
                    }
                })
                .collect()
        };
        match name {
            "include" => out.include = combos(v, diags),
            "exclude" => out.exclude = combos(v, diags),
            _ => {
                if let Some(text) = v.as_scalar() {
                    diags.push(
                        Diagnostic::new(v.span, format!("the axis `{name}` is computed by an expression (`{text}`), which is not supported"))
                            .with_help("list the axis values in the file"),
                    );
                    continue;
                }
                let values = list(Some(v), name, diags)
                    .iter()
                    .map(|n| Spanned::new(text_of(n), n.span))
                    .collect();
                out.axis
                    .push((Spanned::new(name.to_string(), k.span), values));
            }
        }
    }
    Some(Strategy {
        strategy_type: Spanned::new("matrix".to_string(), key.span),
        matrix: Some(out),
    })
}

fn text_of(n: &Node<'_>) -> String {
    match n.as_scalar() {
        Some(s) => s.to_string(),
        None => json_text(n),
    }
}

fn step(
    node: &Node<'_>,
    container: Option<&(Container, Envs, Option<Healthcheck>)>,
    defaults: &RunDefaults,
    diags: &mut Diags,
) -> Option<Step> {
    let mut f: Fields<'_> = fields(node, "a step", diags)?;
    let id = string(f.get("id"), "id", diags);
    let mut name =
        string(f.get("name"), "name", diags).map(|n| Spanned::new(rewrite(&n.value), n.span));
    let when = string(f.get("if"), "if", diags)
        .map(|c| When::Expr(Spanned::new(condition(&c.value), c.span)));
    let continue_on_error = match f.get("continue-on-error") {
        Some(n) if n.as_scalar().is_some_and(|t| t.contains("${{")) => {
            diags.push(
                Diagnostic::new(
                    n.span,
                    "`continue-on-error` computed by an expression is read as false",
                )
                .warning()
                .with_help("write `true` or `false`"),
            );
            false
        }
        n => boolean(n, "continue-on-error", diags).is_some_and(|b| b.value),
    };
    let timeout = f.get("timeout-minutes").and_then(|t| {
        let text = t.as_scalar()?;
        match text.parse::<f64>() {
            Ok(m) if m > 0.0 => Some(Spanned::new(
                std::time::Duration::from_secs_f64(m * 60.0),
                t.span,
            )),
            _ => {
                diags.push(
                    Diagnostic::new(
                        t.span,
                        format!("`timeout-minutes: {text}` is not a number of minutes"),
                    )
                    .with_help("write `timeout-minutes: 10`"),
                );
                None
            }
        }
    });
    let run = string(f.get("run"), "run", diags);
    let uses = string(f.get("uses"), "uses", diags);
    let shell = string(f.get("shell"), "shell", diags).or_else(|| defaults.shell.clone());
    let dir = string(f.get("working-directory"), "working-directory", diags)
        .or_else(|| defaults.dir.clone());
    let envs = service::env(f.get("env"), "env", diags);
    let with = f.get("with");
    f.finish(diags, &|k| {
        matches!(k, "image" | "container" | "services")
            .then(|| format!("`{k}` belongs to the job, not to a step"))
    });
    let spec = match (run, uses) {
        (Some(run), None) => {
            if name.is_none() && id.is_none() {
                // As Actions names it: `Run` and the command's first line.
                let first = run.value.lines().next().unwrap_or_default();
                name = Some(Spanned::new(format!("Run {}", short(first)), run.span));
            }
            let mut script = Vec::new();
            if let Some(d) = dir {
                script.push(Spanned::new(
                    format!("cd {}", shell_quote(&rewrite(&d.value))),
                    d.span,
                ));
            }
            script.push(Spanned::new(rewrite(&run.value), run.span));
            let mut step_container = match container {
                Some((c, _, _)) => c.clone(),
                None => {
                    let mut c = Container::of(Spanned::new(String::new(), run.span));
                    c.network_mode = Some(Spanned::new("host".to_string(), run.span));
                    c
                }
            };
            step_container.span = run.span;
            let mut all_envs = container.map(|(_, e, _)| e.clone()).unwrap_or_default();
            all_envs.0.extend(envs.0);
            let shell = shell
                .map(|s| {
                    let word = s
                        .value
                        .split_whitespace()
                        .next()
                        .unwrap_or("sh")
                        .to_string();
                    Spanned::new(word, s.span)
                })
                .or_else(|| {
                    let image = &step_container.image.value;
                    (!image.contains("alpine") && !image.contains("busybox"))
                        .then(|| Spanned::new("bash".to_string(), run.span))
                });
            StepSpec::Run(Box::new(RunStep {
                shell,
                script,
                container: Some(step_container),
                envs: all_envs,
                ..RunStep::default()
            }))
        }
        (None, Some(uses)) => {
            let _ = with;
            if uses.value.starts_with("actions/checkout") {
                // The workspace is the checkout.
                return None;
            }
            diags.push(
                Diagnostic::new(
                    uses.span,
                    format!(
                        "the action `{}` runs only on GitHub; pipeline-test skips it",
                        uses.value
                    ),
                )
                .warning()
                .with_label("only `run:` steps run locally")
                .with_help(
                    "do what it sets up in the job's `container:` image, or in `--default-image`",
                ),
            );
            let name = name.get_or_insert_with(|| Spanned::new(short(&uses.value), uses.span));
            let _ = name;
            StepSpec::Unsupported(Spanned::new(
                format!("the action `{}` runs only on GitHub", uses.value),
                uses.span,
            ))
        }
        (Some(run), Some(uses)) => {
            diags.push(
                Diagnostic::new(uses.span, "a step has both `run` and `uses`")
                    .with_label(format!("`run` is at line {}", run.span.start.line))
                    .with_help("split it into two steps"),
            );
            return None;
        }
        (None, None) => {
            diags.push(
                Diagnostic::new(Span::point(node.span.start), "a step needs `run` or `uses`")
                    .with_help("add `run: COMMAND`"),
            );
            return None;
        }
    };
    let mut step = Step::new(node.span, spec);
    step.id = id;
    step.name = name;
    step.when = when;
    step.timeout = timeout;
    step.continue_on_error = continue_on_error;
    Some(step)
}

/// `s` cut to 40 characters, for a step's generated name.
fn short(s: &str) -> String {
    let s = s.trim();
    match s.char_indices().nth(40) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

fn shell_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

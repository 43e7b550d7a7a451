//! Steps: the step envelope (`name`, `type`, `when`, `timeout`, ...) and the `spec` of each
//! step type.

use super::*;
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::source::Span;
use crate::yaml::{Node, Value};

/// Step types the schema knows that run only on Harness: skipped with a notice.
const UNSUPPORTED_STEPS: &[&str] = &[
    "action", "barrier", "bitrise", "template", "test", "jenkins",
];
const SUPPORTED_STEPS: &[&str] = &["run", "background", "script", "group", "parallel", "plugin"];
/// Keys of each step type's `spec`, for the hint when one is written at the step's level.
pub(super) fn spec_keys(step_type: &str) -> &'static [&'static str] {
    match step_type {
        "run" => &[
            "shell",
            "script",
            "container",
            "envs",
            "reports",
            "outputs",
            "mount",
        ],
        "background" => &[
            "shell",
            "envs",
            "script",
            "run",
            "container",
            "mount",
            "image",
            "user",
            "pull",
            "entrypoint",
            "args",
            "ports",
            "network",
            "privileged",
            "resources",
            "workdir",
            "healthcheck",
        ],
        "script" => &[
            "image",
            "connector",
            "user",
            "group",
            "pull",
            "shell",
            "envs",
            "run",
            "entrypoint",
            "args",
            "privileged",
            "network",
            "reports",
            "outputs",
            "resources",
            "mount",
        ],
        "group" | "parallel" => &["steps"],
        "plugin" => &[
            "name",
            "uses",
            "image",
            "inputs",
            "with",
            "settings",
            "envs",
            "env",
            "connector",
            "pull",
            "privileged",
            "user",
            "network",
            "outputs",
            "resources",
            "volumes",
        ],
        _ => &[],
    }
}

pub(super) fn step(node: &Node<'_>, diags: &mut Diags) -> Option<Step> {
    let mut f = fields(node, "a step", diags)?;
    let mut ignored = Vec::new();
    let id = string(f.get("id"), "id", diags);
    let name = string(f.get("name"), "name", diags);
    let desc = string(f.get("desc"), "desc", diags);
    let (timeout, timeout_expr) = duration_or_expr(f.get("timeout"), "timeout", diags);
    let when = super::when(f.get("when"), diags);
    let failure = failures(f.get("failure"), diags);
    let strategy = strategy(f.get("strategy"), diags);
    f.accept("inputs", &mut ignored);
    let type_entry = f.entry("type");
    let spec_entry = f.entry("spec");
    let type_text = type_entry.and_then(|(_, v)| v.as_scalar()).unwrap_or("run");
    let keys = spec_keys(type_text);
    f.finish(diags, &|k| {
        keys.contains(&k)
            .then(|| format!("`{k}` belongs under the step's `spec:`"))
    });
    let label = name
        .as_ref()
        .or(id.as_ref())
        .map(|n| format!(" `{}`", n.value))
        .unwrap_or_default();

    let Some((type_key, type_node)) = type_entry else {
        diags.push(
            Diagnostic::new(
                Span::point(node.span.start),
                format!("the step{label} has no `type`"),
            )
            .with_label("expected `type: run`, `background`, `script`, `group` or `parallel`")
            .with_help("add `type:` to the step"),
        );
        return None;
    };
    let step_type = string(Some(type_node), "type", diags).or_else(|| {
        diags.push(
            Diagnostic::new(type_key.span, "`type` is empty").with_label("expected a step type"),
        );
        None
    })?;
    let envelope = |spec: StepSpec| Step {
        span: node.span,
        id: id.clone(),
        name: name.clone(),
        desc: desc.clone(),
        type_span: step_type.span,
        timeout,
        timeout_expr: timeout_expr.clone(),
        when: when.clone(),
        failure: failure.clone(),
        strategy: strategy.clone(),
        ignored: ignored.clone(),
        hostnames: Vec::new(),
        spec,
        policy: RunPolicy::OnSuccess,
        matrix: Vec::new(),
        continue_on_error: false,
        at_turn: crate::spec::AtTurn::default(),
    };
    if UNSUPPORTED_STEPS.contains(&step_type.as_str()) {
        diags.push(
            Diagnostic::new(
                step_type.span,
                format!(
                    "{} `{}` step runs only on Harness; pipeline-test skips it",
                    if step_type.value.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" },
                    step_type.value
                ),
            )
            .warning()
            .with_label("skipped locally, with a notice")
            .with_help("steps that run locally: run, background, script, plugin (with an image), group, parallel"),
        );
        return Some(envelope(StepSpec::Unsupported(step_type.clone())));
    }
    if !SUPPORTED_STEPS.contains(&step_type.as_str()) {
        let mut d = Diagnostic::new(step_type.span, format!("unknown step type `{}`", step_type.value))
            .with_help("step types are: run, background, script, group, parallel (and action, barrier, bitrise, plugin, template, test, jenkins, which pipeline-test cannot run)");
        if let Some(m) = did_you_mean(&step_type.value, SUPPORTED_STEPS) {
            d = d.with_label(format!("did you mean `{m}`?"));
        }
        diags.push(d);
        return None;
    }
    let empty = Node {
        span: type_key.span,
        value: Value::Map(Vec::new()),
    };
    let (spec_span, spec) = match spec_entry {
        Some((k, v)) if v.value != Value::Null => (k.span, v),
        Some((k, _)) => (k.span, &empty),
        None => (type_key.span, &empty),
    };
    let before = diags.len();
    let missing_image = |diags: &mut Diags, fix: &str| {
        if diags.len() > before {
            // A typo in the spec (`contianer:`) was already reported; that is the cause.
            return;
        }
        diags.push(
            Diagnostic::new(
                spec_span,
                format!("the {} step{label} has no image", step_type.value),
            )
            .with_label("no image to run in")
            .with_help(fix.to_string()),
        );
    };
    let runs_on_vm = |diags: &mut Diags, fix: &str| {
        if diags.len() > before {
            return;
        }
        diags.push(
            Diagnostic::new(
                spec_span,
                format!(
                    "the {} step{label} has no image: Harness Cloud runs it on its build VM",
                    step_type.value
                ),
            )
            .warning()
            .with_label("no image to run in")
            .with_help(format!(
                "{fix}, or run with `--default-image IMAGE` (PIPELINE_TEST_DEFAULT_IMAGE)"
            )),
        );
    };
    let spec = match step_type.as_str() {
        "run" => {
            let r = run_step(spec, diags)?;
            if r.container.is_none() {
                runs_on_vm(
                    diags,
                    "add `container: <image>` under `spec:`, e.g. `container: alpine:3`",
                );
            }
            StepSpec::Run(Box::new(r))
        }
        "background" => {
            let b = background_step(spec, diags)?;
            if b.container.is_none() && b.image.is_none() {
                missing_image(
                    diags,
                    "add `container: <image>` under `spec:`, e.g. `container: redis`",
                );
            }
            StepSpec::Background(Box::new(b))
        }
        "script" => {
            let s = script_step(spec, diags)?;
            if s.image.is_none() {
                runs_on_vm(
                    diags,
                    "add `image: <image>` under `spec:`, e.g. `image: alpine:3`",
                );
            }
            StepSpec::Script(Box::new(s))
        }
        "group" | "parallel" => {
            let mut sf = fields(spec, "the `spec` of a group or parallel step", diags)?;
            let steps_entry = sf.entry("steps");
            sf.finish(diags, &|_| None);
            let children: Vec<Step> = match steps_entry {
                Some((_, v)) => list(Some(v), "steps", diags)
                    .iter()
                    .filter_map(|n| step(n, diags))
                    .collect(),
                None => Vec::new(),
            };
            if children.is_empty()
                && steps_entry.is_none_or(|(_, v)| matches!(v.value, Value::Null | Value::Seq(_)))
            {
                diags.push(
                    Diagnostic::new(
                        spec_span,
                        format!("the {} step{label} has no steps", step_type.value),
                    )
                    .with_help("add `steps:` under its `spec:`"),
                );
            }
            if step_type.as_str() == "group" {
                StepSpec::Group(children)
            } else {
                StepSpec::Parallel(children)
            }
        }
        "plugin" => StepSpec::Plugin(Box::new(plugin_step(spec, diags)?)),
        _ => unreachable!("checked above"),
    };
    Some(envelope(spec))
}

pub(super) fn plugin_step(node: &Node<'_>, diags: &mut Diags) -> Option<PluginStep> {
    let mut f = fields(node, "a plugin step's `spec`", diags)?;
    let mut out = PluginStep {
        name: string(f.get("name"), "name", diags).or_else(|| string(f.get("uses"), "uses", diags)),
        image: image(f.get("image"), "image", diags),
        pull: pull(f.get("pull"), diags),
        privileged: boolean(f.get("privileged"), "privileged", diags).is_some_and(|b| b.value),
        user: string(f.get("user"), "user", diags),
        network: string(f.get("network"), "network", diags),
        ..PluginStep::default()
    };
    out.envs = envs(f.get("envs").or(f.get("env")), "envs", diags);
    for key in ["inputs", "with", "settings"] {
        if let Some(n) = f.get(key) {
            if let Some(m) = fields(n, "plugin settings", diags) {
                for (k, v) in m.entries {
                    if let Some(name) = k.as_scalar() {
                        out.settings.push((
                            Spanned::new(name.to_string(), k.span),
                            Spanned::new(json_text(v), v.span),
                        ));
                    }
                }
            }
        }
    }
    for key in ["connector", "outputs", "resources", "volumes"] {
        f.entry(key);
    }
    f.finish(diags, &|_| None);
    if out.name.is_none() && out.image.is_none() {
        diags.push(
            Diagnostic::new(node.span, "the plugin step names no plugin").with_help(
                "add `name: <plugin>` (from Gitness's plugin store) or `image: <image>`",
            ),
        );
    }
    Some(out)
}

pub(super) fn reports(node: Option<&Node<'_>>, diags: &mut Diags) -> Vec<Report> {
    list(node, "reports", diags)
        .iter()
        .filter_map(|n| {
            let mut f = fields(n, "a report", diags)?;
            let report_type = string(f.get("type"), "type", diags);
            let path = strings(f.get("path"), "path", diags);
            f.finish(diags, &|_| None);
            Some(Report { report_type, path })
        })
        .collect()
}

pub(super) fn mounts(node: Option<&Node<'_>>, diags: &mut Diags) -> Vec<Mount> {
    list(node, "mount", diags)
        .iter()
        .filter_map(|n| {
            let mut f = fields(n, "a mount", diags)?;
            let name = string(f.get("name"), "name", diags);
            let path = string(f.get("path"), "path", diags);
            f.finish(diags, &|_| None);
            match (name, path) {
                (Some(name), Some(path)) => Some(Mount { name, path }),
                _ => {
                    diags.push(
                        Diagnostic::new(n.span, "a mount needs a `name` and a `path`")
                            .with_help("for example `- name: data` and `path: /data`"),
                    );
                    None
                }
            }
        })
        .collect()
}

pub(super) fn resources(node: Option<&Node<'_>>, diags: &mut Diags) -> Option<Span> {
    let node = node?;
    check_keys(node, "`resources`", &["limits", "requests"], diags);
    Some(node.span)
}

pub(super) fn run_step(node: &Node<'_>, diags: &mut Diags) -> Option<RunStep> {
    let mut f = fields(node, "a run step's `spec`", diags)?;
    let out = RunStep {
        shell: string(f.get("shell"), "shell", diags),
        script: strings(f.get("script"), "script", diags),
        container: f.get("container").and_then(|c| container(c, diags)),
        envs: envs(f.get("envs"), "envs", diags),
        reports: reports(f.get("reports"), diags),
        outputs: strings(f.get("outputs"), "outputs", diags),
        mount: mounts(f.get("mount"), diags),
        pipefail: false,
    };
    f.finish(diags, &|k| match k {
        "image" => Some("a run step names its image with `container: <image>`".into()),
        "run" | "commands" => Some("a run step's commands go in `script:`".into()),
        "env" | "environment" => Some("environment variables go in `envs:`".into()),
        _ => None,
    });
    Some(out)
}

pub(super) fn background_step(node: &Node<'_>, diags: &mut Diags) -> Option<BackgroundStep> {
    let mut f = fields(node, "a background step's `spec`", diags)?;
    let out = BackgroundStep {
        shell: string(f.get("shell"), "shell", diags),
        envs: envs(f.get("envs"), "envs", diags),
        script: strings(f.get("script"), "script", diags),
        run: string(f.get("run"), "run", diags),
        container: f.get("container").and_then(|c| container(c, diags)),
        mount: mounts(f.get("mount"), diags),
        image: image(f.get("image"), "image", diags),
        user: string(f.get("user"), "user", diags),
        pull: pull(f.get("pull"), diags),
        entrypoint: string(f.get("entrypoint"), "entrypoint", diags),
        args: strings(f.get("args"), "args", diags),
        ports: ports(f.get("ports"), diags),
        network: string(f.get("network"), "network", diags),
        privileged: boolean(f.get("privileged"), "privileged", diags).is_some_and(|b| b.value),
        resources: resources(f.get("resources"), diags),
        workdir: string(f.get("workdir"), "workdir", diags),
        healthcheck: f.get("healthcheck").and_then(|h| healthcheck(h, diags)),
    };
    f.finish(diags, &|k| match k {
        "env" | "environment" => Some("environment variables go in `envs:`".into()),
        "health_check" | "health" => Some("write the health check as `healthcheck:`".into()),
        _ => None,
    });
    if let (Some(c), Some(i)) = (&out.container, &out.image) {
        diags.push(
            Diagnostic::new(i.span, "both `container` and `image` are given")
                .with_label(format!("the container already names `{}`", c.image.value))
                .with_help("keep one of them; `container:` is the current form"),
        );
    }
    Some(out)
}

pub(super) fn script_step(node: &Node<'_>, diags: &mut Diags) -> Option<ScriptStep> {
    let mut f = fields(node, "a script step's `spec`", diags)?;
    let out = ScriptStep {
        image: image(f.get("image"), "image", diags),
        connector: string(f.get("connector"), "connector", diags),
        user: string(f.get("user"), "user", diags),
        group: string(f.get("group"), "group", diags),
        pull: pull(f.get("pull"), diags),
        shell: string(f.get("shell"), "shell", diags),
        envs: envs(f.get("envs"), "envs", diags),
        run: strings(f.get("run"), "run", diags),
        entrypoint: string(f.get("entrypoint"), "entrypoint", diags),
        args: strings(f.get("args"), "args", diags),
        privileged: boolean(f.get("privileged"), "privileged", diags).is_some_and(|b| b.value),
        network: string(f.get("network"), "network", diags),
        reports: reports(f.get("reports"), diags),
        outputs: strings(f.get("outputs"), "outputs", diags),
        resources: resources(f.get("resources"), diags),
        mount: mounts(f.get("mount"), diags),
        build: None,
    };
    f.finish(diags, &|k| match k {
        "container" => Some(
            "a script step names its image with `image:`; `container:` is for run steps".into(),
        ),
        "script" | "commands" => Some("a script step's commands go in `run:`".into()),
        "env" | "environment" => Some("environment variables go in `envs:`".into()),
        _ => None,
    });
    Some(out)
}

//! Drone pipelines (`.drone.yml`): every `kind: pipeline` document is a stage, its
//! `services:` background steps reachable by name, its `steps:` run steps (`commands:`) or
//! plugins (`settings:` as `PLUGIN_*`). `when:` and `trigger:` become the conditions the
//! resolver evaluates; `depends_on` orders the pipelines.

mod values;
mod when;

use self::values::{environment, secret, subst};
use self::when::when;
use super::build::{joined, no_image, order_stages, pull_policy};
use super::read::json_text;
use super::read::{Diags, Dialect};
use super::read::{Fields, boolean, fields, list, string, strings};
use super::*;
use crate::diagnostic::Diagnostic;
use crate::yaml::{Node, Value};

/// Pipeline types that run in containers; `kubernetes` runs here as `docker` would.
const CONTAINER_TYPES: &[&str] = &["docker", "kubernetes"];
const OTHER_TYPES: &[&str] = &["exec", "ssh", "digitalocean", "macstadium", "vm", "aws"];

/// How Drone reads YAML: its reader keeps the last of two equal keys.
pub(super) const DIALECT: Dialect = Dialect {
    last_key_wins: true,
    ..Dialect::strict("Drone")
};

pub(super) fn pipelines(
    file: &SourceFile,
    docs: &[(Span, Node<'_>)],
    diags: &mut Diags,
) -> Option<Pipeline> {
    let mut p = Pipeline::empty(file, Format::Drone);
    let mut stages = Vec::new();
    for (_, doc) in docs {
        if super::format::is_drone_08(doc) {
            diags.push(
                Diagnostic::new(
                    Span::point(doc.span.start),
                    "this is Drone 0.8's `pipeline:` form, which pipeline-test does not read",
                )
                .with_help("convert it to Drone 1.0 (`drone convert .drone.yml`), which pipeline-test runs"),
            );
            return None;
        }
        let mut f = fields(doc, "a Drone document", diags)?;
        let kind = string(f.get("kind"), "kind", diags);
        match kind.as_ref().map(|k| k.as_str()) {
            Some("pipeline") => {
                if let Some(s) = pipeline(doc, f, diags) {
                    stages.push(s);
                }
            }
            Some("secret" | "signature" | "template") => {
                // Secrets come from `--secret`; signatures and templates are the server's.
                for (k, _) in f.entries {
                    if let Some(k) = k.as_scalar() {
                        p.ignored.push(Spanned::new(k.to_string(), doc.span));
                    }
                }
            }
            Some(other) => {
                let k = kind.as_ref().unwrap();
                let mut d = Diagnostic::new(k.span, format!("unknown kind `{other}`"))
                    .with_help("Drone's kinds are: pipeline, secret, signature, template");
                if let Some(m) =
                    crate::diagnostic::did_you_mean(other, &["pipeline", "secret", "signature"])
                {
                    d = d.with_label(format!("did you mean `{m}`?"));
                }
                diags.push(d);
            }
            None => diags.push(
                Diagnostic::new(Span::point(doc.span.start), "the document has no `kind`")
                    .with_help("add `kind: pipeline`"),
            ),
        }
    }
    p.stages = order_stages(stages, "depends_on", diags);
    Some(p)
}

fn pipeline(
    doc: &Node<'_>,
    mut f: Fields<'_>,
    diags: &mut Diags,
) -> Option<(Stage, Vec<Spanned<String>>)> {
    let mut stage = Stage::ci(doc.span);
    stage.name = string(f.get("name"), "name", diags).or_else(|| {
        Some(Spanned::new(
            "default".to_string(),
            Span::point(doc.span.start),
        ))
    });
    if let Some(t) = string(f.get("type"), "type", diags) {
        if OTHER_TYPES.contains(&t.as_str()) {
            diags.push(
                Diagnostic::new(
                    t.span,
                    format!(
                        "{} pipeline runs outside containers; pipeline-test skips it",
                        a_type(&t.value)
                    ),
                )
                .warning()
                .with_label("only `docker` (and `kubernetes`) pipelines run locally"),
            );
            stage.stage_type = Spanned::new(StageType::Other, t.span);
            stage.type_name = Spanned::new(
                format!(
                    "{} pipeline runs outside containers, on Drone only",
                    a_type(&t.value)
                ),
                t.span,
            );
        } else if !CONTAINER_TYPES.contains(&t.as_str()) {
            diags.push(
                Diagnostic::new(t.span, format!("unknown pipeline type `{}`", t.value)).with_help(
                    "Drone's types are: docker, kubernetes, exec, ssh, digitalocean, macstadium",
                ),
            );
        }
    }
    let needs = strings(f.get("depends_on"), "depends_on", diags);
    stage.when = f.get("trigger").and_then(|t| when(t, diags));
    stage.envs = environment(f.get("environment"), diags);
    stage.workspace = f.get("workspace").and_then(|w| workspace(w, diags));
    for k in [
        "platform",
        "clone",
        "node",
        "concurrency",
        "image_pull_secrets",
        "version",
        "pool",
        "server",
    ] {
        f.accept(k, &mut stage.ignored);
    }
    stage.volumes = list(f.get("volumes"), "volumes", diags)
        .iter()
        .filter_map(|v| volume(v, diags))
        .collect();
    let services = f.get("services");
    let steps = f.entry("steps");
    f.finish(diags, &|k| {
        matches!(k, "commands" | "image" | "settings")
            .then(|| format!("`{k}` belongs to a step: `steps: [{{name: ..., {k}: ...}}]`"))
    });
    if stage.stage_type.value != StageType::Ci {
        // Steps of an `exec`/`vm` pipeline run on a machine, not in images: only their
        // structure is checked, as Drone's linter does.
        if let Some((_, v)) = steps {
            for s in list(Some(v), "steps", diags) {
                machine_step(s, diags);
            }
        }
        return Some((stage, needs));
    }
    for s in list(services, "services", diags) {
        stage.steps.extend(step(s, true, diags));
    }
    match steps {
        None if stage.stage_type.value == StageType::Ci => diags.push(
            Diagnostic::new(Span::point(doc.span.start), "the pipeline has no `steps`")
                .with_help("add `steps:` with at least one step that has an `image`"),
        ),
        None => {}
        Some((_, v)) => {
            for s in list(Some(v), "steps", diags) {
                stage.steps.extend(step(s, false, diags));
            }
        }
    }
    Some((stage, needs))
}

/// "an `exec`", "a `vm`": the type with its article.
fn a_type(t: &str) -> String {
    let article = if t.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} `{t}`")
}

/// A step of a pipeline that runs on a machine (`exec`, `ssh`, `vm`, ...): a mapping with a
/// `name`, and `commands` as a list of strings.
fn machine_step(node: &Node<'_>, diags: &mut Diags) {
    let Some(mut f) = fields(node, "a step", diags) else {
        return;
    };
    if string(f.get("name"), "name", diags).is_none() {
        diags.push(
            Diagnostic::new(Span::point(node.span.start), "a step needs a `name`")
                .with_help("add `name: ...`; Drone refuses a step without one"),
        );
    }
    list(f.get("commands"), "commands", diags)
        .iter()
        .for_each(|c| drop(string(Some(c), "commands", diags)));
    // The rest is the machine's business: accepted as written.
    f.used.iter_mut().for_each(|u| *u = true);
    f.finish(diags, &|_| None);
}

/// `workspace: {base, path}`: where the workspace is mounted, `base` joined with a relative
/// `path` (Drone's default is `/drone/src`).
fn workspace(node: &Node<'_>, diags: &mut Diags) -> Option<Spanned<String>> {
    let mut f = fields(node, "`workspace`", diags)?;
    let base = string(f.get("base"), "base", diags);
    let path = string(f.get("path"), "path", diags);
    f.finish(diags, &|_| None);
    let span = path.as_ref().or(base.as_ref())?.span;
    let base = base.map_or("/drone".to_string(), |b| b.value);
    let full = match path {
        Some(p) if p.value.starts_with('/') => p.value,
        Some(p) => format!("{}/{}", base.trim_end_matches('/'), p.value),
        None => format!("{}/src", base.trim_end_matches('/')),
    };
    Some(Spanned::new(full, span))
}

fn volume(node: &Node<'_>, diags: &mut Diags) -> Option<Volume> {
    let mut f = fields(node, "a volume", diags)?;
    let name = string(f.get("name"), "name", diags)?;
    let temp = f.entry("temp");
    let host = f.get("host");
    f.finish(diags, &|_| None);
    let host_path = host.and_then(|h| {
        let mut hf = fields(h, "`host`", diags)?;
        let p = string(hf.get("path"), "path", diags);
        hf.finish(diags, &|_| None);
        p
    });
    let kind = match (&temp, &host_path) {
        (_, Some(_)) => "host",
        (Some(_), None) => "temp",
        (None, None) => {
            diags.push(
                Diagnostic::new(
                    name.span,
                    format!("the volume `{}` is neither `temp` nor `host`", name.value),
                )
                .with_help("add `temp: {}` or `host: {path: /dir}`"),
            );
            return None;
        }
    };
    Some(Volume {
        volume_type: Spanned::new(kind.to_string(), name.span),
        name,
        host_path,
    })
}

fn step(node: &Node<'_>, is_service: bool, diags: &mut Diags) -> Option<Step> {
    let what = if is_service { "a service" } else { "a step" };
    let mut f = fields(node, if is_service { "a service" } else { "a step" }, diags)?;
    let name = string(f.get("name"), "name", diags);
    let image = string(f.get("image"), "image", diags).map(|i| {
        let v = subst(&i.value, i.span, diags);
        Spanned::new(v, i.span)
    });
    let commands: Vec<Spanned<String>> = strings(f.get("commands"), "commands", diags)
        .into_iter()
        .map(|c| Spanned::new(subst(&c.value, c.span, diags), c.span))
        .collect();
    let envs = environment(f.get("environment"), diags);
    let settings = f.get("settings");
    let when = f.get("when").and_then(|w| when(w, diags));
    let detach = boolean(f.get("detach"), "detach", diags).is_some_and(|b| b.value);
    let privileged = boolean(f.get("privileged"), "privileged", diags).is_some_and(|b| b.value);
    let pull = string(f.get("pull"), "pull", diags).and_then(|p| {
        let p = match p.as_str() {
            "default" => Spanned::new("if-not-exists".to_string(), p.span),
            _ => p,
        };
        pull_policy(p, ["always", "never", "if-not-exists"], diags)
    });
    let entrypoint = strings(f.get("entrypoint"), "entrypoint", diags);
    let command = strings(f.get("command"), "command", diags);
    let failure = string(f.get("failure"), "failure", diags);
    let user = string(f.get("user"), "user", diags);
    let network_mode = string(f.get("network_mode"), "network_mode", diags);
    let shm_size = string(f.get("shm_size"), "shm_size", diags);
    let extra_hosts = strings(f.get("extra_hosts"), "extra_hosts", diags);
    let dns = strings(f.get("dns"), "dns", diags);
    let ports = strings(f.get("ports"), "ports", diags);
    let mounts: Vec<Mount> = list(f.get("volumes"), "volumes", diags)
        .iter()
        .filter_map(|v| {
            let mut vf = fields(v, "a volume mount", diags)?;
            let name = string(vf.get("name"), "name", diags);
            let path = string(vf.get("path"), "path", diags);
            vf.finish(diags, &|_| None);
            match (name, path) {
                (Some(name), Some(path)) => Some(Mount { name, path }),
                _ => {
                    diags.push(
                        Diagnostic::new(v.span, "a volume mount needs `name` and `path`")
                            .with_help("write `- name: cache` and `path: /cache`"),
                    );
                    None
                }
            }
        })
        .collect();
    let depends_on = f.entry("depends_on");
    let mut ignored = Vec::new();
    for k in [
        "resources",
        "devices",
        "cpu_period",
        "cpu_quota",
        "cpu_shares",
        "cpu_set",
        "mem_limit",
        "memswap_limit",
        "working_dir",
        "dns_search",
        "shell",
    ] {
        f.accept(k, &mut ignored);
    }
    f.finish(diags, &|k| {
        matches!(k, "steps" | "services" | "trigger")
            .then(|| format!("`{k}` belongs to the pipeline, not to {what}"))
    });
    let Some(image) = image else {
        diags.push(no_image(node.span, what));
        return None;
    };
    if let Some((k, _)) = depends_on {
        diags.push(
            Diagnostic::new(k.span, "steps run one after another, in the order written")
                .note()
                .with_label("`depends_on` between steps is not acted on"),
        );
    }
    let mut container = Container::of(image.clone());
    container.privileged = privileged;
    container.pull = pull;
    container.user = user;
    container.network_mode = network_mode;
    container.shm_size = shm_size;
    container.extra_hosts = extra_hosts;
    container.dns = dns;
    container.ports = ports;
    container.entrypoint = joined(&entrypoint);
    container.args = command;
    let spec = if is_service || detach {
        StepSpec::Background(Box::new(BackgroundStep {
            envs,
            container: Some(container),
            mount: mounts,
            run: (!commands.is_empty()).then(|| {
                let text: Vec<&str> = commands.iter().map(|c| c.as_str()).collect();
                Spanned::new(text.join("\n"), commands[0].span)
            }),
            ..BackgroundStep::default()
        }))
    } else if !commands.is_empty() {
        StepSpec::Run(Box::new(RunStep {
            script: commands,
            container: Some(container),
            envs,
            mount: mounts,
            ..RunStep::default()
        }))
    } else {
        let mut plugin = PluginStep {
            image: Some(image),
            envs,
            privileged,
            pull: container.pull,
            user: container.user.clone(),
            network: container.network_mode.clone(),
            ..PluginStep::default()
        };
        if let Some(s) = settings {
            if let Some(sf) = fields(s, "`settings`", diags) {
                for (k, v) in sf.entries {
                    let Some(key) = k.as_scalar() else { continue };
                    let value = match &v.value {
                        Value::Map(m)
                            if m.iter().any(|(k, _)| k.as_scalar() == Some("from_secret")) =>
                        {
                            match secret(v, diags) {
                                Some(s) => s,
                                None => continue,
                            }
                        }
                        Value::Scalar { text, .. } => subst(text, v.span, diags),
                        Value::Null => String::new(),
                        _ => json_text(v),
                    };
                    plugin.settings.push((
                        Spanned::new(key.to_string(), k.span),
                        Spanned::new(value, v.span),
                    ));
                }
            }
        }
        StepSpec::Plugin(Box::new(plugin))
    };
    let mut step = Step::new(node.span, spec);
    step.name = name;
    step.when = when;
    step.continue_on_error = failure.is_some_and(|f| f.as_str() == "ignore");
    Some(step)
}

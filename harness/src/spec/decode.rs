//! YAML tree -> pipeline model, checking every key and value.
//!
//! Every problem is pushed to a list of diagnostics and decoding goes on, so that a file with
//! several mistakes reports them all at once.

use std::time::Duration;

use super::*;
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::duration::parse_duration;
use crate::source::{SourceFile, Span, Spanned};
use crate::yaml::{Node, Value};

type Diags = Vec<Diagnostic>;

/// Step types the schema knows but pipeline-test cannot run.
const UNSUPPORTED_STEPS: &[&str] = &[
    "action", "barrier", "bitrise", "plugin", "template", "test", "jenkins",
];
const SUPPORTED_STEPS: &[&str] = &["run", "background", "script", "group", "parallel"];
const UNSUPPORTED_STAGES: &[&str] = &[
    "cd", "custom", "iacm", "flag", "template", "group", "parallel",
];

/// The keys of one mapping, handed out one by one; what is left at the end is unknown.
struct Fields<'n> {
    entries: &'n [(Node<'n>, Node<'n>)],
    used: Vec<bool>,
    asked: Vec<&'static str>,
    context: &'static str,
    span: Span,
}

impl<'n> Fields<'n> {
    /// The value of `key`, if present and not null.
    fn get(&mut self, key: &'static str) -> Option<&'n Node<'n>> {
        self.entry(key)
            .map(|(_, v)| v)
            .filter(|v| v.value != Value::Null)
    }

    /// The key and value nodes of `key`, if present.
    fn entry(&mut self, key: &'static str) -> Option<(&'n Node<'n>, &'n Node<'n>)> {
        self.asked.push(key);
        let i = self
            .entries
            .iter()
            .position(|(k, _)| k.as_scalar() == Some(key))?;
        self.used[i] = true;
        let (k, v) = &self.entries[i];
        Some((k, v))
    }

    /// Accepts `key` without acting on it; records it in `ignored`.
    fn accept(
        &mut self,
        key: &'static str,
        ignored: &mut Vec<Spanned<String>>,
    ) -> Option<&'n Node<'n>> {
        let (k, v) = self.entry(key)?;
        ignored.push(Spanned::new(key.to_string(), k.span));
        Some(v)
    }

    /// Reports every key nobody asked for. `hint` may explain a key that belongs elsewhere.
    fn finish(self, diags: &mut Diags, hint: &dyn Fn(&str) -> Option<String>) {
        for (i, (k, _)) in self.entries.iter().enumerate() {
            if self.used[i] {
                continue;
            }
            let Some(name) = k.as_scalar() else {
                continue;
            };
            if self.entries[..i]
                .iter()
                .any(|(p, _)| p.as_scalar() == Some(name))
            {
                continue; // reported as a duplicate key
            }
            let mut d =
                Diagnostic::new(k.span, format!("unknown key `{name}` in {}", self.context));
            if let Some(help) = hint(name) {
                d = d.with_help(help);
            } else if let Some(s) = did_you_mean(name, &self.asked) {
                d = d.with_label(format!("did you mean `{s}`?"));
            } else {
                d = d.with_help(format!(
                    "the keys of {} are: {}",
                    self.context,
                    self.asked.join(", ")
                ));
            }
            diags.push(d);
        }
    }
}

/// Opens a mapping node for reading its keys.
fn fields<'n>(node: &'n Node<'n>, context: &'static str, diags: &mut Diags) -> Option<Fields<'n>> {
    let Value::Map(entries) = &node.value else {
        diags.push(
            Diagnostic::new(
                node.span,
                format!(
                    "expected a mapping for {context}, found {}",
                    node.kind_name()
                ),
            )
            .with_label("expected `key: value` lines here"),
        );
        return None;
    };
    for (i, (k, _)) in entries.iter().enumerate() {
        match k.as_scalar() {
            None => diags.push(Diagnostic::new(
                k.span,
                format!(
                    "a key of {context} must be a plain string, found {}",
                    k.kind_name()
                ),
            )),
            Some(name) => {
                if entries[..i]
                    .iter()
                    .any(|(p, _)| p.as_scalar() == Some(name))
                {
                    diags.push(
                        Diagnostic::new(k.span, format!("duplicate key `{name}` in {context}"))
                            .with_help("a key may appear once in a mapping; remove one of them"),
                    );
                }
            }
        }
    }
    Some(Fields {
        entries,
        used: vec![false; entries.len()],
        asked: Vec::with_capacity(24),
        context,
        span: node.span,
    })
}

/// Checks that `node` is a mapping whose keys are among `known`, without reading the values.
fn check_keys(node: &Node<'_>, context: &'static str, known: &[&'static str], diags: &mut Diags) {
    if let Some(mut f) = fields(node, context, diags) {
        for k in known {
            f.entry(k);
        }
        f.finish(diags, &|_| None);
    }
}

fn string(node: Option<&Node<'_>>, what: &str, diags: &mut Diags) -> Option<Spanned<String>> {
    let node = node?;
    match &node.value {
        Value::Null => None,
        Value::Scalar { text, .. } => Some(Spanned::new(text.to_string(), node.span)),
        _ => {
            diags.push(
                Diagnostic::new(
                    node.span,
                    format!("expected a string for `{what}`, found {}", node.kind_name()),
                )
                .with_label("expected a string"),
            );
            None
        }
    }
}

fn boolean(node: Option<&Node<'_>>, what: &str, diags: &mut Diags) -> Option<Spanned<bool>> {
    let node = node?;
    match &node.value {
        Value::Scalar { text, plain: true } if text.eq_ignore_ascii_case("true") => {
            Some(Spanned::new(true, node.span))
        }
        Value::Scalar { text, plain: true } if text.eq_ignore_ascii_case("false") => {
            Some(Spanned::new(false, node.span))
        }
        _ => {
            diags.push(
                Diagnostic::new(
                    node.span,
                    format!("expected `true` or `false` for `{what}`"),
                )
                .with_label("expected a boolean"),
            );
            None
        }
    }
}

fn uint(node: Option<&Node<'_>>, what: &str, diags: &mut Diags) -> Option<Spanned<u32>> {
    let node = node?;
    match node.as_scalar().map(str::parse::<u32>) {
        Some(Ok(n)) => Some(Spanned::new(n, node.span)),
        _ => {
            diags.push(
                Diagnostic::new(node.span, format!("expected a whole number for `{what}`"))
                    .with_label("expected a number such as `3`"),
            );
            None
        }
    }
}

fn duration(node: Option<&Node<'_>>, what: &str, diags: &mut Diags) -> Option<Spanned<Duration>> {
    let s = string(node, what, diags)?;
    match parse_duration(&s.value) {
        Ok(d) => Some(Spanned::new(d, s.span)),
        Err(msg) => {
            diags.push(
                Diagnostic::new(s.span, format!("invalid duration for `{what}`: {msg}"))
                    .with_label("expected a duration such as `90s`, `10m` or `1h30m`"),
            );
            None
        }
    }
}

/// The items of a list; a null is an empty list.
fn list<'n>(node: Option<&'n Node<'n>>, what: &str, diags: &mut Diags) -> &'n [Node<'n>] {
    match node.map(|n| &n.value) {
        None | Some(Value::Null) => &[],
        Some(Value::Seq(items)) => items,
        Some(_) => {
            let node = node.unwrap_or_else(|| unreachable!());
            diags.push(
                Diagnostic::new(
                    node.span,
                    format!("expected a list for `{what}`, found {}", node.kind_name()),
                )
                .with_label("expected `- item` lines"),
            );
            &[]
        }
    }
}

/// A `ports:` list: each entry must read as a port mapping (`6379`, `8080:80/udp`).
fn ports(node: Option<&Node<'_>>, diags: &mut Diags) -> Vec<Spanned<String>> {
    let out = strings(node, "ports", diags);
    for port in &out {
        if let Err(e) = port.value.parse::<crate::ports::PortMapping>() {
            diags.push(
                Diagnostic::new(port.span, format!("`{}` is not a valid port", port.value))
                    .with_label(e.reason),
            );
        }
    }
    out
}

/// A string, or a list of strings.
fn strings(node: Option<&Node<'_>>, what: &str, diags: &mut Diags) -> Vec<Spanned<String>> {
    match node.map(|n| &n.value) {
        Some(Value::Scalar { .. }) => string(node, what, diags).into_iter().collect(),
        _ => list(node, what, diags)
            .iter()
            .filter_map(|n| string(Some(n), what, diags))
            .collect(),
    }
}

fn envs(node: Option<&Node<'_>>, what: &str, diags: &mut Diags) -> Envs {
    let mut out = Envs::default();
    let Some(node) = node else { return out };
    if node.value == Value::Null {
        return out;
    }
    let Some(mut f) = fields(node, "`envs`", diags) else {
        return out;
    };
    f.used.fill(true);
    for (k, v) in f.entries {
        let Some(name) = k.as_scalar() else { continue };
        let value = match &v.value {
            Value::Null => String::new(),
            Value::Scalar { text, .. } => text.to_string(),
            _ => {
                diags.push(
                    Diagnostic::new(
                        v.span,
                        format!(
                            "environment variable `{name}` in `{what}` must be a string, found {}",
                            v.kind_name()
                        ),
                    )
                    .with_label("expected a string")
                    .with_help("quote the value to pass it as text"),
                );
                continue;
            }
        };
        out.0.push(EnvVar {
            name: Spanned::new(name.to_string(), k.span),
            value: Spanned::new(value, v.span),
        });
    }
    out
}

fn pull(node: Option<&Node<'_>>, diags: &mut Diags) -> Option<Spanned<Pull>> {
    let s = string(node, "pull", diags)?;
    let value = match s.as_str() {
        "always" => Pull::Always,
        "never" => Pull::Never,
        "if-not-exists" => Pull::IfNotExists,
        other => {
            let mut d = Diagnostic::new(s.span, format!("invalid pull policy `{other}`"))
                .with_help("`pull` is one of: always, never, if-not-exists");
            if let Some(m) = did_you_mean(other, &["always", "never", "if-not-exists"]) {
                d = d.with_label(format!("did you mean `{m}`?"));
            }
            diags.push(d);
            return None;
        }
    };
    Some(Spanned::new(value, s.span))
}

fn image(node: Option<&Node<'_>>, what: &str, diags: &mut Diags) -> Option<Spanned<String>> {
    let s = string(node, what, diags)?;
    if s.value.trim().is_empty() || s.value.contains(char::is_whitespace) {
        diags.push(
            Diagnostic::new(s.span, format!("invalid image name `{}`", s.value))
                .with_label("expected an image such as `redis:7` or `mysql:8.0`"),
        );
        return None;
    }
    Some(s)
}

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
                    "template" | "plugin" => diags.push(
                        Diagnostic::new(
                            kind.span,
                            format!("`kind: {}` is not supported by pipeline-test", kind.value),
                        )
                        .with_label("only `kind: pipeline` can be run")
                        .with_help(
                            "point pipeline-test at the pipeline that uses this template or plugin",
                        ),
                    ),
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
    match spec_entry {
        None => diags.push(
            Diagnostic::new(Span::point(root.span.start), "the pipeline has no `spec`")
                .with_help("add `spec:` with a list of `stages:`"),
        ),
        Some((key, spec)) => {
            if let Some(mut s) = fields(spec, "the pipeline's `spec`", diags) {
                s.accept("inputs", &mut ignored);
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
                        Diagnostic::new(key.span, "the pipeline has no stages").with_help(
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
        ignored,
    })
}

fn options(node: &Node<'_>, diags: &mut Diags) -> Options {
    let mut out = Options::default();
    let Some(mut f) = fields(node, "`options`", diags) else {
        return out;
    };
    out.envs = envs(f.get("envs"), "options.envs", diags);
    out.timeout = duration(f.get("timeout"), "timeout", diags);
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
    let when = string(f.get("when"), "when", diags);
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

    let stage_type = match type_entry {
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
                "ci" => Spanned::new(StageType::Ci, t.span),
                other if UNSUPPORTED_STAGES.contains(&other) => {
                    diags.push(
                        Diagnostic::new(
                            t.span,
                            format!("stage type `{other}` is not supported by pipeline-test"),
                        )
                        .with_label("only `ci` stages can be run")
                        .with_help(
                            "run the `ci` stages of this pipeline, or select one with `--stage`",
                        ),
                    );
                    return None;
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
        envs: Envs::default(),
        steps: Vec::new(),
        volumes: Vec::new(),
        when,
        failure,
        strategy,
        ignored,
    };
    let Some((spec_key, spec)) = spec_entry else {
        diags.push(
            Diagnostic::new(Span::point(node.span.start), "the stage has no `spec`")
                .with_help("add `spec:` with a list of `steps:`"),
        );
        return None;
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
                .with_help("add `steps:` under the stage's `spec:`"),
        ),
        Some((k, v)) => {
            let items = list(Some(v), "steps", diags);
            if items.is_empty() && matches!(v.value, Value::Null | Value::Seq(_)) {
                diags.push(
                    Diagnostic::new(k.span, "`steps` is empty").with_help("add at least one step"),
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

fn strategy(node: Option<&Node<'_>>, diags: &mut Diags) -> Option<Strategy> {
    let node = node?;
    let mut f = fields(node, "`strategy`", diags)?;
    let t = string(f.get("type"), "type", diags);
    f.entry("spec");
    f.finish(diags, &|_| None);
    match t {
        Some(t) => Some(Strategy { strategy_type: t }),
        None => {
            diags.push(
                Diagnostic::new(node.span, "`strategy` has no `type`")
                    .with_help("strategy types are: matrix, for, while"),
            );
            None
        }
    }
}

/// Keys of each step type's `spec`, for the hint when one is written at the step's level.
fn spec_keys(step_type: &str) -> &'static [&'static str] {
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
        _ => &[],
    }
}

fn step(node: &Node<'_>, diags: &mut Diags) -> Option<Step> {
    let mut f = fields(node, "a step", diags)?;
    let mut ignored = Vec::new();
    let id = string(f.get("id"), "id", diags);
    let name = string(f.get("name"), "name", diags);
    let desc = string(f.get("desc"), "desc", diags);
    let timeout = duration(f.get("timeout"), "timeout", diags);
    let when = string(f.get("when"), "when", diags);
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
    if UNSUPPORTED_STEPS.contains(&step_type.as_str()) {
        diags.push(
            Diagnostic::new(
                step_type.span,
                format!(
                    "step type `{}` is not supported by pipeline-test",
                    step_type.value
                ),
            )
            .with_label("cannot be run locally")
            .with_help("supported step types: run, background, script, group, parallel"),
        );
        return None;
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
    let spec = match step_type.as_str() {
        "run" => {
            let r = run_step(spec, diags)?;
            if r.container.is_none() {
                missing_image(
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
                missing_image(
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
        _ => unreachable!("checked above"),
    };
    Some(Step {
        span: node.span,
        id,
        name,
        desc,
        type_span: step_type.span,
        timeout,
        when,
        failure,
        strategy,
        ignored,
        hostnames: Vec::new(),
        spec,
    })
}

fn reports(node: Option<&Node<'_>>, diags: &mut Diags) -> Vec<Report> {
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

fn mounts(node: Option<&Node<'_>>, diags: &mut Diags) -> Vec<Mount> {
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

fn resources(node: Option<&Node<'_>>, diags: &mut Diags) -> Option<Span> {
    let node = node?;
    check_keys(node, "`resources`", &["limits", "requests"], diags);
    Some(node.span)
}

fn run_step(node: &Node<'_>, diags: &mut Diags) -> Option<RunStep> {
    let mut f = fields(node, "a run step's `spec`", diags)?;
    let out = RunStep {
        shell: string(f.get("shell"), "shell", diags),
        script: strings(f.get("script"), "script", diags),
        container: f.get("container").and_then(|c| container(c, diags)),
        envs: envs(f.get("envs"), "envs", diags),
        reports: reports(f.get("reports"), diags),
        outputs: strings(f.get("outputs"), "outputs", diags),
        mount: mounts(f.get("mount"), diags),
    };
    f.finish(diags, &|k| match k {
        "image" => Some("a run step names its image with `container: <image>`".into()),
        "run" | "commands" => Some("a run step's commands go in `script:`".into()),
        "env" | "environment" => Some("environment variables go in `envs:`".into()),
        _ => None,
    });
    Some(out)
}

fn background_step(node: &Node<'_>, diags: &mut Diags) -> Option<BackgroundStep> {
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

fn script_step(node: &Node<'_>, diags: &mut Diags) -> Option<ScriptStep> {
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

fn container(node: &Node<'_>, diags: &mut Diags) -> Option<Container> {
    if let Value::Scalar { .. } = node.value {
        let image = image(Some(node), "container", diags)?;
        return Some(Container {
            span: node.span,
            image,
            ..Container::default()
        });
    }
    let mut f = fields(node, "`container`", diags)?;
    let span = f.span;
    let image_node = f.get("image");
    let out = Container {
        span: node.span,
        image: Spanned::default(),
        connector: string(f.get("connector"), "connector", diags),
        credentials: f.get("credentials").and_then(|c| {
            let mut cf = fields(c, "`credentials`", diags)?;
            let username = string(cf.get("username"), "username", diags);
            let password = string(cf.get("password"), "password", diags);
            cf.entry("aws");
            cf.finish(diags, &|_| None);
            Some(Credentials { username, password })
        }),
        pull: pull(f.get("pull"), diags),
        entrypoint: string(f.get("entrypoint"), "entrypoint", diags),
        args: strings(f.get("args"), "args", diags),
        dns: strings(f.get("dns"), "dns", diags),
        dns_search: strings(f.get("dsn_search"), "dsn_search", diags),
        extra_hosts: strings(f.get("extra_hosts"), "extra_hosts", diags),
        network: string(f.get("network"), "network", diags),
        network_mode: string(f.get("network_mode"), "network_mode", diags),
        privileged: boolean(f.get("privileged"), "privileged", diags).is_some_and(|b| b.value),
        workdir: string(f.get("workdir"), "workdir", diags),
        ports: ports(f.get("ports"), diags),
        volumes: strings(f.get("volumes"), "volumes", diags),
        user: string(f.get("user"), "user", diags),
        group: string(f.get("group"), "group", diags),
        cpu: string(f.get("cpu"), "cpu", diags),
        memory: string(f.get("memory"), "memory", diags),
        shm_size: string(f.get("shm_size"), "shm_size", diags),
    };
    f.finish(diags, &|k| match k {
        "dns_search" => Some("the schema spells it `dsn_search`".into()),
        "env" | "envs" | "environment" => {
            Some("environment variables go in the step's `envs:`, next to `container:`".into())
        }
        _ => None,
    });
    match image(image_node, "image", diags) {
        Some(image) => Some(Container { image, ..out }),
        None => {
            if image_node.is_none() {
                diags.push(
                    Diagnostic::new(span, "`container` has no `image`")
                        .with_label("expected `image: <name>` here")
                        .with_help("add `image:`, or write the image directly: `container: redis`"),
                );
            }
            None
        }
    }
}

fn healthcheck(node: &Node<'_>, diags: &mut Diags) -> Option<Healthcheck> {
    let mut f = fields(node, "`healthcheck`", diags)?;
    let span = f.span;
    let test_node = f.get("test");
    let disable = boolean(f.get("disable"), "disable", diags).is_some_and(|b| b.value);
    let out = Healthcheck {
        span: node.span,
        test: HealthTest::Disabled,
        interval: duration(f.get("interval"), "interval", diags),
        timeout: duration(f.get("timeout"), "timeout", diags),
        retries: uint(f.get("retries"), "retries", diags),
        start_period: duration(f.get("start_period"), "start_period", diags),
        start_interval: duration(f.get("start_interval"), "start_interval", diags),
    };
    f.finish(diags, &|_| None);
    if disable {
        return Some(out);
    }
    let Some(test_node) = test_node else {
        diags.push(
            Diagnostic::new(span, "`healthcheck` has no `test`").with_help(
                "add `test: [\"CMD\", \"redis-cli\", \"ping\"]` or `test: redis-cli ping`",
            ),
        );
        return None;
    };
    let test = match &test_node.value {
        Value::Scalar { text, .. } => HealthTest::Shell(text.to_string()),
        Value::Seq(_) => {
            let words: Vec<String> = strings(Some(test_node), "test", diags)
                .into_iter()
                .map(|s| s.value)
                .collect();
            match words.first().map(String::as_str) {
                Some("NONE") => HealthTest::Disabled,
                Some("CMD") if words.len() > 1 => HealthTest::Cmd(words[1..].to_vec()),
                Some("CMD-SHELL") if words.len() > 1 => HealthTest::Shell(words[1..].join(" ")),
                _ => {
                    diags.push(
                        Diagnostic::new(
                            test_node.span,
                            "a `test` list starts with `CMD`, `CMD-SHELL` or `NONE`",
                        )
                        .with_label("expected `[\"CMD\", \"program\", \"arg\", ...]`")
                        .with_help("write `[\"CMD-SHELL\", \"command\"]` to run through a shell"),
                    );
                    return None;
                }
            }
        }
        _ => {
            diags.push(
                Diagnostic::new(test_node.span, "`test` is a command string or a list")
                    .with_label("expected `[\"CMD\", ...]` or a string"),
            );
            return None;
        }
    };
    Some(Healthcheck { test, ..out })
}

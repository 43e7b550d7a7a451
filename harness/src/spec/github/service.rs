//! A job's `services:` and `container:`: images, env, ports, volumes, credentials, and the
//! `options:` Docker flags (`--health-cmd` and its siblings become the health check).

use std::time::Duration;

use crate::diagnostic::Diagnostic;
use crate::duration::parse_duration;
use crate::source::{SourceFile, Span, Spanned};
use crate::spec::read::Diags;
use crate::spec::read::{check_ports, fields, string, strings};
use crate::spec::{
    BackgroundStep, Container, Credentials, Envs, HealthTest, Healthcheck, Step, StepSpec,
};
use crate::yaml::{Node, Value};

/// Flags of `options:` that are accepted and not acted on.
const IGNORED_FLAGS: &[&str] = &[
    "--network-alias",
    "--hostname",
    "--name",
    "--label",
    "--add-host",
    "--restart",
    "--ulimit",
    "--tmpfs",
    "--init",
    "--rm",
];

/// An `env:` mapping, each value's `${{ }}` rewritten. Actions takes numbers and booleans
/// as their text.
pub(super) fn env(node: Option<&Node<'_>>, what: &'static str, diags: &mut Diags) -> Envs {
    let mut out = Envs::default();
    let Some(node) = node else { return out };
    if let Some(text) = node.as_scalar() {
        diags.push(
            Diagnostic::new(
                node.span,
                format!("`{what}` computed by an expression (`{text}`) is not supported"),
            )
            .with_help("write the variables as a mapping: `NAME: value`"),
        );
        return out;
    }
    let Some(f) = fields(node, "`env`", diags) else {
        return out;
    };
    for (k, v) in f.entries {
        let Some(name) = k.as_scalar() else { continue };
        let value = match &v.value {
            Value::Scalar { text, .. } => text.to_string(),
            Value::Null => String::new(),
            _ => {
                diags.push(
                    Diagnostic::new(
                        v.span,
                        format!("the value of `{name}` is {}, not a string", v.kind_name()),
                    )
                    .with_help("quote it, or write it on one line"),
                );
                continue;
            }
        };
        out.0.push(crate::spec::EnvVar {
            name: Spanned::new(name.to_string(), k.span),
            value: Spanned::new(value, v.span),
        });
    }
    out
}

/// What an entry of `services:` is called in messages.
const SERVICE: &str = "a service";

/// The most ports one range of `ports:` may hold.
const MAX_RANGE: u16 = 100;

/// `ports:` entries; a range (`7000-7005:7000-7005`) becomes one entry per port. A range
/// written backwards, of unequal lengths or of more than [`MAX_RANGE`] ports is left as
/// written, for the port check to refuse at its place.
fn ports(node: Option<&Node<'_>>, diags: &mut Diags) -> Vec<Spanned<String>> {
    let ok = |a: u16, b: u16| a <= b && b - a < MAX_RANGE;
    let mut out = Vec::new();
    for p in strings(node, "ports", diags) {
        let range = |s: &str| -> Option<(u16, u16)> {
            let (a, b) = s.split_once('-')?;
            Some((a.parse().ok()?, b.parse().ok()?))
        };
        let (host, rest) = match p.value.split_once(':') {
            Some((h, c)) => (Some(h), c),
            None => (None, p.value.as_str()),
        };
        let (proto, rest) = match rest.split_once('/') {
            Some((c, proto)) => (Some(proto), c),
            None => (None, rest),
        };
        let expanded = match (host.map(range), range(rest)) {
            (Some(Some((h0, h1))), Some((c0, c1)))
                if ok(h0, h1) && ok(c0, c1) && h1 - h0 == c1 - c0 =>
            {
                Some(
                    (0..=c1 - c0)
                        .map(|i| format!("{}:{}", h0 + i, c0 + i))
                        .collect::<Vec<_>>(),
                )
            }
            (None, Some((c0, c1))) if ok(c0, c1) => {
                Some((c0..=c1).map(|c| c.to_string()).collect())
            }
            _ => None,
        };
        match expanded {
            Some(list) => out.extend(list.into_iter().map(|v| {
                let v = match proto {
                    Some(p) => format!("{v}/{p}"),
                    None => v,
                };
                Spanned::new(v, p.span)
            })),
            None => out.push(p),
        }
    }
    out
}

/// `container:` of a job or an entry of `services:`: an image string or a mapping.
/// Returns the container, its env and its health check.
pub(super) fn container(
    file: &SourceFile,
    node: &Node<'_>,
    what: &'static str,
    diags: &mut Diags,
) -> Option<(Container, Envs, Option<Healthcheck>)> {
    if let Value::Scalar { .. } = node.value {
        let image = string(Some(node), "image", diags)?;
        return Some((Container::of(image), Envs::default(), None));
    }
    let mut f = fields(node, what, diags)?;
    let image = string(f.get("image"), "image", diags);
    let envs = env(f.get("env"), "env", diags);
    let ports = ports(f.get("ports"), diags);
    let volumes = strings(f.get("volumes"), "volumes", diags);
    let credentials = f.get("credentials").and_then(|c| {
        let mut cf = fields(c, "`credentials`", diags)?;
        let username = string(cf.get("username"), "username", diags);
        let password = string(cf.get("password"), "password", diags);
        cf.finish(diags, &|_| None);
        Some(Credentials { username, password })
    });
    let options = string(f.get("options"), "options", diags);
    // A service's `entrypoint` and `command` (GitHub, 2026); the job's container has neither.
    let service = what == SERVICE;
    let entrypoint = f.entry("entrypoint");
    let command = f.entry("command");
    f.finish(diags, &|_| None);
    let mut overrides = |entry: Option<(&Node<'_>, &Node<'_>)>, key: &str| {
        let (k, v) = entry?;
        if !service {
            diags.push(
                Diagnostic::new(k.span, format!("`{key}` is a key of a service, not of {what}"))
                    .with_label("GitHub refuses the workflow")
                    .with_help(format!(
                        "move it to an entry of `services:`, or write `--entrypoint` in `options:`, or remove `{key}`"
                    )),
            );
            return None;
        }
        string(Some(v), key, diags)
    };
    let entrypoint = overrides(entrypoint, "entrypoint");
    let command = overrides(command, "command");
    let Some(image) = image else {
        diags.push(crate::spec::build::no_image(node.span, what));
        return None;
    };
    let mut c = Container::of(image);
    c.ports = ports;
    c.volumes = volumes;
    c.credentials = credentials;
    check_ports(&c.ports, diags);
    let health = options.and_then(|o| self::options(file, &o, &mut c, diags));
    // `entrypoint` goes to `docker create --entrypoint`, after `options:`, and wins over an
    // `--entrypoint` there; `command` is the words after the image.
    if let Some(e) = entrypoint.filter(|e| !e.value.is_empty()) {
        c.entrypoint = Some(e);
    }
    if let Some(cmd) = command
        && let Some(words) = words(&cmd, "command", diags)
    {
        c.args = words
            .into_iter()
            .map(|w| Spanned::new(w, cmd.span))
            .collect();
    }
    Some((c, envs, health))
}

/// The words of `key`'s value, as `docker create` gets them on a command line; an unclosed
/// quote is an error.
fn words(s: &Spanned<String>, key: &str, diags: &mut Diags) -> Option<Vec<String>> {
    let words = shlex::split(&s.value);
    if words.is_none() {
        diags.push(
            Diagnostic::new(s.span, format!("`{key}` has an unclosed quote"))
                .with_help("close the quote, as `docker create` would need"),
        );
    }
    words
}

/// The flags of `options` a container is created with.
const SUPPORTED_FLAGS: &[&str] = &[
    "--health-cmd",
    "--health-interval",
    "--health-timeout",
    "--health-retries",
    "--health-start-period",
    "--health-start-interval",
    "--no-healthcheck",
    "--entrypoint",
    "--user",
    "--workdir",
    "--privileged",
    "--shm-size",
    "--memory",
    "--cpus",
    "--dns",
    "--volume",
];

/// The place of `word` in `file`, looked for from byte `from` on (which moves past it); `span`
/// when it is not found there on one line.
fn locate(file: &SourceFile, from: &mut usize, word: &str, span: Span) -> Span {
    let text = file.text();
    let end = file.offset(span.end).max(*from).min(text.len());
    let Some(n) = text.get(*from..end).and_then(|t| t.find(word)) else {
        return span;
    };
    let start = *from + n;
    *from = start + word.len();
    let (a, b) = (file.pos(start), file.pos(start + word.len()));
    if a.line == b.line {
        Span::new(a, b)
    } else {
        span
    }
}

/// The Docker flags of `options:`; the health check, if they give one.
fn options(
    file: &SourceFile,
    o: &Spanned<String>,
    c: &mut Container,
    diags: &mut Diags,
) -> Option<Healthcheck> {
    let words = words(o, "options", diags)?;
    let mut health: Option<Healthcheck> = None;
    let mut disabled = false;
    let mut it = words.into_iter();
    // Where the next word is looked for in the file: each flag is reported at its own line,
    // also in a folded `options: >-` block.
    let mut from = file.offset(o.span.start);
    while let Some(word) = it.next() {
        let (flag, inline) = match word.split_once('=') {
            Some((f, v)) if f.starts_with('-') => (f.to_string(), Some(v.to_string())),
            _ => (word.clone(), None),
        };
        let o = &Spanned::new(o.value.clone(), locate(file, &mut from, &flag, o.span));
        if !flag.starts_with('-') {
            diags.push(
                Diagnostic::new(o.span, format!("`{word}` in `options` is not a flag"))
                    .with_help("`options` holds `docker create` flags, such as `--health-cmd \"redis-cli ping\"`"),
            );
            continue;
        }
        let boolean = matches!(
            flag.as_str(),
            "--privileged" | "--init" | "--rm" | "--no-healthcheck"
        );
        let value = if boolean {
            inline.unwrap_or_else(|| "true".into())
        } else if let Some(v) = inline.or_else(|| it.next()) {
            v
        } else {
            diags.push(
                Diagnostic::new(o.span, format!("`{flag}` in `options` has no value"))
                    .with_help(format!("write `{flag} VALUE`")),
            );
            break;
        };
        let dur = |diags: &mut Diags| -> Option<Spanned<Duration>> {
            match parse_duration(&value) {
                Ok(d) => Some(Spanned::new(d, o.span)),
                Err(m) => {
                    diags.push(
                        Diagnostic::new(o.span, format!("invalid `{flag}` in `options`: {m}"))
                            .with_help("durations are written like `10s` or `1m30s`"),
                    );
                    None
                }
            }
        };
        match flag.as_str() {
            "--health-cmd" => hc(&mut health, o.span).test = HealthTest::Shell(value),
            "--health-interval" => hc(&mut health, o.span).interval = dur(diags),
            "--health-timeout" => hc(&mut health, o.span).timeout = dur(diags),
            "--health-start-period" => hc(&mut health, o.span).start_period = dur(diags),
            "--health-start-interval" => hc(&mut health, o.span).start_interval = dur(diags),
            "--health-retries" => match value.parse::<u32>() {
                Ok(n) => hc(&mut health, o.span).retries = Some(Spanned::new(n, o.span)),
                Err(_) => diags.push(
                    Diagnostic::new(
                        o.span,
                        format!("`--health-retries {value}` is not a whole number"),
                    )
                    .with_help("write `--health-retries 5`"),
                ),
            },
            "--no-healthcheck" => disabled = true,
            "--entrypoint" => c.entrypoint = Some(Spanned::new(value, o.span)),
            "--user" | "-u" => c.user = Some(Spanned::new(value, o.span)),
            "--workdir" | "-w" => c.workdir = Some(Spanned::new(value, o.span)),
            "--privileged" => c.privileged = value != "false",
            "--shm-size" => c.shm_size = Some(Spanned::new(value, o.span)),
            "--memory" | "-m" => c.memory = Some(Spanned::new(value, o.span)),
            "--cpus" => c.cpu = Some(Spanned::new(value, o.span)),
            "--dns" => c.dns.push(Spanned::new(value, o.span)),
            "--volume" | "-v" => c.volumes.push(Spanned::new(value, o.span)),
            f if IGNORED_FLAGS.contains(&f) => diags.push(
                Diagnostic::new(o.span, format!("`{f}` in `options` is not acted on"))
                    .note()
                    .with_label("pipeline-test names and labels its containers itself"),
            ),
            f => diags.push(match crate::diagnostic::did_you_mean(f, SUPPORTED_FLAGS) {
                // Not a flag of `docker create`, which refuses it, and so does GitHub's job.
                Some(meant) => Diagnostic::new(o.span, format!("unknown flag `{f}` in `options`"))
                    .with_label(format!("did you mean `{meant}`?"))
                    .with_help("`docker create` refuses an unknown flag, and GitHub fails the job"),
                None => Diagnostic::new(o.span, format!("`{f}` in `options` is not supported"))
                    .warning()
                    .with_label("the container is created without it")
                    .with_help(format!("supported: {}", SUPPORTED_FLAGS.join(", "))),
            }),
        }
    }
    if disabled {
        let h = hc(&mut health, o.span);
        h.test = HealthTest::Disabled;
        return health;
    }
    if health
        .as_ref()
        .is_some_and(|h| h.test == HealthTest::Disabled)
    {
        diags.push(
            Diagnostic::new(
                o.span,
                "`options` sets health check timings but no `--health-cmd`",
            )
            .warning()
            .with_label("not acted on: the image's own check, if it has one, runs as it is"),
        );
        return None;
    }
    health
}

/// One entry of `services:`, as a background step reachable by its key.
pub(super) fn service(
    file: &SourceFile,
    key: &Node<'_>,
    node: &Node<'_>,
    diags: &mut Diags,
) -> Option<Step> {
    let name = Spanned::new(key.as_scalar()?.to_string(), key.span);
    let (container, envs, healthcheck) = container(file, node, SERVICE, diags)?;
    if container.image.value.is_empty() {
        // Actions skips a service whose image is empty.
        return None;
    }
    let spec = BackgroundStep {
        envs,
        container: Some(container),
        healthcheck,
        ..BackgroundStep::default()
    };
    let mut step = Step::new(node.span, StepSpec::Background(Box::new(spec)));
    step.type_span = key.span;
    step.id = Some(name.clone());
    step.name = Some(name);
    Some(step)
}

/// The health check being built from `options:`.
fn hc(h: &mut Option<Healthcheck>, span: Span) -> &mut Healthcheck {
    h.get_or_insert_with(|| Healthcheck {
        span,
        test: HealthTest::Disabled,
        interval: None,
        timeout: None,
        retries: None,
        start_period: None,
        start_interval: None,
    })
}

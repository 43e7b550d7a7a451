//! Reading a mapping's keys and the scalar values every part of a pipeline uses: strings,
//! booleans, numbers, durations, lists, pull policies, image names, ports.

use std::time::Duration;

use super::{Diags, Dialect};
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::duration::parse_duration;
use crate::source::{Span, Spanned};
use crate::spec::Pull;
use crate::yaml::{Node, Value};

/// The keys of one mapping, handed out one by one; what is left at the end is unknown.
pub(in crate::spec) struct Fields<'n> {
    pub(in crate::spec) entries: &'n [(Node<'n>, Node<'n>)],
    /// A key written twice means its last value (Drone's reader), not an error.
    pub(in crate::spec) last_wins: bool,
    pub(in crate::spec) used: Vec<bool>,
    pub(in crate::spec) asked: Vec<&'static str>,
    pub(in crate::spec) context: &'static str,
    pub(in crate::spec) span: Span,
}

impl<'n> Fields<'n> {
    /// The value of `key`, if present and not null.
    pub(in crate::spec) fn get(&mut self, key: &'static str) -> Option<&'n Node<'n>> {
        self.entry(key)
            .map(|(_, v)| v)
            .filter(|v| v.value != Value::Null)
    }

    /// The key and value nodes of `key`, if present.
    pub(in crate::spec) fn entry(
        &mut self,
        key: &'static str,
    ) -> Option<(&'n Node<'n>, &'n Node<'n>)> {
        self.asked.push(key);
        let same = |(k, _): &(Node<'n>, Node<'n>)| k.as_scalar() == Some(key);
        let i = if self.last_wins {
            self.entries.iter().rposition(same)?
        } else {
            self.entries.iter().position(same)?
        };
        // Every occurrence counts as used.
        for (j, e) in self.entries.iter().enumerate() {
            if same(e) {
                self.used[j] = true;
            }
        }
        self.used[i] = true;
        let (k, v) = &self.entries[i];
        Some((k, v))
    }

    /// Accepts `key` without acting on it; records it in `ignored`.
    pub(in crate::spec) fn accept(
        &mut self,
        key: &'static str,
        ignored: &mut Vec<Spanned<String>>,
    ) -> Option<&'n Node<'n>> {
        let (k, v) = self.entry(key)?;
        ignored.push(Spanned::new(key.to_string(), k.span));
        Some(v)
    }

    /// Reports every key nobody asked for. `hint` may explain a key that belongs elsewhere.
    pub(in crate::spec) fn finish(self, diags: &mut Diags, hint: &dyn Fn(&str) -> Option<String>) {
        let mut reported = std::collections::HashSet::new();
        for (i, (k, _)) in self.entries.iter().enumerate() {
            if self.used[i] {
                continue;
            }
            let Some(name) = k.as_scalar() else {
                continue;
            };
            if !reported.insert(name) {
                continue; // reported as a duplicate key
            }
            let mut d =
                Diagnostic::new(k.span, format!("unknown key `{name}` in {}", self.context));
            let dialect = Dialect::current();
            let (dropped, system) = (dialect.drops_unknown_keys, dialect.system);
            if let Some(help) = hint(name) {
                // A known key at the wrong level: where it belongs is what the author meant.
                d = d.with_help(help);
                if dropped {
                    d = d.warning().with_label(format!(
                        "{system} ignores it here, and so does pipeline-test"
                    ));
                }
            } else if let Some(s) = did_you_mean(name, &self.asked) {
                // A likely typo of a key valid here.
                d = d.with_label(format!("did you mean `{s}`?"));
                if dropped {
                    d = d.warning().with_help(format!(
                        "{system} ignores the key, and so does pipeline-test: its value is lost; write `{s}`"
                    ));
                }
            } else if dialect.refuses_unknown_keys {
                // Not a key of this system, which refuses the file.
                d = d.with_label(format!("{system} refuses the file: it has no such key"));
                d = d.with_help(format!(
                    "the keys of {} are: {}",
                    self.context,
                    self.asked.join(", ")
                ));
            } else {
                // Not a key of this system: the file runs, and the key does nothing.
                d = d.warning().with_label(if dropped {
                    format!("{system} ignores this key, and so does pipeline-test")
                } else {
                    "pipeline-test does not act on it".to_string()
                });
                d = match (dialect.respelling)(name) {
                    Some(help) => d.with_help(help),
                    None => d.with_help(format!(
                        "the keys of {} are: {}",
                        self.context,
                        self.asked.join(", ")
                    )),
                };
            }
            diags.push(d);
        }
    }
}

/// A NUL byte in a value: no program can receive one (in its arguments, environment or a
/// script), so the engine would refuse the step.
pub(in crate::spec) fn nul_byte(span: Span, what: &str) -> Diagnostic {
    Diagnostic::new(span, format!("`{what}` holds a NUL byte (`\\0`)"))
        .with_label("no program can receive a NUL byte")
        .with_help("remove the `\\0` escape from the string")
}

/// Opens a mapping node for reading its keys.
pub(in crate::spec) fn fields<'n>(
    node: &'n Node<'n>,
    context: &'static str,
    diags: &mut Diags,
) -> Option<Fields<'n>> {
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
    let Dialect {
        last_key_wins: last_wins,
        system,
        ..
    } = Dialect::current();
    let mut seen: std::collections::HashMap<&str, &Node<'n>> = std::collections::HashMap::new();
    for (k, v) in entries {
        match k.as_scalar() {
            None => diags.push(Diagnostic::new(
                k.span,
                format!(
                    "a key of {context} must be a plain string, found {}",
                    k.kind_name()
                ),
            )),
            Some(name) => {
                let Some(earlier) = seen.insert(name, v) else {
                    continue;
                };
                if last_wins {
                    diags.push(
                        Diagnostic::new(k.span, format!("duplicate key `{name}` in {context}: its value at line {} is lost", earlier.span.start.line))
                            .warning()
                            .with_help(format!("{system} keeps the last value, as pipeline-test does; remove the other one")),
                    );
                } else {
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
        last_wins,
        used: vec![false; entries.len()],
        asked: Vec::with_capacity(24),
        context,
        span: node.span,
    })
}

/// Checks that `node` is a mapping whose keys are among `known`, without reading the values.
pub(in crate::spec) fn check_keys(
    node: &Node<'_>,
    context: &'static str,
    known: &[&'static str],
    diags: &mut Diags,
) {
    if let Some(mut f) = fields(node, context, diags) {
        for k in known {
            f.entry(k);
        }
        f.finish(diags, &|_| None);
    }
}

pub(in crate::spec) fn string(
    node: Option<&Node<'_>>,
    what: &str,
    diags: &mut Diags,
) -> Option<Spanned<String>> {
    let node = node?;
    match &node.value {
        Value::Null => None,
        Value::Scalar { text, .. } if text.contains('\0') => {
            diags.push(nul_byte(node.span, what));
            None
        }
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

pub(in crate::spec) fn boolean(
    node: Option<&Node<'_>>,
    what: &str,
    diags: &mut Diags,
) -> Option<Spanned<bool>> {
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

pub(in crate::spec) fn uint(
    node: Option<&Node<'_>>,
    what: &str,
    diags: &mut Diags,
) -> Option<Spanned<u32>> {
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

pub(in crate::spec) fn duration(
    node: Option<&Node<'_>>,
    what: &str,
    diags: &mut Diags,
) -> Option<Spanned<Duration>> {
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

/// A duration, or the text of a `${{ }}` expression that will give one once expanded.
pub(in crate::spec) fn duration_or_expr(
    node: Option<&Node<'_>>,
    what: &str,
    diags: &mut Diags,
) -> (Option<Spanned<Duration>>, Option<Spanned<String>>) {
    if let Some(text) = node.and_then(Node::as_scalar) {
        if text.contains("${{") {
            return (None, string(node, what, diags));
        }
    }
    (duration(node, what, diags), None)
}

/// The items of a list; a null is an empty list.
pub(in crate::spec) fn list<'n>(
    node: Option<&'n Node<'n>>,
    what: &str,
    diags: &mut Diags,
) -> &'n [Node<'n>] {
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
pub(in crate::spec) fn ports(node: Option<&Node<'_>>, diags: &mut Diags) -> Vec<Spanned<String>> {
    let out = strings(node, "ports", diags);
    check_ports(&out, diags);
    out
}

/// Each port that is not `PORT`, `HOST:PORT` or `IP:HOST:PORT` (with `/tcp` or `/udp`) is an
/// error at its place.
pub(in crate::spec) fn check_ports(ports: &[Spanned<String>], diags: &mut Diags) {
    for port in ports {
        if let Err(e) = port.value.parse::<crate::ports::PortMapping>() {
            diags.push(
                Diagnostic::new(port.span, format!("`{}` is not a valid port", port.value))
                    .with_label(e.reason),
            );
        }
    }
}

/// A string, or a list of strings.
pub(in crate::spec) fn strings(
    node: Option<&Node<'_>>,
    what: &str,
    diags: &mut Diags,
) -> Vec<Spanned<String>> {
    match node.map(|n| &n.value) {
        Some(Value::Scalar { .. }) => string(node, what, diags).into_iter().collect(),
        _ => list(node, what, diags)
            .iter()
            .filter_map(|n| string(Some(n), what, diags))
            .collect(),
    }
}

pub(in crate::spec) fn pull(node: Option<&Node<'_>>, diags: &mut Diags) -> Option<Spanned<Pull>> {
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

pub(in crate::spec) fn image(
    node: Option<&Node<'_>>,
    what: &str,
    diags: &mut Diags,
) -> Option<Spanned<String>> {
    let s = string(node, what, diags)?;
    if s.value.contains("${{") {
        return Some(s); // checked once expanded
    }
    if s.value.trim().is_empty() || s.value.contains(char::is_whitespace) {
        diags.push(
            Diagnostic::new(s.span, format!("invalid image name `{}`", s.value))
                .with_label("expected an image such as `redis:7` or `mysql:8.0`"),
        );
        return None;
    }
    Some(s)
}

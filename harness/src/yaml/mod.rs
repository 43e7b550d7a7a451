//! YAML text to a tree of nodes that remember where they were written.
//!
//! The scanner and parser are `saphyr-parser`'s; this module only assembles its events into
//! a tree (resolving anchors, aliases and `<<` merge keys) and turns its errors into
//! [`Diagnostic`]s with a message a person can act on.

use std::borrow::Cow;
use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle};

use crate::diagnostic::Diagnostic;
use crate::source::{Pos, SourceFile, Span, pos_from_marker};

/// Aliases may not expand a document past this many nodes ("billion laughs").
const MAX_NODES: usize = 200_000;
/// Aliases may not repeat more than this many bytes of scalar text in all: one long anchored
/// value aliased thousands of times is a blow-up of its own.
const MAX_ALIAS_BYTES: usize = 16 << 20;
/// Nesting deeper than this is refused.
const MAX_DEPTH: usize = 256;

/// A YAML node and where it was written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Node<'a> {
    pub span: Span,
    pub value: Value<'a>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Value<'a> {
    /// `~`, `null`, or nothing at all.
    Null,
    /// Any scalar; `plain` is false when it was quoted or a block scalar. Borrowed from the
    /// source text where the scanner could.
    Scalar {
        text: Cow<'a, str>,
        plain: bool,
    },
    Seq(Vec<Node<'a>>),
    Map(Vec<(Node<'a>, Node<'a>)>),
}

impl Node<'_> {
    /// What kind of node this is, for messages ("a mapping", "a list", ...).
    pub fn kind_name(&self) -> &'static str {
        match &self.value {
            Value::Null => "nothing (null)",
            Value::Scalar { .. } => "a scalar",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// The text of a scalar node.
    pub fn as_scalar(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }
}

/// Parses every document of `file` (`---` separated), each with the place it starts; empty
/// documents are left out, and a file with none is an error.
pub(crate) fn parse_documents(file: &SourceFile) -> Result<Vec<(Span, Node<'_>)>, Diagnostic> {
    parse_with_merge_keys(file).map(|(docs, _)| docs)
}

/// [`parse_documents`], and where the file writes a `<<` merge key (applied here, as YAML
/// 1.1 readers apply them; GitHub Actions refuses them).
pub(crate) fn parse_with_merge_keys(file: &SourceFile) -> Result<Documents<'_>, Diagnostic> {
    let mut builder = Builder {
        parser: Parser::new_from_str(file.text()),
        anchors: HashMap::new(),
        nodes: 0,
        alias_bytes: 0,
        merge_keys: Vec::new(),
        file,
    };
    let docs = builder.documents()?;
    Ok((docs, builder.merge_keys))
}

/// Every document of a file with the place it starts, and the places of its merge keys.
pub(crate) type Documents<'a> = (Vec<(Span, Node<'a>)>, Vec<Span>);

struct Builder<'a> {
    parser: Parser<'a, saphyr_parser::StrInput<'a>>,
    anchors: HashMap<usize, Node<'a>>,
    nodes: usize,
    /// Scalar text repeated by aliases so far.
    alias_bytes: usize,
    /// Where `<<` merge keys are written.
    merge_keys: Vec<Span>,
    file: &'a SourceFile,
}

type Ev<'a> = (Event<'a>, saphyr_parser::Span);

impl<'a> Builder<'a> {
    fn next(&mut self) -> Result<Ev<'a>, Diagnostic> {
        match self.parser.next_event() {
            Some(Ok(ev)) => Ok(ev),
            Some(Err(e)) => Err(scan_error(
                self.file,
                pos_from_marker(*e.marker()),
                e.info(),
            )),
            None => Err(Diagnostic::new(
                end_of_file(self.file),
                "unexpected end of the YAML stream",
            )),
        }
    }

    fn documents(&mut self) -> Result<Vec<(Span, Node<'a>)>, Diagnostic> {
        let mut docs = Vec::new();
        loop {
            let (ev, span) = self.next()?;
            match ev {
                Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
                Event::StreamEnd => break,
                Event::DocumentStart(_) => {
                    let (ev, inner) = self.next()?;
                    let node = self.node(ev, inner, 0)?;
                    if node.value != Value::Null {
                        docs.push((Span::from_saphyr(span), node));
                    }
                }
                _ => {
                    let node = self.node(ev, span, 0)?;
                    if node.value != Value::Null {
                        docs.push((node.span, node));
                    }
                }
            }
        }
        if docs.is_empty() {
            return Err(
                Diagnostic::new(Span::point(Pos::new(1, 1)), "the file holds no pipeline")
                    .with_label("expected `kind: pipeline`")
                    .with_help(
                        "a pipeline file starts with `kind: pipeline` and a `spec:` with `stages:`",
                    ),
            );
        }
        Ok(docs)
    }

    fn count(&mut self, span: Span) -> Result<(), Diagnostic> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(Diagnostic::new(
                span,
                format!("the document expands to more than {MAX_NODES} nodes"),
            )
            .with_help("aliases (`*name`) repeat their anchor; use fewer nested aliases"));
        }
        Ok(())
    }

    fn node(
        &mut self,
        ev: Event<'a>,
        span: saphyr_parser::Span,
        depth: usize,
    ) -> Result<Node<'a>, Diagnostic> {
        let start = Span::from_saphyr(span);
        if depth > MAX_DEPTH {
            return Err(Diagnostic::new(
                start,
                format!("nesting deeper than {MAX_DEPTH} levels"),
            ));
        }
        self.count(start)?;
        match ev {
            Event::Scalar(text, style, anchor, _tag) => {
                let plain = style == ScalarStyle::Plain;
                let value = if plain && matches!(&*text, "" | "~" | "null" | "Null" | "NULL") {
                    Value::Null
                } else {
                    Value::Scalar { text, plain }
                };
                let node = Node { span: start, value };
                self.remember(anchor, &node);
                Ok(node)
            }
            Event::Alias(id) => match self.anchors.get(&id).map(|n| (size_of(n), n.clone())) {
                Some(((nodes, bytes), node)) => {
                    self.nodes += nodes;
                    self.count(start)?;
                    self.alias_bytes += bytes;
                    if self.alias_bytes > MAX_ALIAS_BYTES {
                        return Err(Diagnostic::new(
                            start,
                            format!(
                                "aliases repeat more than {} MB of text",
                                MAX_ALIAS_BYTES >> 20
                            ),
                        )
                        .with_help("an alias (`*name`) copies its anchor's text; use fewer aliases of long values"));
                    }
                    Ok(node)
                }
                None => Err(Diagnostic::new(start, "alias to an unknown anchor")
                    .with_help("define the anchor (`&name`) before its alias (`*name`)")),
            },
            Event::SequenceStart(anchor, _) => {
                let mut items = Vec::new();
                let end = loop {
                    let (ev, span) = self.next()?;
                    if ev == Event::SequenceEnd {
                        break Span::from_saphyr(span).end;
                    }
                    items.push(self.node(ev, span, depth + 1)?);
                };
                let node = Node {
                    span: Span::new(start.start, end.max(start.end)),
                    value: Value::Seq(items),
                };
                self.remember(anchor, &node);
                Ok(node)
            }
            Event::MappingStart(anchor, _) => {
                let mut entries: Vec<(Node<'a>, Node<'a>)> = Vec::new();
                let mut merged: Vec<(Node<'a>, Node<'a>)> = Vec::new();
                let end = loop {
                    let (ev, span) = self.next()?;
                    if ev == Event::MappingEnd {
                        break Span::from_saphyr(span).end;
                    }
                    let key = self.node(ev, span, depth + 1)?;
                    let (ev, span) = self.next()?;
                    let value = self.node(ev, span, depth + 1)?;
                    if key.as_scalar() == Some("<<")
                        && matches!(key.value, Value::Scalar { plain: true, .. })
                    {
                        self.merge_keys.push(key.span);
                        merge_into(&mut merged, value)?;
                        continue;
                    }
                    entries.push((key, value));
                };
                // Keys written in the mapping win over merged ones, and earlier merged ones
                // over later: a set of the keys seen keeps this linear.
                let mut seen: std::collections::HashSet<Value<'a>> = if merged.is_empty() {
                    std::collections::HashSet::new()
                } else {
                    entries.iter().map(|(k, _)| k.value.clone()).collect()
                };
                for (k, v) in merged {
                    if seen.insert(k.value.clone()) {
                        entries.push((k, v));
                    }
                }
                let node = Node {
                    span: Span::new(start.start, end.max(start.end)),
                    value: Value::Map(entries),
                };
                self.remember(anchor, &node);
                Ok(node)
            }
            other => Err(Diagnostic::new(
                start,
                format!("unexpected YAML event {other:?}"),
            )),
        }
    }

    fn remember(&mut self, anchor: usize, node: &Node<'a>) {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
    }
}

fn merge_into<'a>(
    merged: &mut Vec<(Node<'a>, Node<'a>)>,
    value: Node<'a>,
) -> Result<(), Diagnostic> {
    match value.value {
        Value::Map(entries) => {
            merged.extend(entries);
            Ok(())
        }
        Value::Seq(items) => {
            for item in items {
                merge_into(merged, item)?;
            }
            Ok(())
        }
        _ => Err(Diagnostic::new(
            value.span,
            format!(
                "a `<<` merge key takes a mapping, found {}",
                value.kind_name()
            ),
        )),
    }
}

/// The nodes under `node`, itself included, and the bytes of their scalars.
fn size_of(node: &Node<'_>) -> (usize, usize) {
    let add = |(n, b): (usize, usize), (m, c): (usize, usize)| (n + m, b + c);
    match &node.value {
        Value::Seq(items) => items.iter().map(size_of).fold((1, 0), add),
        Value::Map(entries) => entries
            .iter()
            .map(|(k, v)| add(size_of(k), size_of(v)))
            .fold((1, 0), add),
        Value::Scalar { text, .. } => (1, text.len()),
        _ => (1, 0),
    }
}

fn end_of_file(file: &SourceFile) -> Span {
    let lines = file.text().split('\n').count();
    let last = file.line(u32::try_from(lines).unwrap_or(1)).unwrap_or("");
    let col = u32::try_from(last.chars().count() + 1).unwrap_or(1);
    Span::point(Pos::new(u32::try_from(lines).unwrap_or(1), col))
}

/// Turns a scanner error into a diagnostic, recognising tabs used for indentation.
fn scan_error(file: &SourceFile, pos: Pos, info: &str) -> Diagnostic {
    // A tab in the indentation of the failing line is nearly always the real cause, whatever
    // the scanner says. Lines around it are looked at only when the scanner speaks of a tab:
    // a tab in a block scalar above (`run: |` with a tab-indented heredoc) is legal there.
    let mentions_tab = info.contains("tab");
    let candidates: Vec<u32> = if mentions_tab {
        (pos.line.saturating_sub(1).max(1)..=pos.line.saturating_add(3)).collect()
    } else {
        vec![pos.line]
    };
    for line_no in candidates {
        if line_no == 0 {
            continue;
        }
        let Some(line) = file.line(line_no) else {
            continue;
        };
        let indent: String = line
            .chars()
            .take_while(|c| *c == ' ' || *c == '\t')
            .collect();
        if let Some(i) = indent.find('\t') {
            if line.trim().is_empty() {
                continue;
            }
            let col = u32::try_from(indent[..i].chars().count() + 1).unwrap_or(1);
            let at = Pos::new(line_no, col);
            return Diagnostic::new(
                Span::new(at, Pos::new(line_no, col + 1)),
                "tab character used for indentation",
            )
            .with_label("YAML allows only spaces here")
            .with_help("indent with spaces; most editors convert tabs with a setting such as `insertSpaces`");
        }
    }
    let (message, help) = explain(info);
    let end = Pos::new(pos.line, pos.col + 1);
    let mut d = Diagnostic::new(Span::new(pos, end), message);
    if let Some(help) = help {
        d = d.with_help(help);
    }
    d
}

/// A clearer wording for the scanner's most common messages.
fn explain(info: &str) -> (String, Option<&'static str>) {
    let lower = info.to_ascii_lowercase();
    let help = if lower.contains("mapping values are not allowed") {
        Some(
            "a `key: value` pair cannot follow a value on the same line; put it on a line of its own, or quote the value if it contains `: `",
        )
    } else if lower.contains("did not find expected key")
        || lower.contains("did not find expected '-'")
    {
        Some(
            "check the indentation: keys of one mapping, and items of one list, must start in the same column",
        )
    } else if lower.contains("did not find expected")
        || lower.contains("unclosed")
        || lower.contains("end of stream")
    {
        Some("a quote, `[` or `{` was opened and not closed")
    } else if lower.contains("cannot start any token") {
        Some("`@` and the backtick cannot start a plain value; quote the value")
    } else if lower.contains("duplicate") {
        None
    } else {
        Some("this is not valid YAML; check the indentation and quoting around this place")
    };
    (format!("invalid YAML: {info}"), help)
}

#[cfg(test)]
mod tests;

//! Diagnostics: what is wrong in a pipeline file, where, and how to fix it.
//!
//! Rendered the way rustc renders its errors: the message, `file:line:column`, the line with
//! a caret under the offending text, and a hint.

mod suggest;

pub use suggest::{did_you_mean, listed};

use std::fmt;

use crate::source::{SourceFile, Span};

/// One problem in a pipeline file.
///
/// # Examples
///
/// ```
/// use pipeline_test_harness::diagnostic::Diagnostic;
/// use pipeline_test_harness::source::{Pos, Span};
///
/// let d = Diagnostic::new(Span::new(Pos::new(1, 7), Pos::new(1, 11)), "unknown kind `pipe`")
///     .with_label("expected `pipeline`");
/// assert_eq!(d.message, "unknown kind `pipe`");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Diagnostic {
    /// How serious it is.
    pub severity: Severity,
    /// Where the problem is.
    pub span: Span,
    /// What is wrong.
    pub message: String,
    /// A short note printed under the caret (often what was expected).
    pub label: Option<String>,
    /// How to fix it.
    pub help: Option<String>,
    /// A GitHub Actions job whose run makes this moot (its outputs were not known yet): a run
    /// that runs that job first does not need to say it.
    pub until_job_runs: Option<String>,
}

impl Diagnostic {
    /// A diagnostic at `span` saying `message`.
    pub fn new(span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            span,
            message: message.into(),
            label: None,
            help: None,
            until_job_runs: None,
        }
    }

    /// The same diagnostic as a warning: the file is valid, but something deserves a look.
    #[must_use]
    pub fn warning(mut self) -> Self {
        self.severity = Severity::Warning;
        self
    }

    /// The same diagnostic as a note: where pipeline-test runs the file differently from
    /// Gitness.
    #[must_use]
    pub fn note(mut self) -> Self {
        self.severity = Severity::Note;
        self
    }

    /// Adds a note printed under the caret.
    #[must_use]
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Adds a hint on how to fix the problem.
    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Renders this diagnostic against its source, rustc-style.
    pub fn render(&self, file: &SourceFile) -> String {
        let mut out = String::new();
        let start = self.span.start;
        let gutter = start.line.to_string().len();
        let pad = " ".repeat(gutter);
        out.push_str(&format!("{}: {}\n", self.severity, brief(&self.message)));
        out.push_str(&format!(
            "{pad}--> {}:{}:{}\n",
            escaped(file.name()),
            start.line,
            start.col
        ));
        if let Some(line) = file.line(start.line) {
            // Only the shown part of the line is read: a diagnostic costs the same on a line of
            // a megabyte as on a short one.
            let col = usize::try_from(start.col).unwrap_or(1).max(1) - 1;
            let end = if self.span.end.line == start.line && self.span.end.col > start.col {
                usize::try_from(self.span.end.col - 1).unwrap_or(col + 1)
            } else {
                usize::MAX
            }
            .max(col + 1);
            // At most LINE_SHOWN characters of the line, around the column.
            let from = col.saturating_sub(LINE_SHOWN / 2);
            let mut chars = line.chars().enumerate().skip(from).peekable();
            let mut shown = String::from(if from > 0 && chars.peek().is_some() {
                "..."
            } else {
                ""
            });
            let mut caret_at = shown.len();
            let mut caret_width = 0;
            for (i, c) in chars.by_ref().take(LINE_SHOWN) {
                let text = shown_char(c);
                if i < col {
                    caret_at += text.chars().count();
                } else if i < end {
                    caret_width += text.chars().count();
                }
                shown.push_str(&text);
            }
            if chars.next().is_some() {
                shown.push_str("...");
            }
            out.push_str(&format!("{pad} |\n"));
            out.push_str(&format!("{} | {}\n", start.line, shown));
            out.push_str(&format!(
                "{pad} | {}{}",
                " ".repeat(caret_at),
                "^".repeat(caret_width.max(1))
            ));
            if let Some(label) = &self.label {
                out.push(' ');
                out.push_str(&brief(label));
            }
            out.push('\n');
        }
        if let Some(help) = &self.help {
            out.push_str(&format!("{pad} = help: {}\n", brief(help)));
        }
        out
    }
}

/// How many characters of a line a diagnostic shows, around its column.
const LINE_SHOWN: usize = 200;
/// How many diagnostics a file prints; then `... and N more`.
const SHOWN_PER_FILE: usize = 200;

/// A character of the file as a diagnostic shows it: a tab as a space, any other control
/// character escaped (`\x1b`), so that a file cannot move the terminal's cursor or erase
/// what was printed.
fn shown_char(c: char) -> String {
    match c {
        '\t' => " ".to_string(),
        c if c.is_control() && (c as u32) < 0x100 => format!("\\x{:02x}", c as u32),
        c if c.is_control() => c.escape_unicode().to_string(),
        c => c.to_string(),
    }
}

/// At most this many characters of a message, label or help are printed: one that quotes a
/// hostile file's text at length is cut, as the source line is.
const TEXT_SHOWN: usize = 800;

/// `text` escaped, and cut to [`TEXT_SHOWN`] characters with `...`.
fn brief(text: &str) -> String {
    match text.char_indices().nth(TEXT_SHOWN) {
        Some((cut, _)) => format!("{}...", escaped(&text[..cut])),
        None => escaped(text),
    }
}

/// `text` with its control characters escaped (see [`shown_char`]), new lines kept.
pub(crate) fn escaped(text: &str) -> String {
    if !text.chars().any(|c| c.is_control() && c != '\n') {
        return text.to_string();
    }
    text.chars()
        .map(|c| {
            if c == '\n' {
                "\n".to_string()
            } else {
                shown_char(c)
            }
        })
        .collect()
}

/// How serious a [`Diagnostic`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Severity {
    /// The file cannot run (Gitness refuses it too, or its intent is lost).
    Error,
    /// The file runs, but something is likely not what its author meant.
    Warning,
    /// Where pipeline-test runs the file differently from Gitness.
    Note,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        })
    }
}

/// Every problem found in one file, in source order.
///
/// `Display` renders them all, rustc-style.
#[derive(Debug, Clone)]
pub struct Diagnostics {
    file: SourceFile,
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// The diagnostics `items` found in `file`, sorted by position.
    pub fn new(file: SourceFile, mut items: Vec<Diagnostic>) -> Self {
        items.sort_by_key(|d| (d.span.start, d.severity));
        items.dedup();
        Diagnostics { file, items }
    }

    /// The file the problems are in.
    pub fn file(&self) -> &SourceFile {
        &self.file
    }

    /// The problems, in source order.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.items.iter()
    }

    /// How many problems there are.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The first problem (the one an editor or compiler points at): the first error if there
    /// is one.
    pub fn first(&self) -> Option<&Diagnostic> {
        self.items
            .iter()
            .find(|d| d.severity == Severity::Error)
            .or(self.items.first())
    }

    /// True when one of them is an error.
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.severity == Severity::Error)
    }

    /// Adds more, keeping source order.
    pub fn extend(&mut self, more: impl IntoIterator<Item = Diagnostic>) {
        self.items.extend(more);
        self.items.sort_by_key(|d| (d.span.start, d.severity));
        self.items.dedup();
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.items.iter().take(SHOWN_PER_FILE).enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            f.write_str(&d.render(&self.file))?;
        }
        if self.items.len() > SHOWN_PER_FILE {
            write!(
                f,
                "\n... and {} more in {}\n",
                self.items.len() - SHOWN_PER_FILE,
                escaped(self.file.name())
            )?;
        }
        let errors = self
            .items
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        if errors > 1 {
            write!(f, "\nerror: {errors} problems in {}\n", self.file.name())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod bounded {
    use super::*;
    use crate::source::{Pos, Span};

    fn at(line: u32, col: u32, len: u32) -> Span {
        Span::new(Pos::new(line, col), Pos::new(line, col + len))
    }

    #[test]
    fn a_long_line_is_shown_around_the_column() {
        let text = format!("key: {}BAD{}\n", "a".repeat(5000), "b".repeat(5000));
        let file = SourceFile::new("long.yaml", text);
        let out = Diagnostic::new(at(1, 5006, 3), "here").render(&file);
        let shown = out.lines().nth(3).unwrap();
        assert!(shown.len() < 220, "{shown}");
        assert!(shown.contains("BAD") && shown.starts_with("1 | ...") && shown.ends_with("..."));
        let caret = out.lines().nth(4).unwrap();
        let (line, mark) = (shown.find("BAD").unwrap(), caret.find('^').unwrap());
        assert_eq!(line, mark, "{out}");
    }

    #[test]
    fn a_long_message_is_cut() {
        let file = SourceFile::new("ci.yml", "a: b\n");
        let d = Diagnostic::new(
            Span::point(crate::source::Pos::new(1, 1)),
            "x".repeat(40_000),
        )
        .with_help("y".repeat(40_000));
        let shown = Diagnostics::new(file, vec![d]).to_string();
        assert!(shown.len() < 2_000, "{}", shown.len());
        assert!(shown.contains(&format!("{}...", "x".repeat(TEXT_SHOWN))));
    }

    #[test]
    fn control_characters_from_the_file_are_escaped() {
        let file = SourceFile::new("esc.yaml", "name: \u{1b}[2Jok\n");
        let out = Diagnostic::new(at(1, 7, 2), "bad name `\u{1b}[2J`").render(&file);
        assert!(!out.contains('\u{1b}'), "{out}");
        assert!(out.contains("bad name `\\x1b[2J`"), "{out}");
        assert!(out.contains("name: \\x1b[2Jok"), "{out}");
    }

    #[test]
    fn a_file_prints_at_most_two_hundred_diagnostics() {
        let file = SourceFile::new("many.yaml", "a: 1\n");
        let items = (0..250)
            .map(|i| Diagnostic::new(at(1, 1, 1), format!("x{i}")))
            .collect();
        let out = Diagnostics::new(file, items).to_string();
        assert_eq!(out.matches("error: x").count(), 200);
        assert!(out.contains("... and 50 more in many.yaml"), "{out}");
    }
}

//! Source files and positions in them.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A position in a source file: 1-based line and 1-based column (in characters).
///
/// # Examples
///
/// ```
/// use pipeline_test_harness::source::Pos;
/// let pos = Pos::new(3, 7);
/// assert_eq!(pos.to_string(), "3:7");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    /// Line number, starting at 1.
    pub line: u32,
    /// Column number in characters, starting at 1.
    pub col: u32,
}

impl Pos {
    /// A position at `line:col` (both 1-based).
    pub const fn new(line: u32, col: u32) -> Self {
        Pos { line, col }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// A range in a source file: from `start` (inclusive) to `end` (exclusive).
///
/// # Examples
///
/// ```
/// use pipeline_test_harness::source::{Pos, Span};
/// let span = Span::new(Pos::new(2, 3), Pos::new(2, 9));
/// assert_eq!(span.start.to_string(), "2:3");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Span {
    /// First character of the range.
    pub start: Pos,
    /// One past the last character of the range.
    pub end: Pos,
}

impl Span {
    /// A span from `start` to `end`.
    pub const fn new(start: Pos, end: Pos) -> Self {
        Span { start, end }
    }

    /// An empty span at `pos`.
    pub const fn point(pos: Pos) -> Self {
        Span {
            start: pos,
            end: pos,
        }
    }

    pub(crate) fn from_saphyr(span: saphyr_parser::Span) -> Self {
        Span::new(pos_from_marker(span.start), pos_from_marker(span.end))
    }
}

pub(crate) fn pos_from_marker(m: saphyr_parser::Marker) -> Pos {
    let line = u32::try_from(m.line().max(1)).unwrap_or(u32::MAX);
    let col = u32::try_from(m.col().saturating_add(1)).unwrap_or(u32::MAX);
    Pos::new(line, col)
}

/// A value together with the place in the source it was read from.
///
/// # Examples
///
/// ```
/// use pipeline_test_harness::source::{Spanned, Span};
/// let name = Spanned::new("cache".to_string(), Span::default());
/// assert_eq!(name.as_str(), "cache");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub span: Span,
}

impl<T> Spanned<T> {
    /// Wraps `value`, read at `span`.
    pub const fn new(value: T, span: Span) -> Self {
        Spanned { value, span }
    }
}

impl Spanned<String> {
    /// The string value.
    pub fn as_str(&self) -> &str {
        &self.value
    }
}

impl<T> std::ops::Deref for Spanned<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

/// The text of a pipeline file and the name it is reported under.
///
/// Cloning is cheap: the text is shared.
///
/// # Examples
///
/// ```
/// use pipeline_test_harness::source::SourceFile;
/// let file = SourceFile::new("ci.yaml", "kind: pipeline\nspec: {}\n");
/// assert_eq!(file.line(2), Some("spec: {}"));
/// ```
#[derive(Debug, Clone)]
pub struct SourceFile {
    name: Arc<str>,
    path: Option<Arc<Path>>,
    text: Arc<str>,
    /// Where each line starts, built once when a position is first asked for: every lookup
    /// after that is a binary search, not a scan of the file.
    starts: Arc<std::sync::OnceLock<Index>>,
}

/// The line index: where each line starts, and where every [`MARK`]th character starts, so
/// that a column is counted from the nearest mark, not from the start of a long line.
#[derive(Debug)]
struct Index {
    starts: Vec<usize>,
    marks: Vec<usize>,
}

/// Characters between two marks of the index.
const MARK: usize = 256;

impl SourceFile {
    /// A source with a display name and its text.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        SourceFile {
            name: Arc::from(name.into()),
            path: None,
            text: Arc::from(text.into()),
            starts: Arc::default(),
        }
    }

    /// Reads the file at `path`; it is reported under the path as given.
    ///
    /// # Errors
    ///
    /// [`crate::Error::ReadFile`] when the file cannot be read or is not UTF-8.
    pub fn read(path: impl AsRef<Path>) -> Result<Self, crate::Error> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| crate::Error::ReadFile {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(SourceFile {
            name: Arc::from(path.display().to_string()),
            path: Some(Arc::from(path)),
            text: Arc::from(text),
            starts: Arc::default(),
        })
    }

    /// The name used in diagnostics.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The path the file was read from, if it was read from disk.
    pub fn path(&self) -> Option<PathBuf> {
        self.path.as_deref().map(Path::to_path_buf)
    }

    /// The whole text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Line `n` (1-based) without its line ending.
    pub fn line(&self, n: u32) -> Option<&str> {
        let idx = usize::try_from(n).ok()?.checked_sub(1)?;
        let starts = self.starts();
        let start = *starts.get(idx)?;
        let end = starts.get(idx + 1).map_or(self.text.len(), |next| next - 1);
        let line = &self.text[start..end];
        Some(line.strip_suffix('\r').unwrap_or(line))
    }

    fn index(&self) -> &Index {
        self.starts.get_or_init(|| Index {
            starts: std::iter::once(0)
                .chain(self.text.match_indices('\n').map(|(i, _)| i + 1))
                .collect(),
            marks: std::iter::once(0)
                .chain(
                    self.text
                        .char_indices()
                        .skip(MARK)
                        .step_by(MARK)
                        .map(|(b, _)| b),
                )
                .collect(),
        })
    }

    /// The byte offset where each line starts.
    fn starts(&self) -> &[usize] {
        &self.index().starts
    }

    /// How many characters come before byte `byte` (a character boundary).
    fn chars_before(&self, byte: usize) -> usize {
        let marks = &self.index().marks;
        let k = marks.partition_point(|m| *m <= byte).max(1) - 1;
        k * MARK + self.text[marks[k]..byte].chars().count()
    }

    /// The byte where character `c` starts, or the text's length past its end.
    fn byte_of_char(&self, c: usize) -> usize {
        let marks = &self.index().marks;
        let Some(&from) = marks.get(c / MARK) else {
            return self.text.len();
        };
        self.text[from..]
            .char_indices()
            .nth(c % MARK)
            .map_or(self.text.len(), |(b, _)| from + b)
    }
}

impl SourceFile {
    /// The byte offset of `pos` in the text (clamped to the text).
    pub fn offset(&self, pos: Pos) -> usize {
        let Some(line) = (pos.line as usize).checked_sub(1) else {
            return self.text.len();
        };
        let starts = self.starts();
        let Some(&start) = starts.get(line) else {
            return self.text.len();
        };
        let end = starts.get(line + 1).copied().unwrap_or(self.text.len());
        let col = pos.col.saturating_sub(1) as usize;
        self.byte_of_char(self.chars_before(start) + col).min(end)
    }

    /// The position of byte `offset` of the text.
    pub fn pos(&self, offset: usize) -> Pos {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let starts = self.starts();
        let line = starts.partition_point(|s| *s <= offset).max(1);
        let col = self.chars_before(offset) - self.chars_before(starts[line - 1]) + 1;
        Pos::new(
            u32::try_from(line).unwrap_or(u32::MAX),
            u32::try_from(col).unwrap_or(u32::MAX),
        )
    }
}

#[cfg(test)]
mod index {
    use super::*;

    #[test]
    fn columns_of_a_long_line_with_wide_characters_match_a_plain_count() {
        let line: String = (0..3000)
            .map(|i| if i % 7 == 0 { 'é' } else { 'a' })
            .collect();
        let text = format!("first\n{line}\nx😀y\n");
        let file = SourceFile::new("f", text.as_str());
        for (byte, _) in text.char_indices() {
            let line_start = text[..byte].rfind('\n').map_or(0, |i| i + 1);
            let col = text[line_start..byte].chars().count() + 1;
            let pos = file.pos(byte);
            assert_eq!(pos.col as usize, col, "byte {byte}");
            assert_eq!(file.offset(pos), byte, "byte {byte}");
        }
        assert_eq!(
            file.offset(Pos::new(1, 99)),
            6,
            "past a line's end: the next line's start"
        );
    }

    #[test]
    fn positions_round_trip_through_the_line_index() {
        let file = SourceFile::new("f", "a: é\r\nbb: 1\n\nlast");
        assert_eq!(file.line(1), Some("a: é"));
        assert_eq!(file.line(3), Some(""));
        assert_eq!(file.line(4), Some("last"));
        assert_eq!(file.line(5), None);
        for offset in [0, 3, 8, 11, 12, 13, 17] {
            let pos = file.pos(offset);
            assert_eq!(file.offset(pos), offset, "{offset} -> {pos}");
        }
        assert_eq!(file.pos(4).to_string(), "1:4", "inside é: its start");
        assert_eq!(file.offset(Pos::new(9, 1)), file.text().len());
    }
}

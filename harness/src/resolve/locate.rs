//! Where in the file a byte of a value was written. A value's expressions are looked up in
//! the source once, in order, each after the one before, and remembered for the value: so an
//! expression is found at its own place (not at an earlier identical one), written with `\"`
//! escapes or not, and a value with thousands of problems costs one pass, not one per problem.

use std::cell::RefCell;

use super::Resolver;
use crate::expr;
use crate::source::{Span, Spanned};

/// The expressions of the value last asked about, with their places in the source.
#[derive(Default)]
pub(super) struct Located {
    memo: RefCell<Option<Memo>>,
}

struct Memo {
    /// Which value: where it was written, its address and its length.
    key: (Span, usize, usize),
    /// Each `${{ }}` of the value (byte range in the value) and where its text starts in the
    /// source, with whether it was written with backslash escapes there.
    exprs: Vec<Placed>,
}

/// An expression's byte range in the value, and where its text is in the file (`None`: not
/// found).
type Placed = ((usize, usize), Option<Where>);

/// Where an expression's text was written.
enum Where {
    /// From this byte of the file, as is or with backslash escapes (a double-quoted scalar).
    Exact { at: usize, escaped: bool },
    /// Folded over lines (`>`, a plain scalar over several lines): the file's byte of each
    /// byte of the expression's text, and one past its end.
    Mapped(Vec<usize>),
}

impl Where {
    /// The file's byte for byte `within` of the expression's text `needle`.
    fn offset(&self, needle: &str, within: usize) -> usize {
        match self {
            Where::Exact { at, escaped } => at + shift(needle, within, *escaped),
            Where::Mapped(map) => map[within.min(map.len() - 1)],
        }
    }
}

/// The longest expression looked for across line breaks, and the tries at it.
const FOLDED_LONGEST: usize = 4096;
const FOLDED_TRIES: usize = 64;

/// `needle` in `source` from byte `from`, each run of whitespace in it matching a run of
/// whitespace there (a line break and the next line's indentation, in a folded value).
fn folded(source: &str, from: usize, needle: &str) -> Option<Vec<usize>> {
    if needle.len() > FOLDED_LONGEST {
        return None;
    }
    let head = needle.split(char::is_whitespace).next()?;
    let mut start = from;
    for _ in 0..FOLDED_TRIES {
        let at = start + source[start..].find(head)?;
        if let Some(map) = match_folded(&source[at..], needle) {
            return Some(map.into_iter().map(|m| at + m).collect());
        }
        start = at + head.len();
    }
    None
}

/// The offsets in `text` of each byte of `needle` (and one past its end), if `text` starts
/// with `needle` up to runs of whitespace.
fn match_folded(text: &str, needle: &str) -> Option<Vec<usize>> {
    let (t, n) = (text.as_bytes(), needle.as_bytes());
    let mut map = Vec::with_capacity(n.len() + 1);
    let (mut i, mut j) = (0, 0);
    while i < n.len() {
        if n[i].is_ascii_whitespace() {
            if j >= t.len() || !t[j].is_ascii_whitespace() {
                return None;
            }
            while i < n.len() && n[i].is_ascii_whitespace() {
                map.push(j);
                i += 1;
            }
            while j < t.len() && t[j].is_ascii_whitespace() {
                j += 1;
            }
        } else {
            if j >= t.len() || t[j] != n[i] {
                return None;
            }
            map.push(j);
            i += 1;
            j += 1;
        }
    }
    map.push(j);
    Some(map)
}

/// How far past a value's start its text is looked for: a value's source is at most a few
/// times its length (quotes, escapes, indentation of folded lines).
fn window(len: usize) -> usize {
    4 * len + 4096
}

/// `needle` as a double-quoted YAML scalar writes it: `"` and `\` escaped.
fn escaped(needle: &str) -> Option<String> {
    needle
        .contains(['"', '\\'])
        .then(|| needle.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The source offset within a found text of byte `within` of its unescaped form.
fn shift(needle: &str, within: usize, escaped: bool) -> usize {
    if !escaped {
        return within;
    }
    within
        + needle[..within.min(needle.len())]
            .chars()
            .filter(|c| matches!(c, '"' | '\\'))
            .count()
}

impl Resolver<'_> {
    /// The place in the file of byte `offset` of a string value.
    pub(super) fn at(&self, s: &Spanned<String>, offset: usize) -> Span {
        let text = self.file.text();
        let start = self.file.offset(s.span.start);
        let end = (start + window(s.value.len())).min(text.len());
        let key = (s.span, s.value.as_ptr() as usize, s.value.len());
        let mut memo = self.located.memo.borrow_mut();
        if memo.as_ref().is_none_or(|m| m.key != key) {
            *memo = Some(Memo {
                key,
                exprs: locate_all(&s.value, &text[start.min(end)..end], start),
            });
        }
        let exprs = &memo.as_ref().expect("just set").exprs;
        let i = exprs.partition_point(|((_, e), _)| *e < offset);
        if let Some(((from, to), place)) = exprs.get(i).filter(|((f, _), _)| *f <= offset) {
            let Some(place) = place else {
                return s.span;
            };
            let needle = &s.value[*from..*to];
            let pos = self.file.pos(place.offset(needle, offset - from));
            let last = self.file.pos(place.offset(needle, needle.len()));
            return Span::new(pos, if last.line == pos.line { last } else { pos });
        }
        // Not inside an expression (an unclosed `${{`, say): the word at `offset`, looked for
        // from the value's start.
        let offset = offset.min(s.value.len());
        let word_end = s.value[offset..]
            .find(char::is_whitespace)
            .map_or(s.value.len(), |n| offset + n);
        let word = &s.value[offset..word_end];
        if word.is_empty() {
            return s.span;
        }
        let before = s.value[..offset].matches(word).count();
        let mut from = start;
        for _ in 0..before {
            match text[from.min(end)..end].find(word) {
                Some(n) => from += n + word.len(),
                None => return s.span,
            }
        }
        match text[from.min(end)..end].find(word) {
            Some(n) => {
                let pos = self.file.pos(from + n);
                let last = self.file.pos(from + n + word.len());
                Span::new(pos, if last.line == pos.line { last } else { pos })
            }
            None => s.span,
        }
    }
}

/// Every expression of `value`, each looked for in `source` (which starts at byte `base` of
/// the file) after the one before. Once one is not found the rest are left unplaced: a value
/// whose text the source does not hold costs one pass, not one per expression.
fn locate_all(value: &str, source: &str, base: usize) -> Vec<Placed> {
    let mut cursor = 0;
    let mut lost = false;
    expr::find(value)
        .into_iter()
        .map(|f| {
            let needle = &value[f.whole.0..f.whole.1];
            if lost {
                return (f.whole, None);
            }
            // Written as is, or with `\"` escapes in a double-quoted scalar: whichever comes
            // first (a later, identical expression must not take this one's place).
            let plain = source[cursor..]
                .find(needle)
                .map(|n| (cursor + n, needle.len(), false));
            let esc = escaped(needle).and_then(|e| {
                source[cursor..]
                    .find(&e)
                    .map(|n| (cursor + n, e.len(), true))
            });
            let place = match (plain, esc) {
                (Some(p), Some(e)) => Some(if e.0 < p.0 { e } else { p }),
                (p, e) => p.or(e),
            };
            if let Some((at, len, escaped)) = place {
                cursor = at + len;
                return (
                    f.whole,
                    Some(Where::Exact {
                        at: base + at,
                        escaped,
                    }),
                );
            }
            // Folded over lines: each space of the value may be a line break in the file.
            if let Some(map) = folded(source, cursor, needle) {
                cursor = *map.last().expect("one past the end");
                return (
                    f.whole,
                    Some(Where::Mapped(map.into_iter().map(|m| base + m).collect())),
                );
            }
            lost = true;
            (f.whole, None)
        })
        .collect()
}

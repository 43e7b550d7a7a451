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

/// An expression's byte range in the value, and where its text starts in the file with
/// whether it was written with backslash escapes there (`None`: not found).
type Placed = ((usize, usize), Option<(usize, bool)>);

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
            let Some((at, esc)) = *place else {
                return s.span;
            };
            let needle = &s.value[*from..*to];
            let written = shift(needle, needle.len(), esc);
            let pos = self.file.pos(at + shift(needle, offset - from, esc));
            let last = self.file.pos(at + written);
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
            match place {
                Some((at, len, esc)) => {
                    cursor = at + len;
                    (f.whole, Some((base + at, esc)))
                }
                None => {
                    lost = true;
                    (f.whole, None)
                }
            }
        })
        .collect()
}

//! Where expressions are in a text: `${{ ... }}` as Gitness finds them, and Harness NextGen's
//! `<+ ... >`. Each scan is one pass over the text, whatever it holds.

/// Where one `${{ ... }}` is in a text: byte range of the whole, and of the expression inside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Found {
    /// Byte range of `${{ ... }}`.
    pub whole: (usize, usize),
    /// Byte range of the text between the braces.
    pub inner: (usize, usize),
}

/// Every `${{ ... }}` in `text`, as Gitness finds them: each ends at the first `}}` after it,
/// on the same line (one that runs over a line end is left as written).
pub fn find(text: &str) -> Vec<Found> {
    // One pass: the next `}}` and the next line end are looked up only when the scan has gone
    // past them, so n unclosed `${{` on one line cost O(n), not O(n^2).
    let mut out = Vec::new();
    let mut from = 0;
    let mut close: Option<usize> = None;
    let mut line_end = 0;
    while let Some(i) = text[from..].find("${{") {
        let start = from + i;
        let inner_start = start + 3;
        if line_end < inner_start {
            line_end = text[inner_start..]
                .find('\n')
                .map_or(text.len(), |n| inner_start + n);
        }
        if close.is_some_and(|c| c < inner_start) || close.is_none() {
            close = Some(
                text[inner_start..]
                    .find("}}")
                    .map_or(usize::MAX, |n| inner_start + n),
            );
        }
        match close.filter(|&c| c.saturating_add(2) <= line_end) {
            Some(inner_end) => {
                out.push(Found {
                    whole: (start, inner_end + 2),
                    inner: (inner_start, inner_end),
                });
                from = inner_end + 2;
            }
            None => from = inner_start,
        }
    }
    out
}

/// The first Harness NextGen expression (`<+pipeline.variables.x>`) in `text`, as a byte
/// range. Gitness does not evaluate them.
pub fn find_nextgen(text: &str) -> Option<(usize, usize)> {
    let mut from = 0;
    // The next `>` is looked up again only once the scan is past it: linear in the text.
    let mut close: Option<usize> = None;
    while let Some(i) = text[from..].find("<+") {
        let start = from + i;
        let rest = &text[start + 2..];
        if rest.starts_with(|c: char| c.is_ascii_alphabetic()) {
            if close.is_none_or(|c| c < start + 2) {
                close = Some(
                    text[start + 2..]
                        .find('>')
                        .map_or(usize::MAX, |n| start + 2 + n),
                );
            }
            if let Some(end) = close.filter(|&c| c != usize::MAX).map(|c| c - start - 2) {
                if !rest[..end].contains(char::is_whitespace) || rest[..end].contains('(') {
                    return Some((start, start + 2 + end + 1));
                }
            }
        }
        from = start + 2;
    }
    None
}

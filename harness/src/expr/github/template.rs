//! Where the `${{ }}` of a value are, as GitHub's template reader finds them: an expression
//! ends at the first `}}` outside a string literal, and may run over several lines.

use super::{ErrorKind, GhError};

/// One `${{ ... }}` in a text: byte ranges of the whole and of the expression inside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Template {
    /// `${{` to `}}` inclusive.
    pub whole: (usize, usize),
    /// The expression between the braces.
    pub inner: (usize, usize),
}

/// Every `${{ ... }}` of `text`, in order.
///
/// # Errors
///
/// A `${{` without its `}}`, at the `${{`, with GitHub's message.
///
/// # Examples
///
/// ```
/// use pipeline_test_harness::expr::github::templates;
/// let t = templates("a ${{ format('{{0}}', 1) }} b").unwrap();
/// assert_eq!(t.len(), 1);
/// assert_eq!(t[0].whole, (2, 27));
/// assert!(templates("echo ${{ github.sha").is_err());
/// ```
pub fn templates(text: &str) -> Result<Vec<Template>, GhError> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = text[from..].find("${{") {
        let start = from + i;
        let inner = start + 3;
        let mut j = inner;
        let mut in_string = false;
        let end = loop {
            match bytes.get(j) {
                None => {
                    return Err(GhError::new(
                        ErrorKind::Lexing,
                        start,
                        "The expression is not closed. An unescaped ${{ sequence was found, but the closing }} sequence was not found.",
                    ));
                }
                Some(b'\'') => in_string = !in_string,
                Some(b'}') if !in_string && bytes.get(j + 1) == Some(&b'}') => break j,
                _ => {}
            }
            j += 1;
        };
        out.push(Template {
            whole: (start, end + 2),
            inner: (inner, end),
        });
        from = end + 2;
    }
    Ok(out)
}

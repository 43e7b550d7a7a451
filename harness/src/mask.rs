//! Secrets out of sight: every occurrence of a secret's value in what the tool prints becomes
//! `******`. Output is masked a line at a time, after it is split into lines, so a secret
//! split across two reads of a stream is still whole when it is masked; a secret that spans
//! several lines is masked line by line.

use std::borrow::Cow;

/// What a secret becomes.
pub const MASK: &str = "******";

/// The strings to mask for these secret values: each value, and each line of a multi-line
/// value, longest first; empty ones are left out (masking "" would mask everything).
pub(crate) fn secret_masks<'a>(values: impl IntoIterator<Item = &'a String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for v in values {
        for part in std::iter::once(v.as_str()).chain(v.lines()) {
            let part = part.trim_end_matches('\r');
            if !part.trim().is_empty() && !out.iter().any(|o| o == part) {
                out.push(part.to_string());
            }
        }
    }
    out.sort_by_key(|m| std::cmp::Reverse(m.len()));
    out
}

/// `text` with every occurrence of every mask replaced by [`MASK`].
///
/// # Examples
///
/// ```
/// use pipeline_test_harness::mask;
/// let masks = vec!["hunter2".to_string()];
/// assert_eq!(mask::apply("+ echo hunter2", &masks), "+ echo ******");
/// ```
pub fn apply<'t>(text: &'t str, masks: &[String]) -> Cow<'t, str> {
    if masks.iter().all(|m| !text.contains(m.as_str())) {
        return Cow::Borrowed(text);
    }
    let mut out = text.to_string();
    for m in masks {
        if out.contains(m.as_str()) {
            out = out.replace(m.as_str(), MASK);
        }
    }
    Cow::Owned(out)
}

/// What lint says never shows a secret: its value, and the forms a name made of it takes (its
/// lower case, a hostname's slug), become [`MASK`] in every message, label and help.
pub(crate) fn diagnostics<'a>(
    diags: &mut [crate::diagnostic::Diagnostic],
    secrets: impl IntoIterator<Item = &'a String> + Clone,
) {
    let mut masks = secret_masks(secrets.clone());
    for v in secrets {
        for form in [v.to_lowercase(), crate::spec::normalize::slugify(v)] {
            if form.chars().count() >= 4 && !masks.contains(&form) {
                masks.push(form);
            }
        }
    }
    masks.sort_by_key(|m| std::cmp::Reverse(m.len()));
    if masks.is_empty() {
        return;
    }
    let apply = |t: &mut String| *t = apply(t, &masks).into_owned();
    for d in diags {
        apply(&mut d.message);
        d.label.as_mut().map(apply);
        d.help.as_mut().map(apply);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_line_secrets_are_masked_line_by_line() {
        let masks = secret_masks([&"line one\nline two".to_string(), &String::new()]);
        assert_eq!(masks, ["line one\nline two", "line one", "line two"]);
        assert_eq!(apply("a line two b", &masks), "a ****** b");
        assert_eq!(apply("nothing", &masks), "nothing");
    }
}

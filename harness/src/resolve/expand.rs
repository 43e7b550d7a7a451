//! Expanding `${{ }}` in one value in place, and finding the place in the file of a
//! problem inside a value (the value's text is looked for in the source from where it was
//! written).

use super::Resolver;
use crate::diagnostic::Diagnostic;
use crate::duration::parse_duration;
use crate::expr::{self, Scope};
use crate::source::{Span, Spanned};
use crate::spec::{Container, Envs};

impl Resolver<'_> {
    pub(super) fn container(&mut self, c: &mut Container, scope: &Scope) {
        self.one(&mut c.image, scope);
        self.opt(&mut c.entrypoint, scope);
        self.list(&mut c.args, scope);
    }

    pub(super) fn typed_timeout(
        &mut self,
        mut t: Spanned<String>,
        scope: &Scope,
    ) -> Option<Spanned<std::time::Duration>> {
        let before = self.diags.len();
        self.one(&mut t, scope);
        if self.diags.len() > before {
            return None;
        }
        if scope.github().is_some() {
            return crate::spec::github_minutes(&t.value, t.span, &mut self.diags);
        }
        match parse_duration(&t.value) {
            Ok(d) => Some(Spanned::new(d, t.span)),
            Err(msg) => {
                self.diags.push(
                    Diagnostic::new(
                        t.span,
                        format!(
                            "`timeout` expands to `{}`, which is not a duration: {msg}",
                            t.value
                        ),
                    )
                    .with_label(
                        "expected a duration such as `90s`, `10m` or `1h30m` once expanded",
                    ),
                );
                None
            }
        }
    }

    pub(super) fn envs(&mut self, envs: &mut Envs, scope: &Scope) {
        for e in &mut envs.0 {
            self.one(&mut e.value, scope);
        }
    }

    pub(super) fn list(&mut self, items: &mut [Spanned<String>], scope: &Scope) {
        for s in items {
            self.one(s, scope);
        }
    }

    pub(super) fn opt(&mut self, s: &mut Option<Spanned<String>>, scope: &Scope) {
        if let Some(s) = s {
            self.one(s, scope);
        }
    }

    /// Expands one string in place; a problem becomes a diagnostic at its place.
    pub(super) fn one(&mut self, s: &mut Spanned<String>, scope: &Scope) {
        if let Some(contexts) = scope.github() {
            self.github_one(s, &contexts.clone());
            return;
        }
        if let Some((a, _)) =
            expr::find_nextgen(&s.value).filter(|_| self.format == crate::spec::Format::HarnessV1)
        {
            self.nextgen(s, a);
        }
        if !s.value.contains("${{") {
            return;
        }
        let missing_before = scope.missing_secrets();
        let expanded = expr::expand(&s.value, scope);
        for quirk in scope.take_quirks() {
            let at = expr::find(&s.value).first().map_or(0, |f| {
                let inner = &s.value[f.inner.0..f.inner.1];
                f.inner.0 + (inner.len() - inner.trim_start().len())
            });
            let span = self.at(s, at);
            self.diags.push(Diagnostic::new(span, quirk).warning());
        }
        match expanded {
            Ok(v) => {
                for name in scope.missing_secrets() {
                    if missing_before.contains(&name) {
                        continue;
                    }
                    let at = s.value.find("secrets").unwrap_or(0);
                    let span = self.at(s, at);
                    let upper = name.to_ascii_uppercase();
                    self.diags.push(
                        Diagnostic::new(span, format!("the secret `{name}` is not supplied: it expands to \"\", as on {}", self.format.runner()))
                            .warning()
                            .with_help(format!("pass it with `--secret {name}=VALUE` or `--secret-file FILE`, or set {}{upper}", crate::context::SECRET_ENV_PREFIX)),
                    );
                }
                s.value = v;
            }
            Err(e) => {
                let span = self.at(s, e.offset);
                let d = Diagnostic::new(
                    span,
                    format!("cannot evaluate this expression: {}", e.message),
                );
                self.diags
                    .push(if self.format == crate::spec::Format::HarnessV1 {
                        // Gitness expands a value whose expression fails to "", and runs.
                        s.value.clear();
                        d.warning()
                            .with_label("this value is empty, as on Gitness")
                            .with_help("fix the expression; `--deny-warnings` makes this an error")
                    } else {
                        d.with_help("fix the expression")
                    });
            }
        }
    }

    pub(super) fn nextgen(&mut self, s: &Spanned<String>, at: usize) {
        let span = self.at(s, at);
        self.diags.push(
            Diagnostic::new(span, "`<+ ... >` is a Harness NextGen expression, which Gitness does not evaluate")
                .warning()
                .with_label("passed on as written, here as on Gitness")
                .with_help("write it as a `${{ ... }}` expression, e.g. `${{ inputs.name }}` or `${{ secrets.get(\"name\") }}`"),
        );
    }

    /// The place in the file of byte `offset` of a string value: found by looking for the
    /// expression's text in the source from where the value was written.
    pub(super) fn at(&self, s: &Spanned<String>, offset: usize) -> Span {
        let text = self.file.text();
        let start = self.file.offset(s.span.start);
        let found = expr::find(&s.value);
        let (needle, within) = match found
            .iter()
            .find(|f| f.whole.0 <= offset && offset <= f.whole.1)
        {
            Some(f) => (&s.value[f.whole.0..f.whole.1], offset - f.whole.0),
            None => {
                let end = s.value[offset.min(s.value.len())..]
                    .find(char::is_whitespace)
                    .map_or(s.value.len(), |n| offset + n);
                (&s.value[offset.min(s.value.len())..end], 0)
            }
        };
        if !needle.is_empty() {
            let nth = s.value[..offset.saturating_sub(within)]
                .matches(needle)
                .count();
            let mut from = start;
            for i in 0..=nth {
                match text[from.min(text.len())..].find(needle) {
                    Some(n) if i == nth => {
                        let pos = self.file.pos(from + n + within);
                        let end = self.file.pos(from + n + needle.len());
                        return Span::new(pos, if end.line == pos.line { end } else { pos });
                    }
                    Some(n) => from += n + needle.len(),
                    None => break,
                }
            }
        }
        s.span
    }
}

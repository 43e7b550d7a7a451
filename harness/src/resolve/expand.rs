//! Expanding `${{ }}` in one value in place (the place of a problem inside a value is
//! `locate.rs`'s).

use super::Resolver;
use crate::diagnostic::Diagnostic;
use crate::duration::parse_duration;
use crate::expr::{self, Scope};
use crate::source::Spanned;
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
        if self.format == crate::spec::Format::Drone && !is_secret_read(&s.value) {
            // Drone has no `${{ }}`: the only ones in a Drone file are the reader's own
            // `from_secret` reads, each a whole value. Anything else is passed on as written.
            return;
        }
        let missing_before = scope.missing_secrets();
        let expanded = expr::expand(&s.value, scope);
        // The value's first expression: where a problem of the value as a whole is placed.
        let first = expr::find(&s.value).first().copied();
        for quirk in scope.take_quirks() {
            let at = first.map_or(0, |f| {
                let inner = &s.value[f.inner.0..f.inner.1];
                f.inner.0 + (inner.len() - inner.trim_start().len())
            });
            let span = self.at(s, at);
            self.diags.push(Diagnostic::new(span, quirk).warning());
        }
        match expanded {
            Ok(v) => {
                if !self.charge(s, first.map_or(0, |f| f.inner.0), v.len()) {
                    return;
                }
                for name in scope.missing_secrets() {
                    if missing_before.contains(&name) {
                        continue;
                    }
                    let at = secret_at(&s.value, &name);
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
                self.diags.push(
                    if self.format == crate::spec::Format::HarnessV1 && !e.limit {
                        // Gitness expands a value whose expression fails to "", and runs.
                        s.value.clear();
                        d.warning()
                            .with_label("this value is empty, as on Gitness")
                            .with_help("fix the expression; `--deny-warnings` makes this an error")
                    } else {
                        d.with_help("fix the expression")
                    },
                );
            }
        }
    }

    /// Counts `len` bytes of expanded text against the file's budget
    /// ([`expr::MAX_FILE_EXPANSION_BYTES`]). Past it, the value at `s` is an error (once) and
    /// this returns false: the value is left unexpanded.
    pub(super) fn charge(&mut self, s: &Spanned<String>, at: usize, len: usize) -> bool {
        self.expanded += len;
        if self.expanded <= expr::MAX_FILE_EXPANSION_BYTES {
            return true;
        }
        if !std::mem::replace(&mut self.over_budget, true) {
            let span = self.at(s, at);
            self.diags.push(
                Diagnostic::new(
                    span,
                    format!(
                        "the file's expressions expand to over {} MB here: pipeline-test stops at 16 MB per file",
                        expr::MAX_FILE_EXPANSION_BYTES >> 20
                    ),
                )
                .with_help("a value used many times is expanded each time; use it less often or make it shorter"),
            );
        }
        false
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
}

/// Whether `value` is exactly one `${{ secrets.get("...") }}`, as Drone's reader writes a
/// `from_secret` value.
fn is_secret_read(value: &str) -> bool {
    let v = value.trim();
    v.starts_with("${{ secrets.get(") && v.ends_with("}}") && v.matches("${{").count() == 1
}

/// Where a value reads the secret `name` (`secrets.get("name")`, `secrets.name`), so that each
/// missing secret of a value is reported at its own read; the first `secrets`, or 0, else.
fn secret_at(value: &str, name: &str) -> usize {
    let reads = [
        format!("\"{name}\""),
        format!("'{name}'"),
        format!("secrets.{name}"),
    ];
    let named = reads.iter().filter_map(|r| value.find(r.as_str())).min();
    let at = named.unwrap_or_else(|| value.find("secrets").unwrap_or(0));
    // Point at the start of the read, `secrets`, before the name.
    value[..at]
        .rfind("secrets")
        .filter(|&i| named.is_some() && at - i <= "secrets.get(".len())
        .unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::secret_at;

    #[test]
    fn each_missing_secret_at_its_own_read() {
        let v = "a ${{ secrets.get(\"one\") }} b ${{ secrets.get(\"two\") }} ${{ secrets.three }}";
        assert_eq!(&v[secret_at(v, "one")..][..7], "secrets");
        assert_eq!(secret_at(v, "two"), v.rfind("secrets.get").unwrap());
        assert_eq!(secret_at(v, "three"), v.find("secrets.three").unwrap());
    }
}

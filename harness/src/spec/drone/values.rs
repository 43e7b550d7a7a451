//! Drone's values: `environment` (with `{from_secret: name}`) and the substitution Drone does
//! before a pipeline runs (`$$`, `${NAME}`).

use crate::diagnostic::Diagnostic;
use crate::source::{Span, Spanned};
use crate::spec::read::Diags;
use crate::spec::read::json_text;
use crate::spec::read::{fields, string};
use crate::spec::{EnvVar, Envs};
use crate::yaml::{Node, Value};

/// `environment:`: values, or `{from_secret: name}`.
pub(super) fn environment(node: Option<&Node<'_>>, diags: &mut Diags) -> Envs {
    let mut out = Envs::default();
    let Some(f) = node.and_then(|n| fields(n, "`environment`", diags)) else {
        return out;
    };
    for (k, v) in f.entries {
        let Some(name) = k.as_scalar() else { continue };
        let value = match &v.value {
            Value::Map(_) => match secret(v, diags) {
                Some(s) => s,
                None => continue,
            },
            Value::Null => String::new(),
            Value::Scalar { text, .. } => subst(text, v.span, diags),
            Value::Seq(_) => json_text(v),
        };
        out.0.push(EnvVar {
            name: Spanned::new(name.to_string(), k.span),
            value: Spanned::new(value, v.span),
        });
    }
    out
}

/// `{from_secret: name}` as the expression that reads the secret.
pub(super) fn secret(v: &Node<'_>, diags: &mut Diags) -> Option<String> {
    let mut sf = fields(v, "a secret reference", diags)?;
    let name = string(sf.get("from_secret"), "from_secret", diags);
    sf.finish(diags, &|_| None);
    match name {
        Some(n) => Some(format!(
            "${{{{ {} }}}}",
            crate::spec::build::secret_code(&n.value)
        )),
        None => {
            diags.push(
                Diagnostic::new(v.span, "a mapping value here must be `{from_secret: NAME}`")
                    .with_help("write the value, or `from_secret: NAME` to read a secret"),
            );
            None
        }
    }
}

/// Drone's substitution before the pipeline runs: `$$` is `$`; `${DRONE_*}` and `${CI_*}`
/// stay for the step's shell, which has the same values; any other `${NAME}` is replaced
/// by nothing, as Drone does, with a warning.
pub(super) fn subst(text: &str, span: Span, diags: &mut Diags) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(inner) = after
            .strip_prefix('{')
            .and_then(|a| a.find('}').map(|e| &a[..e]))
        {
            let name = inner
                .split([':', '=', '#', '%', '/', '^', ','])
                .next()
                .unwrap_or(inner);
            let valid =
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid
                || name.starts_with("DRONE_")
                || name.starts_with("CI_")
                || name.starts_with("${")
            {
                out.push_str(&rest[i..i + 1 + inner.len() + 2]);
            } else {
                diags.push(
                    Diagnostic::new(span, format!("Drone replaces `${{{inner}}}` before the step runs: it is empty here, as there"))
                        .warning()
                        .with_help(format!("write `$${{{inner}}}` for the shell's own variable")),
                );
            }
            rest = &after[inner.len() + 2..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitution_as_drone_does_it() {
        let mut d = Vec::new();
        let s = Span::point(crate::source::Pos::new(1, 1));
        assert_eq!(
            subst("echo $${HOME} ${DRONE_BRANCH}", s, &mut d),
            "echo ${HOME} ${DRONE_BRANCH}"
        );
        assert!(d.is_empty());
        assert_eq!(subst("echo ${TOKEN}!", s, &mut d), "echo !");
        assert_eq!(d.len(), 1);
    }
}

//! Values only v1 YAML has: the v1 spelling of keys from the older Harness format, and
//! environment maps as Gitness types them.

use super::*;
use crate::diagnostic::Diagnostic;
use crate::yaml::{Node, Value};

/// The v1 spelling of a key from the older Harness (NextGen) format, when there is one.
pub(in crate::spec) fn v1_spelling(key: &str) -> Option<&'static str> {
    Some(match key {
        "identifier" => "`id`",
        "cloneCodebase" => {
            "`clone:` under the stage's `spec` (`clone: {disabled: true}` to turn it off)"
        }
        "connectorRef" => "`connector` inside `container:`",
        "envVariables" => "`envs`",
        "command" => "`script` (run steps) or `run` (script steps)",
        "imagePullPolicy" => "`pull` (`always`, `never`, `if-not-exists`)",
        "portBindings" => "`ports`",
        "variables" => "`inputs` under the pipeline's `spec`",
        "execution" => "`steps` under the stage's `spec`",
        "infrastructure" => "`runtime` or `platform` under the stage's `spec`",
        "sharedPaths" => "`volumes` under the stage's `spec`",
        "description" => "`desc`",
        "timeout_minutes" | "timeoutMinutes" => "`timeout` (`30m`)",
        "orgIdentifier" | "projectIdentifier" | "tags" | "properties" => {
            "nothing: Harness project settings have no v1 equivalent"
        }
        _ => return None,
    })
}

pub(in crate::spec) fn envs(node: Option<&Node<'_>>, what: &str, diags: &mut Diags) -> Envs {
    let mut out = Envs::default();
    let Some(node) = node else { return out };
    if node.value == Value::Null {
        return out;
    }
    let Some(mut f) = fields(node, "`envs`", diags) else {
        return out;
    };
    f.used.fill(true);
    for (k, v) in f.entries {
        let Some(name) = k.as_scalar() else { continue };
        if name.is_empty() || name.contains('=') || name.contains('\0') {
            diags.push(
                Diagnostic::new(k.span, format!("`{}` is not an environment variable name", name.replace('\0', "\\0")))
                    .with_label(if name.is_empty() { "empty" } else { "a name cannot hold `=` or a NUL byte" })
                    .with_help("names are letters, digits and `_`; with `=` inside, `A=B: x` would set `A` to `B=x`"),
            );
            continue;
        }
        let value = match &v.value {
            Value::Null => String::new(),
            Value::Scalar { text, plain: true } if yaml11_type(text).is_some() => {
                let kind = yaml11_type(text).unwrap_or("a number");
                diags.push(
                    Diagnostic::new(
                        v.span,
                        format!(
                            "environment variable `{name}` in `{what}` is {kind}, not a string"
                        ),
                    )
                    .with_label("Gitness refuses the whole file for this")
                    .with_help(format!("quote it: `{name}: \"{text}\"`")),
                );
                continue;
            }
            Value::Scalar { text, .. } if text.contains('\0') => {
                diags.push(nul_byte(v.span, name));
                continue;
            }
            Value::Scalar { text, .. } => text.to_string(),
            _ => {
                diags.push(
                    Diagnostic::new(
                        v.span,
                        format!(
                            "environment variable `{name}` in `{what}` must be a string, found {}",
                            v.kind_name()
                        ),
                    )
                    .with_label("expected a string")
                    .with_help("quote the value to pass it as text"),
                );
                continue;
            }
        };
        out.0.push(EnvVar {
            name: Spanned::new(name.to_string(), k.span),
            value: Spanned::new(value, v.span),
        });
    }
    out
}

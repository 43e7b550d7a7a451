//! A job's `strategy`: its matrix's axes, `include` and `exclude`, values typed as GitHub's
//! YAML reader types them, and a matrix (or axis) computed by an expression left for the
//! resolver.

use super::*;
use crate::diagnostic::Diagnostic;
use crate::spec::read::Diags;
use crate::spec::read::{fields, list};
use crate::yaml::{Node, Value};

/// `strategy`; a matrix or axis computed by an expression goes to `computed`, for the
/// resolver (it may read another job's outputs, known once that job has run).
pub(super) fn strategy(
    node: &Node<'_>,
    diags: &mut Diags,
    computed: &mut Vec<(Option<Spanned<String>>, Spanned<String>)>,
) -> Option<Strategy> {
    let mut f = fields(node, "`strategy`", diags)?;
    let mut ignored = Vec::new();
    f.accept("fail-fast", &mut ignored);
    let concurrency = crate::spec::read::uint(f.get("max-parallel"), "max-parallel", diags);
    let matrix = f.entry("matrix");
    f.finish(diags, &|_| None);
    let (key, m) = matrix?;
    if let Some(text) = m.as_scalar() {
        computed.push((None, Spanned::new(text.to_string(), m.span)));
        return Some(Strategy {
            strategy_type: Spanned::new("matrix".to_string(), key.span),
            matrix: Some(Matrix {
                concurrency,
                ..Matrix::default()
            }),
        });
    }
    let Value::Map(entries) = &m.value else {
        diags.push(
            Diagnostic::new(m.span, "`matrix` is not a mapping")
                .with_help("write `matrix: {rust: [stable, beta]}`"),
        );
        return None;
    };
    let mut out = Matrix {
        concurrency,
        ..Matrix::default()
    };
    for (k, v) in entries {
        let Some(name) = k.as_scalar() else { continue };
        let combos = |v: &Node<'_>, diags: &mut Diags| -> Vec<Vec<(String, String)>> {
            list(Some(v), name, diags)
                .iter()
                .filter_map(|item| match &item.value {
                    Value::Map(pairs) => Some(
                        pairs
                            .iter()
                            .filter_map(|(k, v)| Some((k.as_scalar()?.to_string(), text_of(v))))
                            .collect(),
                    ),
                    _ => {
                        diags.push(Diagnostic::new(
                            item.span,
                            format!("each `{name}` entry is a mapping of axis values"),
                        ));
                        None
                    }
                })
                .collect()
        };
        match name {
            "include" => out.include = combos(v, diags),
            "exclude" => out.exclude = combos(v, diags),
            _ => {
                if let Some(text) = v.as_scalar().filter(|t| t.contains("${{")) {
                    let axis = Spanned::new(name.to_string(), k.span);
                    computed.push((Some(axis), Spanned::new(text.to_string(), v.span)));
                    continue;
                }
                let values = list(Some(v), name, diags)
                    .iter()
                    .map(|n| Spanned::new(text_of(n), n.span))
                    .collect();
                out.axis
                    .push((Spanned::new(name.to_string(), k.span), values));
            }
        }
    }
    Some(Strategy {
        strategy_type: Spanned::new("matrix".to_string(), key.span),
        matrix: Some(out),
    })
}

/// A matrix value as JSON text, typed as GitHub's YAML reader types it (the YAML 1.2 core
/// schema: `1.70` is the number 1.7, `true` a boolean, `'1.70'` a string), so that
/// expressions see numbers, booleans, arrays and objects.
pub(crate) fn text_of(n: &Node<'_>) -> String {
    use crate::expr::github::Data;
    fn data(n: &Node<'_>) -> Data {
        match &n.value {
            Value::Null => Data::Null,
            Value::Scalar { text, plain: false } => Data::from(text.as_ref()),
            Value::Scalar { text, plain: true } => core_schema(text),
            Value::Seq(items) => Data::array(items.iter().map(data)),
            Value::Map(pairs) => Data::object(
                pairs
                    .iter()
                    .filter_map(|(k, v)| Some((k.as_scalar()?.to_string(), data(v)))),
            ),
        }
    }
    crate::expr::github::to_json_compact(&data(n))
}

/// A plain scalar as the YAML 1.2 core schema reads it.
fn core_schema(text: &str) -> crate::expr::github::Data {
    use crate::expr::github::Data;
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Data::Null,
        "true" | "True" | "TRUE" => return Data::Bool(true),
        "false" | "False" | "FALSE" => return Data::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Data::Number(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Data::Number(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Data::Number(f64::NAN),
        _ => {}
    }
    let digits = |s: &str, radix: u32| !s.is_empty() && s.chars().all(|c| c.is_digit(radix));
    if let Some(hex) = text.strip_prefix("0x") {
        if digits(hex, 16) {
            return Data::Number(crate::expr::github::number::parse(text));
        }
    }
    if let Some(oct) = text.strip_prefix("0o") {
        if digits(oct, 8) {
            return Data::Number(crate::expr::github::number::parse(text));
        }
    }
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    let numeric = unsigned.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && unsigned
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'))
        && unsigned.chars().any(|c| c.is_ascii_digit());
    match text.parse::<f64>() {
        Ok(n) if numeric => Data::Number(n),
        _ => Data::from(text),
    }
}

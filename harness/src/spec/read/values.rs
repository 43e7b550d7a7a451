//! How values are read where the runners differ from plain YAML: YAML 1.1 typing of plain
//! scalars (`yes`, `0x1F`), which Gitness and Drone apply, and JSON for structured plugin
//! settings.

use crate::yaml::{Node, Value};

/// What YAML 1.1 (the parser behind Gitness) reads a plain scalar as, when not a string:
/// `"a boolean"` for `true`, `yes`, `on`, ... and `"a number"` for `6379`, `1.5`, `0x1F`.
pub(in crate::spec) fn yaml11_type(text: &str) -> Option<&'static str> {
    const BOOLS: &[&str] = &[
        "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true", "True", "TRUE", "false",
        "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF",
    ];
    if BOOLS.contains(&text) {
        return Some("a boolean");
    }
    let t = text.strip_prefix(['-', '+']).unwrap_or(text);
    let digits =
        |s: &str, radix: u32| !s.is_empty() && s.chars().all(|c| c.is_digit(radix) || c == '_');
    let number = digits(t, 10)
        || t.strip_prefix("0x").is_some_and(|h| digits(h, 16))
        || t.strip_prefix("0o").is_some_and(|o| digits(o, 8))
        || t.strip_prefix("0b").is_some_and(|b| digits(b, 2))
        || matches!(t, ".inf" | ".Inf" | ".INF" | ".nan" | ".NaN" | ".NAN")
        || (t.contains(['.', 'e', 'E'])
            && t.chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit() || c == '.')
            && t.replace('_', "").parse::<f64>().is_ok());
    number.then_some("a number")
}

/// A scalar as text, or a list or map as JSON (for plugin settings).
pub(in crate::spec) fn json_text(node: &Node<'_>) -> String {
    fn quote(s: &str) -> String {
        let mut out = String::with_capacity(s.len() + 2);
        crate::expr::github::json::quote(s, &mut out);
        out
    }
    fn json(node: &Node<'_>) -> String {
        match &node.value {
            Value::Null => "null".into(),
            Value::Scalar { text, plain } => {
                if *plain && text == "null" {
                    "null".into()
                } else if *plain && yaml11_type(text) == Some("a boolean") {
                    let on = matches!(
                        text.to_ascii_lowercase().as_str(),
                        "y" | "yes" | "true" | "on"
                    );
                    on.to_string()
                } else if *plain && text.parse::<f64>().is_ok() {
                    text.to_string()
                } else {
                    quote(text)
                }
            }
            Value::Seq(items) => {
                let parts: Vec<String> = items.iter().map(json).collect();
                format!("[{}]", parts.join(","))
            }
            Value::Map(entries) => {
                let parts: Vec<String> = entries
                    .iter()
                    .map(|(k, v)| format!("{}:{}", quote(k.as_scalar().unwrap_or("")), json(v)))
                    .collect();
                format!("{{{}}}", parts.join(","))
            }
        }
    }
    match &node.value {
        Value::Null => String::new(),
        Value::Scalar { text, .. } => text.to_string(),
        Value::Seq(items)
            if items
                .iter()
                .all(|i| matches!(i.value, Value::Scalar { .. })) =>
        {
            items
                .iter()
                .filter_map(Node::as_scalar)
                .collect::<Vec<_>>()
                .join(",")
        }
        _ => json(node),
    }
}

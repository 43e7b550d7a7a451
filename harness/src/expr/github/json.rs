//! `toJSON` and `fromJSON`: JSON as GitHub writes it (two-space indentation, numbers as
//! JavaScript writes them) and reads it (object keys in their order).

use std::fmt::Write as _;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::Data;
use super::number::js_string;
use super::value::Object;

/// `value` as pretty-printed JSON.
pub(crate) fn to_json(value: &Data) -> String {
    let mut out = String::new();
    write(value, Some(0), &mut out);
    out
}

/// `value` as JSON on one line, without spaces.
pub fn to_json_compact(value: &Data) -> String {
    let mut out = String::new();
    write(value, None, &mut out);
    out
}

/// `indent`: the depth when pretty-printing, `None` for one line.
fn write(value: &Data, indent: Option<usize>, out: &mut String) {
    let inner = indent.map(|i| i + 1);
    match value {
        Data::Null => out.push_str("null"),
        Data::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Data::Number(n) if n.is_finite() => out.push_str(&js_string(*n)),
        Data::Number(_) => out.push_str("null"),
        Data::String(s) => quote(s, out),
        Data::Array(a) if a.items.is_empty() => out.push_str("[]"),
        Data::Object(o) if o.entries().is_empty() => out.push_str("{}"),
        Data::Array(a) => {
            out.push('[');
            for (i, item) in a.items.iter().enumerate() {
                separate(i, inner, out);
                write(item, inner, out);
            }
            separate(usize::MAX, indent, out);
            out.push(']');
        }
        Data::Object(o) => {
            out.push('{');
            for (i, (k, v)) in o.entries().iter().enumerate() {
                separate(i, inner, out);
                quote(k, out);
                out.push_str(if indent.is_some() { ": " } else { ":" });
                write(v, inner, out);
            }
            separate(usize::MAX, indent, out);
            out.push('}');
        }
    }
}

/// What goes before element `i` (`usize::MAX`: before the closing bracket): a comma after
/// the first, and when pretty-printing a line break and the indentation.
fn separate(i: usize, indent: Option<usize>, out: &mut String) {
    if i != 0 && i != usize::MAX {
        out.push(',');
    }
    if let Some(depth) = indent {
        out.push('\n');
        for _ in 0..depth {
            out.push_str("  ");
        }
    }
}

/// `s` as a JSON string, escaped as `JSON.stringify` escapes it.
pub(crate) fn quote(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Reads JSON text into a value, object keys in their order.
///
/// # Errors
///
/// The text is not JSON.
pub fn from_json(text: &str) -> Result<Data, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = Data::deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

impl<'de> Deserialize<'de> for Data {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DataVisitor)
    }
}

struct DataVisitor;

impl<'de> Visitor<'de> for DataVisitor {
    type Value = Data;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Data, E> {
        Ok(Data::Null)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Data, E> {
        Ok(Data::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Data, E> {
        Ok(Data::Number(n as f64))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Data, E> {
        Ok(Data::Number(n as f64))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Data, E> {
        Ok(Data::Number(n))
    }

    fn visit_str<E>(self, s: &str) -> Result<Data, E> {
        Ok(Data::String(s.to_string()))
    }

    fn visit_string<E>(self, s: String) -> Result<Data, E> {
        Ok(Data::String(s))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Data, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Data>()? {
            items.push(item);
        }
        Ok(Data::array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Data, A::Error> {
        let mut o = Object::default();
        while let Some((k, v)) = map.next_entry::<String, Data>()? {
            // JSON.parse keeps the last of two equal keys; of keys that differ only in
            // case, GitHub keeps the first.
            o.set_exact(k, v);
        }
        Ok(Data::Object(std::sync::Arc::new(o)))
    }
}

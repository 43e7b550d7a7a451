//! The values of GitHub's expression language: null, booleans, numbers (always a double),
//! strings, arrays and objects whose keys are compared without regard to case, with GitHub's
//! coercions between them.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use super::number;

/// A value of a GitHub Actions expression.
///
/// Arrays and objects are shared ([`Arc`]): `==` between two of them is true only when both
/// are the same one, as on GitHub.
///
/// # Examples
///
/// ```
/// use pipeline_test_harness::expr::github::Data;
///
/// let matrix = Data::object([("os", Data::from("ubuntu-latest")), ("rust", Data::Number(1.7))]);
/// assert_eq!(matrix.get("OS"), Some(&Data::from("ubuntu-latest")));
/// assert_eq!(Data::Number(1.7).to_text(), "1.7");
/// assert_eq!(matrix.to_text(), "Object");
/// ```
#[derive(Debug, Clone)]
pub enum Data {
    /// `null`, and every property that is not there.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// Every number (a double, as in JavaScript).
    Number(f64),
    /// Text.
    String(String),
    /// An array; `filtered` when it is the result of a `.*` filter (indexing it again
    /// indexes every element).
    Array(Arc<Array>),
    /// An object: keys in the order written, looked up without regard to case.
    Object(Arc<Object>),
}

/// The elements of an array.
#[derive(Debug, Default, Clone)]
pub struct Array {
    pub(crate) items: Vec<Data>,
    pub(super) filtered: bool,
}

/// An object's entries, in the order first written; a later key that differs only in case
/// from an earlier one is ignored, as on GitHub.
#[derive(Debug, Default, Clone)]
pub struct Object {
    entries: Vec<(String, Data)>,
    index: HashMap<String, usize>,
}

impl Object {
    /// Adds `key` unless a key equal to it without regard to case is there already.
    pub fn insert(&mut self, key: impl Into<String>, value: Data) {
        let key = key.into();
        let folded = key.to_lowercase();
        if self.index.contains_key(&folded) {
            return;
        }
        self.index.insert(folded, self.entries.len());
        self.entries.push((key, value));
    }

    /// Replaces the value of `key` (compared without regard to case), or adds it.
    pub fn set(&mut self, key: impl Into<String>, value: Data) {
        let key = key.into();
        match self.index.get(&key.to_lowercase()) {
            Some(&i) => self.entries[i].1 = value,
            None => self.insert(key, value),
        }
    }

    /// Replaces the value of exactly `key`, or adds it unless a key that differs only in case
    /// is there.
    pub(super) fn set_exact(&mut self, key: String, value: Data) {
        match self.index.get(&key.to_lowercase()) {
            Some(&i) if self.entries[i].0 == key => self.entries[i].1 = value,
            _ => self.insert(key, value),
        }
    }

    /// The value of `key`, compared without regard to case.
    pub fn get(&self, key: &str) -> Option<&Data> {
        let i = match self.index.get(key) {
            Some(i) => *i,
            None => *self.index.get(&key.to_lowercase())?,
        };
        Some(&self.entries[i].1)
    }

    /// The entries, in the order written.
    pub fn entries(&self) -> &[(String, Data)] {
        &self.entries
    }
}

impl Data {
    /// An array of `items`.
    pub fn array(items: impl IntoIterator<Item = Data>) -> Data {
        Data::Array(Arc::new(Array {
            items: items.into_iter().collect(),
            filtered: false,
        }))
    }

    pub(super) fn filtered(items: Vec<Data>) -> Data {
        Data::Array(Arc::new(Array {
            items,
            filtered: true,
        }))
    }

    /// An object of `pairs`, in their order.
    pub fn object<K: Into<String>>(pairs: impl IntoIterator<Item = (K, Data)>) -> Data {
        let mut o = Object::default();
        for (k, v) in pairs {
            o.insert(k, v);
        }
        Data::Object(Arc::new(o))
    }

    /// A property of an object (without regard to case); `None` for anything else.
    pub fn get(&self, key: &str) -> Option<&Data> {
        match self {
            Data::Object(o) => o.get(key),
            _ => None,
        }
    }

    /// The elements of an array; `None` for anything else.
    pub fn items(&self) -> Option<&[Data]> {
        match self {
            Data::Array(a) => Some(&a.items),
            _ => None,
        }
    }

    /// The kind's name, as GitHub's messages and `format` of an object write it.
    pub fn kind(&self) -> &'static str {
        match self {
            Data::Null => "Null",
            Data::Bool(_) => "Boolean",
            Data::Number(_) => "Number",
            Data::String(_) => "String",
            Data::Array(_) => "Array",
            Data::Object(_) => "Object",
        }
    }

    pub(super) fn is_primitive(&self) -> bool {
        !matches!(self, Data::Array(_) | Data::Object(_))
    }

    /// Whether GitHub counts the value as true: everything but `null`, `false`, `0`, `NaN`
    /// and `''`.
    pub fn truthy(&self) -> bool {
        match self {
            Data::Null => false,
            Data::Bool(b) => *b,
            Data::Number(n) => *n != 0.0 && !n.is_nan(),
            Data::String(s) => !s.is_empty(),
            Data::Array(_) | Data::Object(_) => true,
        }
    }

    /// The value as text, as GitHub puts it into a string: `null` is empty, numbers as
    /// JavaScript writes them (at most 15 decimals), arrays and objects as `Array` and
    /// `Object`.
    pub fn to_text(&self) -> String {
        match self {
            Data::Null => String::new(),
            Data::Bool(b) => b.to_string(),
            Data::Number(n) => number::to_text(*n),
            Data::String(s) => s.clone(),
            Data::Array(_) | Data::Object(_) => self.kind().to_string(),
        }
    }

    /// The value as a number: `null` and `false` are 0, `true` is 1, strings as JavaScript's
    /// `Number()` reads them, arrays and objects `NaN`.
    pub fn to_number(&self) -> f64 {
        match self {
            Data::Null => 0.0,
            Data::Bool(b) => f64::from(u8::from(*b)),
            Data::Number(n) => *n,
            Data::String(s) => number::parse(s),
            Data::Array(_) | Data::Object(_) => f64::NAN,
        }
    }

    /// Roughly how many bytes the value holds, for the evaluation's memory limit.
    pub(super) fn size(&self) -> usize {
        match self {
            Data::Null | Data::Bool(_) | Data::Number(_) => 16,
            // UTF-16, as GitHub's runner counts it.
            Data::String(s) => 26 + 2 * s.len(),
            // Shared: counted where it was made.
            Data::Array(_) | Data::Object(_) => 16,
        }
    }
}

impl PartialEq for Data {
    /// Structural equality, for tests (`==` in an expression is `equals`).
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Data::Null, Data::Null) => true,
            (Data::Bool(a), Data::Bool(b)) => a == b,
            (Data::Number(a), Data::Number(b)) => a == b || (a.is_nan() && b.is_nan()),
            (Data::String(a), Data::String(b)) => a == b,
            (Data::Array(a), Data::Array(b)) => a.items == b.items,
            (Data::Object(a), Data::Object(b)) => a.entries == b.entries,
            _ => false,
        }
    }
}

impl From<&str> for Data {
    fn from(s: &str) -> Self {
        Data::String(s.to_string())
    }
}

impl From<String> for Data {
    fn from(s: String) -> Self {
        Data::String(s)
    }
}

impl From<bool> for Data {
    fn from(b: bool) -> Self {
        Data::Bool(b)
    }
}

impl From<&crate::expr::Value> for Data {
    fn from(v: &crate::expr::Value) -> Self {
        use crate::expr::Value;
        match v {
            Value::Nil => Data::Null,
            Value::Bool(b) => Data::Bool(*b),
            Value::Int(n) => Data::Number(*n as f64),
            Value::Float(f) => Data::Number(*f),
            Value::Str(s) => Data::String(s.clone()),
            Value::List(l) => Data::array(l.iter().map(Data::from)),
            Value::Map(m) => Data::object(m.iter().map(|(k, v)| (k.clone(), Data::from(v)))),
        }
    }
}

/// Both sides brought to one kind for a comparison, as GitHub does: a number and a string
/// compare as numbers, `null` and booleans become numbers, arrays and objects stay.
fn coerce(l: &Data, r: &Data) -> (Data, Data) {
    use Data::*;
    match (l, r) {
        _ if std::mem::discriminant(l) == std::mem::discriminant(r) => (l.clone(), r.clone()),
        (Number(_), String(_)) | (String(_), Number(_)) => {
            (Number(l.to_number()), Number(r.to_number()))
        }
        (Null | Bool(_), _) => coerce(&Number(l.to_number()), r),
        (_, Null | Bool(_)) => coerce(l, &Number(r.to_number())),
        _ => (l.clone(), r.clone()),
    }
}

/// Upper case as GitHub compares strings (ordinal, ignoring case), leaving the dotless `ı`
/// as it is.
pub(super) fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == 'ı' {
            out.push(c);
        } else {
            out.extend(c.to_uppercase());
        }
    }
    out
}

/// Compares strings as GitHub does: ignoring case, by UTF-16 code units.
pub(super) fn cmp_text(a: &str, b: &str) -> Ordering {
    fold(a).encode_utf16().cmp(fold(b).encode_utf16())
}

/// `a == b` in an expression.
pub(super) fn equals(l: &Data, r: &Data) -> bool {
    match coerce(l, r) {
        (Data::Null, Data::Null) => true,
        (Data::Number(a), Data::Number(b)) => a == b,
        (Data::String(a), Data::String(b)) => cmp_text(&a, &b) == Ordering::Equal,
        (Data::Bool(a), Data::Bool(b)) => a == b,
        (Data::Array(a), Data::Array(b)) => Arc::ptr_eq(&a, &b),
        (Data::Object(a), Data::Object(b)) => Arc::ptr_eq(&a, &b),
        _ => false,
    }
}

/// `a < b` (`Less`) and `a > b` (`Greater`); `None` when neither holds for different kinds,
/// `NaN`, arrays or objects.
pub(super) fn order(l: &Data, r: &Data) -> Option<Ordering> {
    match coerce(l, r) {
        (Data::Number(a), Data::Number(b)) => a.partial_cmp(&b),
        (Data::String(a), Data::String(b)) => Some(cmp_text(&a, &b)),
        (Data::Bool(a), Data::Bool(b)) => Some(a.cmp(&b)),
        _ => None,
    }
}

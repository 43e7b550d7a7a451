//! `${{ ... }}` expressions, as Gitness evaluates them (the antonmedv/expr language).
//!
//! Literals (`"text"`, `'text'`, `42`, `1.5`, `true`, `nil`, `[a, b]`), paths (`build.branch`,
//! `matrix["go"]`), `== != < > <= >=`, `&& || !` and `and or not`, `in` / `not in`,
//! `contains`, `startsWith`, `endsWith`, `matches` (as operators or functions), `+ - * / %`,
//! `a ? b : c`, `??`, and the functions `secrets.get("NAME")`, `success()`, `failure()`,
//! `always()` (in `when` only), `len`, `lower`, `upper`, `trim`, `split`, `join`, `string`.
//!
//! Where Gitness turns an expression it cannot evaluate into an empty string, this module
//! returns an [`ExprError`] with the offset of the offending token, so that `lint` can point
//! at it.
//!
//! # Examples
//!
//! ```
//! use pipeline_test_harness::expr::{expand, Scope, Value};
//!
//! let mut scope = Scope::default();
//! scope.set("build", Value::map([("branch", "main"), ("event", "push")]));
//! scope.add_secret("token", "s3cr3t");
//! let text = expand(r#"deploy ${{ build.branch }} with ${{ secrets.get("token") }}"#, &scope).unwrap();
//! assert_eq!(text, "deploy main with s3cr3t");
//!
//! let err = expand("${{ build.brnach }}", &scope).unwrap_err();
//! assert_eq!(err.message, "`build` has no `brnach`: did you mean `branch`?");
//! assert_eq!(err.offset, 10);
//! ```

mod eval;
mod functions;
pub mod github;
mod lexer;
mod operators;
mod parser;
pub mod pattern;
mod scan;

pub use scan::{Found, find, find_nextgen};

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// A value an expression works with.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// `nil`: what a missing value is.
    Nil,
    /// `true` / `false`.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// A number with a fraction.
    Float(f64),
    /// Text.
    Str(String),
    /// `[a, b]`.
    List(Vec<Value>),
    /// Named fields (`build`, `repo`, `inputs`, `matrix`).
    Map(BTreeMap<String, Value>),
}

impl Value {
    /// A map of strings, for building a context.
    pub fn map<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Value {
        Value::Map(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), Value::Str(v.into())))
                .collect(),
        )
    }

    fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "nil",
            Value::Bool(_) => "a boolean",
            Value::Int(_) | Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::List(_) => "a list",
            Value::Map(_) => "a map",
        }
    }

    fn as_text(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(n) => Some(*n as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    fn loose_eq(&self, other: &Value) -> bool {
        match (self.as_f64(), other.as_f64()) {
            (Some(a), Some(b)) => a == b,
            _ => self == other,
        }
    }

    fn compare(&self, other: &Value) -> Option<std::cmp::Ordering> {
        match (self, other) {
            (Value::Str(a), Value::Str(b)) => Some(a.cmp(b)),
            _ => self.as_f64()?.partial_cmp(&other.as_f64()?),
        }
    }

    /// About how many bytes the value holds: its text, and a few per item of a list or map.
    pub(crate) fn weight(&self) -> usize {
        match self {
            Value::Str(s) => s.len(),
            Value::List(l) => l.iter().map(|v| 8 + v.weight()).sum(),
            Value::Map(m) => m.iter().map(|(k, v)| 8 + k.len() + v.weight()).sum(),
            _ => 8,
        }
    }

    /// The value as Gitness writes it into text: `nil` is empty, numbers and booleans as
    /// written, lists as `[a b]`.
    pub fn to_text(&self) -> String {
        match self {
            Value::Nil => String::new(),
            Value::Bool(b) => b.to_string(),
            Value::Int(n) => n.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Str(s) => s.clone(),
            Value::List(l) if l.is_empty() => String::new(),
            Value::List(l) => {
                let parts: Vec<String> = l.iter().map(Value::to_text).collect();
                format!("[{}]", parts.join(" "))
            }
            Value::Map(m) if m.is_empty() => String::new(),
            Value::Map(m) => {
                let parts: Vec<String> = m
                    .iter()
                    .map(|(k, v)| format!("{k}:{}", v.to_text()))
                    .collect();
                format!("map[{}]", parts.join(" "))
            }
        }
    }

    /// Whether the value counts as true in a `when`: `true`, a non-zero number, a non-empty
    /// string, list or map.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(n) => *n != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
    }
}

/// An expression that cannot be evaluated: what is wrong and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at byte {offset})")]
#[non_exhaustive]
pub struct ExprError {
    /// Byte offset in the text handed to [`eval`] or [`expand`].
    pub offset: usize,
    /// What is wrong.
    pub message: String,
    /// A limit of pipeline-test's was passed ([`MAX_VALUE_BYTES`]), not an error Gitness
    /// would see: refused even where Gitness expands a failing expression to "".
    pub limit: bool,
}

impl ExprError {
    pub(crate) fn new(offset: usize, message: impl Into<String>) -> Self {
        ExprError {
            offset,
            message: message.into(),
            limit: false,
        }
    }

    fn shifted(mut self, by: usize) -> Self {
        self.offset += by;
        self
    }
}

/// What an expression can see: `build`, `repo`, `inputs`, `matrix` and the secrets.
///
/// It records which secrets were asked for and not supplied, so that a run can name them.
#[derive(Debug, Default, Clone)]
pub struct Scope {
    vars: BTreeMap<String, Value>,
    secrets: BTreeMap<String, String>,
    status: Cell<Option<bool>>,
    called_failure: Cell<bool>,
    called_always: Cell<bool>,
    missing: RefCell<BTreeSet<String>>,
    quirks: RefCell<Vec<String>>,
    /// A GitHub Actions job's contexts: its expressions are GitHub's language, not this one.
    github: Option<github::Data>,
    /// A Harness NextGen pipeline's: its conditions are JEXL, where `&&`, `||` and `!` take
    /// any value (a string is true unless empty or `"false"`) and `x.contains(y)` is a method.
    jexl: bool,
}

impl Scope {
    /// Sets the top-level name `name` (`build`, `repo`, `inputs`, `matrix`, ...).
    pub fn set(&mut self, name: impl Into<String>, value: Value) {
        self.vars.insert(name.into(), value);
    }

    /// The value of a top-level name.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.vars.get(name)
    }

    /// The contexts of a GitHub Actions job, when the scope is one.
    pub(crate) fn github(&self) -> Option<&github::Data> {
        self.github.as_ref()
    }

    /// Makes this the scope of a Harness NextGen pipeline (JEXL's truth and methods).
    pub(crate) fn set_jexl(&mut self) {
        self.jexl = true;
    }

    /// True in a Harness NextGen pipeline's scope.
    pub(crate) fn jexl(&self) -> bool {
        self.jexl
    }

    /// Makes this the scope of a GitHub Actions job with these contexts.
    pub(crate) fn set_github(&mut self, contexts: github::Data) {
        self.github = Some(contexts);
    }

    /// Replaces one context of a GitHub Actions job's scope.
    pub(crate) fn set_github_context(&mut self, name: &str, value: github::Data) {
        if let Some(github::Data::Object(o)) = &mut self.github {
            std::sync::Arc::make_mut(o).set(name, value);
        }
    }

    /// Supplies a secret for `secrets.get(name)`.
    pub fn add_secret(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.secrets.insert(name.into(), value.into());
    }

    /// The secrets supplied, by name.
    pub fn secrets(&self) -> &BTreeMap<String, String> {
        &self.secrets
    }

    /// Secrets an expression asked for that were not supplied (they expanded to "").
    pub fn missing_secrets(&self) -> Vec<String> {
        self.missing.borrow().iter().cloned().collect()
    }

    /// Forms Gitness reads differently from pipeline-test, met since the last call: one
    /// message each, saying how to write it for both.
    pub fn take_quirks(&self) -> Vec<String> {
        std::mem::take(&mut *self.quirks.borrow_mut())
    }

    fn quirk(&self, message: String) {
        let mut q = self.quirks.borrow_mut();
        if !q.contains(&message) {
            q.push(message);
        }
    }

    fn secret(&self, name: &str) -> String {
        match self.secrets.get(name) {
            Some(v) => v.clone(),
            None => {
                self.missing.borrow_mut().insert(name.to_string());
                String::new()
            }
        }
    }
}

/// Evaluates one expression (without `${{ }}`).
///
/// # Errors
///
/// [`ExprError`] when it does not parse, or names something the scope does not have.
///
/// # Examples
///
/// ```
/// use pipeline_test_harness::expr::{eval, Scope, Value};
/// let mut scope = Scope::default();
/// scope.set("build", Value::map([("branch", "release/1.2")]));
/// assert_eq!(eval(r#"build.branch startsWith "release/""#, &scope), Ok(Value::Bool(true)));
/// assert_eq!(eval(r#"build.branch matches "^release/[0-9.]+$" and not false"#, &scope), Ok(Value::Bool(true)));
/// ```
pub fn eval(src: &str, scope: &Scope) -> Result<Value, ExprError> {
    let tokens = lexer::lex(src)?;
    let ast = parser::parse(&tokens, src.len())?;
    eval::eval(&ast, scope)
}

/// The most text one expression, or one value once expanded, may make: 1 MB. Past it the
/// expression is an error at its place (a file could otherwise ask for gigabytes).
pub const MAX_VALUE_BYTES: usize = 1 << 20;

/// The most text the expansions of one file may make in all: 16 MB.
pub const MAX_FILE_EXPANSION_BYTES: usize = 16 << 20;

/// What every expansion past [`MAX_VALUE_BYTES`] says.
pub(crate) const TOO_LARGE: &str =
    "this makes a value of over 1 MB: pipeline-test stops at 1 MB per value";

/// The error for a value over [`MAX_VALUE_BYTES`] made at byte `at`.
pub(crate) fn too_large(at: usize) -> ExprError {
    let mut e = ExprError::new(at, TOO_LARGE);
    e.limit = true;
    e
}

/// Replaces every `${{ ... }}` in `text` by its value as text.
///
/// # Errors
///
/// The first expression that cannot be evaluated; its offset is in `text`.
pub fn expand(text: &str, scope: &Scope) -> Result<String, ExprError> {
    let found = find(text);
    if found.is_empty() {
        return Ok(text.to_string());
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for f in found {
        out.push_str(&text[last..f.whole.0]);
        let inner = &text[f.inner.0..f.inner.1];
        let value = eval(inner, scope).map_err(|e| e.shifted(f.inner.0))?;
        out.push_str(&value.to_text());
        if out.len() > MAX_VALUE_BYTES {
            return Err(too_large(f.inner.0));
        }
        last = f.whole.1;
    }
    out.push_str(&text[last..]);
    Ok(out)
}

/// Whether a `when` lets a step run while the stage passes, and while it fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct WhenResult {
    /// It runs when every step before it passed.
    pub on_success: bool,
    /// It runs when a step before it failed.
    pub on_failure: bool,
}

/// Evaluates a `when` expression as Gitness does: once as if the stage were passing and once
/// as if it were failing. It runs on failure only when it calls `failure()` (or `always()`).
///
/// # Errors
///
/// [`ExprError`], its offset in `code`.
///
/// # Examples
///
/// ```
/// use pipeline_test_harness::expr::{eval_when, Scope, Value};
/// let mut scope = Scope::default();
/// scope.set("build", Value::map([("branch", "main")]));
/// let w = eval_when("${{ failure() && build.branch == 'main' }}", &scope).unwrap();
/// assert!(!w.on_success && w.on_failure);
/// let w = eval_when("build.branch == 'main'", &scope).unwrap();
/// assert!(w.on_success && !w.on_failure);
/// ```
pub fn eval_when(code: &str, scope: &Scope) -> Result<WhenResult, ExprError> {
    let lead = code.len() - code.trim_start().len();
    let mut body = code.trim();
    let mut shift = lead;
    if let Some(rest) = body.strip_prefix("${{") {
        body = rest.strip_suffix("}}").unwrap_or(rest);
        shift += 3;
    }
    scope.called_failure.set(false);
    scope.called_always.set(false);
    let run = |success: bool| {
        scope.status.set(Some(success));
        let out = eval(body, scope).map_err(|e| e.shifted(shift));
        scope.status.set(None);
        out
    };
    let passing = run(true)?;
    let failing = run(false)?;
    if scope.called_always.get() {
        return Ok(WhenResult {
            on_success: true,
            on_failure: true,
        });
    }
    Ok(WhenResult {
        on_success: passing.truthy(),
        on_failure: failing.truthy() && scope.called_failure.get(),
    })
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

#[cfg(test)]
mod tests;

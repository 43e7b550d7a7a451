//! GitHub Actions expressions (`${{ }}` in a workflow), as GitHub evaluates them: its own
//! language, not the Gitness one of [`crate::expr`].
//!
//! Literals (`null`, `true`, `1.5`, `0xff`, `'it''s'`), contexts and their properties
//! (`github.ref`, `matrix['node-version']`, `needs.*.result`), `!`, `<` `<=` `>` `>=`, `==`
//! `!=` with GitHub's coercions (strings compared without regard to case), `&&` and `||`
//! returning an operand, and the functions `contains`, `startsWith`, `endsWith`, `format`,
//! `join`, `toJSON`, `fromJSON`, `case`, `hashFiles` and the status functions `success()`,
//! `always()`, `failure()`, `cancelled()`. A property that is not there is `null`, never an
//! error; a context or a function GitHub does not know is an error before evaluation, with
//! GitHub's message.
//!
//! Checked against GitHub's own cross-language conformance data
//! (`harness/tests/data/github-expressions/`).
//!
//! # Examples
//!
//! ```
//! use pipeline_test_harness::expr::github::{Data, Expr, Names, Status};
//!
//! let names = Names::contexts(["matrix", "inputs"]);
//! let contexts = Data::object([
//!     ("matrix", Data::object([("os", Data::from("ubuntu-latest"))])),
//!     ("inputs", Data::object::<&str>([])),
//! ]);
//! let e = Expr::parse("matrix.rustc || 'stable'", &names).unwrap();
//! assert_eq!(e.eval(&contexts, Status::Success).unwrap(), Data::from("stable"));
//!
//! let e = Expr::parse("!inputs.skip && startsWith(matrix.OS, 'UBUNTU')", &names).unwrap();
//! assert_eq!(e.eval(&contexts, Status::Success).unwrap(), Data::Bool(true));
//!
//! let err = Expr::parse("github.sha", &names).unwrap_err();
//! assert_eq!(err.located("github.sha"), "Unrecognized named-value: 'github'. Located at position 1 within expression: github.sha");
//! ```

mod eval;
mod hash;
pub(crate) mod json;
mod lexer;
pub(crate) mod number;
mod parser;
mod template;
mod value;

pub use hash::hash_files;
pub use json::{from_json, to_json_compact};
pub use parser::Names;
pub use template::{Template, templates};
pub use value::{Array, Data, Object};

use parser::Node;

/// The status the status functions see: how the job (or the steps before) went so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Status {
    /// Everything before passed.
    #[default]
    Success,
    /// Something before failed.
    Failure,
    /// The run was cancelled.
    Cancelled,
}

/// Where evaluation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The text is not made of GitHub's tokens.
    Lexing,
    /// The tokens do not form an expression, or name what is not there.
    Parsing,
    /// It parsed, and failed while evaluated.
    Evaluation,
}

/// An expression GitHub would refuse, with GitHub's own message and where in the expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
#[non_exhaustive]
pub struct GhError {
    /// Lexing, parsing, or evaluation.
    pub kind: ErrorKind,
    /// Byte offset in the expression of the token at fault (0 for evaluation errors).
    pub offset: usize,
    /// GitHub's message, such as `Unrecognized named-value: 'foo'`.
    pub message: String,
}

impl GhError {
    pub(crate) fn new(kind: ErrorKind, offset: usize, message: impl Into<String>) -> Self {
        GhError {
            kind,
            offset,
            message: message.into(),
        }
    }

    /// The message as GitHub words it, with the position (in characters, from 1) for
    /// errors found before evaluation.
    pub fn located(&self, src: &str) -> String {
        if self.kind == ErrorKind::Evaluation {
            return self.message.clone();
        }
        let position = src[..self.offset.min(src.len())].chars().count() + 1;
        format!(
            "{}. Located at position {position} within expression: {src}",
            self.message
        )
    }
}

/// A parsed expression.
#[derive(Debug, Clone)]
pub struct Expr {
    node: Option<Node>,
}

impl Expr {
    /// Parses `src` (without `${{ }}`), allowing the contexts and functions of `names`.
    ///
    /// # Errors
    ///
    /// [`GhError`] of kind lexing or parsing, at the token at fault.
    pub fn parse(src: &str, names: &Names) -> Result<Expr, GhError> {
        let tokens = lexer::lex(src)?;
        Ok(Expr {
            node: parser::parse(&tokens, names)?,
        })
    }

    /// Evaluates against `contexts` (an object of the contexts by name) with the status
    /// functions seeing `status`. `hashFiles` is an error here: see [`Expr::eval_with`].
    ///
    /// # Errors
    ///
    /// [`GhError`] of kind evaluation: a bad `format` string, bad JSON for `fromJSON`, the
    /// memory limit.
    pub fn eval(&self, contexts: &Data, status: Status) -> Result<Data, GhError> {
        self.eval_with(contexts, status, &|_| {
            Err("hashFiles is not available here".to_string())
        })
    }

    /// [`Expr::eval`], with `hash_files` computing `hashFiles(patterns...)`.
    ///
    /// # Errors
    ///
    /// As [`Expr::eval`], and what `hash_files` returns.
    pub fn eval_with(
        &self,
        contexts: &Data,
        status: Status,
        hash_files: &dyn Fn(&[String]) -> Result<String, String>,
    ) -> Result<Data, GhError> {
        match &self.node {
            None => Ok(Data::Null),
            Some(n) => eval::Eval::new(contexts, status, hash_files).eval(n, 0),
        }
    }

    /// Whether it calls a status function (`success()`, `always()`, `failure()`,
    /// `cancelled()`); an `if:` that calls none means `success() && (...)`.
    pub fn calls_status(&self) -> bool {
        self.node.as_ref().is_some_and(|n| {
            let mut found = false;
            walk(n, &mut |n| {
                if let Node::Call(f, _) = n {
                    found |= f.is_status();
                }
            });
            found
        })
    }

    /// Every path it reads that starts at a context and goes on by names written in the
    /// expression (`steps.build.outputs.version` is `["steps", "build", "outputs",
    /// "version"]`), each with the byte offset where it starts.
    pub fn paths(&self) -> Vec<(Vec<String>, usize)> {
        let mut out = Vec::new();
        if let Some(n) = &self.node {
            walk(n, &mut |n| {
                if let Some(p) = path(n) {
                    // Keep only the longest path of a chain.
                    if !out
                        .iter()
                        .any(|(q, at): &(Vec<String>, usize)| *at == p.1 && q.len() >= p.0.len())
                    {
                        out.retain(|(q, at)| !(*at == p.1 && q.len() < p.0.len()));
                        out.push(p);
                    }
                }
            });
        }
        out
    }
}

/// The path of a chain of literal property accesses from a context.
fn path(n: &Node) -> Option<(Vec<String>, usize)> {
    match n {
        Node::Context(name, at) => Some((vec![name.to_ascii_lowercase()], *at)),
        Node::Index(target, Some(key)) => {
            let (mut p, at) = path(target)?;
            match &**key {
                Node::Literal(Data::String(s)) => p.push(s.clone()),
                Node::Literal(Data::Number(n)) => p.push(number::to_text(*n)),
                _ => return None,
            }
            Some((p, at))
        }
        Node::Index(target, None) => {
            let (mut p, at) = path(target)?;
            p.push("*".into());
            Some((p, at))
        }
        _ => None,
    }
}

fn walk(n: &Node, f: &mut dyn FnMut(&Node)) {
    f(n);
    match n {
        Node::Literal(_) | Node::Context(..) => {}
        Node::Index(t, i) => {
            walk(t, f);
            if let Some(i) = i {
                walk(i, f);
            }
        }
        Node::Call(_, args) | Node::And(args) | Node::Or(args) => {
            for a in args {
                walk(a, f);
            }
        }
        Node::Not(x) => walk(x, f),
        Node::Compare(_, a, b) => {
            walk(a, f);
            walk(b, f);
        }
    }
}

#[cfg(test)]
mod tests;

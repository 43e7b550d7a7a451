//! Evaluating a syntax tree against a [`Scope`], with the semantics of antonmedv/expr where
//! Gitness relies on them, and an error (never a silent empty string) where it would fail.

use super::functions::call;
use super::operators::{binary, jexl_truth};
use super::parser::Ast;
use super::{ExprError, Scope, Value};
use crate::diagnostic::did_you_mean;

pub(super) type R = Result<Value, ExprError>;

pub(super) fn eval(ast: &Ast, scope: &Scope) -> R {
    match ast {
        Ast::Nil => Ok(Value::Nil),
        Ast::Bool(b) => Ok(Value::Bool(*b)),
        Ast::Int(n) => Ok(Value::Int(*n)),
        Ast::Float(f) => Ok(Value::Float(*f)),
        Ast::Str(s) => Ok(Value::Str(s.clone())),
        Ast::List(items) => items
            .iter()
            .map(|(a, _)| eval(a, scope))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::List),
        Ast::Ident(name, at) => ident(name, *at, scope),
        Ast::Member(target, field, at) => {
            if let Ast::Ident(root, _) = &**target {
                if root == "secrets" {
                    scope.quirk(format!(
                        "Gitness reads `secrets.{field}` as an empty string; pipeline-test reads the secret `{field}`. Write `secrets.get(\"{field}\")` for both"
                    ));
                    return Ok(Value::Str(scope.secret(field)));
                }
            }
            let base = eval(target, scope)?;
            if field.contains('-') {
                let path = path_of(target);
                scope.quirk(format!(
                    "Gitness reads `{path}.{field}` as a subtraction, `{path}.{}`, and expands it to an empty string; pipeline-test reads the key `{field}`. Write `{path}[\"{field}\"]` for both",
                    field.replace('-', " - ")
                ));
            }
            member(&base, field, *at, target)
        }
        Ast::Index(target, index, at) => {
            let base = eval(target, scope)?;
            let key = eval(index, scope)?;
            match (&base, &key) {
                (Value::List(items), Value::Int(i)) => {
                    let i = if *i < 0 { items.len() as i64 + i } else { *i };
                    usize::try_from(i)
                        .ok()
                        .and_then(|i| items.get(i))
                        .cloned()
                        .ok_or_else(|| {
                            ExprError::new(
                                *at,
                                format!("index {i} is out of range (length {})", items.len()),
                            )
                        })
                }
                (Value::Map(_), Value::Str(k)) => member(&base, k, *at, target),
                _ => Err(ExprError::new(
                    *at,
                    format!("cannot index {} with {}", base.type_name(), key.type_name()),
                )),
            }
        }
        Ast::Call(callee, args, at) => bounded(call(callee, args, *at, scope)?, *at),
        Ast::Unary(op, inner, at) => {
            let v = eval(inner, scope)?;
            match (*op, v) {
                ("!", Value::Bool(b)) => Ok(Value::Bool(!b)),
                ("!", v) if scope.jexl() => Ok(Value::Bool(!jexl_truth(&v))),
                ("-", Value::Int(n)) => n.checked_neg().map(Value::Int).ok_or_else(|| {
                    ExprError::new(
                        *at,
                        "`-` overflows: the result does not fit in a 64-bit integer",
                    )
                }),
                ("-", Value::Float(f)) => Ok(Value::Float(-f)),
                ("+", v @ (Value::Int(_) | Value::Float(_))) => Ok(v),
                (op, v) => Err(ExprError::new(
                    *at,
                    format!("`{op}` cannot be applied to {}", v.type_name()),
                )),
            }
        }
        Ast::Binary(op, left, right, at) => bounded(binary(op, left, right, *at, scope)?, *at),
        Ast::Cond(cond, yes, no) => match eval(cond, scope)? {
            Value::Bool(true) => eval(yes, scope),
            Value::Bool(false) => eval(no, scope),
            other => Err(ExprError::new(
                0,
                format!(
                    "the condition of `? :` must be a boolean, found {}",
                    other.type_name()
                ),
            )),
        },
    }
}

fn ident(name: &str, at: usize, scope: &Scope) -> R {
    if let Some(v) = scope.vars.get(name) {
        return Ok(v.clone());
    }
    let mut names: Vec<&str> = scope.vars.keys().map(String::as_str).collect();
    names.push("secrets");
    let mut e = ExprError::new(
        at,
        format!(
            "unknown name `{name}`; the names are {}",
            crate::diagnostic::listed(&names)
        ),
    );
    if let Some(s) = did_you_mean(name, &names) {
        e.message = format!("unknown name `{name}`: did you mean `{s}`?");
    }
    Err(e)
}

fn member(base: &Value, field: &str, at: usize, target: &Ast) -> R {
    match base {
        Value::Map(m) => m.get(field).cloned().ok_or_else(|| {
            let what = path_of(target);
            let keys: Vec<&str> = m.keys().map(String::as_str).collect();
            let mut message = match did_you_mean(field, &keys) {
                Some(s) => format!("`{what}` has no `{field}`: did you mean `{s}`?"),
                None if keys.is_empty() => format!("`{what}` has no `{field}`: it is empty here"),
                None => format!(
                    "`{what}` has no `{field}`; it has: {}",
                    crate::diagnostic::listed(&keys)
                ),
            };
            if what == "inputs" {
                message.push_str(" (declare it under `spec.inputs`, or pass it with --input)");
            }
            ExprError::new(at, message)
        }),
        other => Err(ExprError::new(
            at,
            format!(
                "`{}` is {}, which has no field `{field}`",
                path_of(target),
                other.type_name()
            ),
        )),
    }
}

/// `v`, unless it is over [`super::MAX_VALUE_BYTES`]: then an error at `at`.
fn bounded(v: Value, at: usize) -> R {
    match v.weight() {
        w if w > super::MAX_VALUE_BYTES => Err(super::too_large(at)),
        _ => Ok(v),
    }
}

pub(super) fn path_of(ast: &Ast) -> String {
    match ast {
        Ast::Ident(n, _) => n.clone(),
        Ast::Member(t, f, _) => format!("{}.{f}", path_of(t)),
        _ => "the value".to_string(),
    }
}

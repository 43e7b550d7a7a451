//! Evaluating a syntax tree against a [`Scope`], with the semantics of antonmedv/expr where
//! Gitness relies on them, and an error (never a silent empty string) where it would fail.

use std::cmp::Ordering;

use super::parser::Ast;
use super::{ExprError, Scope, Value};
use crate::diagnostic::did_you_mean;

type R = Result<Value, ExprError>;

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

fn path_of(ast: &Ast) -> String {
    match ast {
        Ast::Ident(n, _) => n.clone(),
        Ast::Member(t, f, _) => format!("{}.{f}", path_of(t)),
        _ => "the value".to_string(),
    }
}

fn call(callee: &Ast, args: &[Ast], at: usize, scope: &Scope) -> R {
    let name = match callee {
        Ast::Ident(n, _) => n.as_str(),
        Ast::Member(target, f, _) if matches!(&**target, Ast::Ident(r, _) if r == "secrets") => {
            if f != "get" {
                return Err(ExprError::new(
                    at,
                    format!("`secrets` has no function `{f}`; use `secrets.get(\"NAME\")`"),
                ));
            }
            let [arg] = args else {
                return Err(ExprError::new(
                    at,
                    "`secrets.get` takes one argument, the secret's name",
                ));
            };
            let Value::Str(name) = eval(arg, scope)? else {
                return Err(ExprError::new(
                    at,
                    "`secrets.get` takes the secret's name as a string",
                ));
            };
            return Ok(Value::Str(scope.secret(&name)));
        }
        Ast::Member(target, f, _)
            if scope.jexl() && matches!(f.as_str(), "contains" | "startsWith" | "endsWith") =>
        {
            // JEXL's methods: `<+trigger.prLabels>.contains("x")`, `"a".startsWith("b")`.
            let [arg] = args else {
                return Err(ExprError::new(at, format!("`{f}` takes one argument")));
            };
            let (on, arg) = (eval(target, scope)?, eval(arg, scope)?);
            return match on {
                Value::List(items) if f == "contains" => {
                    Ok(Value::Bool(items.iter().any(|i| i.loose_eq(&arg))))
                }
                Value::Nil => Err(ExprError::new(
                    at,
                    format!("`{f}` called on null: {} is not set", path_of(target)),
                )),
                on => word_op(f, &on, &arg, at),
            };
        }
        _ => {
            return Err(ExprError::new(
                at,
                format!("`{}` is not a function", path_of(callee)),
            ));
        }
    };
    let status_fn = matches!(name, "success" | "failure" | "always");
    if status_fn {
        let Some(success) = scope.status.get() else {
            return Err(ExprError::new(
                at,
                format!("`{name}()` can only be used in `when`"),
            ));
        };
        if !args.is_empty() {
            return Err(ExprError::new(at, format!("`{name}()` takes no arguments")));
        }
        return Ok(Value::Bool(match name {
            "success" => success,
            "failure" => {
                scope.called_failure.set(true);
                !success
            }
            _ => {
                scope.called_always.set(true);
                true
            }
        }));
    }
    let values = args
        .iter()
        .map(|a| eval(a, scope))
        .collect::<Result<Vec<_>, _>>()?;
    let arity = |n: usize| -> Result<(), ExprError> {
        if values.len() == n {
            Ok(())
        } else {
            Err(ExprError::new(
                at,
                format!("`{name}` takes {n} argument(s), found {}", values.len()),
            ))
        }
    };
    match name {
        "contains" | "startsWith" | "endsWith" | "matches" => {
            arity(2)?;
            word_op(name, &values[0], &values[1], at)
        }
        "len" => {
            arity(1)?;
            match &values[0] {
                Value::Str(s) => Ok(Value::Int(s.chars().count() as i64)),
                Value::List(l) => Ok(Value::Int(l.len() as i64)),
                Value::Map(m) => Ok(Value::Int(m.len() as i64)),
                v => Err(ExprError::new(
                    at,
                    format!("`len` cannot measure {}", v.type_name()),
                )),
            }
        }
        "lower" | "upper" | "trim" => {
            arity(1)?;
            let s = values[0].to_text();
            Ok(Value::Str(match name {
                "lower" => s.to_lowercase(),
                "upper" => s.to_uppercase(),
                _ => s.trim().to_string(),
            }))
        }
        "string" => {
            arity(1)?;
            Ok(Value::Str(values[0].to_text()))
        }
        "split" => {
            arity(2)?;
            let (s, sep) = (values[0].to_text(), values[1].to_text());
            Ok(Value::List(
                s.split(sep.as_str())
                    .map(|p| Value::Str(p.to_string()))
                    .collect(),
            ))
        }
        "join" => {
            arity(2)?;
            let Value::List(items) = &values[0] else {
                return Err(ExprError::new(at, "`join` takes a list first"));
            };
            let parts: Vec<String> = items.iter().map(Value::to_text).collect();
            Ok(Value::Str(parts.join(&values[1].to_text())))
        }
        _ => Err(ExprError::new(
            at,
            format!(
                "unknown function `{name}`; the functions are success, failure, always, contains, startsWith, endsWith, matches, len, lower, upper, trim, split, join, string, secrets.get"
            ),
        )),
    }
}

fn word_op(op: &str, a: &Value, b: &Value, at: usize) -> R {
    let (Some(a), Some(b)) = (a.as_text(), b.as_text()) else {
        return Err(ExprError::new(
            at,
            format!(
                "`{op}` compares strings, found {} and {}",
                a.type_name(),
                b.type_name()
            ),
        ));
    };
    Ok(Value::Bool(match op {
        "contains" => a.contains(b),
        "startsWith" => a.starts_with(b),
        "endsWith" => a.ends_with(b),
        _ => {
            let re = super::pattern::compiled(b).map_err(|e| {
                ExprError::new(
                    at,
                    format!("`matches` needs a valid regular expression: {e}"),
                )
            })?;
            re.is_match(a)
        }
    }))
}

fn binary(op: &str, left: &Ast, right: &Ast, at: usize, scope: &Scope) -> R {
    match op {
        "&&" | "||" => {
            let l = boolean(eval(left, scope)?, op, at, scope)?;
            if (op == "&&" && !l) || (op == "||" && l) {
                return Ok(Value::Bool(l));
            }
            Ok(Value::Bool(boolean(eval(right, scope)?, op, at, scope)?))
        }
        "??" => match eval(left, scope) {
            Ok(Value::Nil) | Err(_) => eval(right, scope),
            Ok(v) => Ok(v),
        },
        _ => {
            let l = eval(left, scope)?;
            let r = eval(right, scope)?;
            match op {
                "==" => Ok(Value::Bool(l.loose_eq(&r))),
                "!=" => Ok(Value::Bool(!l.loose_eq(&r))),
                "<" | ">" | "<=" | ">=" => {
                    let ord = l.compare(&r).ok_or_else(|| {
                        ExprError::new(
                            at,
                            format!(
                                "`{op}` cannot compare {} with {}",
                                l.type_name(),
                                r.type_name()
                            ),
                        )
                    })?;
                    Ok(Value::Bool(match op {
                        "<" => ord == Ordering::Less,
                        ">" => ord == Ordering::Greater,
                        "<=" => ord != Ordering::Greater,
                        _ => ord != Ordering::Less,
                    }))
                }
                "in" | "not in" => {
                    let found = match &r {
                        Value::List(items) => items.iter().any(|i| i.loose_eq(&l)),
                        Value::Map(m) => l.as_text().is_some_and(|k| m.contains_key(k)),
                        other => {
                            return Err(ExprError::new(
                                at,
                                format!(
                                    "`{op}` needs a list or a map on its right, found {}",
                                    other.type_name()
                                ),
                            ));
                        }
                    };
                    Ok(Value::Bool(found == (op == "in")))
                }
                "contains" | "startsWith" | "endsWith" | "matches" => word_op(op, &l, &r, at),
                _ => arithmetic(op, l, r, at),
            }
        }
    }
}

/// JEXL's truth: a string is true unless it is empty or `"false"`; null is false.
fn jexl_truth(v: &Value) -> bool {
    !matches!(v, Value::Str(s) if s == "false") && v.truthy()
}

fn boolean(v: Value, op: &str, at: usize, scope: &Scope) -> Result<bool, ExprError> {
    match v {
        Value::Bool(b) => Ok(b),
        other if scope.jexl() => Ok(jexl_truth(&other)),
        other => Err(ExprError::new(
            at,
            format!("`{op}` joins booleans, found {}", other.type_name()),
        )),
    }
}

fn arithmetic(op: &str, l: Value, r: Value, at: usize) -> R {
    use Value::{Float, Int, List, Str};
    let bad = |l: &Value, r: &Value| {
        ExprError::new(
            at,
            format!(
                "`{op}` cannot be applied to {} and {}",
                l.type_name(),
                r.type_name()
            ),
        )
    };
    Ok(match (op, &l, &r) {
        ("+", Str(a), Str(b)) => Str(format!("{a}{b}")),
        ("+", List(a), List(b)) => List(a.iter().chain(b).cloned().collect()),
        (_, Int(a), Int(b)) => {
            let overflow = || {
                ExprError::new(
                    at,
                    format!("`{op}` overflows: the result does not fit in a 64-bit integer"),
                )
            };
            match op {
                "+" => Int(a.checked_add(*b).ok_or_else(overflow)?),
                "-" => Int(a.checked_sub(*b).ok_or_else(overflow)?),
                "*" => Int(a.checked_mul(*b).ok_or_else(overflow)?),
                "/" if *b != 0 => Float(*a as f64 / *b as f64),
                "%" if *b != 0 => Int(a.checked_rem(*b).ok_or_else(overflow)?),
                _ => return Err(ExprError::new(at, "division by zero")),
            }
        }
        (_, Int(_) | Float(_), Int(_) | Float(_)) => {
            let (a, b) = (l.as_f64().unwrap_or(0.0), r.as_f64().unwrap_or(0.0));
            match op {
                "+" => Float(a + b),
                "-" => Float(a - b),
                "*" => Float(a * b),
                "/" => Float(a / b),
                _ => Float(a % b),
            }
        }
        _ => return Err(bad(&l, &r)),
    })
}

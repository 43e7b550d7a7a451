//! The operators of an expression: comparison, `&&`/`||` with JEXL's truth, arithmetic, and the
//! word operators (`contains`, `startsWith`, `endsWith`, `matches`).

use std::cmp::Ordering;

use super::eval::{R, eval};
use super::parser::Ast;
use super::{ExprError, Scope, Value};

pub(super) fn word_op(op: &str, a: &Value, b: &Value, at: usize) -> R {
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

pub(super) fn binary(op: &str, left: &Ast, right: &Ast, at: usize, scope: &Scope) -> R {
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
pub(super) fn jexl_truth(v: &Value) -> bool {
    !matches!(v, Value::Str(s) if s == "false") && v.truthy()
}

pub(super) fn boolean(v: Value, op: &str, at: usize, scope: &Scope) -> Result<bool, ExprError> {
    match v {
        Value::Bool(b) => Ok(b),
        other if scope.jexl() => Ok(jexl_truth(&other)),
        other => Err(ExprError::new(
            at,
            format!("`{op}` joins booleans, found {}", other.type_name()),
        )),
    }
}

pub(super) fn arithmetic(op: &str, l: Value, r: Value, at: usize) -> R {
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

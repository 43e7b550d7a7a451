//! The functions an expression may call (`contains`, `len`, `secrets.get`, ...), with the
//! semantics of antonmedv/expr where Gitness relies on them.

use super::eval::{R, eval, path_of};
use super::operators::word_op;
use super::parser::Ast;
use super::{ExprError, Scope, Value};

pub(super) fn call(callee: &Ast, args: &[Ast], at: usize, scope: &Scope) -> R {
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

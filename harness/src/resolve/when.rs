//! The declarative `when` forms of `schema/when.yaml`: `{branch: {eq: main}}`, `in`, `not`,
//! and a list of such maps (any of them).

use crate::expr::{self, Scope, Value};
use crate::source::Span;
use crate::spec::{CondTest, Condition};

/// True when one of the maps has all its conditions true.
pub(super) fn conditions(any: &[Vec<Condition>], scope: &Scope) -> Result<bool, (Span, String)> {
    for all in any {
        let mut ok = true;
        for c in all {
            let path = if c.key.value.contains('.') {
                c.key.value.clone()
            } else {
                format!("build.{}", c.key.value)
            };
            let value = expr::eval(&path, scope).map_err(|e| {
                (
                    c.key.span,
                    format!(
                        "`when` tests `{}`, which {}",
                        c.key.value,
                        e.message
                            .trim_start_matches('`')
                            .split_once("` ")
                            .map_or(e.message.as_str(), |(_, rest)| rest)
                    ),
                )
            })?;
            let text = match value {
                Value::Nil => String::new(),
                v => v.to_text(),
            };
            ok &= holds(&c.test, &text);
        }
        if ok {
            return Ok(true);
        }
    }
    Ok(any.is_empty())
}

fn holds(test: &CondTest, value: &str) -> bool {
    match test {
        CondTest::Eq(v) => v.value == value,
        CondTest::In(vs) => vs.iter().any(|v| v.value == value),
        CondTest::Not(t) => !holds(t, value),
        CondTest::All(ts) => ts.iter().all(|t| holds(t, value)),
    }
}

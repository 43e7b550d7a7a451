//! What a Harness NextGen pipeline's expressions see beyond v1's: JEXL's truth and methods,
//! and the `codebase` and `trigger` values v1's `build` does not name.

use crate::expr::{Scope, Value};

/// A NextGen pipeline's scope: JEXL's truth and methods, and what Harness knows that the
/// `build` of v1 does not name (`<+codebase.shortCommitSha>`; `<+trigger.prLabels>`, null
/// outside a pull request and without labels in one, as a local build has none).
pub(super) fn scope(scope: &mut Scope) {
    scope.set_jexl();
    let build = scope.get("build");
    let field = |k: &str| {
        build
            .and_then(|b| match b {
                Value::Map(m) => m.get(k).map(Value::to_text),
                _ => None,
            })
            .unwrap_or_default()
    };
    let short: String = field("commit").chars().take(7).collect();
    let labels = if field("event") == "pull_request" {
        Value::List(Vec::new())
    } else {
        Value::Nil
    };
    scope.set("codebase", Value::map([("shortCommitSha", short)]));
    scope.set(
        "trigger",
        Value::Map([("prLabels".to_string(), labels)].into_iter().collect()),
    );
}

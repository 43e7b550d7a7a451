//! Gitness's `${{ }}` dialect: arbitrary text parsed, evaluated, expanded and read as a `when`.
//! It must return, never panic, overflow the stack or grow without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pipeline_test_harness::expr::{Scope, Value, eval, eval_when, expand, find, find_nextgen};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut scope = Scope::default();
    scope.set(
        "build",
        Value::map([("branch", "main"), ("event", "push"), ("tag", "v1.2")]),
    );
    scope.set("inputs", Value::map([("big", "x".repeat(4096))]));
    scope.add_secret("tok", "s3cret");
    let _ = eval(text, &scope);
    let _ = expand(text, &scope);
    let _ = eval_when(text, &scope);
    let _ = find(text);
    let _ = find_nextgen(text);
});

//! GitHub's expression dialect: arbitrary text parsed and evaluated against contexts, and
//! scanned as a template. It must return, never panic, overflow the stack or grow without
//! bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pipeline_test_harness::expr::github::{Data, Expr, Names, Status, templates};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = templates(text);
    let mut names = Names::contexts(["github", "env", "matrix", "inputs", "secrets"]);
    names.status = true;
    let Ok(expr) = Expr::parse(text, &names) else {
        return;
    };
    let contexts = Data::object([
        (
            "github",
            Data::object([("ref", Data::from("refs/heads/main")), ("event_name", Data::from("push"))]),
        ),
        ("env", Data::object([("BIG", Data::from("y".repeat(4096)))])),
        ("matrix", Data::object([("os", Data::from("linux"))])),
    ]);
    let _ = expr.eval(&contexts, Status::Success);
    let _ = expr.eval(&contexts, Status::Failure);
});

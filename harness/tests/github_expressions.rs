//! GitHub's cross-language conformance data for the Actions expression language, every case:
//! the expression with its contexts, and the kind and value it gives, or the error GitHub
//! reports (lexing, parsing or evaluation, with its message).

use std::collections::BTreeMap;

use pipeline_test_harness::expr::github::{Data, ErrorKind, Expr, Names, Status};
use serde::Deserialize;

#[derive(Deserialize)]
struct Case {
    expr: String,
    result: Option<Expected>,
    err: Option<ExpectedError>,
    contexts: Option<Data>,
}

#[derive(Deserialize)]
struct Expected {
    kind: String,
    value: Data,
}

#[derive(Deserialize)]
struct ExpectedError {
    kind: String,
    value: String,
}

fn run(case: &Case) -> Result<(), String> {
    let contexts = case.contexts.clone().unwrap_or(Data::object::<&str>([]));
    let names = match &contexts {
        Data::Object(o) => Names::contexts(o.entries().iter().map(|(k, _)| k.clone())),
        _ => Names::contexts(Vec::<String>::new()),
    };
    let got = Expr::parse(&case.expr, &names).and_then(|e| e.eval(&contexts, Status::Success));
    match (&case.result, &case.err, got) {
        (Some(want), _, Ok(got)) => {
            if got.kind() == want.kind && got == want.value {
                Ok(())
            } else {
                Err(format!(
                    "gave {} {got:?}, expected {} {:?}",
                    got.kind(),
                    want.kind,
                    want.value
                ))
            }
        }
        (_, Some(want), Err(e)) => {
            let kind = match e.kind {
                ErrorKind::Lexing => "lexing",
                ErrorKind::Parsing => "parsing",
                ErrorKind::Evaluation => "evaluation",
            };
            let message = e.located(&case.expr);
            if kind == want.kind && message.contains(&want.value) {
                Ok(())
            } else {
                Err(format!(
                    "failed with {kind} `{message}`, expected {} `{}`",
                    want.kind, want.value
                ))
            }
        }
        (_, Some(want), Ok(got)) => Err(format!(
            "gave {got:?}, expected the {} error `{}`",
            want.kind, want.value
        )),
        (_, _, Err(e)) => Err(format!("failed: {}", e.located(&case.expr))),
        (None, None, Ok(_)) => Err("the case names neither a result nor an error".into()),
    }
}

#[test]
fn every_case_of_githubs_conformance_data_passes() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/github-expressions");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 28, "the 28 files of expressions/testdata");
    let (mut total, mut failures) = (0, Vec::new());
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let cases: BTreeMap<String, Vec<Case>> = serde_json::from_str(&text).unwrap();
        for (name, cases) in &cases {
            for case in cases {
                total += 1;
                if let Err(why) = run(case) {
                    failures.push(format!(
                        "{}: {name}: `{}` {why}",
                        file.file_name().unwrap().to_string_lossy(),
                        case.expr.escape_debug()
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {total} cases fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(total, 1020);
}

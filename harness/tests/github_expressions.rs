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
                _ => "another kind",
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

#[derive(Deserialize)]
struct ActCase {
    source: String,
    expr: String,
    result: Option<ActExpected>,
    error: Option<String>,
    contexts: Data,
    skip: Option<String>,
}

#[derive(Deserialize)]
struct ActExpected {
    kind: String,
    value: serde_json::Value,
}

/// act's expected value as a value of ours (`NaN` and the infinities are written as text).
fn act_value(e: &ActExpected) -> Data {
    match (&*e.kind, &e.value) {
        ("Number", serde_json::Value::String(s)) => Data::Number(match s.as_str() {
            "NaN" => f64::NAN,
            "Infinity" => f64::INFINITY,
            _ => f64::NEG_INFINITY,
        }),
        (_, v) => pipeline_test_harness::expr::github::from_json(&v.to_string()).unwrap(),
    }
}

/// The files act's `hashFiles` cases hash, as its test data has them.
fn act_hashing_dir() -> std::path::PathBuf {
    let dir =
        std::env::temp_dir().join(format!("pipeline-test-act-hashing-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("for-hashing-3/nested")).unwrap();
    for (path, text) in [
        ("for-hashing-1.txt", "Hello\n"),
        ("for-hashing-2.txt", "World!\n"),
        ("for-hashing-3/data.txt", "Knock knock!\n"),
        ("for-hashing-3/nested/nested-data.txt", "Anybody home?\n"),
    ] {
        std::fs::write(dir.join(path), text).unwrap();
    }
    dir
}

#[test]
fn every_case_of_acts_expression_tables_passes_but_acts_own_quirks() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/act-expressions/cases.json"
    );
    let cases: Vec<ActCase> =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let dir = act_hashing_dir();
    let hash =
        |patterns: &[String]| pipeline_test_harness::expr::github::hash_files(&dir, patterns);
    let (mut failures, mut skipped) = (Vec::new(), Vec::new());
    for case in &cases {
        if let Some(why) = &case.skip {
            skipped.push(format!("{} `{}`: {why}", case.source, case.expr));
            continue;
        }
        let names = match &case.contexts {
            Data::Object(o) => {
                let mut names = Names::contexts(o.entries().iter().map(|(k, _)| k.clone()));
                names.status = true;
                names.hash_files = true;
                names
            }
            _ => unreachable!("contexts are an object"),
        };
        let got = Expr::parse(&case.expr, &names)
            .and_then(|e| e.eval_with(&case.contexts, Status::Success, &hash));
        let ok = match (&case.result, &case.error, &got) {
            (_, Some(_), Err(_)) => true,
            (Some(want), None, Ok(v)) => v.kind() == want.kind && *v == act_value(want),
            _ => false,
        };
        if !ok {
            failures.push(format!("{} `{}`: gave {got:?}", case.source, case.expr));
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        failures.is_empty(),
        "{} of {} cases fail:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert_eq!(
        skipped.len(),
        12,
        "the skipped cases and why:\n{}",
        skipped.join("\n")
    );
    assert_eq!(cases.len(), 430);
}

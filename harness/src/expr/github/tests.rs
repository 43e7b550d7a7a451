use super::*;

fn names() -> Names {
    Names {
        status: true,
        hash_files: false,
        ..Names::contexts(["steps", "matrix"])
    }
}

#[test]
fn status_functions_see_the_status() {
    let e = Expr::parse("failure() || success() && 'ok'", &names()).unwrap();
    assert!(e.calls_status());
    let none = Data::object::<&str>([]);
    assert_eq!(e.eval(&none, Status::Success).unwrap(), Data::from("ok"));
    assert_eq!(e.eval(&none, Status::Failure).unwrap(), Data::Bool(true));
    assert!(!Expr::parse("matrix.os", &names()).unwrap().calls_status());
}

#[test]
fn status_functions_are_refused_where_they_are_not_allowed() {
    let err = Expr::parse("always()", &Names::contexts(["github"])).unwrap_err();
    assert_eq!(err.message, "Unrecognized function: 'always'");
}

#[test]
fn paths_name_what_is_read() {
    let e = Expr::parse(
        "steps.build.outputs.version == matrix['os'] && steps.*.outcome",
        &names(),
    )
    .unwrap();
    let paths: Vec<String> = e.paths().into_iter().map(|(p, _)| p.join(".")).collect();
    assert_eq!(
        paths,
        [
            "steps.build.outputs.version",
            "matrix.os",
            "steps.*.outcome"
        ]
    );
}

#[test]
fn a_long_chain_of_comparisons_is_refused_not_a_stack_overflow() {
    let src = vec!["1"; 3_000].join(" == ");
    let err = Expr::parse(&src, &names()).unwrap_err();
    assert!(err.message.starts_with("Exceeded max expression depth 50"));
    let long = "a".repeat(lexer::MAX_LENGTH + 1);
    assert!(Expr::parse(&long, &names()).is_err());
}

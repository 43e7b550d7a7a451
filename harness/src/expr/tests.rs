use super::*;

fn scope() -> Scope {
    let mut s = Scope::default();
    s.set(
        "build",
        Value::map([("branch", "main"), ("event", "push"), ("tag", "")]),
    );
    s.set("repo", Value::map([("name", "app")]));
    s.set("inputs", Value::map([("version", "1.2")]));
    s.set(
        "matrix",
        Value::Map(
            [("go".to_string(), Value::from("1.22"))]
                .into_iter()
                .collect(),
        ),
    );
    s.add_secret("token", "abc");
    s
}

fn ev(src: &str) -> Value {
    eval(src, &scope()).unwrap_or_else(|e| panic!("{src}: {e}"))
}

#[test]
fn operators() {
    assert_eq!(ev("1 + 2 * 3"), Value::Int(7));
    assert_eq!(ev("7 / 2"), Value::Float(3.5));
    assert_eq!(ev("'a' + 'b'"), Value::from("ab"));
    assert_eq!(
        ev("build.branch == 'main' && build.event != 'tag'"),
        Value::Bool(true)
    );
    assert_eq!(
        ev("build.event in ['push', 'pull_request']"),
        Value::Bool(true)
    );
    assert_eq!(ev("build.event not in ['tag']"), Value::Bool(true));
    assert_eq!(ev("'go' in matrix"), Value::Bool(true));
    assert_eq!(ev("build.branch contains 'ai'"), Value::Bool(true));
    assert_eq!(ev("contains(build.branch, 'x')"), Value::Bool(false));
    assert_eq!(ev("endsWith(repo.name, 'pp')"), Value::Bool(true));
    assert_eq!(ev("build.branch matches '^ma'"), Value::Bool(true));
    assert_eq!(ev("not (1 < 2) or 2 >= 2"), Value::Bool(true));
    assert_eq!(
        ev("build.tag == '' ? 'dev' : build.tag"),
        Value::from("dev")
    );
    assert_eq!(ev("matrix['go']"), Value::from("1.22"));
    assert_eq!(ev("len([1, 2, 3])"), Value::Int(3));
    assert_eq!(ev("upper(inputs.version) + '-x'"), Value::from("1.2-x"));
    assert_eq!(ev("1 == 1.0"), Value::Bool(true));
}

#[test]
fn hyphenated_keys_read_as_one_name() {
    let mut s = scope();
    s.set("matrix", Value::map([("python-version", "3.12")]));
    assert_eq!(
        expand("py${{ matrix.python-version }}", &s).unwrap(),
        "py3.12"
    );
    assert!(s.take_quirks()[0].contains("`matrix.python - version`"));
    assert_eq!(eval("1 - 1", &s), Ok(Value::Int(0)));
}

#[test]
fn expansion() {
    let s = scope();
    assert_eq!(
        expand(
            "v${{inputs.version}}-${{ matrix.go }} ${{ secrets.get('token') }}",
            &s
        )
        .unwrap(),
        "v1.2-1.22 abc"
    );
    assert_eq!(
        expand("echo ${HOME} $${{ 1 }}", &s).unwrap(),
        "echo ${HOME} $1"
    );
    // Not closed on its line: left as written, as Gitness does.
    assert_eq!(expand("a ${{ b\n}}", &s).unwrap(), "a ${{ b\n}}");
    assert_eq!(expand("${{ true }} ${{ nil }}|", &s).unwrap(), "true |");
}

#[test]
fn missing_secrets_are_recorded() {
    let s = scope();
    assert_eq!(expand("[${{ secrets.get('nope') }}]", &s).unwrap(), "[]");
    assert_eq!(s.missing_secrets(), ["nope"]);
}

#[test]
fn errors_name_the_problem_and_the_place() {
    let s = scope();
    let e = expand("echo ${{ buld.branch }}", &s).unwrap_err();
    assert_eq!(e.message, "unknown name `buld`: did you mean `build`?");
    assert_eq!(e.offset, 9);
    let e = expand("${{ inputs.nope }}", &s).unwrap_err();
    assert!(
        e.message.starts_with("`inputs` has no `nope`"),
        "{}",
        e.message
    );
    let e = expand("${{ 1 + }}", &s).unwrap_err();
    assert_eq!(e.offset, 8);
    let e = expand("${{ success() }}", &s).unwrap_err();
    assert_eq!(e.message, "`success()` can only be used in `when`");
    // Read as the secret, with a word on how Gitness reads it.
    assert_eq!(expand("${{ secrets.token }}", &s).unwrap(), "abc");
    assert!(s.take_quirks()[0].contains("secrets.get(\"token\")"));
    let e = expand("${{ 'a' && true }}", &s).unwrap_err();
    assert_eq!(e.message, "`&&` joins booleans, found a string");
}

#[test]
fn when_policies() {
    let s = scope();
    let w = |src: &str| {
        let r = eval_when(src, &s).unwrap();
        (r.on_success, r.on_failure)
    };
    assert_eq!(w("success()"), (true, false));
    assert_eq!(w("failure()"), (false, true));
    assert_eq!(w("always()"), (true, true));
    assert_eq!(w("${{ always() && build.branch == 'dev' }}"), (true, true));
    assert_eq!(w("build.branch == 'dev'"), (false, false));
    // True in both states, but failure() not called: Gitness runs it on success only.
    assert_eq!(w("build.branch == 'main'"), (true, false));
    assert_eq!(w("success() || failure()"), (true, true));
    let e = eval_when("  ${{ build.x }}", &s).unwrap_err();
    assert_eq!(e.offset, 12);
}

#[test]
fn nextgen_expressions_are_found() {
    assert_eq!(find_nextgen("echo <+pipeline.variables.x>"), Some((5, 28)));
    assert_eq!(find_nextgen("a <+ b > c"), None);
    assert_eq!(find_nextgen(r#"<+secrets.getValue("x")>"#), Some((0, 24)));
}

#[test]
fn nextgen_conditions_are_jexl() {
    let mut s = scope();
    s.set_jexl();
    s.set(
        "trigger",
        Value::Map([("prLabels".to_string(), Value::Nil)].into_iter().collect()),
    );
    let w = |src: &str| eval_when(src, &s).unwrap().on_success;
    // A string is true unless empty or "false": `x == "tag" || "branch"` always holds.
    assert!(w(r#""push" == "tag" || "branch""#));
    assert!(!w(r#"false || """#));
    assert!(!w(r#"!"yes""#));
    // A null list is never asked for its labels.
    assert!(!w(
        r#"trigger.prLabels != null && trigger.prLabels.contains("x")"#
    ));
    let e = eval_when(r#"trigger.prLabels.contains("x")"#, &s).unwrap_err();
    assert_eq!(
        e.message,
        "`contains` called on null: trigger.prLabels is not set"
    );
    s.set(
        "trigger",
        Value::Map(
            [("prLabels".to_string(), Value::List(vec!["x".into()]))]
                .into_iter()
                .collect(),
        ),
    );
    let w = |src: &str| eval_when(src, &s).unwrap().on_success;
    assert!(w(r#"trigger.prLabels.contains("x")"#));
    assert!(w(r#""release/1".startsWith("release/")"#));
    // Gitness's own dialect stays strict.
    let e = eval_when(r#""a" || true"#, &scope()).unwrap_err();
    assert_eq!(e.message, "`||` joins booleans, found a string");
}

#[test]
fn hostile_arithmetic_and_nesting_are_errors_not_crashes() {
    let s = scope();
    let e = expand("${{ -9223372036854775807 - 1 }}", &s).unwrap();
    assert_eq!(e, "-9223372036854775808");
    for src in [
        "${{ (-9223372036854775807 - 1) % -1 }}",
        "${{ -(-9223372036854775807 - 1) }}",
        "${{ 9223372036854775807 + 1 }}",
        "${{ 9223372036854775807 * 2 }}",
    ] {
        let e = expand(src, &s).unwrap_err();
        assert!(e.message.contains("overflows"), "{src}: {}", e.message);
    }
    // 4,000 parentheses (about 10 KB), and a chain of 10,000 `+`.
    let parens = format!("${{{{ {}1{} }}}}", "(".repeat(4000), ")".repeat(4000));
    let e = expand(&parens, &s).unwrap_err();
    assert_eq!(e.message, "the expression nests more than 100 levels deep");
    let chain = format!("${{{{ 1{} }}}}", " + 1".repeat(10_000));
    let e = expand(&chain, &s).unwrap_err();
    assert_eq!(e.message, "the expression nests more than 100 levels deep");
    let nots = format!("${{{{ {}true }}}}", "!".repeat(5000));
    assert!(expand(&nots, &s).is_err());
    // Within the limit, as before.
    let fine = format!("${{{{ 1{} }}}}", " + 1".repeat(90));
    assert_eq!(expand(&fine, &s).unwrap(), "91");
}

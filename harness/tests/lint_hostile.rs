//! Hostile files against `lint`: each class of issue 20 at the size it was found at. Every one
//! ends in a bounded report, with its error at its place; none crashes, and none asks for
//! gigabytes. (How the work grows with the size is the lint-scale bench's:
//! `cargo bench -p pipeline-test-harness --bench parse`.)

#[path = "../benches/parse/generate.rs"]
#[allow(dead_code)]
mod generate;

use pipeline_test_harness::context::BuildContext;
use pipeline_test_harness::{Diagnostics, Pipeline, Severity, SourceFile, resolve};

/// What `lint` reports for `text` read as `name`: the diagnostics (errors and warnings), or
/// none for a clean file.
fn lint(name: &str, text: String) -> Option<Diagnostics> {
    let file = SourceFile::new(name, text);
    match Pipeline::parse(&file) {
        Err(d) => Some(d),
        Ok(p) => match resolve::resolve(&p, &BuildContext::default()) {
            Err(d) => Some(d),
            Ok(r) if r.warnings.is_empty() => None,
            Ok(r) => Some(Diagnostics::new(file.clone(), r.warnings)),
        },
    }
}

/// The first error's message and line.
fn first_error(d: &Diagnostics) -> (String, u32) {
    let e = d
        .iter()
        .find(|d| d.severity == Severity::Error)
        .unwrap_or_else(|| panic!("no error in:\n{d}"));
    (e.message.clone(), e.span.start.line)
}

#[test]
fn a_10_by_10_matrix_is_refused_at_its_first_axis() {
    let d = lint("ci.yml", generate::matrix_axes(10)).expect("refused");
    let (message, line) = first_error(&d);
    assert!(message.contains("at most 256 are allowed"), "{message}");
    assert_eq!(line, 7, "{d}");
    // 4 x 10 (10,000 combinations): refused the same way, without building them.
    let d = lint("ci.yml", generate::matrix_axes(4)).expect("refused");
    let (message, _) = first_error(&d);
    assert!(message.contains("makes 10000 combinations"), "{message}");
}

#[test]
fn a_3_kb_split_join_expression_that_would_make_gigabytes_is_refused_at_its_place() {
    let text = generate::split_join(40);
    assert!(text.len() > 3_000, "{}", text.len());
    let d = lint("v1.yaml", text).expect("refused");
    let (message, line) = first_error(&d);
    assert!(
        message.contains("pipeline-test stops at 1 MB per value"),
        "{message}"
    );
    assert_eq!(line, 12);
}

#[test]
fn an_850_kb_file_that_expands_one_input_30000_times_is_refused() {
    let text = generate::input_expanded(20_000);
    assert!(text.len() > 850_000, "{}", text.len());
    let d = lint("v1.yaml", text).expect("refused");
    let (message, _) = first_error(&d);
    assert!(message.contains("1 MB per value"), "{message}");
}

#[test]
fn nested_anchors_are_refused_within_the_node_budget() {
    let d = lint("ci.yml", generate::anchors(9)).expect("refused");
    let (message, _) = first_error(&d);
    assert!(
        message.contains("expands to more than 200000 nodes"),
        "{message}"
    );
}

#[test]
fn a_380_kb_anchor_aliased_10000_times_is_refused() {
    let big = "x".repeat(380 * 1024);
    let aliases = "  - *big\n".repeat(10_000);
    let text = format!(
        "on: push\nx-big: &big {big}\nx-uses:\n{aliases}jobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo\n"
    );
    let d = lint("ci.yml", text).expect("refused");
    let (message, line) = first_error(&d);
    assert!(
        message.contains("aliases repeat more than 16 MB of text"),
        "{message}"
    );
    assert_eq!(line, 3 + 16 * 1024 / 380 + 1, "{d}");
}

#[test]
fn a_workflow_env_copied_into_2000_jobs_is_refused_at_the_env() {
    let d = lint("ci.yml", generate::workflow_env(2_000)).expect("refused");
    let (message, line) = first_error(&d);
    assert!(
        message.contains("copied into") && message.contains("passes 16 MB"),
        "{message}"
    );
    assert_eq!(line, 3);
}

#[test]
fn nextgen_variables_that_repeat_each_other_are_refused_at_the_use() {
    let d = lint("pipeline.yaml", generate::nextgen_variables(1_000)).expect("refused");
    let (message, _) = first_error(&d);
    assert!(message.contains("1 MB per value"), "{message}");
}

#[test]
fn a_needs_chain_of_2000_jobs_is_put_in_order() {
    let text = generate::needs_chain(2_000);
    let file = SourceFile::new("ci.yml", text);
    let p = Pipeline::parse(&file).expect("valid");
    let ids: Vec<String> = p
        .stages
        .iter()
        .map(|s| s.id.as_ref().expect("an id").value.clone())
        .collect();
    assert_eq!(ids.len(), 2_000);
    assert_eq!(ids[0], "j0");
    assert_eq!(ids[1999], "j1999");
}

#[test]
fn two_thousand_steps_of_one_name_get_numbered_hostnames() {
    let file = SourceFile::new(".drone.yml", generate::same_names(2_000));
    let p = Pipeline::parse(&file).expect("valid");
    let hosts: Vec<&str> = p.stages[0]
        .steps
        .iter()
        .map(|s| s.hostnames[0].as_str())
        .collect();
    assert_eq!(hosts[0], "same");
    assert_eq!(hosts[1], "same1");
    assert_eq!(hosts[1999], "same1999");
}

#[test]
fn duplicate_and_merged_keys_keep_the_first_written() {
    let d = lint("ci.yml", generate::duplicate_keys(5_000)).expect("refused");
    assert_eq!(
        d.iter()
            .filter(|d| d.message.starts_with("duplicate key"))
            .count(),
        5_000
    );
    let file = SourceFile::new(".drone.yml", generate::merge_keys(2_000));
    let p = Pipeline::parse(&file).expect("valid");
    let env = &p.stages[0].envs;
    assert_eq!(
        env.iter().filter(|(k, _)| k.starts_with('K')).count(),
        2_000
    );
    assert_eq!(env.get("K1999"), Some("v"));
    // GitHub Actions takes anchors and aliases but no merge keys: each is refused.
    let github = "on: push\njobs:\n  j:\n    runs-on: ubuntu-latest\n    env: &e {A: '1'}\n    steps:\n      - run: echo\n        env:\n          <<: *e\n";
    let d = lint("ci.yml", github.to_string()).expect("refused");
    let (message, _) = first_error(&d);
    assert!(message.contains("merge keys"), "{message}");
}

#[test]
fn twenty_thousand_unclosed_openers_are_one_error_each_file() {
    let d = lint("ci.yml", generate::unclosed_github(20_000)).expect("refused");
    assert_eq!(d.iter().count(), 1, "{d}");
    let d = lint("pipeline.yaml", generate::unclosed_nextgen(20_000)).expect("refused");
    assert!(d.iter().count() <= 2, "{d}");
}

#[test]
fn thirty_thousand_dispatch_inputs_are_read_and_85000_pass_the_node_budget() {
    let file = SourceFile::new("ci.yml", generate::dispatch_inputs(30_000));
    let p = Pipeline::parse(&file).expect("valid");
    assert_eq!(p.inputs.len(), 30_000);
    let d = lint("ci.yml", generate::dispatch_inputs(85_000)).expect("refused");
    let (message, _) = first_error(&d);
    assert!(message.contains("more than 200000 nodes"), "{message}");
}

#[test]
fn a_regex_used_by_a_thousand_steps_is_compiled_once() {
    use pipeline_test_harness::expr::pattern::compiled;
    let a = compiled("^(release|hotfix)/[0-9]+$").unwrap();
    let b = compiled("^(release|hotfix)/[0-9]+$").unwrap();
    assert!(std::sync::Arc::ptr_eq(&a, &b));
    assert!(lint("v1.yaml", generate::regex_steps(1_000)).is_none());
}

#[test]
fn four_thousand_problems_on_one_44_kb_line_print_200_of_them_briefly() {
    let text = generate::one_line_errors(4_000);
    assert!(text.len() > 44_000);
    let d = lint("ci.yml", text).expect("refused");
    assert_eq!(d.iter().count(), 4_000);
    let shown = d.to_string();
    assert!(shown.len() < 200 * 1_000, "{} bytes", shown.len());
    assert!(
        shown.contains("and 3800 more"),
        "{}",
        &shown[shown.len() - 300..]
    );
}

#[test]
fn a_file_that_makes_more_than_4096_jobs_is_refused_at_the_job_past_it() {
    let d = lint("ci.yml", generate::matrix_jobs(17)).expect("refused");
    let (message, line) = first_error(&d);
    assert!(message.contains("more than 4096 jobs"), "{message}");
    assert_eq!(line, 3 + 16 * 8, "{d}");
}

#[test]
fn an_expression_with_escaped_quotes_is_reported_at_its_own_line_not_a_later_copy() {
    let text = "on: push\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n      - run: \"echo ${{ nope(\\\"a\\\") }}\"\n      - run: echo ${{ nope(\"a\") }}\n";
    let d = lint("ci.yml", text.to_string()).expect("refused");
    let lines: Vec<(u32, u32)> = d
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| (d.span.start.line, d.span.start.col))
        .collect();
    assert_eq!(lines, [(6, 29), (7, 28)], "{d}");
}

#[test]
fn an_unclosed_bracket_is_not_blamed_on_a_tab_in_a_block_scalar_above() {
    // The `[` opened inside the list is closed by `}`: the error is on the last line, below a
    // heredoc line that a tab indents (legal in a block scalar).
    let text = "on: push\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n      - run: |\n          cat <<-EOF\n          \tindented by a tab\n      - run: [echo, [a}]\n";
    let d = lint("ci.yml", text.to_string()).expect("refused");
    let (message, line) = first_error(&d);
    assert!(!message.contains("tab"), "{d}");
    assert_eq!(line, 9, "{d}");
}

#[test]
fn each_missing_secret_of_a_value_is_reported_at_its_own_read() {
    let text = "kind: pipeline\nspec:\n  stages:\n  - type: ci\n    spec:\n      steps:\n      - name: a\n        type: run\n        spec:\n          container: alpine\n          script: echo ${{ secrets.get(\"one\") }} ${{ secrets.get(\"two\") }}\n";
    let d = lint("v1.yaml", text.to_string()).expect("warned");
    let at: Vec<(String, u32)> = d
        .iter()
        .filter(|d| d.message.contains("is not supplied"))
        .map(|d| (d.message.clone(), d.span.start.col))
        .collect();
    assert_eq!(at.len(), 2, "{d}");
    assert!(
        at[0].0.contains("`one`") && at[1].0.contains("`two`"),
        "{d}"
    );
    assert_eq!((at[0].1, at[1].1), (28, 54), "{d}");
}

#[test]
fn matrix_copies_of_one_name_are_reported_once_at_the_name_as_jobs() {
    let text = "on: push\njobs:\n  j:\n    name: build ${{ matrix.x }}\n    runs-on: ubuntu-latest\n    strategy:\n      matrix:\n        x: [a, b]\n        include: [{x: a, y: 1}]\n    steps:\n      - run: echo\n  k:\n    name: build a\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo\n";
    let d = lint("ci.yml", text.to_string()).expect("warned");
    let named: Vec<(String, u32)> = d
        .iter()
        .filter(|d| d.message.contains("is named"))
        .map(|d| (d.message.clone(), d.span.start.line))
        .collect();
    assert_eq!(
        named,
        [("another job is named `build a`".to_string(), 13)],
        "{d}"
    );
}

#[test]
fn unnamed_matrix_copies_are_placed_at_the_job_key_not_its_first_line() {
    let text = "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    strategy:\n      matrix:\n        x: [a, b]\n    steps:\n      - run: echo\n";
    let p = Pipeline::parse(&SourceFile::new("ci.yml", text)).unwrap();
    let r = resolve::resolve(&p, &BuildContext::default()).unwrap();
    let lines: Vec<u32> = r
        .stages
        .iter()
        .map(|s| s.name.as_ref().unwrap().span.start.line)
        .collect();
    assert_eq!(lines, [3, 3]);
}

#[test]
fn a_number_too_large_is_called_too_large_not_unreadable() {
    let text = "on: push\njobs:\n  j:\n    runs-on: x\n    timeout-minutes: 99999999999999999999999\n    steps:\n      - run: echo\n";
    let d = lint("ci.yml", text.to_string()).expect("refused");
    let (message, line) = first_error(&d);
    assert!(
        message.contains("is more than 50400 minutes (35 days)"),
        "{message}"
    );
    assert_eq!(line, 5);
    let v1 = "kind: pipeline\nspec:\n  stages:\n  - type: ci\n    spec:\n      steps:\n      - name: a\n        type: run\n        spec:\n          container: alpine\n          script: echo ${{ 9223372036854775807 + 1 }}\n";
    let d = lint("v1.yaml", v1.to_string()).expect("warned");
    assert!(d.iter().any(|d| d.message.contains("`+` overflows")), "{d}");
}

#[test]
fn an_expression_folded_over_lines_is_reported_where_its_error_is() {
    let text = "on: push\njobs:\n  j:\n    runs-on: x\n    steps:\n      - run: >\n          echo ${{\n          nope(4) }}\n      - if: >\n          ${{ github.ref ==\n          nope(6) }}\n        run: echo\n";
    let d = lint("ci.yml", text.to_string()).expect("refused");
    let at: Vec<(u32, u32)> = d
        .iter()
        .map(|d| (d.span.start.line, d.span.start.col))
        .collect();
    assert_eq!(at, [(8, 11), (11, 11)], "{d}");
}

#[test]
fn a_drone_file_is_not_told_about_gitness_expressions() {
    // Drone has no `${{ }}`: it reaches the step's shell as written.
    let text = "kind: pipeline\ntype: docker\nname: default\nsteps:\n- name: a\n  image: alpine\n  commands: [\"echo ${{ nope }}\"]\n  environment:\n    TOKEN: {from_secret: tok}\n";
    let file = SourceFile::new(".drone.yml", text);
    let p = Pipeline::parse(&file).expect("valid");
    let r = resolve::resolve(&p, &BuildContext::default()).expect("resolves");
    for d in &r.warnings {
        assert!(
            !d.message.contains("Gitness") && !d.message.contains("the names are"),
            "{d:?}"
        );
    }
    assert!(
        r.warnings
            .iter()
            .any(|d| d.message.contains("the secret `tok` is not supplied")
                && d.message.contains("as on Drone")),
        "{:?}",
        r.warnings
    );
    let step = &r.stages[0].steps[0];
    assert!(
        format!("{:?}", step.spec).contains("echo ${{ nope }}"),
        "{:?}",
        step.spec
    );
}

/// The first error of each, as `lint` prints it: what a person reads when a file passes a
/// limit.
#[test]
fn what_lint_says_at_each_limit() {
    let first = |name: &str, text: String| {
        let d = lint(name, text.clone()).expect("refused");
        let e = d
            .iter()
            .find(|d| d.severity == Severity::Error)
            .expect("an error")
            .clone();
        Diagnostics::new(SourceFile::new(name, text), vec![e]).to_string()
    };
    let shown = [
        first("ci.yml", generate::matrix_axes(10)),
        first("v1.yaml", generate::split_join(40)),
        first("ci.yml", generate::workflow_env(2_000)),
        first("ci.yml", generate::matrix_jobs(17)),
        first("pipeline.yaml", generate::nextgen_variables(1_000)),
        first("ci.yml", generate::anchors(9)),
    ];
    insta::assert_snapshot!(shown.join("\n"));
}

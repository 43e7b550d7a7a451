//! Snapshots of diagnostics as `lint`, the attribute and `run` show them.

use pipeline_test_harness::{Pipeline, SourceFile};

fn render(yaml: &str) -> String {
    Pipeline::parse(&SourceFile::new("ci/stage.yaml", yaml))
        .expect_err("the pipeline is invalid")
        .to_string()
}

#[test]
fn several_problems_at_once() {
    insta::assert_snapshot!(render(
        "kind: pipeline\nspec:\n  stages:\n  - type: ci\n    spec:\n      steps:\n      - name: cache\n        type: backgroud\n        spec:\n          image: redis\n      - name: ping\n        type: run\n        spec:\n          containr: redis\n          script: redis-cli ping\n          timeout: 10\n"
    ));
}

#[test]
fn a_bad_port() {
    insta::assert_snapshot!(render(
        "kind: pipeline\nspec:\n  stages:\n  - type: ci\n    spec:\n      steps:\n      - name: web\n        type: background\n        spec:\n          image: nginx\n          ports: ['8080:80', '8000-8010:8000-8010', 'http']\n"
    ));
}

#[test]
fn a_yaml_syntax_error() {
    insta::assert_snapshot!(render(
        "kind: pipeline\nspec:\n  stages:\n  - type: ci\n    spec:\n      steps: [\n"
    ));
}

#[test]
fn a_tab() {
    insta::assert_snapshot!(render("kind: pipeline\nspec:\n\tstages: []\n"));
}

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

/// What `lint` prints for a valid file: warnings (it runs, but likely not as meant) and notes
/// (where pipeline-test runs it differently from Gitness), then what resolving it for a build
/// finds.
#[test]
fn warnings_and_notes_of_a_valid_file() {
    let yaml = "kind: pipeline\nspec:\n  stages:\n  - name: build\n    type: ci\n    cloneCodebase: true\n    spec:\n      steps:\n      - name: my-db\n        type: background\n        spec:\n          image: mysql:8.0\n          script: [echo starting]\n      - name: test\n        type: run\n        timeout: 10m\n        when: {branch: {eq: main}}\n        spec:\n          container: {image: rust, workdir: /src}\n          shell: bash\n          script:\n          - cargo build\n          - echo ${{ secrets.token }}\n      - name: checks\n        type: parallel\n        spec:\n          steps:\n          - {name: fmt, type: run, spec: {script: cargo fmt --check}}\n          - {name: gate, type: barrier, spec: {name: x}}\n";
    let file = SourceFile::new("ci/stage.yaml", yaml);
    let p = Pipeline::parse(&file).unwrap_or_else(|d| panic!("{d}"));
    let resolved = pipeline_test_harness::resolve::resolve(
        &p,
        &pipeline_test_harness::context::BuildContext::default(),
    )
    .unwrap_or_else(|d| panic!("{d}"));
    insta::assert_snapshot!(
        pipeline_test_harness::Diagnostics::new(file, resolved.warnings).to_string()
    );
}

#[test]
fn a_service_on_the_hosts_network_gets_a_note() {
    let yaml = "kind: pipeline\nspec:\n  stages:\n  - type: ci\n    spec:\n      steps:\n      - name: web\n        type: background\n        spec:\n          container: {image: nginx, network_mode: host}\n";
    let p = Pipeline::parse(&SourceFile::new("ci/stage.yaml", yaml)).unwrap();
    let note = p
        .warnings
        .iter()
        .find(|d| d.message.contains("every interface"))
        .expect("a note about the host's network");
    assert_eq!(note.span.start.to_string(), "10:51");
}

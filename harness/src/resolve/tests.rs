use super::*;
use crate::source::SourceFile;
use crate::spec::{RunPolicy, StepSpec};

fn pipeline(steps: &str) -> Pipeline {
    let yaml = format!(
        "kind: pipeline\nspec:\n  stages:\n  - name: s\n    type: ci\n    spec:\n      steps:\n{steps}"
    );
    Pipeline::parse(&SourceFile::new("ci.yaml", yaml)).unwrap_or_else(|d| panic!("{d}"))
}

fn ctx() -> BuildContext {
    BuildContext {
        branch: "main".into(),
        event: "push".into(),
        secrets: [("token".to_string(), "s3cret".to_string())].into(),
        ..BuildContext::default()
    }
}

fn names(p: &Pipeline) -> Vec<String> {
    p.stages[0]
        .all_steps()
        .iter()
        .map(|s| s.display_name())
        .collect()
}

#[test]
fn policies_from_when() {
    let p = pipeline(
        "      - {name: a, type: run, spec: {container: alpine, script: 'true'}}\n      - {name: b, type: run, when: 'failure()', spec: {container: alpine, script: 'true'}}\n      - {name: c, type: run, when: '${{ always() }}', spec: {container: alpine, script: 'true'}}\n      - {name: d, type: run, when: 'build.branch == \"dev\"', spec: {container: alpine, script: 'true'}}\n      - {name: e, type: run, when: {branch: {in: [main, dev]}, event: {not: {eq: tag}}}, spec: {container: alpine, script: 'true'}}\n      - {name: f, type: run, when: [{branch: dev}, {event: {eq: cron}}], spec: {container: alpine, script: 'true'}}\n",
    );
    let r = resolve(&p, &ctx()).unwrap();
    let policies: Vec<RunPolicy> = r.stages[0].steps.iter().map(|s| s.policy.clone()).collect();
    assert_eq!(
        policies,
        [
            RunPolicy::OnSuccess,
            RunPolicy::OnFailure,
            RunPolicy::Always,
            RunPolicy::Never("`when: build.branch == \"dev\"` is false".into()),
            RunPolicy::OnSuccess,
            RunPolicy::Never("its `when` conditions do not hold".into()),
        ]
    );
}

#[test]
fn matrix_copies_are_named_and_get_their_values() {
    let p = pipeline(
        "      - name: test\n        type: run\n        strategy:\n          type: matrix\n          spec:\n            axis: {go: ['1.21', '1.22'], os: [linux, mac]}\n            exclude: [{go: '1.21', os: mac}]\n        spec:\n          container: golang:${{ matrix.go }}\n          script: echo ${{ matrix.os }}\n",
    );
    let r = resolve(&p, &ctx()).unwrap();
    let steps = r.stages[0].all_steps();
    assert_eq!(
        names(&r)[1..],
        [
            "test (go=1.21, os=linux)",
            "test (go=1.22, os=linux)",
            "test (go=1.22, os=mac)"
        ]
    );
    let StepSpec::Run(run) = &steps[3].spec else {
        panic!()
    };
    assert_eq!(run.container.as_ref().unwrap().image.value, "golang:1.22");
    assert_eq!(run.script[0].value, "echo mac");
    assert_eq!(run.envs.get("go"), Some("1.22"));
    assert_eq!(steps[3].hostnames[0], "testgo122osmac");
}

#[test]
fn expression_errors_point_into_the_file() {
    let p = pipeline(
        "      - name: a\n        type: run\n        spec:\n          container: alpine\n          script: echo ${{ build.brnch }}\n",
    );
    // Gitness runs it with the value empty: a warning at its place.
    let r = resolve(&p, &ctx()).unwrap();
    let d = r.warnings.first().unwrap();
    assert_eq!(d.severity, Severity::Warning);
    assert_eq!(d.span.start.to_string(), "12:34");
    assert!(d.message.contains("did you mean `branch`"), "{}", d.message);
    let StepSpec::Run(run) = &r.stages[0].steps[0].spec else {
        panic!()
    };
    assert_eq!(run.script[0].value, "");
}

#[test]
fn missing_secrets_warn_and_expand_to_nothing() {
    let p = pipeline(
        "      - name: a\n        type: run\n        spec:\n          container: alpine\n          script: echo [${{ secrets.get('nope') }}] ${{ secrets.get('token') }}\n",
    );
    let r = resolve(&p, &ctx()).unwrap();
    let StepSpec::Run(run) = &r.stages[0].steps[0].spec else {
        panic!()
    };
    assert_eq!(run.script[0].value, "echo [] s3cret");
    let w = r
        .warnings
        .iter()
        .find(|w| w.message.contains("nope"))
        .unwrap();
    assert_eq!(w.severity, Severity::Warning);
    assert_eq!(w.span.start.line, 12);
}

#[test]
fn nextgen_expressions_are_passed_on_as_text_with_a_warning() {
    let p = pipeline(
        "      - name: a\n        type: run\n        spec:\n          container: alpine\n          script: echo <+pipeline.variables.x>\n",
    );
    let r = resolve(&p, &ctx()).unwrap();
    let StepSpec::Run(run) = &r.stages[0].steps[0].spec else {
        panic!()
    };
    assert_eq!(run.script[0].value, "echo <+pipeline.variables.x>");
    let d = r.warnings.first().unwrap();
    assert_eq!(d.severity, Severity::Warning);
    assert!(d.message.contains("Harness NextGen"), "{}", d.message);
    assert_eq!(d.span.start.to_string(), "12:24");
}

#[test]
fn typed_timeout_is_checked_after_expansion() {
    let yaml = "kind: pipeline\nspec:\n  inputs:\n    t: {default: 5m}\n  stages:\n  - type: ci\n    spec:\n      steps:\n      - {name: a, type: run, timeout: '${{ inputs.t }}', spec: {container: alpine, script: 'true'}}\n      - {name: b, type: run, timeout: '${{ build.branch }}', spec: {container: alpine, script: 'true'}}\n";
    let p = Pipeline::parse(&SourceFile::new("ci.yaml", yaml)).unwrap();
    let err = resolve(&p, &ctx()).unwrap_err();
    assert_eq!(
        err.iter().filter(|d| d.severity == Severity::Error).count(),
        1
    );
    assert!(err.first().unwrap().message.contains("expands to `main`"));
    let mut c = ctx();
    c.branch = "2m".into();
    let r = resolve(&p, &c).unwrap();
    assert_eq!(
        r.stages[0].steps[0]
            .timeout
            .as_ref()
            .unwrap()
            .value
            .as_secs(),
        300
    );
}

#[test]
fn required_inputs_are_named() {
    let yaml = "kind: pipeline\nspec:\n  inputs:\n    region: {required: true}\n  stages:\n  - type: ci\n    spec:\n      steps:\n      - {name: a, type: run, spec: {container: alpine, script: 'echo ${{ inputs.region }}'}}\n";
    let p = Pipeline::parse(&SourceFile::new("ci.yaml", yaml)).unwrap();
    let err = resolve(&p, &ctx()).unwrap_err();
    assert!(
        err.first()
            .unwrap()
            .message
            .contains("`region` is required")
    );
    let mut c = ctx();
    c.inputs.insert("region".into(), "eu".into());
    assert!(resolve(&p, &c).is_ok());
}

#[test]
fn plugins_without_an_image_are_skipped_unless_mapped() {
    let p = pipeline(
        "      - {name: notify, type: plugin, spec: {name: slack, inputs: {channel: dev}}}\n",
    );
    let r = resolve(&p, &ctx()).unwrap();
    assert!(
        matches!(&r.stages[0].steps[0].policy, RunPolicy::Never(why) if why.contains("--plugin slack=IMAGE"))
    );
    let mut c = ctx();
    c.plugins.insert("slack".into(), "plugins/slack".into());
    let r = resolve(&p, &c).unwrap();
    assert_eq!(r.stages[0].steps[0].policy, RunPolicy::OnSuccess);
    assert_eq!(
        r.stages[0].steps[0].spec.image().unwrap().value,
        "plugins/slack"
    );
}

#[test]
fn every_place_engine2_expands_is_expanded() {
    let yaml = "kind: pipeline\nspec:\n  stages:\n  - id: s-${{ build.branch }}\n    name: stage ${{ build.branch }}\n    type: ci\n    spec:\n      envs: {S: \"${{ build.event }}\"}\n      steps:\n      - id: r-${{ build.branch }}\n        name: run ${{ build.branch }}\n        type: run\n        spec:\n          container: {image: \"img:${{ build.branch }}\", entrypoint: \"ep-${{ build.branch }}\", args: [\"a-${{ build.branch }}\"]}\n          envs: {R: \"${{ build.branch }}\"}\n          script: [\"echo ${{ build.branch }}\"]\n      - name: flat\n        type: script\n        spec: {image: \"i-${{ build.branch }}\", entrypoint: \"e-${{ build.branch }}\", args: [\"x-${{ build.branch }}\"], envs: {F: \"${{ build.branch }}\"}, run: \"echo ${{ build.branch }}\"}\n      - name: bg\n        type: background\n        spec: {image: \"b-${{ build.branch }}\", entrypoint: \"be-${{ build.branch }}\", args: [\"ba-${{ build.branch }}\"], run: \"echo ${{ build.branch }}\"}\n";
    let p = Pipeline::parse(&SourceFile::new("ci.yaml", yaml)).unwrap_or_else(|d| panic!("{d}"));
    let r = resolve(&p, &ctx()).unwrap();
    let stage = &r.stages[0];
    assert_eq!(stage.id.as_ref().unwrap().value, "s-main");
    assert_eq!(stage.name.as_ref().unwrap().value, "stage main");
    assert_eq!(stage.envs.get("S"), Some("push"));
    let [run, flat, bg] = &stage.steps[..] else {
        panic!()
    };
    assert_eq!(run.id.as_ref().unwrap().value, "r-main");
    assert_eq!(run.name.as_ref().unwrap().value, "run main");
    let StepSpec::Run(r) = &run.spec else {
        panic!()
    };
    let c = r.container.as_ref().unwrap();
    assert_eq!(
        (
            c.image.as_str(),
            c.entrypoint.as_ref().unwrap().as_str(),
            c.args[0].as_str()
        ),
        ("img:main", "ep-main", "a-main")
    );
    assert_eq!(
        (r.envs.get("R"), r.script[0].as_str()),
        (Some("main"), "echo main")
    );
    let StepSpec::Script(f) = &flat.spec else {
        panic!()
    };
    assert_eq!(
        (
            f.image.as_ref().unwrap().as_str(),
            f.entrypoint.as_ref().unwrap().as_str(),
            f.args[0].as_str(),
            f.envs.get("F"),
            f.run[0].as_str()
        ),
        ("i-main", "e-main", "x-main", Some("main"), "echo main")
    );
    let StepSpec::Background(b) = &bg.spec else {
        panic!()
    };
    assert_eq!(
        (
            b.image.as_ref().unwrap().as_str(),
            b.entrypoint.as_ref().unwrap().as_str(),
            b.args[0].as_str(),
            b.run.as_ref().unwrap().as_str()
        ),
        ("b-main", "be-main", "ba-main", "echo main")
    );
    assert_eq!(
        run.hostnames[0], "rmain",
        "hostnames follow the expanded id"
    );
}

#[test]
fn matrix_concurrency_runs_copies_in_that_many_lanes() {
    let p = pipeline(
        "      - name: t\n        type: run\n        strategy:\n          type: matrix\n          spec:\n            axis: {n: ['1', '2', '3', '4', '5']}\n            concurrency: 2\n        spec: {container: alpine, script: 'true'}\n",
    );
    let r = resolve(&p, &ctx()).unwrap();
    let StepSpec::Parallel(lanes) = &r.stages[0].steps[0].spec else {
        panic!()
    };
    let sizes: Vec<usize> = lanes
        .iter()
        .map(|l| match &l.spec {
            StepSpec::Group(g) => g.len(),
            _ => 0,
        })
        .collect();
    assert_eq!(sizes, [3, 2]);
    assert!(
        r.warnings
            .iter()
            .any(|w| w.message.contains("Gitness uses only a matrix's `axis`"))
    );
}

#[test]
fn a_matrix_of_more_than_256_combinations_is_refused_without_building_it() {
    // 10 axes of 10 values: 10^10 combinations, refused at once (GitHub's limit is 256).
    let axes: String = (0..10)
        .map(|i| format!("        a{i}: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\n"))
        .collect();
    let yaml = format!(
        "on: push\njobs:\n  t:\n    container: redis\n    strategy:\n      matrix:\n{axes}    steps:\n      - run: echo hi\n"
    );
    let p = Pipeline::parse(&SourceFile::new("ci.yml", yaml)).unwrap();
    let err = resolve(&p, &ctx()).unwrap_err();
    let d = err.first().unwrap();
    assert_eq!(
        d.message,
        "this matrix makes 10000000000 combinations; at most 256 are allowed"
    );
    assert_eq!(d.span.start.to_string(), "7:9");
    // A v1 step matrix of 257 is refused too; 256 runs.
    let values = |n: usize| (0..n).map(|i| i.to_string()).collect::<Vec<_>>().join(", ");
    let step = |n: usize| {
        pipeline(&format!(
            "      - name: m\n        type: run\n        strategy:\n          type: matrix\n          spec:\n            axis:\n              a: [{}]\n        spec:\n          container: alpine\n          script: echo\n",
            values(n)
        ))
    };
    assert!(resolve(&step(257), &ctx()).is_err());
    assert!(resolve(&step(256), &ctx()).is_ok());
}

#[test]
fn lint_never_shows_a_secret() {
    // A secret as a timeout, and as a step's name twice (its hostname is its slug).
    let p = pipeline(
        "      - name: ${{ secrets.get('token') }}\n        type: run\n        timeout: ${{ secrets.get('token') }}\n        spec: {container: alpine, script: 'true'}\n      - name: ${{ secrets.get('token') }}\n        type: run\n        spec: {container: alpine, script: 'true'}\n",
    );
    let err = resolve(&p, &ctx()).unwrap_err();
    let text = err.to_string();
    assert!(!text.contains("s3cret"), "{text}");
    assert!(text.contains("`timeout` expands to `******`"), "{text}");
    assert!(text.contains("another step is named `******`"), "{text}");
}

//! GitHub Actions expressions in workflows, read and resolved as GitHub evaluates them (no
//! Docker): the idioms real workflows use, what is known only at run time, and the places of
//! what GitHub refuses.

use pipeline_test_harness::SourceFile;
use pipeline_test_harness::context::BuildContext;
use pipeline_test_harness::diagnostic::Severity;
use pipeline_test_harness::resolve::resolve;
use pipeline_test_harness::spec::{Pipeline, RunPolicy, StepSpec};

/// The scripts of the first job's `run:` steps, with each step's policy, once resolved.
fn run(yaml: &str, ctx: &BuildContext) -> (Vec<(String, RunPolicy)>, Vec<String>) {
    let p = Pipeline::parse(&SourceFile::new("ci.yml", yaml)).unwrap();
    let r = resolve(&p, ctx).unwrap_or_else(|d| panic!("{d}"));
    let mut out = Vec::new();
    for stage in &r.stages {
        for step in stage.all_steps() {
            if let StepSpec::Run(run) = &step.spec {
                let script = run
                    .script
                    .iter()
                    .map(|s| s.value.clone())
                    .collect::<Vec<_>>();
                out.push((script.join("\n"), step.policy.clone()));
            }
        }
    }
    let warnings = r
        .warnings
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .map(|d| format!("{}: {}", d.span.start, d.message))
        .collect();
    (out, warnings)
}

fn job(steps: &str) -> String {
    format!(
        "on:\n  workflow_dispatch:\n    inputs:\n      skip_publish:\n        type: boolean\n        default: false\n      level:\n        type: number\n        default: 3\njobs:\n  test:\n    runs-on: ubuntu-latest\n    container: alpine\n    steps:\n{steps}"
    )
}

#[test]
fn or_and_and_return_an_operand_and_missing_properties_are_null() {
    let yaml = job(
        "      - run: echo ${{ matrix.rustc || 'stable' }} ${{ github.event.schedule && 'cron' || 'not cron' }}\n      - run: echo ${{ env.RUSTFLAGS }}x\n",
    );
    let (steps, _) = run(&yaml, &BuildContext::default());
    assert_eq!(steps[0].0, "echo stable not cron");
    // `env.RUSTFLAGS` may come from `$GITHUB_ENV` of a step before: evaluated at its turn.
    assert_eq!(steps[1].0, "echo ${{ env.RUSTFLAGS }}x");
}

#[test]
fn inputs_are_typed_as_declared_and_not_coerces_any_value() {
    let yaml = job(
        "      - run: echo publish\n        if: ${{ !inputs.skip_publish }}\n      - run: echo ${{ inputs.level > 2 }} ${{ github.event.inputs.level == '3' }}\n",
    );
    let (steps, _) = run(&yaml, &BuildContext::default());
    assert_eq!(steps[0].1, RunPolicy::OnSuccess);
    assert_eq!(steps[1].0, "echo true true");
    let mut ctx = BuildContext::default();
    ctx.inputs.insert("skip_publish".into(), "true".into());
    let (steps, _) = run(&yaml, &ctx);
    assert!(
        matches!(steps[0].1, RunPolicy::Never(_)),
        "{:?}",
        steps[0].1
    );
}

#[test]
fn matrix_values_keep_their_yaml_types_and_mappings_are_objects() {
    let yaml = "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    container: alpine\n    strategy:\n      matrix:\n        rust: [1.70, 'stable']\n        platform:\n          - { name: Linux, os: ubuntu-latest }\n    steps:\n      - run: echo ${{ matrix.rust }} ${{ matrix.platform.name }} ${{ matrix.platform.os }} ${{ strategy.job-index }}/${{ strategy.job-total }}\n";
    let p = Pipeline::parse(&SourceFile::new("ci.yml", yaml)).unwrap();
    let r = resolve(&p, &BuildContext::default()).unwrap();
    let names: Vec<String> = r
        .stages
        .iter()
        .map(|s| s.name.as_ref().unwrap().value.clone())
        .collect();
    assert_eq!(
        names,
        [
            "test (1.7, Linux, ubuntu-latest)",
            "test (stable, Linux, ubuntu-latest)"
        ]
    );
    let (steps, _) = run(yaml, &BuildContext::default());
    assert_eq!(steps[0].0, "echo 1.7 Linux ubuntu-latest 0/2");
    assert_eq!(steps[1].0, "echo stable Linux ubuntu-latest 1/2");
}

#[test]
fn object_filters_and_functions() {
    let yaml = job(
        "      - run: echo ${{ join(fromJSON('[{\"name\":\"a\"},{\"name\":\"b\"}]').*.name, '+') }} ${{ contains(github.event.pull_request.labels.*.name, 'x') }} ${{ format('{{{0}}}', toJSON(1.5)) }}\n",
    );
    let (steps, _) = run(&yaml, &BuildContext::default());
    assert_eq!(steps[0].0, "echo a+b false {1.5}");
}

#[test]
fn if_means_success_and_unless_a_status_function_is_called() {
    let yaml = job(
        "      - run: echo a\n        if: always()\n      - run: echo b\n        if: failure() || github.ref == 'x'\n      - run: echo c\n        if: ${{ !cancelled() }}\n      - run: echo d\n        if: github.event_name == 'PUSH'\n",
    );
    let mut ctx = BuildContext::default();
    ctx.event = "push".into();
    let (steps, _) = run(&yaml, &ctx);
    let policies: Vec<&RunPolicy> = steps.iter().map(|(_, p)| p).collect();
    assert_eq!(policies[0], &RunPolicy::Always);
    assert_eq!(policies[1], &RunPolicy::OnFailure);
    assert_eq!(policies[2], &RunPolicy::Always);
    // Strings compare without regard to case.
    assert_eq!(policies[3], &RunPolicy::OnSuccess);
}

#[test]
fn what_is_known_only_at_run_time_is_a_warning_never_an_error() {
    let yaml = "on: push\njobs:\n  setup:\n    runs-on: ubuntu-latest\n    container: alpine\n    outputs:\n      matrix: ${{ steps.m.outputs.matrix }}\n    steps:\n      - id: m\n        run: echo \"matrix=[1,2]\" >> $GITHUB_OUTPUT\n      - run: echo ${{ steps.m.outputs.matrix }} ${{ steps.n.outputs.x }}\n  test:\n    needs: setup\n    runs-on: ubuntu-latest\n    container: alpine\n    strategy:\n      matrix: ${{ fromJSON(needs.setup.outputs.matrix) }}\n    steps:\n      - run: cargo test\n  other:\n    needs: setup\n    runs-on: ubuntu-latest\n    container: alpine\n    steps:\n      - run: echo ${{ needs.setup.result }}\n";
    let p = Pipeline::parse(&SourceFile::new("ci.yml", yaml)).unwrap();
    let r = resolve(&p, &BuildContext::default()).unwrap();
    let warnings: Vec<String> = r
        .warnings
        .iter()
        .map(|d| format!("{}: {}", d.span.start, d.message))
        .collect();
    // A step's outputs are evaluated at the reading step's turn: a warning only for an id
    // no step has.
    assert_eq!(
        warnings,
        [
            "11:53: `steps.n.outputs.x` is empty: no step of this job has the id `n`",
            "17:18: this matrix is computed from the job `setup`'s outputs: it is known once `setup` has run",
        ],
    );
    // The job with the computed matrix is skipped with the reason; the others run.
    let test = r
        .stages
        .iter()
        .find(|s| s.id.as_ref().is_some_and(|i| i.value == "test"))
        .unwrap();
    assert!(
        matches!(&test.policy, RunPolicy::Never(why) if why.contains("its matrix comes from the outputs of the job `setup`")),
        "{:?}",
        test.policy
    );
    let (steps, _) = run(yaml, &BuildContext::default());
    // Read at its turn.
    assert_eq!(steps.last().unwrap().0, "echo ${{ needs.setup.result }}");
}

#[test]
fn expressions_github_refuses_are_errors_at_their_place_with_githubs_words() {
    let yaml = job("      - run: echo ${{ github.sha == 'a' && nosuch.x }}\n");
    let p = Pipeline::parse(&SourceFile::new("ci.yml", yaml.as_str())).unwrap();
    let err = resolve(&p, &BuildContext::default()).unwrap_err();
    let first = err.first().unwrap();
    assert_eq!(first.span.start.to_string(), "15:44");
    assert!(
        first.message.contains("Unrecognized named-value: 'nosuch'. Located at position 22 within expression: github.sha == 'a' && nosuch.x"),
        "{}",
        first.message
    );
}

#[test]
fn a_typo_in_a_known_context_is_a_warning_and_empty() {
    let yaml = job("      - run: echo ${{ github.branch_name }}.\n");
    let (steps, warnings) = run(&yaml, &BuildContext::default());
    assert_eq!(steps[0].0, "echo .");
    assert_eq!(
        warnings,
        ["15:23: `github` has no `branch_name`: it is empty here, as on GitHub"]
    );
}

#[test]
fn timeouts_and_service_env_are_expanded() {
    let yaml = "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    timeout-minutes: ${{ 2 * 1 || 5 }}\n    container: alpine\n    services:\n      db:\n        image: mysql:8.0\n        env:\n          MYSQL_DATABASE: ${{ github.event_name }}_db\n    steps:\n      - run: 'true'\n        timeout-minutes: ${{ fromJSON('1.5') }}\n";
    // `2 * 1` is not GitHub's: there is no arithmetic.
    let p = Pipeline::parse(&SourceFile::new("ci.yml", yaml)).unwrap();
    assert!(resolve(&p, &BuildContext::default()).is_err());
    let yaml = yaml.replace("${{ 2 * 1 || 5 }}", "${{ inputs.minutes || 5 }}");
    let p = Pipeline::parse(&SourceFile::new("ci.yml", yaml.as_str())).unwrap();
    let mut ctx = BuildContext::default();
    ctx.event = "push".into();
    let r = resolve(&p, &ctx).unwrap();
    let stage = &r.stages[0];
    assert_eq!(stage.timeout.as_ref().unwrap().value.as_secs(), 300);
    let steps = stage.all_steps();
    let StepSpec::Background(db) = &steps[0].spec else {
        panic!()
    };
    assert_eq!(db.envs.0[0].value.value, "push_db");
    assert_eq!(steps[1].timeout.as_ref().unwrap().value.as_secs(), 90);
}

//! Broken pipelines: each reports one problem, at the exact line and column, with a message
//! that says what was expected.

use pipeline_test_harness::Pipeline;
use pipeline_test_harness::SourceFile;

/// Parses `yaml`, expects exactly one diagnostic, and returns `("line:col", message)`.
fn error(yaml: &str) -> (String, String) {
    let file = SourceFile::new("broken.yaml", yaml);
    let diags = match Pipeline::parse(&file) {
        Ok(_) => panic!("expected an error for:\n{yaml}"),
        Err(d) => d,
    };
    assert_eq!(diags.len(), 1, "expected one diagnostic, got:\n{diags}");
    let d = diags.first().unwrap();
    // The rendered form names the place and shows the line with a caret.
    let rendered = diags.to_string();
    assert!(
        rendered.contains(&format!("broken.yaml:{}", d.span.start)),
        "{rendered}"
    );
    assert!(rendered.contains('^'), "{rendered}");
    (d.span.start.to_string(), d.message.clone())
}

/// The rendered diagnostics (errors, or the warnings of a valid file), for checking labels
/// and hints.
fn rendered(yaml: &str) -> String {
    match Pipeline::parse(&SourceFile::new("broken.yaml", yaml)) {
        Err(d) => d.to_string(),
        Ok(p) => pipeline_test_harness::Diagnostics::new(p.file.clone(), p.warnings).to_string(),
    }
}

/// A valid stage with `steps` spliced in (each line already indented by 6 spaces).
fn with_steps(steps: &str) -> String {
    format!("kind: pipeline\nspec:\n  stages:\n  - type: ci\n    spec:\n      steps:\n{steps}")
}

macro_rules! warning_case {
    ($name:ident, $yaml:expr, $pos:expr, $msg:expr) => {
        #[test]
        fn $name() {
            let p = Pipeline::parse(&SourceFile::new("ok.yaml", $yaml.to_string()))
                .unwrap_or_else(|d| panic!("expected a valid file, got:\n{d}"));
            let found: Vec<(String, String)> = p
                .warnings
                .iter()
                .filter(|d| d.severity == pipeline_test_harness::Severity::Warning)
                .map(|d| (d.span.start.to_string(), d.message.clone()))
                .collect();
            assert_eq!(found, [($pos.to_string(), $msg.to_string())]);
        }
    };
}

macro_rules! case {
    ($name:ident, $yaml:expr, $pos:expr, $msg:expr) => {
        #[test]
        fn $name() {
            let (pos, msg) = error(&$yaml);
            assert_eq!((pos.as_str(), msg.as_str()), ($pos, $msg));
        }
    };
}

case!(
    unknown_kind,
    "kind: pipelin\nspec:\n  stages:\n  - type: ci\n    spec: {steps: [{type: run, spec: {container: a}}]}\n",
    "1:7",
    "unknown kind `pipelin`"
);
case!(
    missing_kind,
    "spec:\n  stages:\n  - type: ci\n    spec: {steps: [{type: run, spec: {container: a}}]}\n",
    "1:1",
    "the file has no `kind`"
);
warning_case!(
    template_kind,
    "kind: template\nspec:\n  stages:\n  - type: ci\n    spec: {steps: [{type: run, spec: {container: a}}]}\n",
    "1:7",
    "a `template` file has nothing to run on its own"
);
case!(
    empty_stages,
    "kind: pipeline\nspec:\n  stages: []\n",
    "3:3",
    "`stages` is empty"
);
warning_case!(
    no_stages,
    "kind: pipeline\nspec:\n  options: {}\n",
    "2:1",
    "the pipeline has no stages"
);
case!(
    tab_indentation,
    "kind: pipeline\nspec:\n\tstages: []\n",
    "3:1",
    "tab character used for indentation"
);
case!(
    tab_inside_a_step,
    with_steps(
        "      - name: a\n        type: run\n        spec:\n          container: alpine\n\t  script: echo\n"
    ),
    "11:1",
    "tab character used for indentation"
);
warning_case!(
    misspelt_script,
    with_steps(
        "      - name: ping\n        type: run\n        spec:\n          container: redis\n          scirpt: redis-cli ping\n"
    ),
    "11:11",
    "unknown key `scirpt` in a run step's `spec`"
);
warning_case!(
    misspelt_container,
    with_steps(
        "      - name: cache\n        type: background\n        spec:\n          contianer: redis\n"
    ),
    "10:11",
    "unknown key `contianer` in a background step's `spec`"
);
warning_case!(
    script_outside_spec,
    with_steps(
        "      - name: a\n        type: run\n        script: echo\n        spec:\n          container: alpine\n"
    ),
    "9:9",
    "unknown key `script` in a step"
);
case!(
    unknown_step_type,
    with_steps("      - name: a\n        type: rn\n        spec: {container: alpine}\n"),
    "8:15",
    "unknown step type `rn`"
);
warning_case!(
    harness_only_step_type,
    with_steps("      - name: wait\n        type: barrier\n        spec: {name: b}\n"),
    "8:15",
    "a `barrier` step runs only on Harness; pipeline-test skips it"
);
warning_case!(
    harness_only_stage_type,
    "kind: pipeline\nspec:\n  stages:\n  - name: deploy\n    type: cd\n    spec: {}\n",
    "5:11",
    "a `cd` stage runs only on Harness; pipeline-test skips it"
);
case!(
    number_in_envs,
    with_steps(
        "      - name: a\n        type: run\n        spec:\n          container: alpine\n          envs: {PORT: 6379}\n"
    ),
    "11:24",
    "environment variable `PORT` in `envs` is a number, not a string"
);
case!(
    unknown_stage_type,
    "kind: pipeline\nspec:\n  stages:\n  - type: cii\n    spec: {}\n",
    "4:11",
    "unknown stage type `cii`"
);
case!(
    missing_step_type,
    with_steps("      - name: a\n        spec: {container: alpine}\n"),
    "7:9",
    "the step `a` has no `type`"
);
case!(
    missing_stage_type,
    "kind: pipeline\nspec:\n  stages:\n  - name: s\n    spec: {steps: [{type: run, spec: {container: a}}]}\n",
    "4:5",
    "the stage has no `type`"
);
warning_case!(
    run_without_image,
    with_steps("      - name: ping\n        type: run\n        spec:\n          script: echo\n"),
    "9:9",
    "the run step `ping` has no image: Harness Cloud runs it on its build VM"
);
case!(
    background_without_image,
    with_steps("      - name: cache\n        type: background\n"),
    "8:9",
    "the background step `cache` has no image"
);
warning_case!(
    script_without_image,
    with_steps("      - name: s\n        type: script\n        spec:\n          run: echo\n"),
    "9:9",
    "the script step `s` has no image: Harness Cloud runs it on its build VM"
);
case!(
    bad_pull,
    with_steps(
        "      - name: a\n        type: run\n        spec:\n          container:\n            image: alpine\n            pull: allways\n"
    ),
    "12:19",
    "invalid pull policy `allways`"
);
case!(
    duration_without_unit,
    with_steps(
        "      - name: a\n        type: run\n        timeout: 10\n        spec: {container: alpine}\n"
    ),
    "9:18",
    "invalid duration for `timeout`: `10` has no unit: write `10s` for seconds or `10m` for minutes"
);
case!(
    duration_with_bad_unit,
    "kind: pipeline\nspec:\n  options:\n    timeout: 5min\n  stages:\n  - type: ci\n    spec: {steps: [{type: run, spec: {container: a}}]}\n",
    "4:14",
    "invalid duration for `timeout`: unknown unit `min` in `5min`: use ms, s, m, h or d"
);
warning_case!(
    duplicate_step_names,
    with_steps(
        "      - name: a\n        type: run\n        spec: {container: alpine}\n      - name: a\n        type: run\n        spec: {container: alpine}\n"
    ),
    "10:15",
    "another step is named `a`"
);
case!(
    hostname_collision,
    with_steps(
        "      - name: my-db\n        type: background\n        spec: {container: redis}\n      - name: mydb\n        type: background\n        spec: {container: redis}\n"
    ),
    "10:15",
    "step `mydb` would have the hostname `mydb`, which step `my-db` (line 7) already has"
);
case!(
    env_value_is_a_map,
    with_steps(
        "      - name: a\n        type: run\n        spec:\n          container: alpine\n          envs:\n            A: {b: c}\n"
    ),
    "12:16",
    "environment variable `A` in `envs` must be a string, found a mapping"
);
case!(
    env_value_is_a_list,
    "kind: pipeline\nspec:\n  options:\n    envs:\n      A: [1, 2]\n  stages:\n  - type: ci\n    spec: {steps: [{type: run, spec: {container: a}}]}\n",
    "5:10",
    "environment variable `A` in `options.envs` must be a string, found a list"
);
case!(
    envs_is_a_list,
    with_steps(
        "      - name: a\n        type: run\n        spec:\n          container: alpine\n          envs:\n          - A=b\n"
    ),
    "12:13",
    "expected a mapping for `envs`, found a list"
);
case!(
    steps_is_a_mapping,
    "kind: pipeline\nspec:\n  stages:\n  - type: ci\n    spec:\n      steps:\n        name: a\n",
    "7:9",
    "expected a list for `steps`, found a mapping"
);
case!(
    container_without_image,
    with_steps(
        "      - name: a\n        type: run\n        spec:\n          container:\n            pull: always\n"
    ),
    "11:13",
    "`container` has no `image`"
);
case!(
    privileged_not_a_bool,
    with_steps(
        "      - name: a\n        type: run\n        spec:\n          container:\n            image: alpine\n            privileged: \"yes\"\n"
    ),
    "12:25",
    "expected `true` or `false` for `privileged`"
);
case!(
    healthcheck_bad_test,
    with_steps(
        "      - name: db\n        type: background\n        spec:\n          container: redis\n          healthcheck:\n            test: [RUN, redis-cli, ping]\n"
    ),
    "12:19",
    "a `test` list starts with `CMD`, `CMD-SHELL` or `NONE`"
);
case!(
    healthcheck_bad_retries,
    with_steps(
        "      - name: db\n        type: background\n        spec:\n          container: redis\n          healthcheck:\n            test: redis-cli ping\n            retries: many\n"
    ),
    "13:22",
    "expected a whole number for `retries`"
);
case!(
    duplicate_key,
    with_steps(
        "      - name: a\n        name: b\n        type: run\n        spec: {container: alpine}\n"
    ),
    "8:9",
    "duplicate key `name` in a step"
);
case!(
    value_after_value,
    with_steps("      - name: a: b\n        type: run\n"),
    "7:16",
    "invalid YAML: mapping values are not allowed in this context"
);
case!(
    unclosed_quote,
    with_steps("      - name: \"a\n        type: run\n"),
    "7:15",
    "invalid YAML: invalid indentation in quoted scalar"
);
case!(
    two_documents,
    "kind: pipeline\nspec: {}\n---\nkind: pipeline\n",
    "3:1",
    "a second YAML document in the same file"
);
case!(empty_file, "", "1:1", "the file holds no pipeline");
case!(
    mount_of_unknown_volume,
    with_steps(
        "      - name: a\n        type: run\n        spec:\n          container: alpine\n          mount:\n          - name: cache\n            path: /c\n"
    ),
    "12:19",
    "mount of unknown volume `cache`"
);
warning_case!(
    duplicate_stage_names,
    "kind: pipeline\nspec:\n  stages:\n  - name: s\n    type: ci\n    spec: {steps: [{type: run, spec: {container: a}}]}\n  - name: s\n    type: ci\n    spec: {steps: [{type: run, spec: {container: a}}]}\n",
    "7:11",
    "another stage is named `s`"
);
case!(
    container_and_image,
    with_steps(
        "      - name: db\n        type: background\n        spec:\n          container: redis\n          image: redis\n"
    ),
    "11:18",
    "both `container` and `image` are given"
);
warning_case!(
    misspelt_option,
    "kind: pipeline\nspec:\n  options:\n    env: {A: b}\n  stages:\n  - type: ci\n    spec: {steps: [{type: run, spec: {container: a}}]}\n",
    "4:5",
    "unknown key `env` in `options`"
);
case!(
    stages_is_a_string,
    "kind: pipeline\nspec:\n  stages: build\n",
    "3:11",
    "expected a list for `stages`, found a scalar"
);
warning_case!(
    steps_outside_stage_spec,
    "kind: pipeline\nspec:\n  stages:\n  - type: ci\n    steps: []\n    spec: {steps: [{type: run, spec: {container: a}}]}\n",
    "5:5",
    "unknown key `steps` in a stage"
);
case!(
    empty_group,
    with_steps("      - name: g\n        type: group\n        spec:\n          steps: []\n"),
    "9:9",
    "the group step `g` has no steps"
);
case!(
    bad_image_name,
    with_steps(
        "      - name: a\n        type: run\n        spec:\n          container: my image\n"
    ),
    "10:22",
    "invalid image name `my image`"
);

#[test]
fn typos_suggest_the_right_key() {
    let out = rendered(&with_steps(
        "      - name: ping\n        type: run\n        spec:\n          container: redis\n          scirpt: redis-cli ping\n",
    ));
    assert!(out.contains("did you mean `script`?"), "{out}");
    assert!(
        out.contains("11 |           scirpt: redis-cli ping"),
        "{out}"
    );
    assert!(out.contains("   |           ^^^^^^ did you mean"), "{out}");
}

#[test]
fn keys_in_the_wrong_place_say_where_they_belong() {
    let out = rendered(&with_steps(
        "      - name: a\n        type: run\n        script: echo\n        spec:\n          container: alpine\n",
    ));
    assert!(
        out.contains("`script` belongs under the step's `spec:`"),
        "{out}"
    );
}

#[test]
fn unknown_keys_without_a_near_match_are_warnings_listing_the_valid_ones() {
    let yaml = with_steps(
        "      - name: a\n        type: run\n        spec:\n          container: alpine\n          zzz: 1\n          connectorRef: account.docker\n",
    );
    let p = Pipeline::parse(&SourceFile::new("ok.yaml", yaml)).unwrap();
    let out =
        pipeline_test_harness::Diagnostics::new(p.file.clone(), p.warnings.clone()).to_string();
    assert!(
        out.contains("warning: unknown key `zzz` in a run step's `spec`"),
        "{out}"
    );
    assert!(
        out.contains("the keys of a run step's `spec` are: shell, script, container, envs"),
        "{out}"
    );
    assert!(
        out.contains("`connectorRef` is from the older Harness format; in v1 YAML it is `connector` inside `container:`"),
        "{out}"
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let yaml = with_steps(
        "      - name: a\n        type: run\n        spec:\n          contianer: alpine\n      - name: b\n        type: plugn\n      - name: c\n        type: run\n        timeout: 3\n        spec: {container: alpine}\n",
    );
    let diags = Pipeline::parse(&SourceFile::new("many.yaml", &yaml)).unwrap_err();
    let found: Vec<String> = diags
        .iter()
        .map(|d| format!("{} {}", d.span.start, d.message))
        .collect();
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(found[0].starts_with("10:11 unknown key `contianer`"));
    assert!(found[1].starts_with("12:15 unknown step type `plugn`"));
    assert!(found[2].starts_with("15:18 invalid duration"));
    // The misspelt key is a warning (Gitness drops it and runs the file); the other two are
    // errors, reported together with it.
    assert!(
        diags.to_string().contains("2 problems in many.yaml"),
        "{diags}"
    );
}
case!(
    env_name_with_an_equals_sign,
    with_steps(
        "      - name: a\n        type: run\n        spec:\n          container: alpine\n          envs: {\"A=B\": x}\n"
    ),
    "11:18",
    "`A=B` is not an environment variable name"
);
case!(
    nul_byte_in_an_env_value,
    with_steps(
        "      - name: a\n        type: run\n        spec:\n          container: alpine\n          envs: {A: \"x\\0y\"}\n"
    ),
    "11:21",
    "`A` holds a NUL byte (`\\0`)"
);
case!(
    nul_byte_in_a_script,
    with_steps(
        "      - name: a\n        type: run\n        spec:\n          container: alpine\n          script: \"echo \\0\"\n"
    ),
    "11:19",
    "`script` holds a NUL byte (`\\0`)"
);
case!(
    a_hostname_longer_than_63_characters,
    with_steps(&format!(
        "      - name: {}\n        type: run\n        spec:\n          container: alpine\n          script: 'true'\n",
        "a".repeat(70)
    )),
    "7:15",
    "the hostname of this step, `aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa`, has 70 characters: a DNS name stops at 63"
);

// Gitness drops a known key at the wrong level and runs the file: a warning, saying where it
// belongs.
warning_case!(
    options_at_the_top_are_dropped_as_on_gitness,
    "kind: pipeline\noptions:\n  envs: {A: b}\nspec:\n  stages:\n  - type: ci\n    spec: {steps: [{type: run, spec: {container: a}}]}\n",
    "2:1",
    "unknown key `options` in the pipeline"
);

//! Hostile pipeline files, each grown by a size `n`: the classes of issue 20 (matrices, chains,
//! names, keys, anchors, unclosed openers, expansions, diagnostics). Shared by the lint-scale
//! bench (`cargo bench --bench parse`, at n and 4n) and by `tests/lint_hostile.rs` (at the
//! sizes the issue names).

/// A generator: its name, its file name (which picks the format), and the text for size `n`.
pub struct Generator {
    /// What it grows, as the bench prints it.
    pub name: &'static str,
    /// The file's name: `.drone.yml`, a workflow, a v1 or NextGen file.
    pub file: &'static str,
    /// The text for size `n`.
    pub text: fn(usize) -> String,
    /// The bench's `n` (4n is also measured, and the size that makes about 1 MB).
    pub n: usize,
}

/// Every generator the bench measures.
pub const ALL: &[Generator] = &[
    Generator {
        name: "matrix axes (10 values each)",
        file: "ci.yml",
        text: matrix_axes,
        n: 10,
    },
    Generator {
        name: "matrix jobs (16 x 16 each)",
        file: "ci.yml",
        text: matrix_jobs,
        n: 8,
    },
    Generator {
        name: "matrix includes",
        file: "ci.yml",
        text: matrix_includes,
        n: 2_000,
    },
    Generator {
        name: "needs chain",
        file: "ci.yml",
        text: needs_chain,
        n: 1_000,
    },
    Generator {
        name: "depends_on chain",
        file: ".drone.yml",
        text: depends_chain,
        n: 1_000,
    },
    Generator {
        name: "+ chain (Gitness)",
        file: "v1.yaml",
        text: plus_chain,
        n: 10_000,
    },
    Generator {
        name: "|| chain (GitHub)",
        file: "ci.yml",
        text: or_chain,
        n: 10_000,
    },
    Generator {
        name: "nested parentheses",
        file: "ci.yml",
        text: parentheses,
        n: 4_000,
    },
    Generator {
        name: "duplicate step names",
        file: ".drone.yml",
        text: same_names,
        n: 2_000,
    },
    Generator {
        name: "duplicate hostnames",
        file: "v1.yaml",
        text: same_hostnames,
        n: 2_000,
    },
    Generator {
        name: "duplicate keys",
        file: "ci.yml",
        text: duplicate_keys,
        n: 5_000,
    },
    Generator {
        name: "merge keys",
        file: ".drone.yml",
        text: merge_keys,
        n: 2_000,
    },
    Generator {
        name: "nested anchors",
        file: "ci.yml",
        text: anchors,
        n: 8,
    },
    Generator {
        name: "unclosed ${{",
        file: "ci.yml",
        text: unclosed_github,
        n: 20_000,
    },
    Generator {
        name: "unclosed <+",
        file: "pipeline.yaml",
        text: unclosed_nextgen,
        n: 20_000,
    },
    Generator {
        name: "split/join",
        file: "v1.yaml",
        text: split_join,
        n: 3,
    },
    Generator {
        name: "input expanded",
        file: "v1.yaml",
        text: input_expanded,
        n: 5_000,
    },
    Generator {
        name: "workflow env copied",
        file: "ci.yml",
        text: workflow_env,
        n: 500,
    },
    Generator {
        name: "NextGen variables",
        file: "pipeline.yaml",
        text: nextgen_variables,
        n: 1_000,
    },
    Generator {
        name: "dispatch inputs",
        file: "ci.yml",
        text: dispatch_inputs,
        n: 1_500,
    },
    Generator {
        name: "matches (one regex)",
        file: "v1.yaml",
        text: regex_steps,
        n: 1_000,
    },
    Generator {
        name: "diagnostics on one line",
        file: "ci.yml",
        text: one_line_errors,
        n: 1_000,
    },
];

const GITHUB: &str = "on: push\njobs:\n";

/// One GitHub job of one step, `id` as its key.
fn github_job(id: &str, extra: &str) -> String {
    format!("  {id}:\n    runs-on: ubuntu-latest\n{extra}    steps:\n      - run: echo hi\n")
}

/// A v1 pipeline whose one stage has `steps` (already indented for the list).
fn v1(inputs: &str, steps: &str) -> String {
    format!(
        "kind: pipeline\nspec:\n{inputs}  stages:\n  - name: s\n    type: ci\n    spec:\n      steps:\n{steps}"
    )
}

/// `n` axes of 10 values: 10^n combinations, refused past 256.
pub fn matrix_axes(n: usize) -> String {
    let axes: String = (0..n)
        .map(|a| format!("        a{a}: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\n"))
        .collect();
    GITHUB.to_string() + &github_job("m", &format!("    strategy:\n      matrix:\n{axes}"))
}

/// `n` jobs of 256 combinations each, every one of them allowed.
pub fn matrix_jobs(n: usize) -> String {
    let values: Vec<String> = (0..16).map(|v| v.to_string()).collect();
    let list = values.join(", ");
    let matrix =
        format!("    strategy:\n      matrix:\n        x: [{list}]\n        y: [{list}]\n");
    let jobs: String = (0..n)
        .map(|i| github_job(&format!("m{i}"), &matrix))
        .collect();
    GITHUB.to_string() + &jobs
}

/// `n` `include` entries that each add a combination: refused past 256.
pub fn matrix_includes(n: usize) -> String {
    let includes: String = (0..n).map(|i| format!("          - x: {i}\n")).collect();
    GITHUB.to_string()
        + &github_job(
            "m",
            &format!("    strategy:\n      matrix:\n        include:\n{includes}"),
        )
}

/// `n` jobs, each needing the one before.
pub fn needs_chain(n: usize) -> String {
    let jobs: String = (0..n)
        .map(|i| {
            let needs = if i == 0 {
                String::new()
            } else {
                format!("    needs: j{}\n", i - 1)
            };
            github_job(&format!("j{i}"), &needs)
        })
        .collect();
    GITHUB.to_string() + &jobs
}

/// A Drone pipeline of `n` steps, each depending on the one before.
pub fn depends_chain(n: usize) -> String {
    let steps: String = (0..n)
        .map(|i| {
            let dep = if i == 0 {
                String::new()
            } else {
                format!("  depends_on: [s{}]\n", i - 1)
            };
            format!("- name: s{i}\n  image: alpine\n  commands: [echo]\n{dep}")
        })
        .collect();
    format!("kind: pipeline\ntype: docker\nname: default\nsteps:\n{steps}")
}

/// A Gitness expression of `n` additions.
pub fn plus_chain(n: usize) -> String {
    let sum = vec!["1"; n].join(" + ");
    v1(
        "",
        &format!(
            "      - name: a\n        type: run\n        spec:\n          container: alpine\n          script: echo ${{{{ {sum} }}}}\n"
        ),
    )
}

/// A GitHub expression of `n` alternatives.
pub fn or_chain(n: usize) -> String {
    let any = vec!["github.ref"; n].join(" || ");
    GITHUB.to_string() + &github_job("j", &format!("    if: ${{{{ {any} }}}}\n"))
}

/// `n` nested parentheses in a GitHub `if`.
pub fn parentheses(n: usize) -> String {
    let e = format!("{}true{}", "(".repeat(n), ")".repeat(n));
    GITHUB.to_string() + &github_job("j", &format!("    if: ${{{{ {e} }}}}\n"))
}

/// A Drone pipeline of `n` steps with one name.
pub fn same_names(n: usize) -> String {
    let steps = "- name: same\n  image: alpine\n  commands: [echo]\n".repeat(n);
    format!("kind: pipeline\ntype: docker\nname: default\nsteps:\n{steps}")
}

/// A v1 stage of `n` steps whose names differ but share one hostname.
pub fn same_hostnames(n: usize) -> String {
    let steps: String = (0..n)
        .map(|i| {
            format!(
                "      - name: \"Build {}\"\n        type: run\n        spec:\n          container: alpine\n          script: echo\n",
                // `i` written in punctuation: every name differs, every slug is `build`.
                i.to_string()
                    .bytes()
                    .map(|d| b"!@#%^&*()+"[usize::from(d - b'0')] as char)
                    .collect::<String>()
            )
        })
        .collect();
    v1("", &steps)
}

/// A job `env` of `n` keys, each written twice.
pub fn duplicate_keys(n: usize) -> String {
    let env: String = (0..2 * n)
        .map(|i| format!("      K{}: v\n", i % n))
        .collect();
    GITHUB.to_string() + &github_job("j", &format!("    env:\n{env}"))
}

/// `n` anchored mappings merged into one `environment` of a Drone pipeline.
pub fn merge_keys(n: usize) -> String {
    let anchors: String = (0..n)
        .map(|i| format!("  a{i}: &a{i} {{K{i}: v}}\n"))
        .collect();
    let refs: Vec<String> = (0..n).map(|i| format!("*a{i}")).collect();
    // A Drone pipeline: Drone's reader merges `<<`; GitHub Actions refuses it.
    format!(
        "kind: pipeline\ntype: docker\nname: default\nx-anchors:\n{anchors}environment:\n  <<: [{}]\nsteps:\n- name: s\n  image: alpine\n  commands: [echo hi]\n",
        refs.join(", ")
    )
}

/// `n` levels of anchors, each a list of ten of the level below: 10^n nodes.
pub fn anchors(n: usize) -> String {
    let mut y = String::from(
        "on: push\nx-levels:\n  - &l0 [\"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\"]\n",
    );
    for i in 1..n {
        let r = format!("*l{}", i - 1);
        y.push_str(&format!("  - &l{i} [{}]\n", vec![r; 10].join(", ")));
    }
    y + "jobs:\n" + &github_job("j", "") + &format!("x-top: *l{}\n", n - 1)
}

/// A `run` of `n` unclosed `${{`.
pub fn unclosed_github(n: usize) -> String {
    GITHUB.to_string()
        + &github_job("j", "").replace("echo hi", &format!("'{}'", "${{ a ".repeat(n)))
}

/// A NextGen `Run` command of `n` unclosed `<+`.
pub fn unclosed_nextgen(n: usize) -> String {
    nextgen("", &format!("'{}'", "<+a ".repeat(n)))
}

/// A NextGen pipeline of one Run step running `command`, with pipeline `variables`.
fn nextgen(variables: &str, command: &str) -> String {
    format!(
        "pipeline:\n  name: p\n  identifier: p\n{variables}  stages:\n    - stage:\n        name: s\n        identifier: s\n        type: CI\n        spec:\n          cloneCodebase: false\n          platform: {{os: Linux, arch: Amd64}}\n          runtime: {{type: Docker, spec: {{}}}}\n          execution:\n            steps:\n              - step:\n                  type: Run\n                  name: r\n                  identifier: r\n                  spec:\n                    image: alpine\n                    shell: Sh\n                    command: {command}\n"
    )
}

/// `n` nested `join(split(..., ""), 64 characters)`: each level multiplies the text by 65.
pub fn split_join(n: usize) -> String {
    let sep = "x".repeat(64);
    let mut e = "\"abcdefgh\"".to_string();
    for _ in 0..n {
        e = format!("join(split({e}, \"\"), \"{sep}\")");
    }
    v1(
        "",
        &format!(
            "      - name: a\n        type: run\n        spec:\n          container: alpine\n          script: echo ${{{{ {e} }}}}\n"
        ),
    )
}

/// A 512 KB input used `n` times.
pub fn input_expanded(n: usize) -> String {
    let inputs = format!(
        "  inputs:\n    big:\n      default: {}\n",
        "y".repeat(512 * 1024)
    );
    let uses = "${{ inputs.big }} ".repeat(n);
    v1(
        &inputs,
        &format!(
            "      - name: a\n        type: run\n        spec:\n          container: alpine\n          script: echo {uses}\n"
        ),
    )
}

/// A workflow `env` of 50 KB, copied into each of `n` jobs.
pub fn workflow_env(n: usize) -> String {
    let env: String = (0..500)
        .map(|i| format!("  K{i:03}: {}\n", "v".repeat(90)))
        .collect();
    let jobs: String = (0..n).map(|i| github_job(&format!("j{i}"), "")).collect();
    format!("on: push\nenv:\n{env}jobs:\n{jobs}")
}

/// A 4 KB pipeline variable repeated `n` times by a stage variable, which the step's command
/// repeats `n` times: n^2 copies.
pub fn nextgen_variables(n: usize) -> String {
    let vars = format!(
        "  variables:\n    - name: big\n      type: String\n      value: {}\n",
        "b".repeat(4096)
    );
    let stage_var = "<+pipeline.variables.big>".repeat(n);
    nextgen(&vars, &"<+stage.variables.s>".repeat(n)).replace(
        "        spec:\n          cloneCodebase",
        &format!("        variables:\n          - name: s\n            type: String\n            value: {stage_var}\n        spec:\n          cloneCodebase"),
    )
}

/// `n` `workflow_dispatch` inputs.
pub fn dispatch_inputs(n: usize) -> String {
    let inputs: String = (0..n)
        .map(|i| format!("      i{i}:\n        description: input {i}\n        default: d{i}\n"))
        .collect();
    format!("on:\n  workflow_dispatch:\n    inputs:\n{inputs}jobs:\n") + &github_job("j", "")
}

/// `n` steps whose `when` matches the branch against one regular expression.
pub fn regex_steps(n: usize) -> String {
    let steps: String = (0..n)
        .map(|i| {
            format!(
                "      - name: s{i}\n        type: run\n        when: ${{{{ build.branch matches \"^(release|hotfix)/[0-9]+(\\\\.[0-9]+){{0,3}}$\" }}}}\n        spec:\n          container: alpine\n          script: echo\n"
            )
        })
        .collect();
    v1("", &steps)
}

/// One line of `n` unknown contexts: as many errors on a single line.
pub fn one_line_errors(n: usize) -> String {
    let refs: String = (0..n).map(|i| format!("${{{{ nope{i}.x }}}} ")).collect();
    GITHUB.to_string() + &github_job("j", "").replace("echo hi", &format!("echo {refs}"))
}

//! A job's steps: `run:` steps in the job's container (or the default image on the host's
//! network), `uses:` steps skipped with a notice.

use super::{RunDefaults, service};
use crate::diagnostic::Diagnostic;
use crate::spec::read::Diags;
use crate::spec::read::{Fields, boolean, fields, string};
use crate::spec::*;
use crate::yaml::Node;

pub(super) fn step(
    file: &SourceFile,
    node: &Node<'_>,
    container: Option<&(Container, Envs, Option<Healthcheck>)>,
    defaults: &RunDefaults,
    scope: Option<&std::sync::Arc<ActionScope>>,
    diags: &mut Diags,
) -> Option<Step> {
    let mut f: Fields<'_> = fields(node, "a step", diags)?;
    let id = string(f.get("id"), "id", diags);
    let mut name = string(f.get("name"), "name", diags);
    let when = string(f.get("if"), "if", diags).map(When::Expr);
    let continue_on_error = match f.get("continue-on-error") {
        Some(n) if n.as_scalar().is_some_and(|t| t.contains("${{")) => {
            diags.push(
                Diagnostic::new(
                    n.span,
                    "`continue-on-error` computed by an expression is read as false",
                )
                .warning()
                .with_help("write `true` or `false`"),
            );
            false
        }
        n => boolean(n, "continue-on-error", diags).is_some_and(|b| b.value),
    };
    let (timeout, timeout_expr) = f
        .get("timeout-minutes")
        .map_or((None, None), |t| super::minutes(t, diags));
    let run = string(f.get("run"), "run", diags);
    let uses = string(f.get("uses"), "uses", diags);
    let shell = string(f.get("shell"), "shell", diags).or_else(|| defaults.shell.clone());
    let dir = string(f.get("working-directory"), "working-directory", diags)
        .or_else(|| defaults.dir.clone());
    let envs = service::env(f.get("env"), "env", diags);
    let with = f.get("with");
    let in_background = background(&mut f, diags);
    f.finish(diags, &|k| {
        matches!(k, "image" | "container" | "services")
            .then(|| format!("`{k}` belongs to the job, not to a step"))
    });
    if in_background {
        return None;
    }
    let spec = match (run, uses) {
        (Some(run), None) => {
            if name.is_none() && id.is_none() {
                // As Actions names it: `Run` and the command's first line.
                let first = run.value.lines().next().unwrap_or_default();
                name = Some(Spanned::new(format!("Run {}", short(first)), run.span));
            }
            let mut script = Vec::new();
            if let Some(d) = dir {
                script.push(Spanned::new(
                    format!("cd {}", shell_quote(&d.value)),
                    d.span,
                ));
            }
            script.push(run.clone());
            let mut step_container = match container {
                Some((c, _, _)) => c.clone(),
                None => {
                    let mut c = Container::of(Spanned::new(String::new(), run.span));
                    c.network_mode = Some(Spanned::new("host".to_string(), run.span));
                    c
                }
            };
            step_container.span = run.span;
            let mut all_envs = container.map(|(_, e, _)| e.clone()).unwrap_or_default();
            all_envs.0.extend(envs.0);
            let shell = shell
                .map(|s| {
                    let word = s
                        .value
                        .split_whitespace()
                        .next()
                        .unwrap_or("sh")
                        .to_string();
                    Spanned::new(word, s.span)
                })
                .or_else(|| {
                    let image = &step_container.image.value;
                    (!image.contains("alpine") && !image.contains("busybox"))
                        .then(|| Spanned::new("bash".to_string(), run.span))
                });
            // Actions runs bash as `bash -eo pipefail`.
            let pipefail = shell.as_ref().is_some_and(|s| s.as_str() == "bash");
            StepSpec::Run(Box::new(RunStep {
                pipefail,
                shell,
                script,
                container: Some(step_container),
                envs: all_envs,
                ..RunStep::default()
            }))
        }
        (None, Some(uses))
            if uses.value.starts_with("./") || super::action::mapped(&uses.value).is_some() =>
        {
            let call = super::action::Call {
                uses: &uses,
                id: id.as_ref().map(|i| i.value.clone()),
                with: with_values(with),
                parent: scope.cloned(),
            };
            name.get_or_insert_with(|| Spanned::new(short(&uses.value), uses.span));
            match super::action::local(file, &call, container, defaults, diags) {
                Ok(steps) => StepSpec::Group(steps),
                Err(why) => StepSpec::Unsupported(Spanned::new(why, uses.span)),
            }
        }
        (None, Some(uses)) => {
            let _ = with;
            if uses.value.starts_with("actions/checkout") {
                // The workspace is the checkout.
                return None;
            }
            diags.push(
                Diagnostic::new(
                    uses.span,
                    format!(
                        "the action `{}` runs only on GitHub; pipeline-test skips it",
                        uses.value
                    ),
                )
                .warning()
                .with_label("only `run:` steps run locally")
                .with_help(
                    "do what it sets up in the job's `container:` image, or in `--default-image`",
                ),
            );
            let name = name.get_or_insert_with(|| Spanned::new(short(&uses.value), uses.span));
            let _ = name;
            StepSpec::Unsupported(Spanned::new(
                format!("the action `{}` runs only on GitHub", uses.value),
                uses.span,
            ))
        }
        (Some(run), Some(uses)) => {
            diags.push(
                Diagnostic::new(uses.span, "a step has both `run` and `uses`")
                    .with_label(format!("`run` is at line {}", run.span.start.line))
                    .with_help("split it into two steps"),
            );
            return None;
        }
        (None, None) => {
            diags.push(
                Diagnostic::new(Span::point(node.span.start), "a step needs `run` or `uses`")
                    .with_help("add `run: COMMAND`"),
            );
            return None;
        }
    };
    let mut step = Step::new(node.span, spec);
    step.id = id;
    step.name = name;
    step.when = when;
    step.timeout = timeout;
    step.timeout_expr = timeout_expr;
    step.continue_on_error = continue_on_error;
    Some(step)
}

/// A step's `with:` values as written (expressions evaluated where they are used).
fn with_values(with: Option<&Node<'_>>) -> Vec<(String, String)> {
    let Some(crate::yaml::Value::Map(pairs)) = with.map(|w| &w.value) else {
        return Vec::new();
    };
    pairs
        .iter()
        .filter_map(|(k, v)| {
            Some((
                k.as_scalar()?.to_string(),
                v.as_scalar().unwrap_or_default().to_string(),
            ))
        })
        .collect()
}

/// `s` cut to 40 characters, for a step's generated name; never inside a `${{ }}`, which
/// the name is expanded with.
fn short(s: &str) -> String {
    let s = s.trim();
    match s.char_indices().nth(40) {
        Some((mut i, _)) => {
            if let Some(open) = s[..i].rfind("${{") {
                if !s[open..i].contains("}}") {
                    i = match s[open..].find("}}") {
                        Some(close) => open + close + 2,
                        None => open,
                    };
                }
            }
            // Not cut for the last few characters.
            if i + 10 >= s.len() {
                s.to_string()
            } else {
                format!("{}...", s[..i].trim_end())
            }
        }
        None => s.to_string(),
    }
}

pub(super) fn shell_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The steps of GitHub's background steps (2026): `background: true`, `wait`, `wait-all`,
/// `cancel` and `parallel`, each refused at its key (the job would not run as on GitHub);
/// true when the step is one of them.
fn background(f: &mut Fields<'_>, diags: &mut Diags) -> bool {
    let mut found = false;
    let mut refuse = |span, what: &str| {
        found = true;
        diags.push(
            Diagnostic::new(span, format!("{what} (GitHub's background steps) is not supported"))
                .with_label("pipeline-test runs a job's steps one after another")
                .with_help("run the work in the foreground, or a server the steps need as an entry of the job's `services:`"),
        );
    };
    if let Some((k, v)) = f.entry("background") {
        // `background: false` is a step like any other.
        if v.as_scalar()
            .is_none_or(|t| !t.eq_ignore_ascii_case("false"))
        {
            refuse(k.span, "`background`");
        }
    }
    for key in ["wait", "wait-all", "cancel", "parallel"] {
        if let Some((k, _)) = f.entry(key) {
            refuse(k.span, &format!("a `{key}` step"));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use crate::SourceFile;
    use crate::spec::{Pipeline, StepSpec};

    const WORKFLOW: &str = "\
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    services:
      redis:
        image: redis
        ports: [6379, \"7000-7001:7000-7001\"]
        options: --health-cmd \"redis-cli ping\" --health-interval 2s --health-retries 3
    steps:
      - uses: actions/checkout@v4
      - run: cargo test
        working-directory: crates/app
";

    #[test]
    fn a_job_without_container_runs_on_the_host_network_with_fixed_ports() {
        let p = Pipeline::parse(&SourceFile::new("ci.yml", WORKFLOW)).unwrap();
        let steps = &p.stages[0].steps;
        assert_eq!(steps.len(), 2, "checkout is left out");
        let StepSpec::Background(redis) = &steps[0].spec else {
            panic!()
        };
        let c = redis.container.as_ref().unwrap();
        let ports: Vec<&str> = c.ports.iter().map(|p| p.as_str()).collect();
        assert_eq!(ports, ["6379:6379", "7000:7000", "7001:7001"]);
        let h = redis.healthcheck.as_ref().unwrap();
        assert_eq!(
            h.test,
            crate::spec::HealthTest::Shell("redis-cli ping".into())
        );
        assert_eq!(h.retries.as_ref().unwrap().value, 3);
        let StepSpec::Run(run) = &steps[1].spec else {
            panic!()
        };
        let c = run.container.as_ref().unwrap();
        assert_eq!(c.network_mode.as_ref().unwrap().as_str(), "host");
        assert!(c.image.value.is_empty(), "the default image");
        assert!(run.pipefail);
        let script: Vec<&str> = run.script.iter().map(|s| s.as_str()).collect();
        assert_eq!(script, ["cd crates/app", "cargo test"]);
        assert_eq!(steps[1].display_name(), "Run cargo test");
    }

    #[test]
    fn dispatch_inputs_and_job_timeouts() {
        let yaml = "on:\n  workflow_dispatch:\n    inputs:\n      level:\n        default: info\n        required: true\njobs:\n  a:\n    timeout-minutes: 1.5\n    container: alpine\n    steps:\n      - run: echo ${{ inputs.level }}\n";
        let p = Pipeline::parse(&SourceFile::new("ci.yml", yaml)).unwrap();
        assert_eq!(p.inputs[0].name.value, "level");
        assert_eq!(p.inputs[0].default.as_ref().unwrap().value, "info");
        assert!(p.inputs[0].required);
        let timeout = p.stages[0].timeout.as_ref().unwrap().value;
        assert_eq!(timeout, std::time::Duration::from_secs(90));
    }

    #[test]
    fn port_ranges_backwards_or_too_long_are_refused_at_their_place() {
        for ports in ["7005-7000:7005-7000", "1-65535", "7000-7001:8000-8005"] {
            let yaml = format!(
                "on: push\njobs:\n  a:\n    services:\n      s:\n        image: redis\n        ports: ['{ports}']\n    steps:\n      - run: 'true'\n"
            );
            let err = Pipeline::parse(&SourceFile::new("ci.yml", yaml)).unwrap_err();
            let first = err.first().unwrap();
            assert_eq!(first.message, format!("`{ports}` is not a valid port"));
            assert_eq!(first.span.start.to_string(), "7:17");
        }
    }

    #[test]
    fn each_flag_of_a_folded_options_block_is_reported_at_its_own_line() {
        let yaml = "on: push\njobs:\n  a:\n    services:\n      s:\n        image: redis\n        options: >-\n          --health-cmd \"redis-cli ping\"\n          --health-interval 1s\n          --helth-retries 3\n          --cap-add NET_ADMIN\n    steps:\n      - run: 'true'\n";
        let err = Pipeline::parse(&SourceFile::new("ci.yml", yaml)).unwrap_err();
        let found: Vec<(String, String)> = err
            .iter()
            .map(|d| (d.span.start.to_string(), d.message.clone()))
            .collect();
        assert_eq!(
            found,
            [
                (
                    "10:11".to_string(),
                    "unknown flag `--helth-retries` in `options`".to_string()
                ),
                (
                    "11:11".to_string(),
                    "`--cap-add` in `options` is not supported".to_string()
                ),
            ]
        );
        assert_eq!(
            err.first().unwrap().label.as_deref(),
            Some("did you mean `--health-retries`?")
        );
    }
}

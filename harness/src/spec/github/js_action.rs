//! A JavaScript action (`runs.using: node20`, ...), local or mapped to a checkout with
//! `--action`: its `pre` and `main` scripts run with `node` in the job's container (the
//! default image for a job without one), the action's directory mounted read-only, its inputs
//! as `INPUT_<NAME>`, in the job's workspace. A container without `node` skips it with a
//! notice in the step's output. `post` scripts are not run (a warning says so).

use std::path::Path;

use super::action::{Call, field, input_envs, one_step};
use super::step::shell_quote;
use crate::diagnostic::Diagnostic;
use crate::source::Spanned;
use crate::spec::read::Diags;
use crate::spec::{Container, Envs, Healthcheck, RunStep, Step, StepSpec};
use crate::yaml::Node;

/// Where actions' directories are mounted in a step's container.
const MOUNTED_AT: &str = "/pipeline-test/actions";

/// A JavaScript action's `runs`, read from its directory.
pub(super) struct JsAction<'a> {
    /// The directory holding its action.yml.
    pub dir: &'a Path,
    /// Its `runs` mapping.
    pub runs: &'a Node<'a>,
    /// `node20`, ...
    pub using: &'a str,
}

impl JsAction<'_> {
    /// The one step that runs the action for `call`.
    pub(super) fn step(
        &self,
        call: &Call<'_>,
        inputs: Vec<(String, String)>,
        declared: &[String],
        container: Option<&(Container, Envs, Option<Healthcheck>)>,
        diags: &mut Diags,
    ) -> Result<Vec<Step>, String> {
        let at = call.uses.span;
        let script = |key: &str| {
            field(self.runs, key)
                .and_then(|n| n.as_scalar())
                .filter(|s| !s.is_empty())
        };
        let Some(main) = script("main") else {
            let why = format!(
                "the JavaScript action `{}` has no `runs.main`",
                call.uses.value
            );
            diags.push(Diagnostic::new(self.runs.span, why.clone()));
            return Err(why);
        };
        if script("post").is_some() {
            diags.push(
                Diagnostic::new(
                    at,
                    format!(
                        "the `post` script of `{}` is not run: pipeline-test runs `pre` and `main`",
                        call.uses.value
                    ),
                )
                .warning(),
            );
        }
        let dir = std::fs::canonicalize(self.dir).unwrap_or_else(|_| self.dir.to_path_buf());
        let mounted = format!(
            "{MOUNTED_AT}/{}",
            crate::spec::normalize::slugify(&dir.display().to_string())
        );
        let mut c = match container {
            Some((c, _, _)) => c.clone(),
            None => {
                let mut c = Container::of(Spanned::new(String::new(), at));
                c.network_mode = Some(Spanned::new("host".to_string(), at));
                c
            }
        };
        c.span = at;
        c.volumes
            .push(Spanned::new(format!("{}:{mounted}:ro", dir.display()), at));
        let node: Vec<String> = [script("pre"), Some(main)]
            .into_iter()
            .flatten()
            .map(|file| format!("node {}", shell_quote(&format!("{mounted}/{file}"))))
            .collect();
        let notice = format!(
            "notice: the JavaScript action `{}` (using: {}) needs node, which this job's container does not have: skipped",
            call.uses.value, self.using
        );
        let line = format!(
            "if command -v node >/dev/null 2>&1; then {}; else echo {}; fi",
            node.join(" && "),
            shell_quote(&notice)
        );
        let mut envs = container.map(|(_, e, _)| e.clone()).unwrap_or_default();
        input_envs(&mut envs, &inputs, at);
        envs.push("GITHUB_ACTION_PATH", mounted, at);
        let run = RunStep {
            shell: Some(Spanned::new("sh".to_string(), at)),
            script: vec![Spanned::new(line, at)],
            container: Some(c),
            envs,
            ..RunStep::default()
        };
        Ok(one_step(
            call,
            StepSpec::Run(Box::new(run)),
            inputs,
            declared,
        ))
    }
}

//! The build a pipeline runs for: branch, event, commit, author, repository, inputs and
//! secrets. Gitness takes these from the push or the manual trigger; locally they come from
//! the git repository holding the pipeline file, overridden from the command line
//! (`--branch`, `--event`, `--input`, `--secret`), the attribute (`branch = "..."`) and
//! `PIPELINE_TEST_INPUT_<NAME>` / `PIPELINE_TEST_SECRET_<NAME>` environment variables.
//!
//! From the context come the values of `build.*`, `repo.*`, `inputs.*` and
//! `secrets.get(...)` in expressions, and the `DRONE_*` / `CI_*` variables every step sees.
//!
//! # Examples
//!
//! ```
//! use pipeline_test_harness::context::BuildContext;
//!
//! let mut ctx = BuildContext::default();
//! ctx.branch = "main".into();
//! ctx.commit = "0123abc".into();
//! ctx.repo_name = "app".into();
//! let env = ctx.environment();
//! assert!(env.contains(&("DRONE_BRANCH".to_string(), "main".to_string())));
//! assert!(env.contains(&("DRONE_COMMIT_SHA".to_string(), "0123abc".to_string())));
//! assert!(env.contains(&("DRONE_BUILD_EVENT".to_string(), "manual".to_string())));
//! ```

mod environ;
mod git;
pub(crate) mod github;

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::expr::{Scope, Value};

/// Prefix of the environment variables that supply inputs: `PIPELINE_TEST_INPUT_TARGET=prod`
/// sets `inputs.target` (the name is matched case-insensitively against `spec.inputs`).
pub const INPUT_ENV_PREFIX: &str = "PIPELINE_TEST_INPUT_";
/// Prefix of the environment variables that supply secrets: `PIPELINE_TEST_SECRET_TOKEN=...`
/// is `secrets.get("token")` (and `secrets.get("TOKEN")`).
pub const SECRET_ENV_PREFIX: &str = "PIPELINE_TEST_SECRET_";

/// GitHub Actions configuration variables (`vars.<NAME>`) as environment variables:
/// `PIPELINE_TEST_VAR_<NAME>=value`.
pub const VAR_ENV_PREFIX: &str = "PIPELINE_TEST_VAR_";
/// Images for plugin steps: `PIPELINE_TEST_PLUGINS=slack=plugins/slack:1,docker=plugins/docker`.
pub const PLUGINS_ENV: &str = "PIPELINE_TEST_PLUGINS";

/// How a GitHub Actions job that ran ended, for the jobs that need it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct JobResult {
    /// `success`, `failure`, `cancelled` or `skipped`.
    pub result: String,
    /// Its `outputs:`, evaluated when it ended.
    pub outputs: BTreeMap<String, String>,
}

impl JobResult {
    /// A job that ended with `result` and handed on `outputs`.
    pub fn new(result: impl Into<String>, outputs: BTreeMap<String, String>) -> Self {
        JobResult {
            result: result.into(),
            outputs,
        }
    }

    /// A job from how each of its copies (one per matrix combination) ended: `failure` if one
    /// failed, `skipped` if all were skipped, `success` otherwise; the outputs of all.
    ///
    /// ```
    /// use pipeline_test_harness::context::JobResult;
    /// let r = JobResult::of_copies(vec![("success", vec![("a".into(), "1".into())]), ("skipped", vec![])]);
    /// assert_eq!(r.result, "success");
    /// assert_eq!(r.outputs["a"], "1");
    /// ```
    pub fn of_copies(copies: Vec<(&str, Vec<(String, String)>)>) -> Self {
        let result = if copies.iter().any(|(r, _)| *r == "failure") {
            "failure"
        } else if !copies.is_empty() && copies.iter().all(|(r, _)| *r == "skipped") {
            "skipped"
        } else {
            "success"
        };
        let outputs = copies.into_iter().flat_map(|(_, o)| o).collect();
        JobResult::new(result, outputs)
    }
}

/// The build a pipeline runs for.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BuildContext {
    /// The branch built (`build.branch`, `build.target`, `DRONE_BRANCH`).
    pub branch: String,
    /// What started the build (`build.event`): `manual` by default, as a run from the
    /// Gitness UI; `push`, `pull_request`, `tag`, `cron` on Gitness.
    pub event: String,
    /// The commit built (`build.commit`, `build.after`).
    pub commit: String,
    /// The commit before it (`build.before`).
    pub before: String,
    /// The git ref (`build.ref`): `refs/heads/<branch>` by default.
    pub git_ref: String,
    /// The commit message (`build.message`); its first line is `build.title`.
    pub message: String,
    /// `build.author_login`.
    pub author_login: String,
    /// `build.author_name`.
    pub author_name: String,
    /// `build.author_email`.
    pub author_email: String,
    /// The build number (`build.number`, `DRONE_BUILD_NUMBER`).
    pub number: u64,
    /// `repo.name`: the repository's name (from `remote.origin.url`, else its directory).
    pub repo_name: String,
    /// `repo.namespace`: the owner part of the remote URL.
    pub repo_namespace: String,
    /// `repo.git_http_url` / `DRONE_REMOTE_URL`.
    pub remote_url: String,
    /// `repo.branch`: the default branch (`main` unless the remote says otherwise).
    pub default_branch: String,
    /// The root of the git repository, the workspace of every step; `None` outside one.
    pub root: Option<PathBuf>,
    /// Inputs given by the user, over the pipeline's defaults (`--input NAME=VALUE`).
    pub inputs: BTreeMap<String, String>,
    /// Secrets, by name (`--secret NAME=VALUE`, `PIPELINE_TEST_SECRET_<NAME>`).
    pub secrets: BTreeMap<String, String>,
    /// Images for plugin steps that name a plugin without one (`--plugin NAME=IMAGE`,
    /// `PIPELINE_TEST_PLUGINS=name=image,...`).
    pub plugins: BTreeMap<String, String>,
    /// Configuration variables, GitHub Actions' `vars` context (`--var NAME=VALUE`,
    /// `PIPELINE_TEST_VAR_<NAME>`).
    pub vars: BTreeMap<String, String>,
    /// GitHub Actions jobs that have run, by id: `needs.<id>.result` and `.outputs` for the
    /// jobs that need them.
    pub job_results: BTreeMap<String, JobResult>,
    /// GitHub Actions' `github.event`, when given whole (`--event-file payload.json`); made
    /// from git and the build otherwise.
    pub event_payload: Option<crate::expr::github::Data>,
}

impl Default for BuildContext {
    fn default() -> Self {
        BuildContext {
            branch: String::new(),
            event: "manual".into(),
            commit: String::new(),
            before: String::new(),
            git_ref: String::new(),
            message: String::new(),
            author_login: String::new(),
            author_name: String::new(),
            author_email: String::new(),
            number: 1,
            repo_name: String::new(),
            repo_namespace: String::new(),
            remote_url: String::new(),
            default_branch: "main".into(),
            root: None,
            inputs: BTreeMap::new(),
            secrets: BTreeMap::new(),
            plugins: BTreeMap::new(),
            vars: BTreeMap::new(),
            event_payload: None,
            job_results: BTreeMap::new(),
        }
    }
}

impl BuildContext {
    /// Sets the branch (and the ref that goes with it).
    pub fn set_branch(&mut self, branch: impl Into<String>) {
        self.branch = branch.into();
        self.git_ref.clear();
    }

    /// Adds the inputs, secrets and variables given as `PIPELINE_TEST_INPUT_<NAME>`,
    /// `PIPELINE_TEST_SECRET_<NAME>` and `PIPELINE_TEST_VAR_<NAME>` environment variables
    /// (those already set win). Variables whose name or value is not UTF-8 are passed over.
    pub fn with_env(mut self) -> BuildContext {
        let utf8 = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
        for (k, v) in utf8 {
            if let Some(name) = k.strip_prefix(VAR_ENV_PREFIX) {
                self.vars.entry(name.to_string()).or_insert(v);
            } else if let Some(name) = k.strip_prefix(INPUT_ENV_PREFIX) {
                self.inputs.entry(name.to_string()).or_insert(v);
            } else if let Some(name) = k.strip_prefix(SECRET_ENV_PREFIX) {
                self.secrets.entry(name.to_string()).or_insert(v);
            } else if k == PLUGINS_ENV {
                for pair in v.split(',') {
                    if let Some((name, image)) = pair.split_once('=') {
                        self.plugins
                            .entry(name.trim().to_string())
                            .or_insert_with(|| image.trim().to_string());
                    }
                }
            }
        }
        self
    }

    /// The image a plugin named `name` runs in, if one was given.
    pub fn plugin_image(&self, name: &str) -> Option<String> {
        self.plugins.get(name).cloned()
    }

    /// The ref: as set, else `refs/heads/<branch>`.
    pub fn git_ref(&self) -> String {
        if !self.git_ref.is_empty() {
            self.git_ref.clone()
        } else if self.branch.is_empty() {
            String::new()
        } else {
            format!("refs/heads/{}", self.branch)
        }
    }

    /// The repository's slug, `namespace/name`.
    pub fn slug(&self) -> String {
        if self.repo_namespace.is_empty() {
            self.repo_name.clone()
        } else {
            format!("{}/{}", self.repo_namespace, self.repo_name)
        }
    }

    /// The scope expressions are evaluated in: `build`, `repo`, `inputs` (the pipeline's
    /// defaults under the user's values), `matrix` (empty) and the secrets.
    pub fn scope(&self, declared: &[crate::spec::Input]) -> Scope {
        let git_ref = self.git_ref();
        let tag = git_ref
            .strip_prefix("refs/tags/")
            .unwrap_or_default()
            .to_string();
        let title = self.message.lines().next().unwrap_or_default().to_string();
        let mut build: BTreeMap<String, Value> = [
            ("event", self.event.as_str()),
            ("action", ""),
            ("cron", ""),
            ("environment", ""),
            ("link", ""),
            ("branch", self.branch.as_str()),
            ("source", self.branch.as_str()),
            ("before", self.before.as_str()),
            ("after", self.commit.as_str()),
            ("target", self.branch.as_str()),
            ("ref", git_ref.as_str()),
            ("commit", self.commit.as_str()),
            ("tag", tag.as_str()),
            ("title", title.as_str()),
            ("message", self.message.as_str()),
            ("source_repo", ""),
            ("author_login", self.author_login.as_str()),
            ("author_name", self.author_name.as_str()),
            ("author_email", self.author_email.as_str()),
            ("author_avatar", ""),
            ("sender", self.author_login.as_str()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), Value::from(v)))
        .collect();
        build.insert(
            "number".into(),
            Value::Int(i64::try_from(self.number).unwrap_or(i64::MAX)),
        );
        build.insert("debug".into(), Value::Bool(false));
        build.insert("params".into(), Value::Map(BTreeMap::new()));
        let slug = self.slug();
        let mut repo: BTreeMap<String, Value> = [
            ("uid", self.repo_name.as_str()),
            ("name", self.repo_name.as_str()),
            ("namespace", self.repo_namespace.as_str()),
            ("slug", slug.as_str()),
            ("git_http_url", self.remote_url.as_str()),
            ("git_ssh_url", ""),
            ("link", ""),
            ("branch", self.default_branch.as_str()),
            ("config", ""),
            ("visibility", "private"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), Value::from(v)))
        .collect();
        for k in [
            "private",
            "active",
            "trusted",
            "protected",
            "ignore_forks",
            "ignore_pull_requests",
        ] {
            repo.insert(k.into(), Value::Bool(matches!(k, "private" | "active")));
        }
        let mut inputs = BTreeMap::new();
        for i in declared {
            let value = self
                .input(&i.name.value)
                .map(str::to_string)
                .or_else(|| i.default.as_ref().map(|d| d.value.clone()))
                .map_or(Value::Nil, Value::Str);
            inputs.insert(i.name.value.clone(), value);
        }
        for (k, v) in &self.inputs {
            if !declared
                .iter()
                .any(|i| i.name.value.eq_ignore_ascii_case(k))
            {
                inputs.insert(k.clone(), Value::from(v.as_str()));
            }
        }
        let mut scope = Scope::default();
        scope.set("build", Value::Map(build));
        scope.set("repo", Value::Map(repo));
        scope.set("inputs", Value::Map(inputs));
        scope.set("matrix", Value::Map(BTreeMap::new()));
        for (k, v) in &self.secrets {
            scope.add_secret(k.clone(), v.clone());
            // `PIPELINE_TEST_SECRET_TOKEN` answers `secrets.get("token")` as well.
            if k.chars().all(|c| !c.is_ascii_lowercase()) {
                scope.add_secret(k.to_ascii_lowercase(), v.clone());
            }
        }
        scope
    }

    /// The value the user gave for input `name` (matched case-insensitively, as environment
    /// variable names are upper case).
    pub fn input(&self, name: &str) -> Option<&str> {
        self.inputs
            .get(name)
            .or_else(|| {
                self.inputs
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v)
            })
            .map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_has_inputs_with_defaults_under_overrides() {
        let file = crate::source::SourceFile::new(
            "ci.yaml",
            "kind: pipeline\nspec:\n  inputs:\n    target: {default: staging}\n    region: {}\n  stages:\n  - type: ci\n    spec:\n      steps:\n      - {type: run, spec: {container: alpine, script: 'true'}}\n",
        );
        let p = crate::spec::Pipeline::parse(&file).unwrap();
        let mut ctx = BuildContext::default();
        ctx.inputs.insert("REGION".into(), "eu".into());
        let scope = ctx.scope(&p.inputs);
        let inputs = scope.get("inputs").unwrap();
        assert_eq!(
            crate::expr::eval("inputs.target", &scope).unwrap(),
            Value::from("staging")
        );
        assert_eq!(
            crate::expr::eval("inputs.region", &scope).unwrap(),
            Value::from("eu")
        );
        assert!(matches!(inputs, Value::Map(m) if m.len() == 2));
    }
}

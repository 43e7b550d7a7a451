//! The steps of a stage, and what they hold.

use std::time::Duration;

use super::{Envs, Failure, RunPolicy, Strategy, When};
use crate::source::{Span, Spanned};

/// Which parts of a step are evaluated at its turn, from what has run before it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AtTurn {
    /// The `if:` (its policy is then `Always`, and the condition decides at the turn).
    pub condition: Option<Spanned<String>>,
    /// The script and the environment hold `${{ }}` still to evaluate.
    pub fields: bool,
    /// A step of a composite action: its expressions see the action's `inputs` and `steps`.
    pub scope: Option<std::sync::Arc<ActionScope>>,
    /// The actions whose last step this is (innermost first): their `outputs` are evaluated
    /// after it, for the steps that called them.
    pub ends: Vec<std::sync::Arc<ActionScope>>,
}

/// One use of a composite action (`uses: ./path`) in a GitHub Actions job.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ActionScope {
    /// What the step wrote after `uses:`.
    pub uses: String,
    /// Tells this use from others of the same action.
    pub key: String,
    /// The action it is used from, if any (else the job).
    pub parent: Option<std::sync::Arc<ActionScope>>,
    /// The calling step's id (where the outputs go).
    pub id: Option<String>,
    /// The inputs: `with:` values (evaluated in the caller's scope), else the defaults.
    pub inputs: Vec<(String, String)>,
    /// `outputs:`: each name with its `value` expression.
    pub outputs: Vec<(String, String)>,
}

/// One step.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Step {
    /// Where the step starts in the file.
    pub span: Span,
    /// `id:`.
    pub id: Option<Spanned<String>>,
    /// `name:`.
    pub name: Option<Spanned<String>>,
    /// `desc:`.
    pub desc: Option<Spanned<String>>,
    /// Where `type:` was written.
    pub type_span: Span,
    /// `timeout:`.
    pub timeout: Option<Spanned<Duration>>,
    /// `timeout:` when it holds a `${{ }}` expression: checked once expanded.
    pub timeout_expr: Option<Spanned<String>>,
    /// `when:`.
    pub when: Option<When>,
    /// `failure:` strategies.
    pub failure: Vec<Failure>,
    /// `strategy:`.
    pub strategy: Option<Strategy>,
    /// Keys that are valid but not acted on (`inputs`, ...).
    pub ignored: Vec<Spanned<String>>,
    /// The names other containers reach this step's container by: the Gitness slug (id, else
    /// name, else type; lowercase letters and digits) and the name itself when it is a valid
    /// DNS label. Filled in by normalisation.
    pub hostnames: Vec<String>,
    /// What the step does.
    pub spec: StepSpec,
    /// When it runs, once the pipeline is resolved against a build context
    /// ([`crate::resolve`]); [`RunPolicy::OnSuccess`] until then.
    pub policy: RunPolicy,
    /// For a copy made by a `matrix`: its axis values, in axis order.
    pub matrix: Vec<(String, String)>,
    /// A failure of this step does not fail the stage (GitHub Actions' `continue-on-error`,
    /// Drone's `failure: ignore`). Never set for v1 files: Gitness does not act on `failure`.
    pub continue_on_error: bool,
    /// What is evaluated when the step's turn comes rather than when the file is resolved
    /// (GitHub Actions: expressions that read `steps`, `needs`, `job` or `env`).
    pub at_turn: AtTurn,
}

impl Step {
    /// The step's display name: its name, else its id, else its first hostname.
    pub fn display_name(&self) -> String {
        self.name
            .as_ref()
            .or(self.id.as_ref())
            .map(|s| s.value.clone())
            .or_else(|| self.hostnames.first().cloned())
            .unwrap_or_else(|| self.spec.type_name().to_string())
    }
}

/// What a step does, by `type:`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum StepSpec {
    /// `type: run`.
    Run(Box<RunStep>),
    /// `type: background`.
    Background(Box<BackgroundStep>),
    /// `type: script` (the older flat form).
    Script(Box<ScriptStep>),
    /// `type: group`: steps one after another.
    Group(Vec<Step>),
    /// `type: parallel`: steps at the same time.
    Parallel(Vec<Step>),
    /// `type: plugin`.
    Plugin(Box<PluginStep>),
    /// A step type the schema knows but that cannot run outside Harness (`action`,
    /// `barrier`, `bitrise`, `template`, `test`, `jenkins`): skipped with a notice. In a v1
    /// file it holds the `type`; the other formats' readers write the whole reason (`the
    /// action `x` runs only on GitHub`).
    Unsupported(Spanned<String>),
}

/// `type: plugin`: a Drone-style plugin image, configured through `PLUGIN_*` variables.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct PluginStep {
    /// `name` (or `uses`): the plugin, as Gitness's plugin store names it.
    pub name: Option<Spanned<String>>,
    /// `image`: the plugin's image, when given.
    pub image: Option<Spanned<String>>,
    /// `inputs`, `with` or `settings`: each becomes `PLUGIN_<NAME>` (lists comma-joined,
    /// maps as JSON).
    pub settings: Vec<(Spanned<String>, Spanned<String>)>,
    /// `envs` (or `env`).
    pub envs: Envs,
    /// `pull`.
    pub pull: Option<Spanned<Pull>>,
    /// `privileged`.
    pub privileged: bool,
    /// `user`.
    pub user: Option<Spanned<String>>,
    /// `network`.
    pub network: Option<Spanned<String>>,
}

impl StepSpec {
    /// The `type:` keyword of this step.
    pub fn type_name(&self) -> &'static str {
        match self {
            StepSpec::Run(_) => "run",
            StepSpec::Background(_) => "background",
            StepSpec::Script(_) => "script",
            StepSpec::Group(_) => "group",
            StepSpec::Parallel(_) => "parallel",
            StepSpec::Plugin(_) => "plugin",
            StepSpec::Unsupported(_) => "unsupported",
        }
    }

    /// The image the step runs in, if it runs in a container.
    pub fn image(&self) -> Option<&Spanned<String>> {
        match self {
            StepSpec::Run(r) => r.container.as_ref().map(|c| &c.image),
            StepSpec::Background(b) => b.container.as_ref().map(|c| &c.image).or(b.image.as_ref()),
            StepSpec::Script(s) => s.image.as_ref(),
            StepSpec::Plugin(p) => p.image.as_ref(),
            StepSpec::Group(_) | StepSpec::Parallel(_) | StepSpec::Unsupported(_) => None,
        }
    }
}

/// A script: one string, or a list whose items all run.
pub type Script = Vec<Spanned<String>>;

/// `type: run`.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct RunStep {
    /// `shell:` (`sh`, `bash`, `pwsh`, ...).
    pub shell: Option<Spanned<String>>,
    /// `script:`.
    pub script: Script,
    /// `container:`.
    pub container: Option<Container>,
    /// `envs:`.
    pub envs: Envs,
    /// `reports:`.
    pub reports: Vec<Report>,
    /// `outputs:`.
    pub outputs: Vec<Spanned<String>>,
    /// `mount:`.
    pub mount: Vec<Mount>,
    /// A pipe fails when any of its commands fails (`set -o pipefail`), as GitHub Actions runs
    /// `bash` steps. Never set for v1 files.
    pub pipefail: bool,
}

/// `type: background`.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct BackgroundStep {
    /// `shell:`.
    pub shell: Option<Spanned<String>>,
    /// `envs:`.
    pub envs: Envs,
    /// `script:` (ignored by the Gitness runner; see the README).
    pub script: Script,
    /// `run:` (deprecated): a command run in place of the image's own.
    pub run: Option<Spanned<String>>,
    /// `container:`.
    pub container: Option<Container>,
    /// `mount:`.
    pub mount: Vec<Mount>,
    /// `image:` (deprecated; prefer `container:`).
    pub image: Option<Spanned<String>>,
    /// `user:` (deprecated).
    pub user: Option<Spanned<String>>,
    /// `pull:` (deprecated).
    pub pull: Option<Spanned<Pull>>,
    /// `entrypoint:` (deprecated).
    pub entrypoint: Option<Spanned<String>>,
    /// `args:` (deprecated).
    pub args: Vec<Spanned<String>>,
    /// `ports:` (deprecated).
    pub ports: Vec<Spanned<String>>,
    /// `network:` (deprecated).
    pub network: Option<Spanned<String>>,
    /// `privileged:` (deprecated).
    pub privileged: bool,
    /// `resources:` (deprecated; accepted, not acted on).
    pub resources: Option<Span>,
    /// `workdir:` (deprecated).
    pub workdir: Option<Spanned<String>>,
    /// `healthcheck:` in docker compose's form (a pipeline-test extension).
    pub healthcheck: Option<Healthcheck>,
}

/// `type: script`, the older flat form.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ScriptStep {
    /// `image:`.
    pub image: Option<Spanned<String>>,
    /// `connector:`.
    pub connector: Option<Spanned<String>>,
    /// `user:`.
    pub user: Option<Spanned<String>>,
    /// `group:`.
    pub group: Option<Spanned<String>>,
    /// `pull:`.
    pub pull: Option<Spanned<Pull>>,
    /// `shell:`.
    pub shell: Option<Spanned<String>>,
    /// `envs:`.
    pub envs: Envs,
    /// `run:`: the script.
    pub run: Script,
    /// `entrypoint:`.
    pub entrypoint: Option<Spanned<String>>,
    /// `args:`.
    pub args: Vec<Spanned<String>>,
    /// `privileged:`.
    pub privileged: bool,
    /// `network:`.
    pub network: Option<Spanned<String>>,
    /// `reports:`.
    pub reports: Vec<Report>,
    /// `outputs:`.
    pub outputs: Vec<Spanned<String>>,
    /// `resources:` (accepted, not acted on).
    pub resources: Option<Span>,
    /// `mount:`.
    pub mount: Vec<Mount>,
    /// The image is built here first: the build context and its Dockerfile (a GitHub Actions
    /// Docker action with `image: Dockerfile`).
    pub build: Option<(std::path::PathBuf, String)>,
}

/// `container:`, given as an image string or as a mapping.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Container {
    /// Where `container:` was written.
    pub span: Span,
    /// `image`.
    pub image: Spanned<String>,
    /// `connector` (a Harness registry connector; not used locally).
    pub connector: Option<Spanned<String>>,
    /// `credentials`.
    pub credentials: Option<Credentials>,
    /// `pull`.
    pub pull: Option<Spanned<Pull>>,
    /// `entrypoint`.
    pub entrypoint: Option<Spanned<String>>,
    /// `args`.
    pub args: Vec<Spanned<String>>,
    /// `dns`.
    pub dns: Vec<Spanned<String>>,
    /// `dsn_search` (sic, as the schema spells it).
    pub dns_search: Vec<Spanned<String>>,
    /// `extra_hosts` (`host:ip`).
    pub extra_hosts: Vec<Spanned<String>>,
    /// `network`.
    pub network: Option<Spanned<String>>,
    /// `network_mode`.
    pub network_mode: Option<Spanned<String>>,
    /// `privileged`.
    pub privileged: bool,
    /// `workdir`.
    pub workdir: Option<Spanned<String>>,
    /// `ports` (`6379`, `8080:80`).
    pub ports: Vec<Spanned<String>>,
    /// `volumes` (`name:/path` or `/host:/path`).
    pub volumes: Vec<Spanned<String>>,
    /// `user`.
    pub user: Option<Spanned<String>>,
    /// `group`.
    pub group: Option<Spanned<String>>,
    /// `cpu` (cores, as written).
    pub cpu: Option<Spanned<String>>,
    /// `memory` (`512m`, `2g`, or bytes).
    pub memory: Option<Spanned<String>>,
    /// `shm_size`.
    pub shm_size: Option<Spanned<String>>,
}

/// `credentials:` of a container.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Credentials {
    /// `username`.
    pub username: Option<Spanned<String>>,
    /// `password`.
    pub password: Option<Spanned<String>>,
}

/// When to pull an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Pull {
    /// `always`.
    Always,
    /// `never`.
    Never,
    /// `if-not-exists` (the default).
    #[default]
    IfNotExists,
}

/// One `reports:` entry.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Report {
    /// `type` (`junit`).
    pub report_type: Option<Spanned<String>>,
    /// `path`: one or more globs.
    pub path: Vec<Spanned<String>>,
}

/// One `mount:` entry: a stage volume mounted into a step.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Mount {
    /// `name`: the stage volume.
    pub name: Spanned<String>,
    /// `path`: where it is mounted.
    pub path: Spanned<String>,
}

/// One `spec.volumes` entry of a stage.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Volume {
    /// `name`.
    pub name: Spanned<String>,
    /// `type` (`temp`, `host`, `claim`, `config`).
    pub volume_type: Spanned<String>,
    /// `spec.path` of a host volume.
    pub host_path: Option<Spanned<String>>,
}

/// A docker compose style health check of a background step (a pipeline-test extension).
///
/// ```yaml
/// healthcheck:
///   test: ["CMD", "redis-cli", "ping"]
///   interval: 1s
///   timeout: 3s
///   retries: 30
///   start_period: 5s
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Healthcheck {
    /// Where `healthcheck:` was written.
    pub span: Span,
    /// `test`.
    pub test: HealthTest,
    /// `interval` between checks.
    pub interval: Option<Spanned<Duration>>,
    /// `timeout` of one check.
    pub timeout: Option<Spanned<Duration>>,
    /// `retries`: consecutive failures that make the service unhealthy.
    pub retries: Option<Spanned<u32>>,
    /// `start_period`: failures during it do not count.
    pub start_period: Option<Spanned<Duration>>,
    /// `start_interval`: the interval during the start period.
    pub start_interval: Option<Spanned<Duration>>,
}

/// The command of a health check, as docker compose writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HealthTest {
    /// `["CMD", "prog", "arg"]`: run directly.
    Cmd(Vec<String>),
    /// `"cmd"` or `["CMD-SHELL", "cmd"]`: run by `/bin/sh -c`.
    Shell(String),
    /// `["NONE"]` or `disable: true`: the image's check is turned off.
    Disabled,
}

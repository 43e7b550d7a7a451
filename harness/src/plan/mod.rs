//! Pipeline model -> execution plan: what each container of a stage runs, with which
//! environment, aliases and mounts, in what order. Pure logic, no Docker.

use std::time::Duration;

mod container_body;
mod env;
mod mount;
mod step;

pub use container_body::script_text;
pub(crate) use container_body::script_with;
pub use mount::{Mount, VolumeSource};

use crate::images::{ImageMap, Login};
use crate::ports::PortMapping;
use crate::source::Span;
use crate::spec::{Pipeline, Pull, RunPolicy};

/// Where the workspace is mounted in every step, as on Gitness, unless
/// `PIPELINE_TEST_WORKSPACE_PATH` says otherwise.
pub const DEFAULT_WORKSPACE_PATH: &str = crate::spec::Format::HarnessV1.workspace_path();

/// Where a step's script is put in its container (uploaded before it starts, so that a script
/// of any size reaches it: an environment variable or an argument stops at 128 KiB).
pub const SCRIPT_PATH: &str = "/pipeline-test/script";

/// Where a GitHub Actions step's file commands (`$GITHUB_OUTPUT`, ...) are in its container.
pub const FILE_COMMANDS_DIR: &str = "/pipeline-test/files";

/// The file commands of a GitHub Actions step, each as `(variable, file name)`.
pub const FILE_COMMANDS: [(&str, &str); 4] = [
    ("GITHUB_OUTPUT", "output"),
    ("GITHUB_ENV", "env"),
    ("GITHUB_PATH", "path"),
    ("GITHUB_STEP_SUMMARY", "summary"),
];

/// Variables a step's gate exports before its script runs, when the file is there (put in
/// at the step's turn: what earlier GitHub Actions steps added to `$GITHUB_ENV`).
pub const ENV_FILE: &str = "/pipeline-test/env";

/// Defaults for a declared health check's missing fields. Docker's own defaults (30 s between
/// checks) suit production, not tests.
pub const HEALTH_INTERVAL: Duration = Duration::from_millis(500);
/// How long one check may take, by default.
pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(10);
/// Consecutive failures that make a service unhealthy, by default.
pub const HEALTH_RETRIES: u32 = 120;

/// How a step's container behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StepKind {
    /// A background service: started detached, its exit code is only information.
    Service,
    /// A run or script step: its exit code decides the stage.
    Run,
}

/// One container to run.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PlannedStep {
    /// Position in [`StagePlan::steps`].
    pub index: usize,
    /// The step's display name.
    pub name: String,
    /// The YAML `type` (`run`, `background`, `script`).
    pub type_name: &'static str,
    /// Service or run.
    pub kind: StepKind,
    /// The image as the pipeline names it.
    pub image: String,
    /// The image actually used, after `PIPELINE_TEST_IMAGES`.
    pub resolved_image: String,
    /// When to pull.
    pub pull: Pull,
    /// Credentials given in the YAML.
    pub(crate) login: Option<Login>,
    /// Replaces the image's entrypoint.
    pub entrypoint: Option<Vec<String>>,
    /// Replaces the image's command.
    pub cmd: Option<Vec<String>>,
    /// The script (for run steps), as it will be run.
    pub script: Option<String>,
    /// `NAME=value` pairs, in order of precedence (later wins).
    pub env: Vec<(String, String)>,
    /// The working directory.
    pub workdir: Option<String>,
    /// Network aliases (the step's hostnames).
    pub aliases: Vec<String>,
    /// `user`.
    pub user: Option<String>,
    /// `privileged`.
    pub privileged: bool,
    /// Ports the YAML asks to publish (`6379`, `8080:80`).
    pub ports: Vec<PortMapping>,
    /// `dns`.
    pub dns: Vec<String>,
    /// `dsn_search`.
    pub dns_search: Vec<String>,
    /// `extra_hosts`.
    pub extra_hosts: Vec<String>,
    /// `network_mode` (replaces the stage network when set).
    pub network_mode: Option<String>,
    /// `memory`, in bytes.
    pub memory: Option<i64>,
    /// `shm_size`, in bytes.
    pub shm_size: Option<i64>,
    /// `cpu`, in nano-CPUs.
    pub nano_cpus: Option<i64>,
    /// Everything mounted into the container, in order: the workspace, the container's
    /// `volumes`, then the stage volumes the step's `mount:` names.
    pub mounts: Vec<Mount>,
    /// `timeout`.
    pub timeout: Option<Duration>,
    /// A declared health check.
    pub healthcheck: Option<HealthPlan>,
    /// Where the step is written.
    pub span: Span,
    /// When it runs: after passing steps, after a failure, always, or never (and why).
    pub policy: RunPolicy,
    /// Its failure is reported but does not fail the stage (`continue-on-error`).
    pub continue_on_error: bool,
    /// A GitHub Actions run step: what is evaluated at its turn and what it hands on.
    pub github: Option<Box<GitHubStep>>,
    /// Its image is built from this context and Dockerfile before the stage starts.
    pub build: Option<(std::path::PathBuf, String)>,
}

/// What a GitHub Actions run step needs at its turn: its id in `steps.<id>`, an `if:` left to
/// evaluate, and its commands as written when they hold expressions to evaluate then.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GitHubStep {
    /// `id:`, how later steps read its outputs and outcome.
    pub id: Option<String>,
    /// An `if:` evaluated at its turn.
    pub condition: Option<String>,
    /// The commands, to evaluate and make the script from at its turn (`None`: the script is
    /// final).
    pub commands: Option<Vec<String>>,
    /// The shell options line of its script.
    pub set: &'static str,
    /// The composite action whose step it is: its expressions see that action's `inputs`
    /// and `steps`.
    pub scope: Option<std::sync::Arc<crate::spec::ActionScope>>,
    /// The composite actions that end with it (innermost first).
    pub ends: Vec<std::sync::Arc<crate::spec::ActionScope>>,
    /// Its arguments as written, to evaluate at its turn (a Docker action's `args`).
    pub args: Option<Vec<String>>,
    /// The environment variables the file wrote (the job's and the step's) whose values are
    /// evaluated at its turn. Only these: a value the runner sets (a commit message with
    /// `${{` in it, say) is never read as an expression.
    pub env: Vec<String>,
}

impl PlannedStep {
    /// True when it can run at all (its policy is not `Never`).
    pub fn can_run(&self) -> bool {
        !matches!(self.policy, RunPolicy::Never(_))
    }
}

/// A health check to configure on a service, in docker's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HealthPlan {
    /// `["CMD", ...]`, `["CMD-SHELL", "..."]` or `["NONE"]`.
    pub test: Vec<String>,
    /// Between checks.
    pub interval: Duration,
    /// Of one check.
    pub timeout: Duration,
    /// Failures before unhealthy.
    pub retries: u32,
    /// Grace period after start.
    pub start_period: Duration,
}
/// The order steps run in.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Block {
    /// One step, by index.
    Step(usize),
    /// These, one after another.
    Sequence(Vec<Block>),
    /// These, at the same time.
    Parallel(Vec<Block>),
}

/// Everything needed to run one stage.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StagePlan {
    /// The stage's display name.
    pub name: String,
    /// Its position in the pipeline (0-based).
    pub index: usize,
    /// Every container step, in YAML order.
    pub steps: Vec<PlannedStep>,
    /// The order to run them in.
    pub order: Block,
    /// Stage volumes of type `temp`, created for the run.
    pub temp_volumes: Vec<String>,
    /// Where the workspace is mounted.
    pub workspace_path: String,
    /// The pipeline's `options.timeout`.
    pub timeout: Option<Duration>,
    /// Secret values: every occurrence in what is printed becomes `******`.
    pub masks: Vec<String>,
    /// A GitHub Actions job's contexts, which its steps evaluate their expressions against.
    pub github: Option<crate::expr::github::Data>,
    /// A GitHub Actions job's `outputs:` (name, expression), evaluated when it has run.
    pub outputs: Vec<(String, String)>,
}

impl StagePlan {
    /// The distinct images to prepare: (resolved image, strictest pull policy, login).
    /// A stage of one container: it has nobody to talk to by name, so the engine's default
    /// network spares creating one (and its DNS) for it.
    pub(crate) fn is_lone(&self) -> bool {
        self.steps.iter().filter(|s| s.can_run()).count() <= 1
    }

    pub(crate) fn images(&self) -> Vec<(String, Pull, Option<Login>)> {
        let mut out: Vec<(String, Pull, Option<Login>)> = Vec::new();
        for s in self.steps.iter().filter(|s| s.can_run()) {
            match out.iter_mut().find(|(i, _, _)| *i == s.resolved_image) {
                Some(entry) => {
                    if s.pull == Pull::Always {
                        entry.1 = Pull::Always;
                    }
                    if entry.2.is_none() {
                        entry.2 = s.login.clone();
                    }
                }
                None => out.push((s.resolved_image.clone(), s.pull, s.login.clone())),
            }
        }
        out
    }

    /// The steps that are services.
    pub fn services(&self) -> impl Iterator<Item = &PlannedStep> {
        self.steps
            .iter()
            .filter(|s| s.kind == StepKind::Service && s.can_run())
    }
}

/// Settings that come from outside the pipeline file. Start from `PlanOptions::default()`
/// (or the `plan` field of [`crate::RunOptions::from_env`]) and set fields.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct PlanOptions {
    /// Image substitutions.
    pub images: ImageMap,
    /// Where the workspace is mounted ([`DEFAULT_WORKSPACE_PATH`] when `None`).
    pub workspace_path: Option<String>,
    /// Extra environment for every step, lowest precedence (`--env`).
    pub env: Vec<(String, String)>,
    /// The build's variables (`DRONE_BRANCH`, `DRONE_COMMIT_SHA`, ...), from
    /// [`crate::context::BuildContext::environment`].
    pub build_env: Vec<(String, String)>,
    /// The image of run and script steps that name none (`--default-image`).
    pub default_image: Option<String>,
    /// Secret values to mask in everything printed.
    pub masks: Vec<String>,
}

/// Plans stage `index` of `pipeline`.
///
/// # Examples
///
/// ```
/// use pipeline_test_harness::plan::{plan_stage, PlanOptions, StepKind};
/// use pipeline_test_harness::source::SourceFile;
/// use pipeline_test_harness::spec::Pipeline;
///
/// let yaml = "kind: pipeline\nspec:\n  stages:\n  - type: ci\n    spec:\n      steps:\n      - name: cache\n        type: background\n        spec: {container: redis}\n      - name: ping\n        type: run\n        spec: {container: redis, script: redis-cli -h cache ping}\n";
/// let pipeline = Pipeline::parse(&SourceFile::new("ci.yaml", yaml)).unwrap();
/// let plan = plan_stage(&pipeline, 0, &PlanOptions::default());
/// assert_eq!(plan.steps[0].kind, StepKind::Service);
/// assert_eq!(plan.steps[1].entrypoint.as_deref(), Some(&["/bin/sh".to_string()][..]));
/// assert_eq!(plan.steps[1].cmd.as_ref().unwrap()[1], "/bin/sh /pipeline-test/script; exit $?");
/// assert!(plan.steps[1].script.as_deref().unwrap().contains("redis-cli -h cache ping"));
/// ```
pub fn plan_stage(pipeline: &Pipeline, index: usize, options: &PlanOptions) -> StagePlan {
    let stage = &pipeline.stages[index];
    let workspace_path = options
        .workspace_path
        .clone()
        .or_else(|| stage.workspace.as_ref().map(|w| w.value.clone()))
        .unwrap_or_else(|| pipeline.format.workspace_path().to_string());
    let mut planner = step::Planner {
        pipeline,
        stage,
        stage_name: stage.display_name(index),
        stage_index: index,
        options,
        workspace_path: workspace_path.clone(),
        steps: Vec::new(),
    };
    let order = Block::Sequence(planner.blocks(&stage.steps));
    StagePlan {
        name: planner.stage_name.clone(),
        index,
        steps: planner.steps,
        order,
        temp_volumes: stage
            .volumes
            .iter()
            .filter(|v| v.volume_type.as_str() != "host")
            .map(|v| v.name.value.clone())
            .collect(),
        workspace_path,
        timeout: stage
            .timeout
            .as_ref()
            .or(pipeline.options.timeout.as_ref())
            .map(|t| t.value),
        masks: options.masks.clone(),
        github: stage.github.clone(),
        outputs: stage
            .outputs
            .iter()
            .map(|(k, v)| (k.clone(), v.value.clone()))
            .collect(),
    }
}

/// Plans the one stage of a test pipeline whose stage `spec` holds `stage_spec` (YAML lines
/// indented by 6 spaces, `steps:` among them).
#[cfg(test)]
pub(crate) fn plan_for_test(stage_spec: &str) -> StagePlan {
    let yaml = format!("kind: pipeline\nspec:\n  stages:\n  - type: ci\n    spec:\n{stage_spec}");
    let p = Pipeline::parse(&crate::source::SourceFile::new("t.yaml", yaml))
        .unwrap_or_else(|d| panic!("{d}"));
    plan_stage(&p, 0, &PlanOptions::default())
}

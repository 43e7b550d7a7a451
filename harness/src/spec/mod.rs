//! The pipeline model: what a Harness / Gitness v1 pipeline file says, with the place in the
//! file where each value was written.
//!
//! [`Pipeline::parse`] reads YAML text into this model, checking every key and value; errors
//! come back as [`crate::diagnostic::Diagnostics`] that name `file:line:column`.
//!
//! # Examples
//!
//! ```
//! use pipeline_test_harness::spec::{Pipeline, StepSpec};
//! use pipeline_test_harness::source::SourceFile;
//!
//! let yaml = "\
//! kind: pipeline
//! spec:
//!   stages:
//!   - type: ci
//!     spec:
//!       steps:
//!       - name: cache
//!         type: background
//!         spec:
//!           container: redis
//! ";
//! let pipeline = Pipeline::parse(&SourceFile::new("ci.yaml", yaml)).unwrap();
//! let step = &pipeline.stages[0].steps[0];
//! assert_eq!(step.hostnames, ["cache"]);
//! assert!(matches!(step.spec, StepSpec::Background(_)));
//! ```

mod decode;
mod normalize;

use std::time::Duration;

use crate::diagnostic::Diagnostics;
use crate::source::{SourceFile, Span, Spanned};

/// A whole pipeline file (`kind: pipeline`).
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// The file it was read from.
    pub file: SourceFile,
    /// `version:`, if given.
    pub version: Option<Spanned<String>>,
    /// `name:`, if given.
    pub name: Option<Spanned<String>>,
    /// `spec.options`.
    pub options: Options,
    /// `spec.stages`, in order.
    pub stages: Vec<Stage>,
    /// Keys that are valid but that pipeline-test does not act on (`spec.inputs`, ...).
    pub ignored: Vec<Spanned<String>>,
}

/// `spec.options`: settings for the whole pipeline.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `envs`, given to every step.
    pub envs: Envs,
    /// `timeout` of the whole pipeline.
    pub timeout: Option<Spanned<Duration>>,
    /// Keys that are valid but not acted on (`clone`, `registry`, `resources`, ...).
    pub ignored: Vec<Spanned<String>>,
}

/// Environment variables in the order they were written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Envs(pub Vec<EnvVar>);

/// One `NAME: value` of an `envs` mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvVar {
    /// The variable's name.
    pub name: Spanned<String>,
    /// Its value; numbers and booleans are kept as written (`3306`, `true`).
    pub value: Spanned<String>,
}

impl Envs {
    /// The value of `name`, if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|e| e.name.value == name)
            .map(|e| e.value.as_str())
    }

    /// Iterates over `(name, value)` pairs.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|e| (e.name.as_str(), e.value.as_str()))
    }

    /// True when no variable is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The kinds of stage in the schema. Only [`StageType::Ci`] can be run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StageType {
    /// `ci`: steps in containers.
    Ci,
}

/// One stage (`type: ci`).
#[derive(Debug, Clone)]
pub struct Stage {
    /// Where the stage starts in the file.
    pub span: Span,
    /// `id:`.
    pub id: Option<Spanned<String>>,
    /// `name:`.
    pub name: Option<Spanned<String>>,
    /// `desc:`.
    pub desc: Option<Spanned<String>>,
    /// `type:`.
    pub stage_type: Spanned<StageType>,
    /// `spec.envs`.
    pub envs: Envs,
    /// `spec.steps`, in order.
    pub steps: Vec<Step>,
    /// `spec.volumes`.
    pub volumes: Vec<Volume>,
    /// `when:`, an expression.
    pub when: Option<Spanned<String>>,
    /// `failure:` strategies.
    pub failure: Vec<Failure>,
    /// `strategy:` (matrix, for, while).
    pub strategy: Option<Strategy>,
    /// Keys that are valid but not acted on (`platform`, `runtime`, `clone`, `cache`, ...).
    pub ignored: Vec<Spanned<String>>,
}

impl Stage {
    /// The stage's display name: its name, else its id, else `stage N` (1-based).
    pub fn display_name(&self, index: usize) -> String {
        self.name
            .as_ref()
            .or(self.id.as_ref())
            .map(|s| s.value.clone())
            .unwrap_or_else(|| format!("stage {}", index + 1))
    }

    /// Every step of the stage, group and parallel children included, depth first.
    pub fn all_steps(&self) -> Vec<&Step> {
        fn walk<'a>(steps: &'a [Step], out: &mut Vec<&'a Step>) {
            for s in steps {
                out.push(s);
                if let StepSpec::Group(children) | StepSpec::Parallel(children) = &s.spec {
                    walk(children, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.steps, &mut out);
        out
    }
}

/// One step.
#[derive(Debug, Clone)]
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
    /// `when:`, an expression.
    pub when: Option<Spanned<String>>,
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
        }
    }

    /// The image the step runs in, if it runs in a container.
    pub fn image(&self) -> Option<&Spanned<String>> {
        match self {
            StepSpec::Run(r) => r.container.as_ref().map(|c| &c.image),
            StepSpec::Background(b) => b.container.as_ref().map(|c| &c.image).or(b.image.as_ref()),
            StepSpec::Script(s) => s.image.as_ref(),
            StepSpec::Group(_) | StepSpec::Parallel(_) => None,
        }
    }
}

/// A script: one string, or a list whose items all run.
pub type Script = Vec<Spanned<String>>;

/// `type: run`.
#[derive(Debug, Clone, Default)]
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
}

/// `type: background`.
#[derive(Debug, Clone, Default)]
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
}

/// `container:`, given as an image string or as a mapping.
#[derive(Debug, Clone, Default)]
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
pub struct Credentials {
    /// `username`.
    pub username: Option<Spanned<String>>,
    /// `password`.
    pub password: Option<Spanned<String>>,
}

/// When to pull an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
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
pub struct Report {
    /// `type` (`junit`).
    pub report_type: Option<Spanned<String>>,
    /// `path`: one or more globs.
    pub path: Vec<Spanned<String>>,
}

/// One `mount:` entry: a stage volume mounted into a step.
#[derive(Debug, Clone)]
pub struct Mount {
    /// `name`: the stage volume.
    pub name: Spanned<String>,
    /// `path`: where it is mounted.
    pub path: Spanned<String>,
}

/// One `spec.volumes` entry of a stage.
#[derive(Debug, Clone)]
pub struct Volume {
    /// `name`.
    pub name: Spanned<String>,
    /// `type` (`temp`, `host`, `claim`, `config`).
    pub volume_type: Spanned<String>,
    /// `spec.path` of a host volume.
    pub host_path: Option<Spanned<String>>,
}

/// One `failure:` strategy.
#[derive(Debug, Clone)]
pub struct Failure {
    /// `errors`: which errors it applies to.
    pub errors: Vec<Spanned<String>>,
    /// `action.type` (`ignore`, `retry`, `abort`, ...).
    pub action: Option<Spanned<String>>,
}

/// `strategy:` (matrix, for, while).
#[derive(Debug, Clone)]
pub struct Strategy {
    /// `type`.
    pub strategy_type: Spanned<String>,
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
pub enum HealthTest {
    /// `["CMD", "prog", "arg"]`: run directly.
    Cmd(Vec<String>),
    /// `"cmd"` or `["CMD-SHELL", "cmd"]`: run by `/bin/sh -c`.
    Shell(String),
    /// `["NONE"]` or `disable: true`: the image's check is turned off.
    Disabled,
}

impl Pipeline {
    /// Parses and validates a pipeline file.
    ///
    /// # Errors
    ///
    /// Every problem found, each with its `file:line:column`.
    ///
    /// # Examples
    ///
    /// ```
    /// use pipeline_test_harness::spec::Pipeline;
    /// use pipeline_test_harness::source::SourceFile;
    ///
    /// let yaml = "kind: pipelin\nspec:\n  stages: []\n";
    /// let err = Pipeline::parse(&SourceFile::new("ci.yaml", yaml)).unwrap_err();
    /// let places: Vec<String> = err.iter().map(|d| format!("{} {}", d.span.start, d.message)).collect();
    /// assert_eq!(places, ["1:7 unknown kind `pipelin`", "3:3 `stages` is empty"]);
    /// ```
    pub fn parse(file: &SourceFile) -> Result<Pipeline, Diagnostics> {
        let root = crate::yaml::parse(file).map_err(|d| Diagnostics::new(file.clone(), vec![d]))?;
        let mut diags = Vec::new();
        let pipeline = decode::pipeline(file, &root, &mut diags);
        let pipeline = match pipeline {
            Some(mut p) if diags.is_empty() => {
                normalize::normalize(&mut p, &mut diags);
                p
            }
            _ => return Err(Diagnostics::new(file.clone(), diags)),
        };
        if diags.is_empty() {
            Ok(pipeline)
        } else {
            Err(Diagnostics::new(file.clone(), diags))
        }
    }

    /// Reads and parses the file at `path`.
    ///
    /// # Errors
    ///
    /// [`crate::Error::ReadFile`] when it cannot be read, [`crate::Error::Spec`] when it is
    /// not a valid pipeline.
    pub fn from_path(path: impl AsRef<std::path::Path>) -> Result<Pipeline, crate::Error> {
        let file = SourceFile::read(path)?;
        Pipeline::parse(&file).map_err(crate::Error::from)
    }

    /// A one-line summary: stages, steps and images.
    ///
    /// # Examples
    ///
    /// ```
    /// use pipeline_test_harness::spec::Pipeline;
    /// use pipeline_test_harness::source::SourceFile;
    /// let yaml = "kind: pipeline\nspec:\n  stages:\n  - type: ci\n    spec:\n      steps:\n      - name: a\n        type: run\n        spec:\n          container: alpine\n          script: echo hi\n";
    /// let p = Pipeline::parse(&SourceFile::new("ci.yaml", yaml)).unwrap();
    /// assert_eq!(p.summary(), "1 stage, 1 step, images: alpine");
    /// ```
    pub fn summary(&self) -> String {
        let steps: usize = self.stages.iter().map(|s| s.all_steps().len()).sum();
        let mut images: Vec<&str> = Vec::new();
        for stage in &self.stages {
            for step in stage.all_steps() {
                if let Some(image) = step.spec.image() {
                    if !images.contains(&image.as_str()) {
                        images.push(image.as_str());
                    }
                }
            }
        }
        let plural = |n: usize, word: &str| {
            if n == 1 {
                format!("{n} {word}")
            } else {
                format!("{n} {word}s")
            }
        };
        format!(
            "{}, {}, images: {}",
            plural(self.stages.len(), "stage"),
            plural(steps, "step"),
            if images.is_empty() {
                "none".to_string()
            } else {
                images.join(", ")
            }
        )
    }

    /// Finds a stage by name or id.
    pub fn stage(&self, name: &str) -> Option<&Stage> {
        self.select_stage(name).ok().map(|i| &self.stages[i])
    }

    /// The position of the stage whose `name` or `id` is `name`.
    ///
    /// # Errors
    ///
    /// [`crate::Error::StageNotFound`], listing the stages there are.
    ///
    /// # Examples
    ///
    /// ```
    /// use pipeline_test_harness::{Pipeline, SourceFile};
    /// let yaml = "kind: pipeline\nspec:\n  stages:\n  - name: build\n    type: ci\n    spec:\n      steps:\n      - {name: a, type: run, spec: {container: alpine, script: 'true'}}\n";
    /// let p = Pipeline::parse(&SourceFile::new("ci.yaml", yaml)).unwrap();
    /// assert_eq!(p.select_stage("build").unwrap(), 0);
    /// let err = p.select_stage("deploy").unwrap_err();
    /// assert_eq!(err.to_string(), "no stage named `deploy` in ci.yaml; its stages are: build");
    /// ```
    pub fn select_stage(&self, name: &str) -> Result<usize, crate::Error> {
        self.stages
            .iter()
            .position(|s| {
                s.name.as_ref().is_some_and(|n| n.value == name)
                    || s.id.as_ref().is_some_and(|n| n.value == name)
            })
            .ok_or_else(|| crate::Error::StageNotFound {
                name: name.to_string(),
                file: self.file.name().to_string(),
                available: self.stage_names(),
            })
    }

    /// Every stage's display name, in order.
    pub fn stage_names(&self) -> Vec<String> {
        self.stages
            .iter()
            .enumerate()
            .map(|(i, s)| s.display_name(i))
            .collect()
    }
}

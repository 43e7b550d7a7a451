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

mod build;
mod drone;
mod format;
mod github;
mod nextgen;
pub(crate) mod normalize;
mod notes;
mod pipeline;
mod read;
mod step;
mod strategy;
mod v1;

pub use format::Format;
pub use github::ACTIONS_ENV;
pub(crate) use github::{GITHUB_ENV, minutes_of as github_minutes};
pub use step::*;
pub use strategy::*;

use std::time::Duration;

use crate::source::{SourceFile, Span, Spanned};

/// A whole pipeline file (`kind: pipeline`).
#[derive(Debug, Clone)]
#[non_exhaustive]
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
    /// `spec.inputs`, in order.
    pub inputs: Vec<Input>,
    /// Keys that are valid but that pipeline-test does not act on.
    pub ignored: Vec<Spanned<String>>,
    /// Warnings and notes found while reading: the file runs, but these deserve a look.
    pub warnings: Vec<crate::diagnostic::Diagnostic>,
    /// True once `${{ }}`, `matrix` and `when` have been resolved ([`crate::resolve`]).
    pub resolved: bool,
    /// The format the file was written in.
    pub format: Format,
}

/// One `spec.inputs` entry.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Input {
    /// Its name (`inputs.<name>` in expressions).
    pub name: Spanned<String>,
    /// `default`, as text.
    pub default: Option<Spanned<String>>,
    /// `required: true`.
    pub required: bool,
    /// `type:` where the format types its inputs (GitHub Actions: `boolean`, `number`,
    /// `choice`, `string`, `environment`).
    pub kind: Option<String>,
}

/// `spec.options`: settings for the whole pipeline.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Options {
    /// `envs`, given to every step.
    pub envs: Envs,
    /// `timeout` of the whole pipeline.
    pub timeout: Option<Spanned<Duration>>,
    /// `timeout` when it holds a `${{ }}` expression.
    pub timeout_expr: Option<Spanned<String>>,
    /// Keys that are valid but not acted on (`clone`, `registry`, `resources`, ...).
    pub ignored: Vec<Spanned<String>>,
}

/// Environment variables in the order they were written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Envs(pub Vec<EnvVar>);

/// One `NAME: value` of an `envs` mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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
#[non_exhaustive]
pub enum StageType {
    /// `ci`: steps in containers.
    Ci,
    /// `cd`, `custom`, `iacm`, `flag`, `template`, `group`, `parallel`: Harness-only, skipped
    /// with a notice.
    Other,
}

/// One stage (`type: ci`).
#[derive(Debug, Clone)]
#[non_exhaustive]
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
    /// The `type:` as written; for a stage of another format that does not run here, the
    /// reason it is skipped.
    pub type_name: Spanned<String>,
    /// `when:`.
    pub when: Option<When>,
    /// `failure:` strategies.
    pub failure: Vec<Failure>,
    /// `strategy:` (matrix, for, while).
    pub strategy: Option<Strategy>,
    /// Keys that are valid but not acted on (`platform`, `runtime`, `clone`, `cache`, ...).
    pub ignored: Vec<Spanned<String>>,
    /// When it runs, once resolved: after a failed stage, only stages whose `when` allows it.
    pub policy: RunPolicy,
    /// For a copy made by a `matrix`: its axis values.
    pub matrix: Vec<(String, String)>,
    /// How long the stage may run (GitHub Actions' job `timeout-minutes`, NextGen's stage
    /// `timeout`); the pipeline's `options.timeout` when `None`.
    pub timeout: Option<Spanned<Duration>>,
    /// A GitHub Actions job's expression contexts once resolved (with its matrix values):
    /// what steps evaluated at their turn start from.
    pub github: Option<crate::expr::github::Data>,
    /// How long the stage may run when an expression says (GitHub Actions'
    /// `timeout-minutes: ${{ ... }}`), evaluated when resolved.
    pub timeout_expr: Option<Spanned<String>>,
    /// A GitHub Actions job's `outputs:`: each name with its expression, evaluated when the
    /// job has run.
    pub outputs: Vec<(String, Spanned<String>)>,
    /// A GitHub Actions matrix (`None`) or axis (`Some(name)`) computed by an expression,
    /// evaluated when resolved (for a job that needs another, once that one has run).
    pub matrix_exprs: Vec<(Option<Spanned<String>>, Spanned<String>)>,
    /// The jobs it needs (GitHub Actions' `needs`), by id; they run before it.
    pub needs: Vec<String>,
    /// Where the workspace is mounted, when the file says (Drone's `workspace.path`).
    pub workspace: Option<Spanned<String>>,
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

    /// The images its steps name as written, without an expression (`${{ }}`, `${ }`, `<+ >`)
    /// in them, each once, at most [`Stage::LITERAL_IMAGES`]: what can be looked at on the
    /// engine before the pipeline is resolved (see [`crate::warm_up_with_images`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use pipeline_test_harness::{Pipeline, SourceFile};
    /// let yaml = "kind: pipeline\nsteps:\n- name: a\n  image: alpine:3\n  commands: [ls]\n- name: b\n  image: ${IMAGE}\n  commands: [ls]\nservices:\n- name: redis\n  image: redis:7\n";
    /// let p = Pipeline::parse(&SourceFile::new(".drone.yml", yaml)).unwrap();
    /// let images = p.stages[0].literal_images();
    /// assert!(images.contains(&"alpine:3".to_string()) && images.contains(&"redis:7".to_string()));
    /// assert_eq!(images.len(), 2);
    /// ```
    pub fn literal_images(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for step in self.all_steps() {
            let Some(image) = step.spec.image() else {
                continue;
            };
            let image = image.value.trim();
            let expression = ["${", "<+", "$("].iter().any(|e| image.contains(e));
            if image.is_empty() || expression || out.iter().any(|i| i == image) {
                continue;
            }
            if out.len() == Stage::LITERAL_IMAGES {
                break;
            }
            out.push(image.to_string());
        }
        out
    }

    /// How many images [`Stage::literal_images`] gives at most.
    pub const LITERAL_IMAGES: usize = 4;
}

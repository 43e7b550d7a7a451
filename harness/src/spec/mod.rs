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

use crate::diagnostic::Diagnostics;
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
        let docs = crate::yaml::parse_documents(file)
            .map_err(|d| Diagnostics::new(file.clone(), vec![d]))?;
        let format = format::detect(file, &docs[0].1);
        let mut diags = Vec::new();
        if format != Format::Drone {
            if let Some((span, _)) = docs.get(1) {
                diags.push(
                    crate::diagnostic::Diagnostic::new(
                        *span,
                        "a second YAML document in the same file",
                    )
                    .with_label(format!("a {format} file holds one document"))
                    .with_help("move the second pipeline into a file of its own"),
                );
                return Err(Diagnostics::new(file.clone(), diags));
            }
        }
        let root = &docs[0].1;
        let pipeline = match format {
            Format::HarnessV1 => {
                read::reading(v1::DIALECT, || v1::pipeline(file, root, &mut diags))
            }
            Format::GitHubActions => {
                read::reading(github::DIALECT, || github::workflow(file, root, &mut diags))
            }
            Format::Drone => {
                read::reading(drone::DIALECT, || drone::pipelines(file, &docs, &mut diags))
            }
            Format::HarnessNextGen => read::reading(nextgen::DIALECT, || {
                nextgen::pipeline(file, root, &mut diags)
            }),
        };
        let errors = |d: &[crate::diagnostic::Diagnostic]| {
            d.iter()
                .any(|d| d.severity == crate::diagnostic::Severity::Error)
        };
        match pipeline {
            Some(mut p) if !errors(&diags) => {
                normalize::normalize(&mut p, &mut diags);
                if errors(&diags) {
                    return Err(Diagnostics::new(file.clone(), diags));
                }
                if format == Format::HarnessV1 {
                    diags.extend(notes::notes(&p));
                }
                diags.sort_by_key(|d| (d.span.start, d.severity));
                p.warnings = diags;
                Ok(p)
            }
            _ => Err(Diagnostics::new(file.clone(), diags)),
        }
    }

    /// Recomputes hostnames and checks names after steps were renamed or copied (by
    /// [`crate::resolve`]).
    pub(crate) fn renormalize(&mut self) -> Vec<crate::diagnostic::Diagnostic> {
        let mut diags = Vec::new();
        fn clear(steps: &mut [Step]) {
            for s in steps {
                s.hostnames.clear();
                if let StepSpec::Group(c) | StepSpec::Parallel(c) = &mut s.spec {
                    clear(c);
                }
            }
        }
        for stage in &mut self.stages {
            clear(&mut stage.steps);
        }
        normalize::normalize(self, &mut diags);
        diags
    }

    /// [`Pipeline::parse`], with GitHub Actions' remote actions of `actions` (`owner/repo` ->
    /// a local checkout of it) read from those directories, as `uses: ./path` is
    /// (`--action owner/repo=DIR`; `PIPELINE_TEST_ACTIONS` does the same for every parse).
    ///
    /// # Errors
    ///
    /// As [`Pipeline::parse`].
    pub fn parse_with_actions(
        file: &SourceFile,
        actions: &[(String, std::path::PathBuf)],
    ) -> Result<Pipeline, Diagnostics> {
        github::with_actions(actions, || Pipeline::parse(file))
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
                if let Some(image) = step.spec.image().filter(|i| !i.value.is_empty()) {
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
                word: self.format.stage_word(),
                name: name.to_string(),
                file: self.file.name().to_string(),
                // A job is selected by its key, which its `name` may hide.
                available: if self.format == Format::GitHubActions {
                    self.stages
                        .iter()
                        .enumerate()
                        .map(|(i, s)| {
                            s.id.as_ref()
                                .map_or_else(|| s.display_name(i), |id| id.value.clone())
                        })
                        .collect()
                } else {
                    self.stage_names()
                },
            })
    }

    /// The positions of the stages that came from the stage written at `span`: that stage, or,
    /// once resolved, the copies a stage `matrix` made of it.
    pub fn stages_written_at(&self, span: Span) -> impl Iterator<Item = usize> + '_ {
        self.stages
            .iter()
            .enumerate()
            .filter(move |(_, s)| s.span == span)
            .map(|(i, _)| i)
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

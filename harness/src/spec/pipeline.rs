//! A [`Pipeline`] from a file (every format, with every problem at once) and its stages found
//! by name or by where they are written.

use super::{
    Format, Pipeline, Stage, Step, StepSpec, drone, format, github, nextgen, normalize, notes,
    read, v1,
};
use crate::diagnostic::Diagnostics;
use crate::source::{SourceFile, Span};

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
        let (docs, merge_keys) = crate::yaml::parse_with_merge_keys(file)
            .map_err(|d| Diagnostics::new(file.clone(), vec![d]))?;
        let format = format::detect(file, &docs[0].1);
        let mut diags = Vec::new();
        if format == Format::GitHubActions && !merge_keys.is_empty() {
            diags.extend(merge_keys.into_iter().map(github::merge_key));
            return Err(Diagnostics::new(file.clone(), diags));
        }
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

//! A test's pipeline made ready to run: parsed, resolved for its build, its stage (and matrix
//! combination) chosen, the steps that run chosen, its warnings printed once per process, and
//! its run options read.

use std::sync::{Arc, Mutex};

use pipeline_test_harness::resolve::StepChoice;
use pipeline_test_harness::spec::Format;
use pipeline_test_harness::{Pipeline, RunOptions, SourceFile};

use crate::messages;
use crate::runtime::{TestObserver, TestSpec};

impl TestSpec {
    /// The steps that run, for a pipeline of format `format`.
    pub(crate) fn step_choice(&self, format: Format) -> StepChoice {
        match self.steps {
            "all" => StepChoice::All,
            "services" => StepChoice::Services,
            "named" => StepChoice::Named(self.step_names.iter().map(|s| s.to_string()).collect()),
            _ if format == Format::GitHubActions => StepChoice::Services,
            _ => StepChoice::All,
        }
    }
}

/// A test's pipeline, resolved for its build, with the options to run it.
pub(crate) struct Prepared {
    pub pipeline: Pipeline,
    pub options: RunOptions,
    pub stage_index: usize,
    pub observer: Arc<TestObserver>,
    /// The jobs to run first, for a GitHub job that reads their outputs.
    pub upstream: Option<crate::needs::Upstream>,
    /// Where the test's stage is written.
    pub written: pipeline_test_harness::source::Span,
    /// Which of its steps run.
    pub choice: StepChoice,
}

/// Parses and resolves the test's pipeline and reads its options; panics with the reason when
/// the stage cannot run.
#[track_caller]
pub(crate) fn prepare(spec: &TestSpec) -> Prepared {
    let file = SourceFile::new(spec.file, spec.yaml);
    let pipeline = match parsed(&file, spec) {
        Ok(p) => p,
        Err(d) => panic!("{d}"),
    };
    let observer = Arc::new(TestObserver::default());
    let mut options = match RunOptions::from_env(pipeline_dir(spec)) {
        Ok(o) => o,
        Err(e) => panic!("pipeline test `{}`: {e}", spec.name),
    };
    if let Some(branch) = spec.branch {
        options.build.context.set_branch(branch);
    }
    if let Some(event) = spec.event {
        options.build.context.event = event.to_string();
    }
    // Expressions, matrices and `when` for this build; a warning (a secret not supplied) is
    // printed with the test's output.
    let written = pipeline.stages[spec.stage].span;
    let parsed = pipeline;
    let pipeline = match pipeline_test_harness::resolve::resolve(&parsed, &options.build.context) {
        Ok(p) => p,
        Err(d) => panic!("pipeline test `{}`:\n{d}", spec.name),
    };
    let upstream = crate::needs::upstream(&parsed, &pipeline, written);
    // The stage as resolved: a stage matrix before it adds copies; of the test's own stage's
    // copies, the first combination runs.
    let stage_index = match messages::combination(&pipeline, written, spec.matrix) {
        Ok(i) => i.unwrap_or(spec.stage),
        Err(why) => panic!("pipeline test `{}` ({}): {why}", spec.name, spec.file),
    };
    let choice = spec.step_choice(pipeline.format);
    let mut pipeline = pipeline;
    choice.apply(&mut pipeline, stage_index);
    // What the jobs run first hand on is no longer a warning. Warnings about other stages
    // (jobs) are not this test's; each is printed once per process.
    let lines = crate::needs::lines_of(&parsed, written);
    let first_stage = parsed.stages.iter().map(|s| s.span.start.line).min();
    let warnings: Vec<_> = pipeline
        .warnings
        .iter()
        .filter(|d| d.severity == pipeline_test_harness::Severity::Warning)
        .filter(|d| upstream.is_none() || d.until_job_runs.is_none())
        .filter(|d| {
            let line = d.span.start.line;
            lines.contains(&line) || first_stage.is_none_or(|f| line < f)
        })
        .filter(|d| first_time(&format!("{}:{}: {}", spec.path, d.span.start, d.message)))
        .cloned()
        .collect();
    if !warnings.is_empty() {
        print!(
            "{}",
            pipeline_test_harness::Diagnostics::new(file.clone(), warnings)
        );
    }
    if upstream.is_none() {
        if let Some(why) = messages::stage_does_not_run(&pipeline, stage_index) {
            panic!("pipeline test `{}` ({}): {why}", spec.name, spec.file);
        }
    }
    options.observer = observer.clone();
    // A test binary has no other way to clean up when it is interrupted.
    options.engine.handle_signals = true;
    Prepared {
        pipeline,
        options,
        stage_index,
        observer,
        upstream,
        written,
        choice,
    }
}

/// The test's file parsed, once per process and file: the tests of a file share its text.
fn parsed(
    file: &SourceFile,
    spec: &TestSpec,
) -> Result<Pipeline, pipeline_test_harness::Diagnostics> {
    type Parsed = std::collections::HashMap<(&'static str, usize), Pipeline>;
    static PARSED: Mutex<Option<Parsed>> = Mutex::new(None);
    // The text's address tells two embeddings of one path apart (two crates of a workspace).
    let key = (spec.path, spec.yaml.as_ptr() as usize);
    let cached = |p: &Mutex<Option<Parsed>>| {
        let map = p.lock().unwrap_or_else(|e| e.into_inner());
        map.as_ref().and_then(|m| m.get(&key).cloned())
    };
    if let Some(pipeline) = cached(&PARSED) {
        return Ok(pipeline);
    }
    let pipeline = Pipeline::parse(file)?;
    PARSED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_with(Default::default)
        .insert(key, pipeline.clone());
    Ok(pipeline)
}

/// The directory of the test's pipeline file: its repository gives the build's git facts.
pub(crate) fn pipeline_dir(spec: &TestSpec) -> &'static std::path::Path {
    std::path::Path::new(spec.path)
        .parent()
        .unwrap_or(std::path::Path::new(spec.manifest_dir))
}

/// Begins what every stage of this process needs before its first container (the git facts,
/// the engine's API version, what the stage's images offer) beside the reading of the
/// pipeline.
pub(crate) fn warm_up(spec: &TestSpec) {
    pipeline_test_harness::warm_up_with_images(pipeline_dir(spec), spec.images);
}

/// True the first time `key` is seen in this process.
fn first_time(key: &str) -> bool {
    static SEEN: Mutex<Option<std::collections::HashSet<String>>> = Mutex::new(None);
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    seen.get_or_insert_with(Default::default)
        .insert(key.to_string())
}

//! A stage planned for this run: resolved against the build, planned with the run's options,
//! checked for what no engine could run. The runner takes the plan ([`crate::Runner::start`]).

use super::BuildOptions;
use crate::Error;
use crate::plan::{StagePlan, StepKind, plan_stage};
use crate::spec::Pipeline;

/// Stage `index` of `pipeline` as it will run for `build`: resolved against the build (its
/// expressions, `when`, matrix), planned with the build's variables and secrets, its services'
/// host ports left to the engine unless `fixed_host_ports`. Pure: no engine is needed and
/// nothing is created.
///
/// # Errors
///
/// A file that does not resolve ([`Error::Spec`], each problem at its place); a run step that names
/// no image and has no default ([`Error::NoImage`]).
///
/// # Examples
///
/// ```
/// use pipeline_test_harness::{Pipeline, RunOptions, SourceFile, prepare_stage};
///
/// let file = SourceFile::new(
///     "ci.yaml",
///     "kind: pipeline\nspec:\n  stages:\n  - type: ci\n    spec:\n      steps:\n      - {name: test, type: run, spec: {container: alpine, script: 'true'}}\n",
/// );
/// let pipeline = Pipeline::parse(&file).unwrap();
/// let build = RunOptions::from_env("/").unwrap().build;
/// let plan = prepare_stage(&pipeline, 0, &build).unwrap();
/// assert_eq!(plan.steps[0].name, "test");
/// assert_eq!(plan.steps[0].image, "alpine");
/// ```
pub fn prepare_stage(
    pipeline: &Pipeline,
    index: usize,
    build: &BuildOptions,
) -> Result<StagePlan, Error> {
    let resolved;
    let pipeline = if pipeline.resolved {
        pipeline
    } else {
        resolved = crate::resolve::resolve(pipeline, &build.context)?;
        &resolved
    };
    let mut plan_options = build.plan.clone();
    plan_options.build_env = build.context.environment();
    plan_options.masks = crate::mask::secret_masks(build.context.secrets.values());
    let mut plan = plan_stage(pipeline, index, &plan_options);
    if !build.fixed_host_ports {
        // Published on a free port the engine picks: parallel tests do not collide.
        for step in plan
            .steps
            .iter_mut()
            .filter(|s| s.kind == StepKind::Service)
        {
            for m in &mut step.ports {
                m.host = None;
            }
        }
    }
    if let Some(step) = plan
        .steps
        .iter()
        .find(|s| s.can_run() && s.image.is_empty())
    {
        return Err(Error::NoImage {
            step: step.name.clone(),
            place: format!("{}:{}", pipeline.file.name(), step.span.start),
        });
    }
    Ok(plan)
}

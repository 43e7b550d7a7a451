//! Spec model + build context -> the pipeline as it will run: `${{ }}` expanded where Gitness
//! expands it, matrices turned into copies, `when` turned into a [`RunPolicy`] per step and
//! stage, and steps that cannot run locally marked with the reason. Pure logic, no Docker.
//!
//! Every expression that cannot be evaluated is an error at its `file:line:column` (Gitness
//! silently turns it into an empty string); a secret that is asked for and not supplied is a
//! warning, and expands to "" as on Gitness.
//!
//! # Examples
//!
//! ```
//! use pipeline_test_harness::context::BuildContext;
//! use pipeline_test_harness::resolve::resolve;
//! use pipeline_test_harness::spec::{Pipeline, RunPolicy, StepSpec};
//! use pipeline_test_harness::SourceFile;
//!
//! let yaml = r#"kind: pipeline
//! spec:
//!   stages:
//!   - type: ci
//!     spec:
//!       steps:
//!       - name: build
//!         type: run
//!         spec:
//!           container: alpine
//!           script: echo building ${{ build.branch }}
//!       - name: notify
//!         type: run
//!         when: ${{ failure() }}
//!         spec:
//!           container: alpine
//!           script: echo failed
//! "#;
//! let pipeline = Pipeline::parse(&SourceFile::new("ci.yaml", yaml)).unwrap();
//! let mut ctx = BuildContext::default();
//! ctx.branch = "main".into();
//! let resolved = resolve(&pipeline, &ctx).unwrap();
//! let steps = &resolved.stages[0].steps;
//! let StepSpec::Run(build) = &steps[0].spec else { unreachable!() };
//! assert_eq!(build.script[0].value, "echo building main");
//! assert_eq!(steps[1].policy, RunPolicy::OnFailure);
//! ```

mod at_turn;
mod choose;

pub use choose::StepChoice;
mod expand;
mod github;
mod github_matrix;
mod locate;
mod matrix;
mod nextgen;
mod resolver;
mod when;

use self::resolver::Resolver;
use crate::context::BuildContext;
use crate::diagnostic::{Diagnostic, Diagnostics, Severity};
use crate::source::Spanned;
use crate::spec::{Format, Pipeline, RunPolicy};

/// Resolves `pipeline` for the build `ctx` describes.
///
/// # Errors
///
/// Every expression that cannot be evaluated, a required input without a value, a name that
/// collides once expanded: each at its `file:line:column`, warnings included.
pub fn resolve(pipeline: &Pipeline, ctx: &BuildContext) -> Result<Pipeline, Diagnostics> {
    let mut r = Resolver {
        file: pipeline.file.clone(),
        diags: Vec::new(),
        ctx,
        format: pipeline.format,
        step_ids: Vec::new(),
        located: locate::Located::default(),
        expanded: 0,
        over_budget: false,
        unsupplied: Vec::new(),
    };
    for input in &pipeline.inputs {
        if input.required && input.default.is_none() && ctx.input(&input.name.value).is_none() {
            r.unsupplied.push(input.name.value.to_ascii_lowercase());
            let upper = input.name.value.to_ascii_uppercase();
            let d = Diagnostic::new(
                input.name.span,
                format!(
                    "the input `{}` is required and has no value",
                    input.name.value
                ),
            )
            .with_help(format!(
                "pass it with `--input {}=VALUE`, or set {}{upper}",
                input.name.value,
                crate::context::INPUT_ENV_PREFIX
            ));
            // GitHub asks for it when the workflow is dispatched; for other events it is
            // empty.
            r.diags.push(if pipeline.format == Format::GitHubActions {
                d.warning()
            } else {
                d
            });
        }
    }
    let mut base = ctx.scope(&pipeline.inputs);
    if pipeline.format == Format::HarnessNextGen {
        nextgen::scope(&mut base);
    }
    let mut out = pipeline.clone();
    if let Some(t) = out.options.timeout_expr.take() {
        out.options.timeout = r.typed_timeout(t, &base);
    }
    if out.options.envs.iter().any(|(_, v)| v.contains("${{")) {
        for e in &out.options.envs.0 {
            if e.value.value.contains("${{") {
                r.diags.push(
                    Diagnostic::new(
                        e.value.span,
                        "Gitness does not expand `${{ }}` in `options.envs`",
                    )
                    .warning()
                    .with_label("passed to the steps as written, here as on Gitness")
                    .with_help("move it to the stage's or the step's `envs`, where it is expanded"),
                );
            }
        }
    }
    let mut stages = Vec::new();
    'stages: for stage in &pipeline.stages {
        // Placed at the job's key or name, not at the first line of its body.
        let at = stage
            .id
            .as_ref()
            .or(stage.name.as_ref())
            .map_or(stage.span, |n| n.span);
        if stages.len() >= MAX_STAGES {
            r.diags.push(matrix::too_many_stages(at, pipeline.format));
            break;
        }
        let with_github;
        let base = if pipeline.format == Format::GitHubActions {
            let mut scope = base.clone();
            scope.set_github(crate::context::github::contexts(ctx, pipeline, stage));
            with_github = scope;
            &with_github
        } else {
            &base
        };
        let computed = match base.github() {
            Some(contexts) if !stage.matrix_exprs.is_empty() => {
                match r.github_matrix(stage, &contexts.clone()) {
                    Ok(m) => Some(m),
                    Err(reason) => {
                        let mut skipped = r.stage(stage.clone(), base);
                        skipped.policy = RunPolicy::Never(reason);
                        stages.push(skipped);
                        continue;
                    }
                }
            }
            _ => None,
        };
        let written_matrix = computed
            .as_ref()
            .or_else(|| stage.strategy.as_ref().and_then(|s| s.matrix.as_ref()));
        if let Some(d) = written_matrix.and_then(|m| matrix::too_many(m, stage.span)) {
            r.diags.push(d);
            continue;
        }
        let combos = written_matrix.map(matrix::combinations);
        match combos {
            None => stages.push(r.stage(stage.clone(), base)),
            Some(combos) => {
                let name = stage.display_name(stages.len());
                let github = base.github().is_some();
                for (index, combo) in combos.iter().cloned().enumerate() {
                    if stages.len() >= MAX_STAGES {
                        r.diags.push(matrix::too_many_stages(at, pipeline.format));
                        break 'stages;
                    }
                    let mut copy = stage.clone();
                    let mut scope = matrix::with_matrix(base, &combo, &combos);
                    if github {
                        github_matrix::with_matrix(&mut scope, &combo, index, combos.len());
                    }
                    if !copy.name.as_ref().is_some_and(|n| n.value.contains("${{")) {
                        // Where the copies' names come from: the `name`, else the job's key
                        // (not the first line of its body).
                        let span = copy
                            .name
                            .as_ref()
                            .or(copy.id.as_ref())
                            .map_or(copy.span, |n| n.span);
                        let label = if github {
                            github_matrix::label(&name, &combo)
                        } else {
                            matrix::label(&name, &combo)
                        };
                        copy.name = Some(Spanned::new(label, span));
                        copy.id = None;
                    }
                    if !github {
                        copy.envs.0.extend(matrix::axis_envs(&combo, copy.span));
                    }
                    copy.matrix = combo;
                    stages.push(r.stage(copy, &scope));
                }
            }
        }
    }
    out.stages = stages;
    // A problem in a job with a matrix is found once per copy: say it once.
    let mut seen = std::collections::HashSet::new();
    r.diags
        .retain(|d| seen.insert((d.span.start, d.span.end, d.message.clone())));
    // Names are checked again once expanded: what the parse already said is not said twice.
    let said: std::collections::HashSet<_> = out
        .warnings
        .iter()
        .map(|d| (d.span.start, d.span.end, d.message.clone()))
        .collect();
    let again = out.renormalize();
    r.diags.extend(again.into_iter().filter(|d| {
        let key = (d.span.start, d.span.end, d.message.clone());
        !said.contains(&key) && seen.insert(key)
    }));
    crate::mask::diagnostics(&mut r.diags, ctx.secrets.values());
    out.resolved = true;
    let errors = r.diags.iter().any(|d| d.severity == Severity::Error);
    out.warnings.extend(r.diags);
    if errors {
        return Err(Diagnostics::new(out.file.clone(), out.warnings));
    }
    Ok(out)
}

/// The most stages (jobs, pipelines) one file may make, matrix copies included: pipeline-test's
/// own limit, far above any real file, so that a small file cannot ask for gigabytes.
pub const MAX_STAGES: usize = 4096;

#[cfg(test)]
mod tests;

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
mod when;

use crate::context::BuildContext;
use crate::diagnostic::{Diagnostic, Diagnostics, Severity};
use crate::expr::Scope;
use crate::source::{SourceFile, Spanned};
use crate::spec::{Envs, Format, Pipeline, RunPolicy, Stage, StageType, Step, StepSpec};

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
    };
    for input in &pipeline.inputs {
        if input.required && input.default.is_none() && ctx.input(&input.name.value).is_none() {
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

struct Resolver<'a> {
    file: SourceFile,
    diags: Vec<Diagnostic>,
    ctx: &'a BuildContext,
    /// The format the file was written in: its runner's name in messages ("as on Gitness").
    format: Format,
    /// GitHub Actions: the ids of the job's steps, each with whether it is a skipped action.
    step_ids: Vec<(String, bool)>,
    /// The places of the expressions of the value last located.
    located: locate::Located,
    /// Bytes of text the file's expansions made so far, and whether that passed the budget.
    expanded: usize,
    over_budget: bool,
}

impl Resolver<'_> {
    /// Why a stage or step of a kind only its own CI system runs is skipped: a v1 file names
    /// the Harness-only `type`; the other formats' readers write the whole reason.
    fn runs_elsewhere(&self, written: &str, what: &str) -> String {
        match self.format {
            Format::HarnessV1 => format!("a `{written}` {what} runs only on Harness"),
            _ => written.to_string(),
        }
    }

    fn stage(&mut self, mut stage: Stage, scope: &Scope) -> Stage {
        if let Some(c) = scope.github() {
            stage.github = Some(c.clone());
        }
        self.step_ids = stage
            .all_steps()
            .iter()
            .filter_map(|s| {
                let id = s.id.as_ref()?.value.clone();
                Some((id, matches!(s.spec, StepSpec::Unsupported(_))))
            })
            .collect();
        if let Some(t) = stage.timeout_expr.take() {
            stage.timeout = self.typed_timeout(t, scope);
        }
        self.opt(&mut stage.id, scope);
        self.opt(&mut stage.name, scope);
        self.envs(&mut stage.envs, scope);
        stage.policy = self.policy(stage.when.as_ref(), scope);
        if stage.stage_type.value != StageType::Ci {
            stage.policy = RunPolicy::Never(self.runs_elsewhere(&stage.type_name.value, "stage"));
        }
        let steps = std::mem::take(&mut stage.steps);
        stage.steps = steps
            .into_iter()
            .map(|s| self.step(s, scope, None))
            .collect();
        stage
    }

    /// Resolves a step; a matrix step becomes a parallel step holding its copies.
    fn step(&mut self, step: Step, scope: &Scope, parent: Option<&RunPolicy>) -> Step {
        let too_many = step
            .strategy
            .as_ref()
            .and_then(|s| s.matrix.as_ref())
            .and_then(|m| matrix::too_many(m, step.span));
        if let Some(d) = too_many {
            self.diags.push(d);
            return step;
        }
        let combos = step
            .strategy
            .as_ref()
            .and_then(|s| s.matrix.as_ref())
            .map(|m| {
                (
                    matrix::combinations(m),
                    m.concurrency.as_ref().map(|c| c.value),
                )
            });
        let Some((combos, concurrency)) = combos else {
            return self.one_step(step, scope, parent);
        };
        let name = step.display_name();
        let all = combos.clone();
        let copies: Vec<Step> = combos
            .into_iter()
            .map(|combo| {
                let mut copy = step.clone();
                copy.strategy = None;
                let named_by_matrix = copy.name.as_ref().is_some_and(|n| n.value.contains("${{"));
                if !named_by_matrix {
                    let span = copy.name.as_ref().map_or(copy.span, |n| n.span);
                    copy.name = Some(Spanned::new(matrix::label(&name, &combo), span));
                    copy.id = None;
                }
                if let Some(envs) = step_envs(&mut copy.spec) {
                    let mut axis = matrix::axis_envs(&combo, copy.span);
                    axis.append(&mut envs.0);
                    envs.0 = axis;
                }
                copy.matrix = combo.clone();
                let scope = matrix::with_matrix(scope, &combo, &all);
                self.one_step(copy, &scope, parent)
            })
            .collect();
        let lanes = concurrency.map_or(copies.len(), |c| (c as usize).max(1));
        let spec = if lanes >= copies.len() {
            StepSpec::Parallel(copies)
        } else {
            let mut groups: Vec<Vec<Step>> = vec![Vec::new(); lanes];
            for (i, c) in copies.into_iter().enumerate() {
                groups[i % lanes].push(c);
            }
            StepSpec::Parallel(
                groups
                    .into_iter()
                    .map(|g| Step {
                        name: None,
                        id: None,
                        when: None,
                        strategy: None,
                        spec: StepSpec::Group(g),
                        ..step.clone()
                    })
                    .collect(),
            )
        };
        Step {
            name: None,
            id: None,
            when: None,
            strategy: None,
            spec,
            ..step
        }
    }

    fn one_step(&mut self, mut step: Step, scope: &Scope, parent: Option<&RunPolicy>) -> Step {
        // A composite action's step is named in the action's scope, and a name that reads
        // what only the run knows is known then: left as written.
        let runtime_name = scope.github().is_some_and(|c| {
            step.name
                .as_ref()
                .is_some_and(|n| at_turn::reads_at_turn(&n.value, false, c))
        });
        if step.at_turn.scope.is_none() && !runtime_name {
            self.opt(&mut step.id, scope);
            self.opt(&mut step.name, scope);
        }
        if let Some(t) = step.timeout_expr.take() {
            step.timeout = self.typed_timeout(t, scope);
        }
        if let Some(contexts) = scope.github() {
            let contexts = contexts.clone();
            if self.github_at_turn(&mut step, &contexts) {
                return step;
            }
        }
        let own = step.when.as_ref().map(|w| self.policy(Some(w), scope));
        step.policy = match (parent, own) {
            (Some(p @ RunPolicy::Never(_)), _) => p.clone(),
            (_, Some(own)) => own,
            (Some(p), None) => p.clone(),
            (None, None) => RunPolicy::OnSuccess,
        };
        let policy = step.policy.clone();
        match &mut step.spec {
            StepSpec::Run(r) => {
                self.list(&mut r.script, scope);
                self.envs(&mut r.envs, scope);
                if let Some(c) = &mut r.container {
                    self.container(c, scope);
                }
            }
            StepSpec::Script(s) => {
                self.list(&mut s.run, scope);
                self.opt(&mut s.image, scope);
                self.opt(&mut s.entrypoint, scope);
                self.list(&mut s.args, scope);
                self.envs(&mut s.envs, scope);
            }
            StepSpec::Background(b) => {
                self.opt(&mut b.run, scope);
                self.list(&mut b.script, scope);
                self.opt(&mut b.image, scope);
                self.opt(&mut b.entrypoint, scope);
                self.list(&mut b.args, scope);
                if let Some(c) = &mut b.container {
                    self.container(c, scope);
                }
                if scope.github().is_some() {
                    self.envs(&mut b.envs, scope);
                }
                for e in &b.envs.0 {
                    if e.value.value.contains("${{") && scope.github().is_none() {
                        self.diags.push(
                            Diagnostic::new(
                                e.value.span,
                                "Gitness does not expand `${{ }}` in a background step's `envs`",
                            )
                            .warning()
                            .with_label("passed as written, here as on Gitness"),
                        );
                    }
                }
            }
            StepSpec::Plugin(p) => {
                self.opt(&mut p.image, scope);
                for (_, v) in &mut p.settings {
                    self.one(v, scope);
                }
                self.envs(&mut p.envs, scope);
                if p.image.is_none() {
                    let name = p.name.as_ref().map(|n| n.value.clone()).unwrap_or_default();
                    match self.ctx.plugin_image(&name) {
                        Some(image) => {
                            let span = p.name.as_ref().map_or(step.span, |n| n.span);
                            p.image = Some(Spanned::new(image, span));
                        }
                        None => {
                            step.policy = RunPolicy::Never(format!(
                                "the plugin `{name}` comes from Gitness's plugin store; give it an image with `--plugin {name}=IMAGE` (or PIPELINE_TEST_PLUGINS)"
                            ));
                        }
                    }
                }
            }
            StepSpec::Unsupported(t) => {
                step.policy = RunPolicy::Never(self.runs_elsewhere(&t.value, "step"));
            }
            StepSpec::Group(children) | StepSpec::Parallel(children) => {
                let inherited = step.when.is_some().then_some(&policy).or(parent);
                let taken = std::mem::take(children);
                *children = taken
                    .into_iter()
                    .map(|c| self.step(c, scope, inherited))
                    .collect();
            }
        }
        step
    }
}

/// The `envs` of a step that has them.
fn step_envs(spec: &mut StepSpec) -> Option<&mut Envs> {
    match spec {
        StepSpec::Run(r) => Some(&mut r.envs),
        StepSpec::Script(s) => Some(&mut s.envs),
        StepSpec::Background(b) => Some(&mut b.envs),
        StepSpec::Plugin(p) => Some(&mut p.envs),
        _ => None,
    }
}

#[cfg(test)]
mod tests;

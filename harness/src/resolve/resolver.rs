//! The resolver's state and its walk over a pipeline: each stage and step, with its matrix,
//! `when`, expressions and run policy settled for one build.

use super::{at_turn, locate, matrix};
use crate::context::BuildContext;
use crate::diagnostic::Diagnostic;
use crate::expr::Scope;
use crate::source::{SourceFile, Spanned};
use crate::spec::{Envs, Format, RunPolicy, Stage, StageType, Step, StepSpec};

pub(super) struct Resolver<'a> {
    pub(super) file: SourceFile,
    pub(super) diags: Vec<Diagnostic>,
    pub(super) ctx: &'a BuildContext,
    /// The format the file was written in: its runner's name in messages ("as on Gitness").
    pub(super) format: Format,
    /// GitHub Actions: the ids of the job's steps, each with whether it is a skipped action.
    pub(super) step_ids: Vec<(String, bool)>,
    /// The places of the expressions of the value last located.
    pub(super) located: locate::Located,
    /// Bytes of text the file's expansions made so far, and whether that passed the budget.
    pub(super) expanded: usize,
    pub(super) over_budget: bool,
    /// The required inputs without a default that the build does not supply.
    pub(super) unsupplied: Vec<String>,
}

impl Resolver<'_> {
    /// Why a stage or step of a kind only its own CI system runs is skipped: a v1 file names
    /// the Harness-only `type`; the other formats' readers write the whole reason.
    pub(super) fn runs_elsewhere(&self, written: &str, what: &str) -> String {
        match self.format {
            Format::HarnessV1 => format!("a `{written}` {what} runs only on Harness"),
            _ => written.to_string(),
        }
    }

    pub(super) fn stage(&mut self, mut stage: Stage, scope: &Scope) -> Stage {
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
        // The steps' `env` context holds the workflow's and the job's values as evaluated.
        let evaluated = super::github::with_evaluated_env(scope, &stage.envs);
        let scope = evaluated.as_ref().unwrap_or(scope);
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
    pub(super) fn step(&mut self, step: Step, scope: &Scope, parent: Option<&RunPolicy>) -> Step {
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

    pub(super) fn one_step(
        &mut self,
        mut step: Step,
        scope: &Scope,
        parent: Option<&RunPolicy>,
    ) -> Step {
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
pub(super) fn step_envs(spec: &mut StepSpec) -> Option<&mut Envs> {
    match spec {
        StepSpec::Run(r) => Some(&mut r.envs),
        StepSpec::Script(s) => Some(&mut s.envs),
        StepSpec::Background(b) => Some(&mut b.envs),
        StepSpec::Plugin(p) => Some(&mut p.envs),
        _ => None,
    }
}

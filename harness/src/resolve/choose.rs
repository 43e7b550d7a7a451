//! Which steps of a stage run: all of them, its services only (a test fixture: Redis and
//! MySQL up, not the job's own `cargo test`), or the named ones with the services (a
//! migration step, say). The others are reported as not run, saying why.

use crate::spec::{Pipeline, RunPolicy, Step, StepSpec};

/// Which steps of a stage run (`steps = ...` of the attribute, `--steps` of `run`).
///
/// # Examples
///
/// ```
/// use pipeline_test_harness::resolve::StepChoice;
/// assert_eq!(StepChoice::parse("services"), StepChoice::Services);
/// assert_eq!(
///     StepChoice::parse("migrate,seed"),
///     StepChoice::Named(vec!["migrate".into(), "seed".into()])
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum StepChoice {
    /// Every step.
    #[default]
    All,
    /// The services (background steps) only.
    Services,
    /// The services, and the steps of these names (or ids).
    Named(Vec<String>),
}

impl StepChoice {
    /// `all`, `services`, or a comma-separated list of step names.
    pub fn parse(text: &str) -> StepChoice {
        match text.trim() {
            "all" | "" => StepChoice::All,
            "services" => StepChoice::Services,
            names => StepChoice::Named(
                names
                    .split(',')
                    .map(|n| n.trim().to_string())
                    .filter(|n| !n.is_empty())
                    .collect(),
            ),
        }
    }

    /// The named steps that stage `stage` of `pipeline` does not have, with its steps'
    /// names: `Err` saying so.
    ///
    /// # Errors
    ///
    /// A message naming the first unknown step and listing the stage's steps.
    pub fn check(&self, pipeline: &Pipeline, stage: usize) -> Result<(), String> {
        let StepChoice::Named(names) = self else {
            return Ok(());
        };
        let steps = &pipeline.stages[stage].steps;
        for name in names {
            if !steps.iter().any(|s| is_named(s, name)) {
                let all: Vec<String> = steps.iter().map(Step::display_name).collect();
                let hint = crate::diagnostic::did_you_mean(
                    name,
                    &all.iter().map(String::as_str).collect::<Vec<_>>(),
                )
                .map(|m| format!("did you mean `{m}`? "))
                .unwrap_or_default();
                return Err(format!(
                    "no step named `{name}` in `{}`; {hint}its steps are: {}",
                    pipeline.stages[stage].display_name(stage),
                    crate::diagnostic::listed(&all)
                ));
            }
        }
        Ok(())
    }

    /// Marks the steps of stage `stage` that are not chosen as not run.
    pub fn apply(&self, pipeline: &mut Pipeline, stage: usize) {
        let why = match self {
            StepChoice::All => return,
            StepChoice::Services => "only the services run (`steps = \"services\"`)".to_string(),
            StepChoice::Named(n) => format!("not one of the steps chosen ({})", n.join(", ")),
        };
        for step in &mut pipeline.stages[stage].steps {
            let chosen = match self {
                StepChoice::Named(names) => names.iter().any(|n| is_named(step, n)),
                _ => false,
            };
            if !chosen && !matches!(step.spec, StepSpec::Background(_)) {
                step.policy = RunPolicy::Never(why.clone());
            }
        }
    }
}

/// True when `step` is called `name` (its name or its id).
fn is_named(step: &Step, name: &str) -> bool {
    step.display_name() == name || step.id.as_ref().is_some_and(|i| i.value == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    fn job() -> Pipeline {
        let yaml = "on: push\njobs:\n  test:\n    container: redis\n    services:\n      redis: {image: redis}\n    steps:\n      - name: migrate\n        run: echo migrate\n      - run: cargo test\n";
        Pipeline::parse(&SourceFile::new("ci.yml", yaml)).unwrap()
    }

    fn runs(p: &Pipeline) -> Vec<(String, bool)> {
        p.stages[0]
            .steps
            .iter()
            .map(|s| (s.display_name(), !matches!(s.policy, RunPolicy::Never(_))))
            .collect()
    }

    #[test]
    fn services_only_and_named_steps() {
        let mut p = job();
        StepChoice::Services.apply(&mut p, 0);
        assert_eq!(
            runs(&p),
            [
                ("redis".to_string(), true),
                ("migrate".to_string(), false),
                ("Run cargo test".to_string(), false)
            ]
        );
        let mut p = job();
        StepChoice::parse("migrate").apply(&mut p, 0);
        assert_eq!(
            runs(&p)[1..],
            [
                ("migrate".to_string(), true),
                ("Run cargo test".to_string(), false)
            ]
        );
        let mut p = job();
        StepChoice::All.apply(&mut p, 0);
        assert!(runs(&p).iter().all(|(_, r)| *r));
    }

    #[test]
    fn an_unknown_name_lists_the_steps() {
        let err = StepChoice::parse("migrat").check(&job(), 0).unwrap_err();
        assert_eq!(
            err,
            "no step named `migrat` in `test`; did you mean `migrate`? its steps are: redis, migrate, Run cargo test"
        );
    }
}

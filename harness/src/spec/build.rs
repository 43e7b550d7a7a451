//! Constructors the front ends of other formats (GitHub Actions, Drone, NextGen) build the
//! model with: every value keeps the place it was written.

use super::*;
use crate::diagnostic::Diagnostic;

impl Pipeline {
    /// An empty pipeline of `format` read from `file`.
    pub(crate) fn empty(file: &SourceFile, format: Format) -> Pipeline {
        Pipeline {
            file: file.clone(),
            version: None,
            name: None,
            options: Options::default(),
            stages: Vec::new(),
            inputs: Vec::new(),
            ignored: Vec::new(),
            warnings: Vec::new(),
            resolved: false,
            format,
        }
    }
}

impl Stage {
    /// A `ci` stage written at `span`, with no steps yet.
    pub(crate) fn ci(span: Span) -> Stage {
        Stage {
            span,
            id: None,
            name: None,
            desc: None,
            stage_type: Spanned::new(StageType::Ci, span),
            type_name: Spanned::new("ci".to_string(), span),
            envs: Envs::default(),
            steps: Vec::new(),
            volumes: Vec::new(),
            when: None,
            failure: Vec::new(),
            strategy: None,
            ignored: Vec::new(),
            policy: RunPolicy::OnSuccess,
            matrix: Vec::new(),
            timeout: None,
            workspace: None,
            needs: Vec::new(),
            outputs: Vec::new(),
            matrix_exprs: Vec::new(),
            github: None,
            timeout_expr: None,
        }
    }
}

impl Step {
    /// A step written at `span` doing `spec`.
    pub(crate) fn new(span: Span, spec: StepSpec) -> Step {
        Step {
            span,
            id: None,
            name: None,
            desc: None,
            type_span: span,
            timeout: None,
            timeout_expr: None,
            when: None,
            failure: Vec::new(),
            strategy: None,
            ignored: Vec::new(),
            hostnames: Vec::new(),
            spec,
            policy: RunPolicy::OnSuccess,
            matrix: Vec::new(),
            continue_on_error: false,
            at_turn: AtTurn::default(),
        }
    }
}

impl Container {
    /// A container of `image`, written where the image was.
    pub(crate) fn of(image: Spanned<String>) -> Container {
        Container {
            span: image.span,
            image,
            ..Container::default()
        }
    }
}

impl Envs {
    /// Adds `name: value`, both written at `span`.
    pub(crate) fn push(&mut self, name: &str, value: impl Into<String>, span: Span) {
        self.0.push(EnvVar {
            name: Spanned::new(name.to_string(), span),
            value: Spanned::new(value.into(), span),
        });
    }
}

/// Stages in an order where each comes after those it needs (`needs`, `depends_on`); a need
/// that names no stage is an error at its place, a cycle at the first stage in it.
pub(crate) fn order_stages(
    jobs: Vec<(Stage, Vec<Spanned<String>>)>,
    key: &str,
    diags: &mut super::read::Diags,
) -> Vec<Stage> {
    use std::collections::{BTreeSet, HashMap, HashSet};
    let ids: Vec<String> = jobs.iter().map(|(s, _)| id_of(s)).collect();
    let known: HashSet<&str> = ids.iter().map(String::as_str).collect();
    let names: Vec<&str> = ids.iter().map(String::as_str).collect();
    for (_, needs) in &jobs {
        for n in needs {
            if !known.contains(n.value.as_str()) {
                let mut d = Diagnostic::new(
                    n.span,
                    format!("`{key}` names `{}`, which is not in this file", n.value),
                )
                .with_help(format!(
                    "the names are: {}",
                    crate::diagnostic::listed(&names)
                ));
                if let Some(m) = crate::diagnostic::did_you_mean(&n.value, &names) {
                    d = d.with_label(format!("did you mean `{m}`?"));
                }
                diags.push(d);
            }
        }
    }
    // Kahn's algorithm, taking the first ready job in the file's order each time (as a stable
    // order would): O((V + E) log V).
    let mut waiting: Vec<usize> = vec![0; jobs.len()];
    let mut dependents: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, (_, needs)) in jobs.iter().enumerate() {
        let distinct: HashSet<&str> = needs
            .iter()
            .map(|n| n.value.as_str())
            .filter(|n| known.contains(n))
            .collect();
        waiting[i] = distinct.len();
        for n in distinct {
            dependents.entry(n).or_default().push(i);
        }
    }
    let mut ready: BTreeSet<usize> = (0..jobs.len()).filter(|&i| waiting[i] == 0).collect();
    let mut done: HashSet<&str> = HashSet::new();
    let mut order = Vec::with_capacity(jobs.len());
    let mut placed = vec![false; jobs.len()];
    while let Some(i) = ready.pop_first() {
        order.push(i);
        placed[i] = true;
        if done.insert(&ids[i]) {
            for &j in dependents.get(ids[i].as_str()).into_iter().flatten() {
                waiting[j] -= 1;
                if waiting[j] == 0 {
                    ready.insert(j);
                }
            }
        }
    }
    if let Some(first) = placed.iter().position(|p| !p) {
        let (s, needs) = &jobs[first];
        diags.push(
            Diagnostic::new(
                needs[0].span,
                format!("`{}` needs itself through a cycle of `{key}`", id_of(s)),
            )
            .with_help(format!("remove one `{key}` of the cycle")),
        );
    }
    let mut slots: Vec<Option<Stage>> = jobs.into_iter().map(|(s, _)| Some(s)).collect();
    order
        .into_iter()
        .map(|i| slots[i].take().expect("each job is placed once"))
        .collect()
}

fn id_of(s: &Stage) -> String {
    s.id.as_ref()
        .or(s.name.as_ref())
        .map(|i| i.value.clone())
        .unwrap_or_default()
}

/// A pull policy in a format's own spellings (`always`/`never`/`if-not-exists` for Drone,
/// `Always`/`Never`/`IfNotPresent` for NextGen); anything else is an error at its place.
pub(crate) fn pull_policy(
    s: Spanned<String>,
    spellings: [&str; 3],
    diags: &mut super::read::Diags,
) -> Option<Spanned<Pull>> {
    let policies = [Pull::Always, Pull::Never, Pull::IfNotExists];
    match spellings.iter().position(|p| *p == s.as_str()) {
        Some(i) => Some(Spanned::new(policies[i], s.span)),
        None => {
            diags.push(
                Diagnostic::new(s.span, format!("unknown pull policy `{}`", s.value)).with_help(
                    format!(
                        "write {}, {} or {}",
                        spellings[0], spellings[1], spellings[2]
                    ),
                ),
            );
            None
        }
    }
}

/// The error for a container written at `node` without an image.
pub(crate) fn no_image(at: Span, what: &str) -> Diagnostic {
    Diagnostic::new(Span::point(at.start), format!("{what} has no `image`"))
        .with_help("add `image: NAME:TAG`")
}

/// An entrypoint written as a list (`[/bin/sh, -c]`) as the one string the model holds,
/// placed where its first word was written.
pub(crate) fn joined(words: &[Spanned<String>]) -> Option<Spanned<String>> {
    let first = words.first()?;
    let text: Vec<&str> = words.iter().map(|w| w.as_str()).collect();
    Some(Spanned::new(text.join(" "), first.span))
}

/// `value` as a string literal of the resolver's expressions.
pub(crate) fn string_literal(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The expression that reads the secret `name`, as the resolver evaluates it.
pub(crate) fn secret_code(name: &str) -> String {
    format!("secrets.get({})", string_literal(name))
}

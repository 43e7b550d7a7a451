//! A matrix strategy -> the combinations to run, as drone/spec's `parse/expand` computes them,
//! plus `include`, `exclude` and `concurrency` as the schema describes them.

use crate::expr::{Scope, Value};
use crate::source::{Span, Spanned};
use crate::spec::{EnvVar, Matrix};

/// The most combinations a matrix may make: GitHub's own limit per matrix, for every format.
pub(crate) const MAX_COMBINATIONS: usize = 256;

/// The error for a matrix of more than [`MAX_COMBINATIONS`] combinations (before `exclude`),
/// at its first axis (or `at`); `None` for one within the limit. Counted without building them.
pub(crate) fn too_many(m: &Matrix, at: Span) -> Option<crate::diagnostic::Diagnostic> {
    let count = m
        .axis
        .iter()
        .fold(1usize, |n, (_, values)| n.saturating_mul(values.len()))
        .saturating_add(m.include.len());
    if count <= MAX_COMBINATIONS {
        return None;
    }
    let span = m.axis.first().map_or(at, |(name, _)| name.span);
    let shown = if count == usize::MAX {
        "more than 2^64".to_string()
    } else {
        count.to_string()
    };
    Some(
        crate::diagnostic::Diagnostic::new(
            span,
            format!("this matrix makes {shown} combinations; at most {MAX_COMBINATIONS} are allowed"),
        )
        .with_help("GitHub refuses a matrix of more than 256 combinations; split it, or use `include` for the ones you need"),
    )
}

/// The error for the stage at `at`, past [`super::MAX_STAGES`].
pub(crate) fn too_many_stages(
    at: Span,
    format: crate::spec::Format,
) -> crate::diagnostic::Diagnostic {
    crate::diagnostic::Diagnostic::new(
        at,
        format!(
            "the file makes more than {} {}s here, matrix copies included: pipeline-test stops there",
            super::MAX_STAGES,
            format.stage_word()
        ),
    )
    .with_label(format!("this is pipeline-test's limit, not {}'s", format.runner()))
    .with_help("split the file, or make its matrices smaller")
}

/// Every combination of the axis values, in axis order (the last axis varies fastest), less
/// those an `exclude` entry matches, plus the `include` entries (an entry whose pairs all
/// match axis values of existing combinations extends those; any other is a combination of
/// its own).
pub(crate) fn combinations(m: &Matrix) -> Vec<Vec<(String, String)>> {
    let mut combos: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for (name, values) in &m.axis {
        let mut next = Vec::with_capacity(combos.len() * values.len());
        for c in &combos {
            for v in values {
                let mut c = c.clone();
                c.push((name.value.clone(), v.value.clone()));
                next.push(c);
            }
        }
        combos = next;
    }
    if m.axis.is_empty() {
        combos.clear();
    }
    let matches = |combo: &[(String, String)], entry: &[(String, String)]| {
        entry
            .iter()
            .all(|(k, v)| combo.iter().any(|(ck, cv)| ck == k && cv == v))
    };
    combos.retain(|c| !m.exclude.iter().any(|e| !e.is_empty() && matches(c, e)));
    let axis_names: Vec<&str> = m.axis.iter().map(|(n, _)| n.value.as_str()).collect();
    for inc in &m.include {
        let on_axis: Vec<(String, String)> = inc
            .iter()
            .filter(|(k, _)| axis_names.contains(&k.as_str()))
            .cloned()
            .collect();
        let extra: Vec<(String, String)> = inc
            .iter()
            .filter(|(k, _)| !axis_names.contains(&k.as_str()))
            .cloned()
            .collect();
        let mut extended = false;
        if !on_axis.is_empty() && on_axis.len() == axis_names.len().min(on_axis.len()) {
            for c in combos.iter_mut().filter(|c| matches(c, &on_axis)) {
                if on_axis.len() == axis_names.len() || !extra.is_empty() {
                    for (k, v) in &extra {
                        match c.iter_mut().find(|(ck, _)| ck == k) {
                            Some(e) => e.1 = v.clone(),
                            None => c.push((k.clone(), v.clone())),
                        }
                    }
                    extended = true;
                }
            }
        }
        if !extended {
            combos.push(inc.clone());
        }
    }
    combos
}

/// How a copy is called: `test (go=1.22, os=linux)`.
pub(crate) fn label(name: &str, combo: &[(String, String)]) -> String {
    let pairs: Vec<String> = combo.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{name} ({})", pairs.join(", "))
}

/// The scope of one matrix copy: its values, and nil for keys only other combinations have
/// (an `include` that adds a key to one of them), as `matrix.key` is empty there on Gitness.
pub(super) fn with_matrix(
    base: &Scope,
    combo: &[(String, String)],
    all: &[Vec<(String, String)>],
) -> Scope {
    let mut scope = base.clone();
    let mut values: std::collections::BTreeMap<String, Value> = all
        .iter()
        .flatten()
        .map(|(k, _)| (k.clone(), Value::Nil))
        .collect();
    for (k, v) in combo {
        values.insert(k.clone(), Value::from(v.as_str()));
    }
    scope.set("matrix", Value::Map(values));
    scope
}

pub(super) fn axis_envs(combo: &[(String, String)], span: Span) -> Vec<EnvVar> {
    combo
        .iter()
        .map(|(k, v)| EnvVar {
            name: Spanned::new(k.clone(), span),
            value: Spanned::new(v.clone(), span),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{Span, Spanned};

    fn s(v: &str) -> Spanned<String> {
        Spanned::new(v.to_string(), Span::default())
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn two_by_two_with_an_exclude_and_an_include() {
        let m = Matrix {
            axis: vec![
                (s("go"), vec![s("1.21"), s("1.22")]),
                (s("os"), vec![s("linux"), s("mac")]),
            ],
            exclude: vec![pairs(&[("go", "1.21"), ("os", "mac")])],
            include: vec![
                pairs(&[("go", "1.22"), ("os", "linux"), ("race", "yes")]),
                pairs(&[("go", "tip")]),
            ],
            concurrency: None,
        };
        let got = combinations(&m);
        assert_eq!(
            got,
            vec![
                pairs(&[("go", "1.21"), ("os", "linux")]),
                pairs(&[("go", "1.22"), ("os", "linux"), ("race", "yes")]),
                pairs(&[("go", "1.22"), ("os", "mac")]),
                pairs(&[("go", "tip")]),
            ]
        );
        assert_eq!(label("test", &got[0]), "test (go=1.21, os=linux)");
    }
}

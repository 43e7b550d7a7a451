//! GitHub Actions matrices: typed values in the `matrix` context, copies named as GitHub names
//! them, and matrices (or axes) computed by an expression, evaluated once what they read is
//! known.

use super::Resolver;
use crate::diagnostic::Diagnostic;
use crate::expr::github::{Data, Expr, Status, templates};
use crate::source::Spanned;
/// The GitHub contexts of one matrix copy: `matrix` with its values typed (each is JSON
/// text, see the GitHub reader), `strategy` with its index and count.
pub(super) fn with_matrix(
    scope: &mut crate::expr::Scope,
    combo: &[(String, String)],
    index: usize,
    total: usize,
) {
    let matrix = Data::object(combo.iter().map(|(k, v)| (k.clone(), typed(v))));
    scope.set_github_context("matrix", matrix);
    let strategy = Data::object([
        ("fail-fast", Data::Bool(true)),
        ("job-index", Data::Number(index as f64)),
        ("job-total", Data::Number(total as f64)),
        ("max-parallel", Data::Number(total as f64)),
    ]);
    scope.set_github_context("strategy", strategy);
}

/// A matrix value: JSON text as the GitHub reader writes it.
fn typed(v: &str) -> Data {
    crate::expr::github::from_json(v).unwrap_or_else(|_| Data::from(v))
}

/// How GitHub names a matrix copy: `test (stable, ubuntu-latest)`, an object's values in
/// their order.
pub(super) fn label(name: &str, combo: &[(String, String)]) -> String {
    fn flat(v: &Data, out: &mut Vec<String>) {
        match v {
            Data::Object(o) => o.entries().iter().for_each(|(_, v)| flat(v, out)),
            Data::Array(a) => a.items.iter().for_each(|v| flat(v, out)),
            v => out.push(v.to_text()),
        }
    }
    let mut parts = Vec::new();
    for (_, v) in combo {
        flat(&typed(v), &mut parts);
    }
    format!("{name} ({})", parts.join(", "))
}

impl Resolver<'_> {
    /// A job's matrix with what expressions compute (`matrix: ${{ fromJSON(...) }}`, or an
    /// axis), evaluated now. `Err` with the reason when it reads a job that has not run.
    pub(super) fn github_matrix(
        &mut self,
        stage: &crate::spec::Stage,
        contexts: &Data,
    ) -> Result<crate::spec::Matrix, String> {
        let mut m = stage
            .strategy
            .as_ref()
            .and_then(|s| s.matrix.clone())
            .unwrap_or_default();
        for (axis, e) in &stage.matrix_exprs {
            let text = e.value.trim();
            let inner = match templates(text).ok().as_deref() {
                Some([t]) if t.whole == (0, text.len()) => t.inner,
                _ => (0, text.len()),
            };
            let lead = e.value.len() - e.value.trim_start().len();
            let code = text[inner.0..inner.1].trim();
            if let Ok(parsed) = Expr::parse(code, &crate::context::github::names()) {
                let waiting = parsed
                    .paths()
                    .into_iter()
                    .find_map(|(p, _)| match p.as_slice() {
                        [root, job, ..]
                            if root == "needs" && !self.ctx.job_results.contains_key(job) =>
                        {
                            Some(job.clone())
                        }
                        _ => None,
                    });
                if let Some(job) = waiting {
                    let mut d = Diagnostic::new(
                            self.at(e, lead + inner.0),
                            format!("this matrix is computed from the job `{job}`'s outputs: it is known once `{job}` has run"),
                        )
                        .warning()
                        .with_label("known only at run time")
                        .with_help(format!("`pipeline-test run` of the whole workflow runs `{job}` first; alone, this job is skipped"));
                    d.until_job_runs = Some(job.clone());
                    self.diags.push(d);
                    return Err(format!(
                        "its matrix comes from the outputs of the job `{job}`, which has not run (run the whole workflow)"
                    ));
                }
            }
            let spanned = Spanned::new(e.value.clone(), e.span);
            let Some(value) = self.github_eval(
                &spanned,
                (lead + inner.0, lead + inner.1),
                contexts,
                Status::Success,
            ) else {
                return Err("its matrix expression cannot be evaluated".into());
            };
            let json = |v: &Data| Spanned::new(crate::expr::github::to_json_compact(v), e.span);
            let combos = |v: Option<&Data>| -> Vec<Vec<(String, String)>> {
                v.and_then(Data::items)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|c| match c {
                        Data::Object(o) => Some(
                            o.entries()
                                .iter()
                                .map(|(k, v)| (k.clone(), json(v).value))
                                .collect(),
                        ),
                        _ => None,
                    })
                    .collect()
            };
            match (axis, &value) {
                (Some(name), Data::Array(a)) => {
                    m.axis
                        .push((name.clone(), a.items.iter().map(json).collect()));
                }
                (None, Data::Object(o)) => {
                    for (k, v) in o.entries() {
                        match k.as_str() {
                            "include" => m.include.extend(combos(Some(v))),
                            "exclude" => m.exclude.extend(combos(Some(v))),
                            _ => {
                                let values =
                                    v.items().unwrap_or_default().iter().map(json).collect();
                                m.axis.push((Spanned::new(k.clone(), e.span), values));
                            }
                        }
                    }
                }
                (_, other) => {
                    let want = if axis.is_some() {
                        "an array"
                    } else {
                        "an object"
                    };
                    self.diags.push(
                        Diagnostic::new(
                            e.span,
                            format!(
                                "this matrix expression gives {} ({}), not {want}",
                                other.kind(),
                                other.to_text()
                            ),
                        )
                        .with_help("GitHub fails the job here"),
                    );
                    return Err("its matrix expression does not give a matrix".into());
                }
            }
        }
        Ok(m)
    }
}

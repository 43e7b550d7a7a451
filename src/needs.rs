//! A GitHub Actions job under the attribute that reads another job's outputs
//! (`needs.<job>.outputs.*`, a matrix made with `fromJSON(needs...)`): the jobs it needs run
//! first, on the test's runner, as `pipeline-test run` of the whole workflow runs them; then
//! the job is resolved again with what they handed on. A job that needs others without
//! reading their outputs runs alone, as before (its `needs.<job>.result` is `success`).

use pipeline_test_harness::context::{BuildContext, JobResult};
use pipeline_test_harness::source::Span;
use pipeline_test_harness::spec::{Format, Pipeline, RunPolicy};
use pipeline_test_harness::{Runner, resolve::resolve};

/// The jobs to run before the test's own, and the workflow as written to resolve again.
pub(crate) struct Upstream {
    /// The workflow as parsed, before any expression was evaluated.
    pub written: Pipeline,
    /// Where each job to run first is written, each after the jobs it needs.
    pub order: Vec<Span>,
}

/// The jobs the job written at `target` needs (transitively), when `resolved` says that it
/// reads one's outputs before it has run; `None` otherwise.
pub(crate) fn upstream(written: &Pipeline, resolved: &Pipeline, target: Span) -> Option<Upstream> {
    if written.format != Format::GitHubActions {
        return None;
    }
    let lines = lines_of(written, target);
    let reads = resolved
        .warnings
        .iter()
        .any(|d| d.until_job_runs.is_some() && lines.contains(&d.span.start.line));
    if !reads {
        return None;
    }
    let mut order = Vec::new();
    visit(written, target, &mut order, 0);
    order.retain(|s| *s != target);
    Some(Upstream {
        written: written.clone(),
        order,
    })
}

/// The lines of the stage (job) written at `target`: from its key to the next one's.
pub(crate) fn lines_of(written: &Pipeline, target: Span) -> std::ops::Range<u32> {
    let next = written
        .stages
        .iter()
        .map(|s| s.span.start.line)
        .filter(|l| *l > target.start.line)
        .min()
        .unwrap_or(u32::MAX);
    target.start.line..next
}

/// Adds the jobs `at` needs, then `at`, to `order` (depth-first; GitHub refuses cycles, and
/// `depth` stops one here all the same).
fn visit(written: &Pipeline, at: Span, order: &mut Vec<Span>, depth: usize) {
    if order.contains(&at) || depth > written.stages.len() {
        return;
    }
    let Some(job) = written.stages.iter().find(|s| s.span == at) else {
        return;
    };
    for need in &job.needs {
        let found = written
            .stages
            .iter()
            .find(|s| s.id.as_ref().is_some_and(|id| id.value == *need));
        if let Some(s) = found {
            visit(written, s.span, order, depth + 1);
        }
    }
    if !order.contains(&at) {
        order.push(at);
    }
}

/// Runs the jobs of `up` in order on `runner`, each copy of each, and returns the workflow
/// resolved with what they handed on (`needs.<job>.outputs`, `result`).
pub(crate) async fn run_first(
    runner: &Runner,
    up: &Upstream,
    mut context: BuildContext,
) -> Result<Pipeline, String> {
    for &span in &up.order {
        let current = resolve(&up.written, &context).map_err(|d| d.to_string())?;
        let mut copies = Vec::new();
        for i in current.stages_written_at(span) {
            if let RunPolicy::Never(_) = current.stages[i].policy {
                copies.push(("skipped", Vec::new()));
                continue;
            }
            let report = runner
                .run_stage(&current, i)
                .await
                .map_err(|e| e.to_string())?;
            let result = if report.passed() {
                "success"
            } else {
                "failure"
            };
            copies.push((result, report.outputs));
        }
        let id = up
            .written
            .stages
            .iter()
            .find(|s| s.span == span)
            .and_then(|s| s.id.as_ref());
        if let Some(id) = id {
            context
                .job_results
                .insert(id.value.clone(), JobResult::of_copies(copies));
        }
    }
    resolve(&up.written, &context).map_err(|d| d.to_string())
}

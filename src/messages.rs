//! What a pipeline test says when it fails for a reason of its own (not a step's).

use std::time::Duration;

use pipeline_test_harness::duration::format_duration;

fn human(ms: Option<u64>) -> String {
    format_duration(Duration::from_millis(ms.unwrap_or(0)))
}

/// The stage was not up when the test's `timeout` ran out.
pub(crate) fn stage_timed_out(timeout_ms: Option<u64>) -> String {
    format!(
        "the stage did not come up within the test's timeout of {}; everything it had started was removed",
        human(timeout_ms)
    )
}

/// The body was still running when the test's `timeout` ran out.
pub(crate) fn body_timed_out(timeout_ms: Option<u64>) -> String {
    format!(
        "the test body ran past the test's timeout of {}; the stage was torn down (the body's thread is left to finish)",
        human(timeout_ms)
    )
}

/// The verdict line after a failed body.
pub(crate) fn body_failed(stage: &str) -> String {
    format!("test body failed; stage `{stage}` had passed")
}

/// Why the stage of a test does not run for the test's build (its `when`, or a stage type
/// that runs only on Harness), if it does not.
pub(crate) fn stage_does_not_run(
    pipeline: &pipeline_test_harness::Pipeline,
    index: usize,
) -> Option<String> {
    use pipeline_test_harness::spec::Skip;
    let stage = pipeline.stages.get(index)?;
    let name = stage.display_name(index);
    // A test's stage runs alone: nothing before it failed.
    match stage.policy.skip(false)? {
        Skip::OnlyAfterFailure => Some(format!(
            "the stage `{name}` runs only after a failed stage (`when: failure()`), so a test cannot run it alone"
        )),
        other => Some(format!(
            "the stage `{name}` does not run for this build: {}; set the build with `branch = \"...\"` / `event = \"...\"` on the attribute",
            other.reason("stage")
        )),
    }
}

/// Of the copies of the stage written at `written` (one per matrix combination), the one whose
/// axes have the values of `wanted` (`rust=stable,os=linux`), or the first when `wanted` is
/// empty; `Err` listing the combinations when none has them.
pub(crate) fn combination(
    pipeline: &pipeline_test_harness::Pipeline,
    written: pipeline_test_harness::source::Span,
    wanted: &str,
) -> Result<Option<usize>, String> {
    let mut copies = pipeline.stages_written_at(written);
    if wanted.trim().is_empty() {
        return Ok(copies.next());
    }
    let pairs: Vec<(&str, &str)> = wanted
        .split(',')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect();
    let all: Vec<usize> = copies.collect();
    let found = all.iter().copied().find(|&i| {
        let m = &pipeline.stages[i].matrix;
        pairs
            .iter()
            .all(|(k, v)| m.iter().any(|(mk, mv)| mk == k && mv == v))
    });
    match found {
        Some(i) => Ok(Some(i)),
        None => {
            let listed: Vec<String> = all
                .iter()
                .map(|&i| {
                    let m = &pipeline.stages[i].matrix;
                    let pairs: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    format!("`{}`", pairs.join(","))
                })
                .collect();
            Err(format!(
                "no matrix combination has `{wanted}`; the combinations are: {}",
                listed.join(", ")
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages() {
        insta::assert_snapshot!(
            [
                stage_timed_out(Some(3000)),
                body_timed_out(Some(90_000)),
                body_failed("redis"),
            ]
            .join("\n")
        );
    }
}

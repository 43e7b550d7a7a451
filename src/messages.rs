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

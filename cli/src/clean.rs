//! `pipeline-test clean`: removes the runs kept with `--keep` / `PIPELINE_TEST_KEEP`, and
//! what killed processes left behind.

use std::process::ExitCode;

/// `pipeline-test clean`: removes kept and leftover runs, one line each.
pub(crate) fn clean() -> ExitCode {
    let runtime = match super::runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    match runtime.block_on(pipeline_test_harness::clean()) {
        Ok(cleaned) => {
            for line in &cleaned.runs {
                println!("removed {line}");
            }
            if cleaned.runs.is_empty() {
                println!("nothing to remove: no kept or leftover runs");
            }
            for e in &cleaned.errors {
                eprintln!("error: {e}");
            }
            if cleaned.errors.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

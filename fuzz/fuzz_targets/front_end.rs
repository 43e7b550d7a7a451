//! Every front end (GitHub Actions, Drone, Harness NextGen, Gitness v1): arbitrary text as a
//! file of the format its first byte picks, linted as `pipeline-test lint` does (parsed,
//! resolved, its diagnostics rendered). It must return, never panic or grow without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pipeline_test_harness::SourceFile;
use pipeline_test_harness::Pipeline;
use pipeline_test_harness::context::BuildContext;

/// The file names that pick each format, and the text every file of it starts with.
const FORMATS: [(&str, &str); 4] = [
    (".github/workflows/ci.yml", "on: push\n"),
    (".drone.yml", "kind: pipeline\ntype: docker\n"),
    (".harness/pipeline.yaml", "pipeline:\n"),
    (".harness/v1.yaml", "kind: pipeline\nversion: 1\n"),
];

fuzz_target!(|data: &[u8]| {
    let Some((first, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let (name, head) = FORMATS[usize::from(*first) % FORMATS.len()];
    let file = SourceFile::new(name, format!("{head}{text}"));
    match Pipeline::parse(&file) {
        Err(d) => {
            let _ = d.to_string();
        }
        Ok(p) => match pipeline_test_harness::resolve::resolve(&p, &BuildContext::default()) {
            Err(d) => {
                let _ = d.to_string();
            }
            Ok(r) => {
                let _ = pipeline_test_harness::Diagnostics::new(file.clone(), r.warnings).to_string();
            }
        },
    }
});

//! Feeds arbitrary text to the pipeline parser: it must return, never panic or hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pipeline_test_harness::SourceFile;
use pipeline_test_harness::Pipeline;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let file = SourceFile::new("fuzz.yaml", text);
        if let Err(diags) = Pipeline::parse(&file) {
            // Rendering reads the source lines back: exercise it too.
            let _ = diags.to_string();
        }
    }
});

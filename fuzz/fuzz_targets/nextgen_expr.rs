//! Harness NextGen's `<+ >` expressions: arbitrary text as a Run step's command and as its
//! `when` condition (JEXL), through the whole NextGen front end and the resolver.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pipeline_test_harness::SourceFile;
use pipeline_test_harness::Pipeline;
use pipeline_test_harness::context::BuildContext;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // As a double-quoted YAML scalar, so that any text is one value.
    let quoted = format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n"));
    let yaml = format!(
        "pipeline:\n  name: p\n  identifier: p\n  variables:\n    - name: v\n      type: String\n      value: {quoted}\n  stages:\n    - stage:\n        name: s\n        identifier: s\n        type: CI\n        spec:\n          cloneCodebase: false\n          platform: {{os: Linux, arch: Amd64}}\n          runtime: {{type: Docker, spec: {{}}}}\n          execution:\n            steps:\n              - step:\n                  type: Run\n                  name: r\n                  identifier: r\n                  when:\n                    stageStatus: Success\n                    condition: {quoted}\n                  spec:\n                    image: alpine\n                    shell: Sh\n                    command: {quoted}\n"
    );
    let file = SourceFile::new("pipeline.yaml", yaml);
    match Pipeline::parse(&file) {
        Err(d) => {
            let _ = d.to_string();
        }
        Ok(p) => {
            if let Err(d) = pipeline_test_harness::resolve::resolve(&p, &BuildContext::default()) {
                let _ = d.to_string();
            }
        }
    }
});

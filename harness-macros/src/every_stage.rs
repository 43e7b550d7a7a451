//! The expansion of `pipeline_tests!("file.yaml")`: a test per stage that has something to run,
//! and per matrix combination where the file states them.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Ident, LitStr};

use crate::entry::{load, spec_tokens};

/// True when a stage has something to run here: a `ci` stage with a step that is not
/// skipped for running only on its CI system (`uses:` actions, Harness-only step types).
fn runnable(stage: &pipeline_test_harness::spec::Stage) -> bool {
    use pipeline_test_harness::spec::{StageType, StepSpec};
    stage.stage_type.value == StageType::Ci
        && stage.all_steps().iter().any(|s| {
            !matches!(
                s.spec,
                StepSpec::Unsupported(_) | StepSpec::Group(_) | StepSpec::Parallel(_)
            )
        })
}

/// `pipeline_tests!("file.yaml")`: one test per stage (per job of a GitHub Actions workflow,
/// per pipeline of a Drone file) that has something to run.
pub(crate) fn pipeline_tests(input: TokenStream) -> TokenStream {
    match expand_all(input) {
        Ok(ts) => ts,
        Err(e) => e.to_compile_error(),
    }
}

fn expand_all(input: TokenStream) -> syn::Result<TokenStream> {
    let lit: LitStr = syn::parse2(input).map_err(|e| {
        syn::Error::new(
            e.span(),
            "expected the pipeline file: `pipeline_tests!(\"ci/pipeline.yaml\");`",
        )
    })?;
    let (pipeline, abs) = load(&lit)?;
    // A stage with a matrix is a test per combination, when its combinations are known
    // without a build (written in the file, not computed from another job's outputs).
    let resolved = pipeline_test_harness::resolve::resolve(
        &pipeline,
        &pipeline_test_harness::context::BuildContext::default(),
    )
    .ok();
    let mut named: Vec<(usize, String, String)> = Vec::new();
    for (i, name) in pipeline.stage_names().into_iter().enumerate() {
        let copies: Vec<&Vec<(String, String)>> = resolved
            .iter()
            .flat_map(|r| {
                r.stages_written_at(pipeline.stages[i].span)
                    .map(|c| &r.stages[c].matrix)
            })
            .filter(|m| !m.is_empty())
            .collect();
        if copies.len() < 2 {
            named.push((i, name, String::new()));
            continue;
        }
        for m in copies {
            let values: Vec<&str> = m.iter().map(|(_, v)| v.as_str()).collect();
            let pairs: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v}")).collect();
            named.push((i, format!("{name} {}", values.join(" ")), pairs.join(",")));
        }
    }
    let mut used: Vec<String> = Vec::new();
    let mut tests = Vec::new();
    for (i, name, matrix) in named {
        if !runnable(&pipeline.stages[i]) {
            continue;
        }
        let ident = test_ident(&name, i, &used);
        used.push(ident.clone());
        let test = Ident::new(&ident, lit.span());
        let images = pipeline.stages[i].literal_images();
        let spec = spec_tokens(
            &lit,
            &abs,
            (i, &images),
            None,
            &test,
            (None, None),
            (false, None, Some(&LitStr::new(&matrix, lit.span()))),
        );
        tests.push(quote! {
            #[::core::prelude::v1::test]
            fn #test() {
                fn __pipeline_test_adapter(_: &::pipeline_test::Stage) {}
                ::pipeline_test::__private::run_sync(#spec, __pipeline_test_adapter)
            }
        });
    }
    Ok(quote!(#(#tests)*))
}

/// The test's name for stage `name` (the `index`th): its letters and digits, lower case, with
/// `_` between words; `stage_...` where that is no identifier; `_2`, `_3` after a name `used`.
fn test_ident(name: &str, index: usize, used: &[String]) -> String {
    let mut ident: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    ident = ident.trim_matches('_').to_string();
    while ident.contains("__") {
        ident = ident.replace("__", "_");
    }
    if ident.is_empty() || ident.starts_with(|c: char| c.is_ascii_digit()) {
        ident = format!("stage_{ident}");
    }
    if syn::parse_str::<Ident>(&ident).is_err() {
        ident = format!("stage_{}", index + 1);
    }
    let base = ident.clone();
    let mut n = 2;
    while used.contains(&ident) {
        ident = format!("{base}_{n}");
        n += 1;
    }
    ident
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_names() {
        assert_eq!(test_ident("Build & Test", 0, &[]), "build_test");
        assert_eq!(test_ident("3rd", 0, &[]), "stage_3rd");
        assert_eq!(test_ident("---", 4, &[]), "stage_");
        assert_eq!(test_ident("fn", 4, &[]), "stage_5");
        assert_eq!(test_ident("lint", 1, &["lint".into()]), "lint_2");
    }
}

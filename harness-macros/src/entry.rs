//! The expansion of `#[pipeline_test]` and `pipeline_tests!`, on proc_macro2.

use std::path::{Path, PathBuf};

use pipeline_test_harness::Pipeline;
use pipeline_test_harness::SourceFile;
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::spanned::Spanned;
use syn::{Ident, ItemFn, LitStr, ReturnType, Type};

use crate::args::{Args, Steps, parser};

/// Reads and validates the pipeline at `lit` (relative to the crate's directory).
fn load(lit: &LitStr) -> syn::Result<(Pipeline, PathBuf)> {
    let rel = lit.value();
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_default();
    let abs = dir.join(&rel);
    let text = std::fs::read_to_string(&abs).map_err(|e| {
        syn::Error::new(
            lit.span(),
            format!("cannot read `{rel}` (paths are relative to the crate's directory, CARGO_MANIFEST_DIR): {e}"),
        )
    })?;
    let pipeline = Pipeline::parse(&SourceFile::new(rel.clone(), text)).map_err(|d| {
        let at = d
            .first()
            .map(|f| format!(":{}", f.span.start))
            .unwrap_or_default();
        syn::Error::new(lit.span(), format!("invalid pipeline {rel}{at}\n{d}"))
    })?;
    Ok((pipeline, abs))
}

fn select_stage(p: &Pipeline, args: &Args) -> syn::Result<usize> {
    let names = p.stage_names();
    let listed = names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    match &args.stage {
        Some(lit) => p
            .select_stage(&lit.value())
            .map_err(|e| syn::Error::new(lit.span(), e)),
        None if p.stages.len() == 1 => Ok(0),
        None => Err(syn::Error::new(
            args.path.span(),
            format!(
                "`{}` has {} {}s ({listed}); choose one with `{} = \"{}\"`, or make every {} a test with `pipeline_tests!(\"{}\")`",
                args.path.value(),
                p.stages.len(),
                p.format.stage_word(),
                p.format.stage_option(),
                names[0],
                p.format.stage_word(),
                args.path.value()
            ),
        )),
    }
}

/// The steps named by `steps = [...]` are steps of the stage: an error at the first that is
/// not, listing them.
fn check_steps(p: &Pipeline, args: &Args, stage: usize) -> syn::Result<()> {
    let Some(Steps::Names(names)) = &args.steps else {
        return Ok(());
    };
    for lit in names {
        let one = pipeline_test_harness::resolve::StepChoice::Named(vec![lit.value()]);
        one.check(p, stage)
            .map_err(|e| syn::Error::new(lit.span(), e))?;
    }
    Ok(())
}

fn is_test_attr(attr: &syn::Attribute) -> bool {
    let path = attr.path();
    path.segments.last().is_some_and(|s| s.ident == "test")
}

/// Checks the body's arguments: nothing, or `stage: &Stage`.
fn check_signature(f: &ItemFn) -> syn::Result<bool> {
    let sig = &f.sig;
    if !sig.generics.params.is_empty() {
        return Err(syn::Error::new(
            sig.generics.span(),
            "a pipeline test cannot be generic",
        ));
    }
    if let Some(c) = &sig.constness {
        return Err(syn::Error::new(
            c.span(),
            "a pipeline test cannot be `const`",
        ));
    }
    if let Some(v) = &sig.variadic {
        return Err(syn::Error::new(
            v.span(),
            "a pipeline test cannot be variadic",
        ));
    }
    let takes_stage = match sig.inputs.len() {
        0 => false,
        1 => {
            let arg = &sig.inputs[0];
            let ok = match arg {
                syn::FnArg::Typed(t) => matches!(&*t.ty, Type::Reference(r)
                    if r.mutability.is_none()
                        && matches!(&*r.elem, Type::Path(p) if p.qself.is_none()
                            && p.path.segments.last().is_some_and(|s| s.ident == "Stage" && s.arguments.is_empty()))),
                syn::FnArg::Receiver(_) => false,
            };
            if !ok {
                return Err(syn::Error::new(
                    arg.span(),
                    "a pipeline test takes nothing, or `stage: &Stage` (pipeline_test::Stage): the running stage, to reach its services",
                ));
            }
            true
        }
        _ => {
            return Err(syn::Error::new(
                sig.inputs[1].span(),
                "a pipeline test takes at most one argument, `stage: &Stage`",
            ));
        }
    };
    if let ReturnType::Type(_, ty) = &sig.output {
        if !may_be_a_test_result(ty) {
            return Err(syn::Error::new(
                ty.span(),
                "a pipeline test returns `()` or `Result<(), E>` where `E: Debug`",
            ));
        }
    }
    Ok(takes_stage)
}

/// False for return types that are surely not `()` or a `Result`. Aliases such as
/// `io::Result<()>` pass here; the runtime's `TestResult` bound checks them in test builds.
fn may_be_a_test_result(ty: &Type) -> bool {
    const NOT: &[&str] = &[
        "bool", "char", "str", "String", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16",
        "i32", "i64", "i128", "isize", "f32", "f64", "Option", "Vec", "Box",
    ];
    match ty {
        Type::Tuple(t) => t.elems.is_empty(),
        Type::Paren(p) => may_be_a_test_result(&p.elem),
        Type::Group(g) => may_be_a_test_result(&g.elem),
        Type::Path(p) => p
            .path
            .segments
            .last()
            .is_some_and(|s| !NOT.contains(&s.ident.to_string().as_str())),
        Type::Never(_) | Type::Macro(_) => true,
        _ => false,
    }
}

/// `#[pipeline_test("file.yaml", stage = "...", timeout = "...")]`.
pub(crate) fn pipeline_test(args: TokenStream, item: TokenStream) -> TokenStream {
    let input: ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(e) => {
            let mut out = e.to_compile_error();
            out.extend(item);
            return out;
        }
    };
    match expand(args, &input) {
        Ok(ts) => ts,
        Err(e) => {
            // Emit the function anyway, so that IDEs keep understanding it.
            let mut out = e.to_compile_error();
            out.extend(quote! {
                #[allow(dead_code)]
                #input
            });
            out
        }
    }
}

fn expand(args: TokenStream, f: &ItemFn) -> syn::Result<TokenStream> {
    let mut errors: Option<syn::Error> = None;
    let mut push = |e: syn::Error| match &mut errors {
        Some(all) => all.combine(e),
        None => errors = Some(e),
    };
    for attr in &f.attrs {
        if is_test_attr(attr) {
            push(syn::Error::new_spanned(
                attr,
                "`#[pipeline_test]` already makes this function a test; remove this attribute (two test attributes would run it twice, or not at all)",
            ));
        }
    }
    let takes_stage = check_signature(f).map_err(&mut push).ok();
    let args = parser(args).map_err(&mut push).ok();
    let loaded = args
        .as_ref()
        .and_then(|a| load(&a.path).map_err(&mut push).ok());
    let stage = match (&args, &loaded) {
        (Some(a), Some((p, _))) => select_stage(p, a).map_err(&mut push).ok(),
        _ => None,
    };
    if let (Some(a), Some((p, _)), Some(i)) = (&args, &loaded, stage) {
        check_steps(p, a, i).map_err(&mut push).ok();
    }
    if let Some(e) = errors {
        return Err(e);
    }
    let (Some(args), Some((_, abs)), Some(stage), Some(takes_stage)) =
        (args, loaded, stage, takes_stage)
    else {
        unreachable!("every failure was pushed")
    };
    Ok(generate(f, &args, &abs, stage, takes_stage))
}

fn abs_lit(abs: &Path, span: Span) -> LitStr {
    LitStr::new(&abs.to_string_lossy(), span)
}

/// `shared`, `steps =` (as the mode, `""` for the format's default, and the names) and
/// `matrix =`.
type Sharing<'a> = (bool, Option<&'a Steps>, Option<&'a LitStr>);

fn spec_tokens(
    file: &LitStr,
    abs: &Path,
    stage: usize,
    timeout_ms: Option<u64>,
    name: &Ident,
    build: (Option<&LitStr>, Option<&LitStr>),
    (shared, steps, matrix): Sharing<'_>,
) -> TokenStream {
    let matrix = matrix.map(LitStr::value).unwrap_or_default();
    let (mode, names): (String, Vec<&LitStr>) = match steps {
        None => (String::new(), Vec::new()),
        Some(Steps::Keyword(k)) => (k.value(), Vec::new()),
        Some(Steps::Names(n)) => ("named".into(), n.iter().collect()),
    };
    let abs = abs_lit(abs, file.span());
    let timeout = match timeout_ms {
        Some(ms) => quote!(::core::option::Option::Some(#ms)),
        None => quote!(::core::option::Option::None),
    };
    let opt = |v: Option<&LitStr>| match v {
        Some(v) => quote!(::core::option::Option::Some(#v)),
        None => quote!(::core::option::Option::None),
    };
    let (branch, event) = (opt(build.0), opt(build.1));
    quote! {
        ::pipeline_test::__private::TestSpec {
            name: ::core::concat!(::core::module_path!(), "::", ::core::stringify!(#name)),
            file: #file,
            yaml: ::core::include_str!(#abs),
            stage: #stage,
            timeout_ms: #timeout,
            manifest_dir: ::core::env!("CARGO_MANIFEST_DIR"),
            path: #abs,
            branch: #branch,
            event: #event,
            shared: #shared,
            steps: #mode,
            step_names: &[#(#names),*],
            matrix: #matrix,
        }
    }
}

fn generate(f: &ItemFn, args: &Args, abs: &Path, stage: usize, takes_stage: bool) -> TokenStream {
    let attrs = &f.attrs;
    let vis = &f.vis;
    let name = &f.sig.ident;
    let is_async = f.sig.asyncness.is_some();
    let output = match &f.sig.output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => quote!(#ty),
    };
    let mut body_sig = f.sig.clone();
    body_sig.ident = format_ident!("__pipeline_test_body");
    let block = &f.block;
    // One identifier, made here, for the stage in both the adapter's parameter and the call,
    // so that hygiene agrees even when the test comes out of a `macro_rules!`.
    let stage_arg = Ident::new("__pipeline_test_stage", Span::call_site());
    let call = if takes_stage {
        quote!(__pipeline_test_body(#stage_arg))
    } else {
        quote!(__pipeline_test_body())
    };
    let spec = spec_tokens(
        &args.path,
        abs,
        stage,
        args.timeout.as_ref().map(|t| t.1),
        name,
        (args.branch.as_ref(), args.event.as_ref()),
        (
            args.shared.is_some(),
            args.steps.as_ref(),
            args.matrix.as_ref(),
        ),
    );
    let run = if is_async {
        quote! {
            fn __pipeline_test_adapter<'a>(
                #stage_arg: &'a ::pipeline_test::Stage,
            ) -> ::core::pin::Pin<::std::boxed::Box<dyn ::core::future::Future<Output = #output> + 'a>> {
                let _ = #stage_arg;
                ::std::boxed::Box::pin(#call)
            }
            ::pipeline_test::__private::run_async(#spec, __pipeline_test_adapter)
        }
    } else {
        quote! {
            fn __pipeline_test_adapter(#stage_arg: &::pipeline_test::Stage) -> #output {
                let _ = #stage_arg;
                #call
            }
            ::pipeline_test::__private::run_sync(#spec, __pipeline_test_adapter)
        }
    };
    quote! {
        #(#attrs)*
        #[::core::prelude::v1::test]
        #vis fn #name() {
            #body_sig #block
            #run
        }
    }
}

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
            ident = format!("stage_{}", i + 1);
        }
        let base = ident.clone();
        let mut n = 2;
        while used.contains(&ident) {
            ident = format!("{base}_{n}");
            n += 1;
        }
        used.push(ident.clone());
        let test = Ident::new(&ident, lit.span());
        let spec = spec_tokens(
            &lit,
            &abs,
            i,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_attributes_are_kept_and_the_file_is_tracked() {
        let out = pipeline_test(
            quote!("../examples/seed/communication.yaml"),
            quote! {
                #[ignore = "slow"]
                #[should_panic]
                fn t(stage: &Stage) {}
            },
        )
        .to_string();
        assert!(out.contains("ignore = \"slow\""), "{out}");
        assert!(out.contains("should_panic"), "{out}");
        assert!(out.contains(":: core :: prelude :: v1 :: test"), "{out}");
        assert!(out.contains("include_str !"), "{out}");
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn a_wrong_attribute_still_emits_the_function() {
        let out = pipeline_test(
            quote!("../examples/seed/communication.yaml", nope = "x"),
            quote!(
                fn t() {}
            ),
        )
        .to_string();
        assert!(out.contains("compile_error"), "{out}");
        assert!(out.contains("fn t ()"), "{out}");
    }
}

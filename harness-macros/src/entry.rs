//! The expansion of `#[pipeline_test]`, on proc_macro2 (`pipeline_tests!` is in
//! [`crate::every_stage`], on the same reading of the file).

use std::path::{Path, PathBuf};

use pipeline_test_harness::Pipeline;
use pipeline_test_harness::SourceFile;
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::spanned::Spanned;
use syn::{Ident, ItemFn, LitStr, ReturnType, Type};

use crate::args::{Args, Steps, parser};

/// Reads and validates the pipeline at `lit` (relative to the crate's directory).
pub(crate) fn load(lit: &LitStr) -> syn::Result<(Pipeline, PathBuf)> {
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
    let (Some(args), Some((pipeline, abs)), Some(stage), Some(takes_stage)) =
        (args, loaded, stage, takes_stage)
    else {
        unreachable!("every failure was pushed")
    };
    let images = pipeline.stages[stage].literal_images();
    Ok(generate(f, &args, &abs, (stage, &images), takes_stage))
}

fn abs_lit(abs: &Path, span: Span) -> LitStr {
    LitStr::new(&abs.to_string_lossy(), span)
}

/// `shared`, `steps =` (as the mode, `""` for the format's default, and the names) and
/// `matrix =`.
type Sharing<'a> = (bool, Option<&'a Steps>, Option<&'a LitStr>);

/// The stage's index, and the images its steps name as written (looked at on the engine while
/// the test reads its pipeline).
pub(crate) type Chosen<'a> = (usize, &'a [String]);

pub(crate) fn spec_tokens(
    file: &LitStr,
    abs: &Path,
    (stage, images): Chosen<'_>,
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
            images: &[#(#images),*],
        }
    }
}

fn generate(
    f: &ItemFn,
    args: &Args,
    abs: &Path,
    chosen: Chosen<'_>,
    takes_stage: bool,
) -> TokenStream {
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
        chosen,
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

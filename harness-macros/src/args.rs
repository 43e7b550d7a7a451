//! The attribute's arguments: `"file.yaml", stage = "name"` (`job = "name"` for a GitHub Actions
//! job), `timeout = "2m", branch = "main",
//! event = "push", shared`, each option at most once.

use pipeline_test_harness::diagnostic::did_you_mean;
use pipeline_test_harness::duration::parse_duration;
use proc_macro2::{Span, TokenStream};
use syn::parse::{ParseStream, Parser};
use syn::{Ident, LitStr, Token};

const OPTIONS: &[&str] = &[
    "stage", "job", "timeout", "branch", "event", "shared", "steps", "matrix",
];

/// The attribute's arguments: `"file.yaml", stage = "name", timeout = "2m"`.
pub(crate) struct Args {
    pub path: LitStr,
    pub stage: Option<LitStr>,
    pub timeout: Option<(LitStr, u64)>,
    pub branch: Option<LitStr>,
    pub event: Option<LitStr>,
    /// `shared`: one running stage for every test of the process that names the same file,
    /// stage, build and `shared`.
    pub shared: Option<Ident>,
    /// `steps = "all" | "services" | ["name", ...]`: which steps run.
    pub steps: Option<Steps>,
    /// `matrix = "rust=stable"`: which combination of a matrix runs.
    pub matrix: Option<LitStr>,
}

/// The value of `steps =`.
pub(crate) enum Steps {
    /// `"all"` or `"services"`.
    Keyword(LitStr),
    /// `["migrate", ...]`.
    Names(Vec<LitStr>),
}

fn parse_args(input: ParseStream<'_>) -> syn::Result<Args> {
    if input.is_empty() {
        return Err(syn::Error::new(
            Span::call_site(),
            "expected the pipeline file: `#[pipeline_test(\"path/to/stage.yaml\")]` (relative to the crate's directory)",
        ));
    }
    let path: LitStr = input.parse().map_err(|e| {
        syn::Error::new(
            e.span(),
            "the first argument is the pipeline file, as a string: `\"ci/stage.yaml\"`",
        )
    })?;
    let mut args = Args {
        path,
        stage: None,
        timeout: None,
        branch: None,
        event: None,
        shared: None,
        steps: None,
        matrix: None,
    };
    while !input.is_empty() {
        input.parse::<Token![,]>()?;
        if input.is_empty() {
            break;
        }
        let key: Ident = input.parse()?;
        let name = key.to_string();
        if !OPTIONS.contains(&name.as_str()) {
            let hint = did_you_mean(&name, OPTIONS)
                .map(|m| format!("did you mean `{m}`? "))
                .unwrap_or_default();
            return Err(syn::Error::new(
                key.span(),
                format!(
                    "unknown option `{name}`; {hint}the options are `stage = \"name\"` (or `job = \"name\"`), `timeout = \"2m\"`, `branch = \"main\"`, `event = \"push\"`, `steps = \"services\"` (or `\"all\"`, or `[\"name\", ...]`), `matrix = \"rust=stable\"` and `shared`"
                ),
            ));
        }
        let repeated = match name.as_str() {
            "shared" => args.shared.is_some(),
            "stage" | "job" => args.stage.is_some(),
            "branch" => args.branch.is_some(),
            "event" => args.event.is_some(),
            "steps" => args.steps.is_some(),
            "matrix" => args.matrix.is_some(),
            _ => args.timeout.is_some(),
        };
        if repeated {
            return Err(syn::Error::new(
                key.span(),
                format!("`{name}` is given twice; keep one"),
            ));
        }
        if name == "shared" {
            if input.peek(Token![=]) {
                return Err(syn::Error::new(
                    input.span(),
                    "`shared` takes no value: write `shared` alone",
                ));
            }
            args.shared = Some(key);
            continue;
        }
        input.parse::<Token![=]>()?;
        if name == "steps" {
            args.steps = Some(steps(input)?);
            continue;
        }
        let value: LitStr = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                format!("`{name}` takes a string, e.g. `{name} = \"...\"`"),
            )
        })?;
        match name.as_str() {
            // `job` names a GitHub Actions job: the same as `stage`.
            "stage" | "job" => args.stage = Some(value),
            "branch" => args.branch = Some(value),
            "event" => args.event = Some(value),
            "matrix" => {
                let text = value.value();
                let bad = text.split(',').find(|pair| {
                    pair.split_once('=')
                        .is_none_or(|(k, _)| k.trim().is_empty())
                });
                if let Some(pair) = bad {
                    return Err(syn::Error::new(
                        value.span(),
                        format!(
                            "`{pair}` is not `axis=value`: write `matrix = \"rust=stable\"` (several joined with `,`)"
                        ),
                    ));
                }
                args.matrix = Some(value);
            }
            _ => {
                let d = parse_duration(&value.value()).map_err(|m| {
                    syn::Error::new(value.span(), format!("invalid `timeout`: {m}"))
                })?;
                let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
                args.timeout = Some((value, ms));
            }
        }
    }
    Ok(args)
}

/// `"all"`, `"services"`, or `["name", ...]`.
fn steps(input: ParseStream<'_>) -> syn::Result<Steps> {
    const HELP: &str = "`steps` takes `\"all\"`, `\"services\"`, or the names of the steps to run with the services: `[\"migrate\"]`";
    if input.peek(syn::token::Bracket) {
        let inner;
        syn::bracketed!(inner in input);
        let names = inner.parse_terminated(|i| i.parse::<LitStr>(), Token![,])?;
        return Ok(Steps::Names(names.into_iter().collect()));
    }
    let value: LitStr = input.parse().map_err(|e| syn::Error::new(e.span(), HELP))?;
    match value.value().as_str() {
        "all" | "services" => Ok(Steps::Keyword(value)),
        _ => Err(syn::Error::new(value.span(), HELP)),
    }
}

/// Parses the attribute's arguments.
pub(crate) fn parser(args: TokenStream) -> syn::Result<Args> {
    parse_args.parse2(args)
}

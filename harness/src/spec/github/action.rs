//! Local actions (`uses: ./path`), read from the workspace as GitHub reads them: a composite
//! action's steps run in place of the calling step, in a scope of their own (`inputs`,
//! `steps`), and its `outputs` become the calling step's.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::RunDefaults;
use crate::diagnostic::Diagnostic;
use crate::spec::read::Diags;
use crate::spec::read::{fields, list, string};
use crate::spec::*;
use crate::yaml::{Node, Value};

/// How deep composite actions may call each other.
const MAX_DEPTH: usize = 9;

/// Remote actions mapped to local checkouts: `PIPELINE_TEST_ACTIONS=owner/repo=DIR,...`.
pub const ACTIONS_ENV: &str = "PIPELINE_TEST_ACTIONS";

std::thread_local! {
    /// Remote actions mapped to local checkouts for the file being read (`--action`).
    static MAPPED: std::cell::RefCell<Vec<(String, PathBuf)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `read` with the remote actions of `map` (`owner/repo` -> a checkout of it) read from
/// those directories, as local actions are.
pub(crate) fn with_actions<T>(map: &[(String, PathBuf)], read: impl FnOnce() -> T) -> T {
    let before = MAPPED.with(|m| std::mem::replace(&mut *m.borrow_mut(), map.to_vec()));
    let out = read();
    MAPPED.with(|m| *m.borrow_mut() = before);
    out
}

/// The directory of `uses: owner/repo[/path]@ref` when that repository is mapped to a local
/// checkout (`--action owner/repo=DIR`, or PIPELINE_TEST_ACTIONS).
pub(super) fn mapped(uses: &str) -> Option<PathBuf> {
    let (path, _ref) = uses.split_once('@')?;
    let mut parts = path.splitn(3, '/');
    let repo = format!("{}/{}", parts.next()?, parts.next()?);
    let sub = parts.next().unwrap_or("");
    let from_flag = MAPPED.with(|m| {
        m.borrow()
            .iter()
            .find(|(r, _)| r.eq_ignore_ascii_case(&repo))
            .map(|(_, d)| d.clone())
    });
    let dir = from_flag.or_else(|| {
        let env = std::env::var(ACTIONS_ENV).ok()?;
        env.split(',').find_map(|pair| {
            let (r, d) = pair.split_once('=')?;
            r.trim()
                .eq_ignore_ascii_case(&repo)
                .then(|| PathBuf::from(d.trim()))
        })
    })?;
    Some(dir.join(sub))
}

/// The step that calls the action.
pub(super) struct Call<'a> {
    pub uses: &'a Spanned<String>,
    pub id: Option<String>,
    pub with: Vec<(String, String)>,
    pub parent: Option<Arc<ActionScope>>,
}

/// Where `uses: ./...` paths start: the root of the git repository holding the workflow (the
/// checkout), else the current directory.
fn workspace(file: &SourceFile) -> PathBuf {
    let path = Path::new(file.name());
    let start = path.parent().unwrap_or(Path::new("."));
    let start = std::fs::canonicalize(start).unwrap_or_else(|_| start.to_path_buf());
    start
        .ancestors()
        .find(|d| d.join(".git").exists())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// The steps of the local action `call.uses`, as a group run in place of the calling step;
/// `Err` with the reason the step is skipped (a warning said why).
pub(super) fn local(
    file: &SourceFile,
    call: &Call<'_>,
    container: Option<&(Container, Envs, Option<Healthcheck>)>,
    defaults: &RunDefaults,
    diags: &mut Diags,
) -> Result<Vec<Step>, String> {
    let at = call.uses.span;
    let depth = std::iter::successors(call.parent.as_deref(), |s| s.parent.as_deref()).count();
    if depth >= MAX_DEPTH {
        let why = format!("local actions call each other more than {MAX_DEPTH} deep");
        diags.push(Diagnostic::new(at, why.clone()));
        return Err(why);
    }
    let dir = match mapped(&call.uses.value) {
        Some(dir) if !call.uses.value.starts_with("./") => dir,
        _ => workspace(file).join(call.uses.value.trim_start_matches("./")),
    };
    let Some((path, text)) = ["action.yml", "action.yaml"]
        .iter()
        .find_map(|n| Some((dir.join(n), std::fs::read_to_string(dir.join(n)).ok()?)))
    else {
        let why = format!(
            "the local action `{}` has no action.yml in {}",
            call.uses.value,
            dir.display()
        );
        diags.push(
            Diagnostic::new(at, why.clone())
                .warning()
                .with_help("GitHub reads `./path` from the checked-out repository: check the path"),
        );
        return Err(why);
    };
    let action_file = SourceFile::new(path.display().to_string(), text);
    let mut inner = Vec::new();
    // An action's file is read by the runner, not checked as a workflow is: a key it does
    // not know is a warning there.
    let lenient = crate::spec::read::Dialect {
        refuses_unknown_keys: false,
        ..super::DIALECT
    };
    let out = crate::spec::read::reading(lenient, || {
        read(&action_file, call, container, defaults, &mut inner)
    });
    // Problems in the action's file, at the calling step, naming their place there.
    for d in inner {
        let mut moved = Diagnostic::new(
            at,
            format!("{}:{}: {}", action_file.name(), d.span.start, d.message),
        );
        moved.severity = d.severity;
        moved.help = d.help;
        diags.push(moved);
    }
    out
}

fn read(
    file: &SourceFile,
    call: &Call<'_>,
    container: Option<&(Container, Envs, Option<Healthcheck>)>,
    defaults: &RunDefaults,
    diags: &mut Diags,
) -> Result<Vec<Step>, String> {
    let docs = crate::yaml::parse_documents(file).map_err(|d| {
        let why = d.message.clone();
        diags.push(d);
        why
    })?;
    let root = &docs[0].1;
    let mut f = fields(root, "an action", diags).ok_or("the action is not a mapping")?;
    let name = string(f.get("name"), "name", diags);
    let _ = (
        name,
        f.get("description"),
        f.get("author"),
        f.get("branding"),
    );
    let mut inputs = Vec::new();
    if let Some(Value::Map(pairs)) = f.get("inputs").map(|n| &n.value) {
        for (k, v) in pairs {
            let Some(n) = k.as_scalar() else { continue };
            let default = field(v, "default")
                .and_then(|d| d.as_scalar())
                .unwrap_or("");
            let given = call.with.iter().find(|(w, _)| w.eq_ignore_ascii_case(n));
            let value = given.map_or(default, |(_, v)| v.as_str());
            inputs.push((n.to_string(), value.to_string()));
        }
    }
    let mut outputs = Vec::new();
    let mut declared = Vec::new();
    if let Some(Value::Map(pairs)) = f.get("outputs").map(|n| &n.value) {
        declared.extend(
            pairs
                .iter()
                .filter_map(|(k, _)| k.as_scalar().map(str::to_string)),
        );
        for (k, v) in pairs {
            let (Some(n), Some(value)) =
                (k.as_scalar(), field(v, "value").and_then(|x| x.as_scalar()))
            else {
                continue;
            };
            outputs.push((n.to_string(), value.to_string()));
        }
    }
    let runs = f.get("runs");
    f.finish(diags, &|_| None);
    let runs = runs.ok_or_else(|| {
        diags.push(Diagnostic::new(
            Span::point(root.span.start),
            "the action has no `runs`",
        ));
        "the action has no `runs`".to_string()
    })?;
    let using = field(runs, "using")
        .and_then(|u| u.as_scalar())
        .unwrap_or_default();
    if using == "docker" {
        return docker(file, call, runs, inputs, &declared, container);
    }
    if using.starts_with("node") {
        let dir = Path::new(file.name()).parent().unwrap_or(Path::new("."));
        let js = super::js_action::JsAction { dir, runs, using };
        return js.step(call, inputs, &declared, container, diags);
    }
    if using != "composite" {
        let why = format!(
            "the local action `{}` runs `using: {using}`, which pipeline-test does not know; it runs composite, Docker and JavaScript (node) actions",
            call.uses.value
        );
        diags.push(Diagnostic::new(runs.span, why.clone()).warning());
        return Err(why);
    }
    let scope = Arc::new(ActionScope {
        uses: call.uses.value.clone(),
        key: format!("{}@{}", call.uses.value, call.uses.span.start),
        parent: call.parent.clone(),
        id: call.id.clone(),
        inputs,
        outputs,
    });
    let mut steps = Vec::new();
    for s in list(field(runs, "steps"), "steps", diags) {
        if let Some(shell_missing) = run_without_shell(s) {
            diags.push(
                Diagnostic::new(
                    shell_missing,
                    "a `run` step of a composite action needs `shell`",
                )
                .with_help("add `shell: bash`, as GitHub requires"),
            );
            continue;
        }
        let Some(mut step) = super::step::step(file, s, container, defaults, Some(&scope), diags)
        else {
            continue;
        };
        step.at_turn.scope = Some(scope.clone());
        steps.push(step);
    }
    match steps.last_mut() {
        Some(last) => last_leaf(last).at_turn.ends.push(scope),
        None => {
            return Err(format!(
                "the local action `{}` has no steps",
                call.uses.value
            ));
        }
    }
    Ok(steps)
}

/// The step that runs last in `step`: itself, or the last of its group, at any depth.
fn last_leaf(step: &mut Step) -> &mut Step {
    let nested = matches!(&step.spec, StepSpec::Group(c) if !c.is_empty());
    if !nested {
        return step;
    }
    match &mut step.spec {
        StepSpec::Group(children) => last_leaf(children.last_mut().expect("not empty")),
        _ => unreachable!("checked above"),
    }
}

/// A Docker action (`runs.using: docker`): one step running its image (`docker://image`, or
/// built from its Dockerfile) with its `args`, `env` and `entrypoint`, the inputs as
/// `INPUT_<NAME>`, in the job's workspace and network; what it writes to `$GITHUB_OUTPUT` is
/// the calling step's outputs.
fn docker(
    file: &SourceFile,
    call: &Call<'_>,
    runs: &Node<'_>,
    inputs: Vec<(String, String)>,
    declared: &[String],
    container: Option<&(Container, Envs, Option<Healthcheck>)>,
) -> Result<Vec<Step>, String> {
    let at = call.uses.span;
    let image = field(runs, "image")
        .and_then(|i| i.as_scalar())
        .unwrap_or_default();
    let mut s = ScriptStep::default();
    let dir = Path::new(file.name()).parent().unwrap_or(Path::new("."));
    match image.strip_prefix("docker://") {
        Some(reference) => s.image = Some(Spanned::new(reference.to_string(), at)),
        None if image.is_empty() => return Err("the Docker action has no `runs.image`".into()),
        None => {
            // Built from the action's directory, under a name of its own.
            let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
            let mut name = String::from("pipeline-test-action-");
            name.push_str(&crate::spec::normalize::slugify(&dir.display().to_string()));
            name.truncate(120);
            s.image = Some(Spanned::new(format!("{name}:local"), at));
            s.build = Some((dir, image.to_string()));
        }
    }
    s.entrypoint = field(runs, "entrypoint")
        .and_then(|e| e.as_scalar())
        .map(|e| Spanned::new(e.to_string(), at));
    if let Some(Value::Seq(args)) = field(runs, "args").map(|a| &a.value) {
        s.args = args
            .iter()
            .filter_map(|a| Some(Spanned::new(a.as_scalar()?.to_string(), at)))
            .collect();
    }
    let mut envs = container.map(|(_, e, _)| e.clone()).unwrap_or_default();
    input_envs(&mut envs, &inputs, at);
    if let Some(Value::Map(pairs)) = field(runs, "env").map(|e| &e.value) {
        for (k, v) in pairs {
            if let (Some(k), Some(v)) = (k.as_scalar(), v.as_scalar()) {
                envs.push(k, v.to_string(), at);
            }
        }
    }
    s.envs = envs;
    s.network = match container {
        Some((c, _, _)) => c.network_mode.clone(),
        None => Some(Spanned::new("host".to_string(), at)),
    };
    Ok(one_step(
        call,
        StepSpec::Script(Box::new(s)),
        inputs,
        declared,
    ))
}

/// An action that runs as one step (`spec`): the calling step's outputs are the action's,
/// read from its `$GITHUB_OUTPUT` in the action's scope, where its inputs are.
pub(super) fn one_step(
    call: &Call<'_>,
    spec: StepSpec,
    inputs: Vec<(String, String)>,
    declared: &[String],
) -> Vec<Step> {
    let at = call.uses.span;
    const RUN: &str = "run";
    let scope = Arc::new(ActionScope {
        uses: call.uses.value.clone(),
        key: format!("{}@{}", call.uses.value, call.uses.span.start),
        parent: call.parent.clone(),
        id: call.id.clone(),
        inputs,
        outputs: declared
            .iter()
            .map(|o| (o.clone(), format!("${{{{ steps.{RUN}.outputs['{o}'] }}}}")))
            .collect(),
    });
    let mut step = Step::new(at, spec);
    step.id = Some(Spanned::new(RUN.to_string(), at));
    step.name = Some(Spanned::new(call.uses.value.clone(), at));
    step.at_turn.scope = Some(scope.clone());
    step.at_turn.ends.push(scope);
    vec![step]
}

/// The `INPUT_<NAME>` variable of each input, its value evaluated in the action's scope when
/// the action starts.
pub(super) fn input_envs(envs: &mut Envs, inputs: &[(String, String)], at: Span) {
    for (name, _) in inputs {
        let var = format!("INPUT_{}", name.to_uppercase().replace(' ', "_"));
        envs.push(&var, format!("${{{{ inputs['{name}'] }}}}"), at);
    }
}

/// The value of `key` in a mapping node.
pub(super) fn field<'n>(node: &'n Node<'n>, key: &str) -> Option<&'n Node<'n>> {
    match &node.value {
        Value::Map(pairs) => pairs
            .iter()
            .find(|(k, _)| k.as_scalar() == Some(key))
            .map(|(_, v)| v),
        _ => None,
    }
}

/// Where a `run` step without `shell` is.
fn run_without_shell(node: &Node<'_>) -> Option<Span> {
    let run = field(node, "run")?;
    field(node, "shell").is_none().then_some(run.span)
}

//! The `spec` of a NextGen step that runs a container (`Run`, `Background`, `RunTests`,
//! `Plugin`): its image, command and shell, variables, outputs captured at the end, and the
//! test command `RunTests` builds from its language and build tool.

use super::expr::Names;
use super::step::{envs_of, pairs, text};
use crate::diagnostic::Diagnostic;
use crate::spec::read::Diags;
use crate::spec::read::{boolean, fields, list, string, strings};
use crate::spec::*;
use crate::yaml::Node;

fn shell(s: Option<Spanned<String>>, diags: &mut Diags) -> Option<Spanned<String>> {
    let s = s?;
    let v = match s.as_str().to_ascii_lowercase().as_str() {
        "sh" => "sh",
        "bash" => "bash",
        "powershell" | "pwsh" => "pwsh",
        "python" => "python",
        other => {
            let _ = other;
            diags.push(
                Diagnostic::new(s.span, format!("unknown shell `{}`", s.value))
                    .with_help("shells are: Sh, Bash, Powershell, Pwsh, Python"),
            );
            return None;
        }
    };
    Some(Spanned::new(v.to_string(), s.span))
}

fn pull(s: Option<Spanned<String>>, diags: &mut Diags) -> Option<Spanned<Pull>> {
    crate::spec::build::pull_policy(s?, ["Always", "Never", "IfNotPresent"], diags)
}

/// The delimiter [`capture`] writes around each value; a script holding it hands its
/// outputs on this way already.
pub(super) const CAPTURE_MARK: &str = "PIPELINE_TEST_EOF";

/// The command that hands a Run step's `outputVariables` on, as Harness reads them when the
/// step ends: each variable's value in the step's file of outputs.
fn capture(names: &[String]) -> String {
    let mut out = String::from("{");
    for n in names {
        out.push_str(&format!(
            " printf '%s<<PIPELINE_TEST_EOF\\n%s\\nPIPELINE_TEST_EOF\\n' {n} \"${{{n}-}}\";"
        ));
    }
    out.push_str(" } >> \"$GITHUB_OUTPUT\"");
    out
}

/// The command a `RunTests` step runs for its build tool.
fn test_command(tool: &str) -> Option<&'static str> {
    Some(match tool {
        "Maven" => "mvn",
        "Gradle" => "./gradlew",
        "Bazel" => "bazel",
        "Dotnet" => "dotnet",
        "Nunitconsole" => "nunit3-console",
        "Sbt" => "sbt",
        "Pytest" => "pytest",
        "Unittest" => "python -m unittest",
        "Rspec" => "bundle exec rspec",
        "Go" => "go test",
        _ => return None,
    })
}

pub(super) fn container_step(
    kind: &str,
    s: &Node<'_>,
    names: &Names,
    diags: &mut Diags,
) -> Option<StepSpec> {
    let mut f = fields(s, "the step's `spec`", diags)?;
    let image = text(&mut f, "image", names, diags);
    let command = text(&mut f, "command", names, diags);
    let shell = shell(string(f.get("shell"), "shell", diags), diags);
    let envs = envs_of(pairs(f.get("envVariables"), "`envVariables`", names, diags));
    let privileged = boolean(f.get("privileged"), "privileged", diags).is_some_and(|b| b.value);
    let pull = pull(
        string(f.get("imagePullPolicy"), "imagePullPolicy", diags),
        diags,
    );
    let user = string(f.get("runAsUser"), "runAsUser", diags);
    let entrypoint = strings(f.get("entrypoint"), "entrypoint", diags);
    let settings = pairs(f.get("settings"), "`settings`", names, diags);
    let ports = f
        .get("portBindings")
        .map(|p| pairs(Some(p), "`portBindings`", names, diags))
        .unwrap_or_default();
    let args = text(&mut f, "args", names, diags);
    let tool = string(f.get("buildTool"), "buildTool", diags);
    let pre = text(&mut f, "preCommand", names, diags);
    let post = text(&mut f, "postCommand", names, diags);
    let outputs: Vec<String> = list(f.get("outputVariables"), "outputVariables", diags)
        .iter()
        .filter_map(|o| match &o.value {
            crate::yaml::Value::Map(pairs) => pairs
                .iter()
                .find(|(k, _)| k.as_scalar() == Some("name"))
                .and_then(|(_, v)| v.as_scalar().map(str::to_string)),
            _ => None,
        })
        .collect();
    let mut ignored = Vec::new();
    for k in [
        "connectorRef",
        "reports",
        "resources",
        "language",
        "packages",
        "runOnlySelectedTests",
        "testAnnotations",
        "enableTestSplitting",
        "testSplitStrategy",
        "testGlobs",
        "uses",
        "with",
        "buildEnvironment",
        "frameworkVersion",
        "namespaces",
        "pythonVersion",
        "testRoot",
        "env",
    ] {
        f.accept(k, &mut ignored);
    }
    f.finish(diags, &|_| None);
    let image = image.filter(|i| !i.value.is_empty());
    let mut container = image.clone().map(Container::of);
    if let Some(c) = &mut container {
        c.privileged = privileged;
        c.pull = pull.clone();
        c.user = user;
        c.ports = ports
            .iter()
            .map(|(h, c)| Spanned::new(format!("{}:{}", h.value, c.value), h.span))
            .collect();
        c.entrypoint = crate::spec::build::joined(&entrypoint);
    }
    Some(match kind {
        "Run" => {
            let mut script: Vec<Spanned<String>> = command.into_iter().collect();
            let posix = shell
                .as_ref()
                .is_none_or(|s| matches!(s.as_str(), "sh" | "bash"));
            if let (false, true, Some(last)) = (outputs.is_empty(), posix, script.last()) {
                script.push(Spanned::new(capture(&outputs), last.span));
            }
            StepSpec::Run(Box::new(RunStep {
                shell,
                script,
                container,
                envs,
                ..RunStep::default()
            }))
        }
        "Background" => StepSpec::Background(Box::new(BackgroundStep {
            envs,
            container,
            run: command,
            ..BackgroundStep::default()
        })),
        "RunTests" => {
            let mut script: Vec<Spanned<String>> = pre.into_iter().collect();
            match (
                &tool,
                test_command(tool.as_ref().map_or("", |t| t.as_str())),
            ) {
                (Some(t), Some(cmd)) => {
                    let args = args.as_ref().map_or(String::new(), |a| a.value.clone());
                    script.push(Spanned::new(
                        format!("{cmd} {args}").trim().to_string(),
                        t.span,
                    ));
                }
                (Some(t), None) => {
                    diags.push(Diagnostic::new(t.span, format!("unknown buildTool `{}`", t.value)).with_help("build tools are: Maven, Gradle, Bazel, Dotnet, Nunitconsole, Sbt, Pytest, Unittest, Rspec, Go"));
                    return None;
                }
                (None, _) => {
                    diags.push(
                        Diagnostic::new(
                            Span::point(s.span.start),
                            "a RunTests step has no `buildTool`",
                        )
                        .with_help("add `buildTool: Maven` (or Gradle, Bazel, ...)"),
                    );
                    return None;
                }
            }
            script.extend(post);
            StepSpec::Run(Box::new(RunStep {
                shell,
                script,
                container,
                envs,
                ..RunStep::default()
            }))
        }
        _ => StepSpec::Plugin(Box::new(PluginStep {
            image,
            settings,
            envs,
            privileged,
            pull,
            ..PluginStep::default()
        })),
    })
}

//! The contexts a job's expressions read, as GitHub fills them: `github` (with an event
//! payload made from git and the build), `env`, `vars`, `job`, `steps`, `runner`, `secrets`,
//! `strategy`, `matrix`, `needs`, `inputs` (typed as declared).

use crate::context::BuildContext;
use crate::expr::github::{Data, Names};
use crate::spec::{Input, Pipeline, Stage, StepSpec};

/// Every context a workflow's expressions may name.
pub(crate) const CONTEXTS: [&str; 12] = [
    "github", "env", "vars", "job", "jobs", "steps", "runner", "secrets", "strategy", "matrix",
    "needs", "inputs",
];

/// What a workflow's expressions may name: every context, the status functions and
/// `hashFiles`.
pub(crate) fn names() -> Names {
    Names {
        status: true,
        hash_files: true,
        ..Names::contexts(CONTEXTS)
    }
}

/// The event GitHub would name for the build's event.
fn event_name(ctx: &BuildContext) -> &str {
    match ctx.event.as_str() {
        "manual" | "" => "workflow_dispatch",
        "tag" => "push",
        "cron" => "schedule",
        other => other,
    }
}

/// The contexts of `stage` (a job) of `pipeline`, before any step has run.
pub(crate) fn contexts(ctx: &BuildContext, pipeline: &Pipeline, stage: &Stage) -> Data {
    let git_ref = ctx.git_ref();
    let is_tag = git_ref.starts_with("refs/tags/");
    let ref_name = git_ref
        .strip_prefix("refs/tags/")
        .or_else(|| git_ref.strip_prefix("refs/heads/"))
        .unwrap_or(&ctx.branch)
        .to_string();
    let event = event_name(ctx);
    let job = stage.id.as_ref().map_or("", |i| i.value.as_str());
    let slug = ctx.slug();
    let number = Data::from(ctx.number.to_string());
    let workflow = pipeline.name.as_ref().map_or("", |n| n.value.as_str());
    let inputs = inputs(ctx, &pipeline.inputs);
    let s = |v: &str| Data::from(v);
    let github = Data::object([
        ("action", s("")),
        ("action_path", s("")),
        ("actor", s(&ctx.author_login)),
        ("api_url", s("https://api.github.com")),
        ("base_ref", s("")),
        ("event", payload(ctx, event, &pipeline.inputs)),
        ("event_name", s(event)),
        ("event_path", s("/github/workflow/event.json")),
        ("graphql_url", s("https://api.github.com/graphql")),
        ("head_ref", s("")),
        ("job", s(job)),
        ("ref", s(&git_ref)),
        ("ref_name", s(&ref_name)),
        ("ref_protected", Data::Bool(false)),
        ("ref_type", s(if is_tag { "tag" } else { "branch" })),
        ("repository", s(&slug)),
        ("repository_owner", s(&ctx.repo_namespace)),
        ("repositoryUrl", s(&ctx.remote_url)),
        ("retention_days", s("90")),
        ("run_attempt", s("1")),
        ("run_id", number.clone()),
        ("run_number", number),
        ("server_url", s("https://github.com")),
        ("sha", s(&ctx.commit)),
        ("token", s("")),
        ("triggering_actor", s(&ctx.author_login)),
        ("workflow", s(workflow)),
        (
            "workspace",
            s(crate::spec::Format::GitHubActions.workspace_path()),
        ),
    ]);
    // `PIPELINE_TEST` is in every step's environment, and in `env` for expressions, so that
    // `if: ${{ !env.PIPELINE_TEST }}` keeps a step to GitHub.
    let env = Data::object(
        std::iter::once(("PIPELINE_TEST".to_string(), Data::from("true"))).chain(
            stage
                .envs
                .iter()
                .filter(|(k, _)| !crate::spec::GITHUB_ENV.iter().any(|(g, _)| g == k))
                .map(|(k, v)| (k.to_string(), Data::from(v))),
        ),
    );
    let runner = Data::object([
        ("arch", s("X64")),
        ("debug", s("")),
        ("environment", s("self-hosted")),
        ("name", s("pipeline-test")),
        ("os", s("Linux")),
        ("temp", s("/tmp")),
        ("tool_cache", s("/opt/hostedtoolcache")),
    ]);
    let secrets = Data::object(
        ctx.secrets
            .iter()
            .map(|(k, v)| (k.clone(), Data::from(v.as_str()))),
    );
    let strategy = Data::object([
        ("fail-fast", Data::Bool(true)),
        ("job-index", Data::Number(0.0)),
        ("job-total", Data::Number(1.0)),
        ("max-parallel", Data::Number(1.0)),
    ]);
    let needs = Data::object(stage.needs.iter().map(|n| {
        let ran = ctx.job_results.get(n);
        let outputs = ran.map(|r| {
            Data::object(
                r.outputs
                    .iter()
                    .map(|(k, v)| (k.clone(), Data::from(v.as_str()))),
            )
        });
        (
            n.clone(),
            Data::object([
                ("outputs", outputs.unwrap_or(Data::object::<&str>([]))),
                ("result", s(ran.map_or("success", |r| r.result.as_str()))),
            ]),
        )
    }));
    let vars = Data::object(
        ctx.vars
            .iter()
            .map(|(k, v)| (k.clone(), Data::from(v.as_str()))),
    );
    Data::object([
        ("github", github),
        ("env", env),
        ("vars", vars),
        ("job", job_context(stage)),
        ("jobs", Data::object::<&str>([])),
        ("steps", Data::object::<&str>([])),
        ("runner", runner),
        ("secrets", secrets),
        ("strategy", strategy),
        ("matrix", Data::Null),
        ("needs", needs),
        ("inputs", inputs),
    ])
}

/// `job`: its status, its services' ports, its container.
fn job_context(stage: &Stage) -> Data {
    let mut services = Vec::new();
    for step in &stage.steps {
        let StepSpec::Background(b) = &step.spec else {
            continue;
        };
        let Some(c) = &b.container else { continue };
        let ports = c.ports.iter().filter_map(|p| {
            let m = p.value.parse::<crate::ports::PortMapping>().ok()?;
            let host = m.host.unwrap_or(m.container.number);
            Some((m.container.number.to_string(), Data::from(host.to_string())))
        });
        let key = step.id.as_ref().map_or("", |i| i.value.as_str());
        services.push((
            key.to_string(),
            Data::object([
                ("id", Data::from("")),
                ("network", Data::from("")),
                ("ports", Data::object(ports)),
            ]),
        ));
    }
    Data::object([
        ("status", Data::from("success")),
        (
            "container",
            Data::object([("id", Data::from("")), ("network", Data::from(""))]),
        ),
        ("services", Data::object(services)),
    ])
}

/// `inputs`: the declared inputs with the build's values over their defaults, typed as
/// declared (`boolean`, `number`; `string` and `choice` stay text).
fn inputs(ctx: &BuildContext, declared: &[Input]) -> Data {
    Data::object(declared.iter().map(|i| {
        let text = ctx
            .input(&i.name.value)
            .map(str::to_string)
            .or_else(|| i.default.as_ref().map(|d| d.value.clone()));
        let value = match (text, i.kind.as_deref()) {
            (None, Some("boolean")) => Data::Bool(false),
            (None, _) => Data::from(""),
            (Some(t), Some("boolean")) => Data::Bool(t.eq_ignore_ascii_case("true")),
            (Some(t), Some("number")) => Data::Number(crate::expr::github::number::parse(&t)),
            (Some(t), _) => Data::from(t),
        };
        (i.name.value.clone(), value)
    }))
}

/// `github.event`: the webhook payload GitHub would send for this build, made from git and
/// the build's flags, or the file given with `--event-file`.
fn payload(ctx: &BuildContext, event: &str, declared: &[Input]) -> Data {
    if let Some(p) = &ctx.event_payload {
        return p.clone();
    }
    let s = |v: &str| Data::from(v);
    let owner = Data::object([
        ("login", s(&ctx.repo_namespace)),
        ("name", s(&ctx.repo_namespace)),
    ]);
    let repository = Data::object([
        ("name", s(&ctx.repo_name)),
        ("full_name", s(&ctx.slug())),
        ("owner", owner),
        ("default_branch", s(&ctx.default_branch)),
        ("clone_url", s(&ctx.remote_url)),
        ("private", Data::Bool(true)),
        ("fork", Data::Bool(false)),
    ]);
    let author = Data::object([
        ("name", s(&ctx.author_name)),
        ("email", s(&ctx.author_email)),
        ("username", s(&ctx.author_login)),
    ]);
    let sender = Data::object([("login", s(&ctx.author_login)), ("type", s("User"))]);
    let commit = Data::object([
        ("id", s(&ctx.commit)),
        ("message", s(&ctx.message)),
        ("author", author.clone()),
        ("committer", author),
    ]);
    match event {
        "pull_request" | "pull_request_target" => {
            let branch = Data::object([("ref", s(&ctx.branch)), ("sha", s(&ctx.commit))]);
            let base = Data::object([("ref", s(&ctx.default_branch)), ("sha", s(&ctx.before))]);
            let title = ctx.message.lines().next().unwrap_or_default();
            let pr = Data::object([
                ("number", Data::Number(ctx.number as f64)),
                ("title", s(title)),
                ("body", s("")),
                ("draft", Data::Bool(false)),
                ("head", branch),
                ("base", base),
                ("labels", Data::array([])),
                ("user", sender.clone()),
            ]);
            Data::object([
                ("action", s("opened")),
                ("number", Data::Number(ctx.number as f64)),
                ("pull_request", pr),
                ("repository", repository),
                ("sender", sender),
            ])
        }
        "workflow_dispatch" => {
            // `github.event.inputs` holds every input as text.
            let inputs = declared.iter().map(|i| {
                let text = ctx
                    .input(&i.name.value)
                    .map(str::to_string)
                    .or_else(|| i.default.as_ref().map(|d| d.value.clone()))
                    .unwrap_or_default();
                (i.name.value.clone(), Data::from(text))
            });
            Data::object([
                ("inputs", Data::object(inputs)),
                ("ref", s(&ctx.git_ref())),
                ("repository", repository),
                ("sender", sender),
            ])
        }
        _ => Data::object([
            ("ref", s(&ctx.git_ref())),
            ("before", s(&ctx.before)),
            ("after", s(&ctx.commit)),
            ("created", Data::Bool(false)),
            ("deleted", Data::Bool(false)),
            ("forced", Data::Bool(false)),
            ("commits", Data::array([commit.clone()])),
            ("head_commit", commit),
            ("pusher", sender.clone()),
            ("repository", repository),
            ("sender", sender),
        ]),
    }
}

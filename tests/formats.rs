//! The CI files teams already have: GitHub Actions workflows, Drone pipelines and Harness
//! NextGen pipelines.
//!
//! - `tests/formats/<format>/*.y*ml`: real files from public repositories (each named with its
//!   repository, path and commit in that folder's `SOURCES.md`), linted as they are.
//! - `tests/formats/<format>/broken/`: files with one mistake each; every one is refused with
//!   its `file:line:column`.
//! - `tests/formats/run/`: files written in the shape of the real ones, with the fixture
//!   images, run against the engine (here through the attribute; `cli/tests/formats.rs` runs
//!   them through `pipeline-test run`).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};

use pipeline_test::harness::context::BuildContext;
use pipeline_test::harness::resolve::resolve;
use pipeline_test::harness::spec::Format;
use pipeline_test::harness::{Pipeline, Severity, SourceFile};
use pipeline_test::{Stage, StepStatus, pipeline_test};

fn files(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    out.sort();
    out
}

fn read(path: &Path) -> SourceFile {
    let name = path
        .strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap()
        .to_string_lossy()
        .into_owned();
    SourceFile::new(name, std::fs::read_to_string(path).unwrap())
}

/// What `pipeline-test lint` finds in `path`, for a build of `main` by a push: the format,
/// then the summary, or every error at its `line:column`; and the number of warnings.
fn lint(path: &Path) -> String {
    let file = read(path);
    let format = Format::of(&file).map_or("not YAML".to_string(), |f| f.to_string());
    let mut ctx = BuildContext::default();
    ctx.branch = "main".into();
    ctx.event = "push".into();
    let result =
        Pipeline::parse(&file).and_then(|p| resolve(&p, &ctx).map(|r| (p.summary(), r.warnings)));
    let name = path.file_name().unwrap().to_string_lossy();
    match result {
        Ok((summary, warnings)) => {
            format!(
                "{name}: {format}: ok: {summary}; {} warnings",
                warnings.len()
            )
        }
        Err(diags) => {
            let mut out = format!("{name}: {format}:");
            for d in diags.iter().filter(|d| d.severity == Severity::Error) {
                out.push_str(&format!("\n  error at {}: {}", d.span.start, d.message));
            }
            out
        }
    }
}

fn lint_all(format: &str) -> String {
    let found = files(&format!("tests/formats/{format}"));
    assert!(
        found.len() >= 8,
        "at least 8 real {format} files, found {}",
        found.len()
    );
    let sources = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/formats/{format}/SOURCES.md")),
    )
    .unwrap();
    for f in &found {
        let name = f.file_name().unwrap().to_string_lossy();
        assert!(
            sources.contains(&format!("`{name}`")),
            "{name} is not named in SOURCES.md"
        );
    }
    found.iter().map(|f| lint(f)).collect::<Vec<_>>().join("\n")
}

#[test]
fn real_github_actions_workflows() {
    insta::assert_snapshot!(lint_all("github"));
}

#[test]
fn real_drone_pipelines() {
    insta::assert_snapshot!(lint_all("drone"));
}

#[test]
fn real_harness_nextgen_pipelines() {
    insta::assert_snapshot!(lint_all("nextgen"));
}

/// Every broken file of `format` refused, each problem rendered as the user sees it.
fn broken(format: &str) -> String {
    let found = files(&format!("tests/formats/{format}/broken"));
    assert!(found.len() >= 10, "at least 10 broken {format} files");
    let mut out = String::new();
    for path in found {
        let file = read(&path);
        let diags = match Pipeline::parse(&file) {
            Err(d) => d,
            Ok(p) => resolve(&p, &BuildContext::default())
                .err()
                .unwrap_or_else(|| panic!("{} is accepted", file.name())),
        };
        let errors: Vec<_> = diags
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .collect();
        assert!(!errors.is_empty(), "{} has no error", file.name());
        for d in errors {
            let at = format!("--> {}:{}", file.name(), d.span.start);
            let rendered = d.render(&file);
            assert!(rendered.contains(&at), "{rendered}");
            out.push_str(&rendered);
            out.push('\n');
        }
    }
    out
}

#[test]
fn broken_github_actions_workflows() {
    insta::assert_snapshot!(broken("github"));
}

#[test]
fn broken_drone_pipelines() {
    insta::assert_snapshot!(broken("drone"));
}

#[test]
fn broken_harness_nextgen_pipelines() {
    insta::assert_snapshot!(broken("nextgen"));
}

/// How the step `name` of `stage` ended.
fn status_of(stage: &Stage, name: &str) -> StepStatus {
    stage
        .steps()
        .iter()
        .find(|s| s.name == name)
        .map(|s| s.status.clone())
        .unwrap_or_else(|| panic!("no step `{name}` in {:?}", stage.steps()))
}

/// Sends one Redis command and returns the first line of the answer.
fn redis(addr: std::net::SocketAddr, command: &str) -> String {
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.write_all(format!("{command}\r\n").as_bytes()).unwrap();
    let mut buf = [0u8; 256];
    let n = conn.read(&mut buf).unwrap();
    String::from_utf8_lossy(&buf[..n])
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// A GitHub Actions job with a Redis and a MySQL service (each with `--health-cmd`) and a job
/// container: its run steps reach the services by their keys, and so does the body.
#[pipeline_test("tests/formats/run/github.yml", job = "test", steps = "all")]
fn github_actions_job_with_redis_and_mysql(stage: &Stage) {
    assert_eq!(redis(stage.service("redis").addr(6379), "PING"), "+PONG");
    let mysql = stage.service("mysql");
    let url = format!("mysql://root:root@{}/app", mysql.addr(3306));
    let pool = mysql::Pool::new(url.as_str()).unwrap();
    let mut conn = pool.get_conn().unwrap();
    let one: Option<u32> = mysql::prelude::Queryable::query_first(&mut conn, "SELECT 1").unwrap();
    assert_eq!(one, Some(1));
    let steps: Vec<String> = stage.steps().iter().map(|s| s.name.clone()).collect();
    assert!(
        steps.contains(&"MySQL answers by its key".to_string()),
        "{steps:?}"
    );
}

/// Services whose `command` and `entrypoint` replace the image's, reached by their keys.
#[pipeline_test("tests/formats/run/github-service-command.yml", steps = "all")]
fn github_actions_service_command_and_entrypoint(stage: &Stage) {
    assert_eq!(
        status_of(stage, "The command's port answers"),
        StepStatus::Passed
    );
    assert_eq!(
        status_of(stage, "The entrypoint's port answers"),
        StepStatus::Passed
    );
    // Redis listens where the command said, not on the image's port.
    assert_eq!(redis(stage.service("cache").addr(6380), "PING"), "+PONG");
}

/// The matrix job: one copy per combination, a step allowed to fail, a step skipped by `if:`.
#[pipeline_test("tests/formats/run/github.yml", job = "matrix", steps = "all")]
fn github_actions_matrix_with_continue_on_error(stage: &Stage) {
    let steps = stage.steps();
    assert_eq!(steps[0].name, "Run echo \"hello n=1\"");
    assert!(
        matches!(steps[1].status, StepStatus::FailedAllowed { exit_code: 3 }),
        "{steps:?}"
    );
    assert!(
        matches!(steps[2].status, StepStatus::NotRun { .. }),
        "{steps:?}"
    );
}

/// A Drone pipeline with services and `when:`, built on `main`.
#[pipeline_test("tests/formats/run/drone.yml", stage = "test", branch = "main")]
fn drone_pipeline_with_services_and_when(stage: &Stage) {
    assert_eq!(redis(stage.service("cache").addr(6379), "PING"), "+PONG");
    let status = |name: &str| status_of(stage, name);
    assert_eq!(status("only on main"), StepStatus::Passed);
    assert!(matches!(status("never on main"), StepStatus::NotRun { .. }));
    assert_eq!(status("notify"), StepStatus::Passed);
}

/// A NextGen stage whose Background step the Run steps reach by its identifier; variables and
/// `<+ >` expressions evaluated.
#[pipeline_test("tests/formats/run/nextgen.yaml")]
fn nextgen_stage_with_a_background_step(stage: &Stage) {
    let addr = stage.service("redis").addr(6379);
    assert_eq!(redis(addr, "GET greeting"), "$10");
}

/// `pipeline_tests!` over a Drone file: one test per pipeline (`test`, then `after`).
mod every_drone_pipeline {
    pipeline_test::pipeline_tests!("tests/formats/run/drone.yml");
}

/// Data made at run time through the attribute: `$GITHUB_OUTPUT` read by the next step's `if:`
/// and script, `$GITHUB_ENV` and `$GITHUB_PATH` seen by later steps, `steps.x.outcome` after
/// a `continue-on-error` step.
#[pipeline_test(
    "tests/formats/run/github-run-time.yml",
    job = "outputs",
    steps = "all"
)]
fn github_actions_steps_hand_on_what_they_make(stage: &Stage) {
    let status = |name: &str| status_of(stage, name);
    assert_eq!(status("Runs only when check said so"), StepStatus::Passed);
    assert!(matches!(
        status("Skipped when check said nothing"),
        StepStatus::NotRun { .. }
    ));
    assert!(matches!(
        status("flaky"),
        StepStatus::FailedAllowed { exit_code: 3 }
    ));
    assert_eq!(
        status("Sees the failure's outcome and conclusion"),
        StepStatus::Passed
    );
}

/// A local composite action (which calls another) through the attribute: its inputs, and its
/// outputs handed to the calling step.
#[pipeline_test(
    "tests/formats/run/github-local-action.yml",
    job = "greet",
    event = "push",
    steps = "all"
)]
fn github_actions_local_composite_action(stage: &Stage) {
    let last = stage.steps().last().unwrap();
    assert_eq!(last.name, "Reads the action's outputs");
    assert_eq!(last.status, StepStatus::Passed);
}

/// Docker actions through the attribute: one built from its Dockerfile, one from an image.
#[pipeline_test(
    "tests/formats/run/github-local-action.yml",
    job = "docker",
    steps = "all"
)]
fn github_actions_local_docker_actions(stage: &Stage) {
    assert!(
        stage.steps().iter().all(|s| s.status == StepStatus::Passed),
        "{:?}",
        stage.steps()
    );
}

/// A NextGen Run step's output variables read by the next step, through the attribute.
#[pipeline_test("tests/formats/run/nextgen-outputs.yaml")]
fn nextgen_output_variables_reach_the_next_step(stage: &Stage) {
    assert_eq!(status_of(stage, "use"), StepStatus::Passed);
}

/// `needs.<job>.outputs` through the attribute: the job it needs runs first, as on GitHub,
/// and its `if:` and steps read what that job handed on.
#[pipeline_test("tests/formats/run/github-needs.yml", job = "use", steps = "all")]
fn github_actions_job_reads_the_outputs_of_the_job_it_needs(stage: &Stage) {
    let steps = stage.steps();
    assert_eq!(steps.len(), 1, "{steps:?}");
    assert_eq!(steps[0].status, StepStatus::Passed, "{steps:?}");
}

/// A matrix made with `fromJSON(needs.setup.outputs.matrix)`: its first combination runs.
#[pipeline_test("tests/formats/run/github-needs.yml", job = "fan-out", steps = "all")]
fn github_actions_matrix_made_from_the_outputs_of_the_job_it_needs(stage: &Stage) {
    let steps = stage.steps();
    assert_eq!(steps[0].name, "Run echo \"n=1 extra=\"", "{steps:?}");
    assert_eq!(steps[0].status, StepStatus::Passed);
}

/// A local JavaScript action run with `node` in the job's container: its input given, its
/// output read by the next step.
#[pipeline_test("tests/formats/run/github-js-action.yml", job = "node", steps = "all")]
fn github_actions_local_javascript_action(stage: &Stage) {
    let steps = stage.steps();
    assert!(
        steps.iter().all(|s| s.status == StepStatus::Passed),
        "{steps:?}"
    );
    assert_eq!(steps.len(), 2, "{steps:?}");
}

/// A GitHub job under the attribute runs its services only, by default: a fixture, not the
/// job's own test command; `steps = [...]` adds the named steps, and `env.PIPELINE_TEST` is
/// set for `if:`.
#[pipeline_test("tests/formats/run/github-fixture.yml", job = "test")]
fn github_actions_job_runs_its_services_only_by_default(stage: &Stage) {
    assert_eq!(redis(stage.service("redis").addr(6379), "PING"), "+PONG");
    let status = |name: &str| status_of(stage, name);
    assert!(matches!(status("migrate"), StepStatus::NotRun { .. }));
    assert!(matches!(
        status("Run cargo test"),
        StepStatus::NotRun { .. }
    ));
}

/// `steps = ["migrate"]`: the services and that step; a step guarded by
/// `if: ${{ !env.PIPELINE_TEST }}` would not run either way.
#[pipeline_test("tests/formats/run/github-fixture.yml", job = "test", steps = ["migrate"])]
fn github_actions_job_runs_the_named_steps_with_its_services(stage: &Stage) {
    let status = |name: &str| status_of(stage, name);
    assert_eq!(status("migrate"), StepStatus::Passed);
    assert!(matches!(
        status("Run cargo test"),
        StepStatus::NotRun { .. }
    ));
}

/// `steps = "all"` with the guard: `env.PIPELINE_TEST` is true, so the guarded step is skipped.
#[pipeline_test("tests/formats/run/github-fixture.yml", job = "test", steps = "all")]
fn github_actions_guard_on_env_pipeline_test(stage: &Stage) {
    let status = |name: &str| status_of(stage, name);
    assert_eq!(status("migrate"), StepStatus::Passed);
    assert!(matches!(
        status("Run cargo test"),
        StepStatus::NotRun { .. }
    ));
}

/// Under the attribute a `16379:6379` mapping is published on a free port the engine picks
/// (parallel tests do not collide), and `job.services.cache.ports[6379]` is that port.
#[pipeline_test("tests/formats/run/github-fixture.yml", job = "ports", steps = "all")]
fn github_actions_fixed_host_ports_are_free_ports_in_a_test(stage: &Stage) {
    let port = stage.service("cache").host_port(6379);
    assert_ne!(port, 16379);
    assert_eq!(redis(stage.service("cache").addr(6379), "PING"), "+PONG");
    let step = stage.steps().iter().find(|s| s.name == "port").unwrap();
    assert!(
        step.output_tail
            .iter()
            .any(|l| *l == format!("port={port}")),
        "{step:?}"
    );
}

/// `matrix = "n=2"` chooses the combination that runs.
#[pipeline_test(
    "tests/formats/run/github.yml",
    job = "matrix",
    steps = "all",
    matrix = "n=2"
)]
fn github_actions_matrix_combination_chosen(stage: &Stage) {
    assert_eq!(stage.steps()[0].name, "Run echo \"hello n=2\"");
}

/// `pipeline_tests!` over a GitHub workflow: a test per job, and per combination of a job's
/// matrix (`matrix_1`, `matrix_2`, `matrix_3`).
mod every_github_job {
    pipeline_test::pipeline_tests!("tests/formats/run/github.yml");
}

//! The run logic through the fake engine (`engine/fake`): no daemon, a stage in milliseconds.
//! What only a real engine can show (networks, DNS, published ports, images, the reaper) is
//! tested on Docker, in the integration tests.

mod databases;
mod failures;
mod flow;
mod github;
mod services;
mod shared;
mod teardown;

use std::sync::Arc;
use std::time::Duration;

use crate::engine::fake::{Call, FakeEngine, Script};
use crate::report::{CollectObserver, StageReport, StepStatus};
use crate::run::{BuildOptions, EngineOptions, Limits, RunOptions, Runner, Workspace};
use crate::spec::Pipeline;
use crate::teardown::Keep;

/// A v1 file whose one stage has `steps` (each a line such as
/// `- {name: a, type: run, spec: {container: alpine, script: x}}`).
pub(super) fn v1(steps: &[&str]) -> Pipeline {
    let mut yaml =
        String::from("kind: pipeline\nspec:\n  stages:\n  - type: ci\n    spec:\n      steps:\n");
    for s in steps {
        yaml.push_str("      ");
        yaml.push_str(s);
        yaml.push('\n');
    }
    parse("t.yaml", &yaml)
}

pub(super) fn parse(name: &str, yaml: &str) -> Pipeline {
    Pipeline::parse(&crate::source::SourceFile::new(name, yaml.to_string()))
        .unwrap_or_else(|d| panic!("{d}"))
}

/// A run step named `name` running `script` in alpine.
pub(super) fn run(name: &str) -> String {
    format!("- {{name: {name}, type: run, spec: {{container: alpine, script: 'true'}}}}")
}

/// A background step named `name` on image `image`.
pub(super) fn service(name: &str, image: &str) -> String {
    format!("- {{name: {name}, type: background, spec: {{container: {image}}}}}")
}

/// Options as a test binary has them, with a collecting observer and no environment read.
pub(super) fn options() -> (RunOptions, Arc<CollectObserver>) {
    let observer = Arc::new(CollectObserver::default());
    let options = RunOptions {
        build: BuildOptions {
            context: Default::default(),
            workspace: Workspace::Directory(std::env::temp_dir()),
            plan: Default::default(),
            fixed_host_ports: false,
        },
        engine: EngineOptions {
            keep: Keep::Never,
            publish_ports: true,
            reuse_networks: true,
            handle_signals: false,
        },
        limits: Limits {
            ready_timeout: Duration::from_millis(400),
            lookahead: crate::run::DEFAULT_LOOKAHEAD,
        },
        observer: observer.clone(),
    };
    (options, observer)
}

/// Runs stage 0 of `pipeline` on `fake` to its end: the report and what the observer heard.
pub(super) async fn run_with(
    fake: &FakeEngine,
    pipeline: &Pipeline,
    options: RunOptions,
) -> StageReport {
    let runner = Runner::with_engine(fake.engine(), options);
    runner.run_stage(pipeline, 0).await.expect("the stage runs")
}

/// [`run_with`] default options.
pub(super) async fn run_stage(fake: &FakeEngine, steps: &[&str]) -> StageReport {
    run_with(fake, &v1(steps), options().0).await
}

pub(super) fn status(report: &StageReport, step: &str) -> StepStatus {
    report
        .step(step)
        .unwrap_or_else(|| panic!("no step `{step}` in {report:?}"))
        .status
        .clone()
}

/// The steps the engine created containers for, in order.
pub(super) fn created(fake: &FakeEngine) -> Vec<String> {
    fake.calls()
        .into_iter()
        .filter_map(|c| match c {
            Call::Create(step, _) => Some(step),
            _ => None,
        })
        .collect()
}

pub(super) fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub(super) fn exits(code: i64) -> Script {
    Script::exits(code)
}

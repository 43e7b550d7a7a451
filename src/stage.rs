//! The running stage a test body receives.

use pipeline_test_harness::RunningStage;
use pipeline_test_harness::Service;
use pipeline_test_harness::StepReport;

/// The stage of a `#[pipeline_test]`, running: every step has passed and the background
/// services are still up. Teardown follows the body, whatever it did.
///
/// # Examples
///
/// ```no_run
/// use pipeline_test::{pipeline_test, Stage};
///
/// #[pipeline_test("tests/pipelines/redis.yaml")]
/// fn cache_is_reachable(stage: &Stage) {
///     let cache = stage.service("cache");
///     let addr = cache.addr(6379); // 127.0.0.1:<random port>
///     assert!(std::net::TcpStream::connect(addr).is_ok());
/// }
/// ```
#[derive(Debug)]
pub struct Stage {
    name: String,
    run_id: String,
    services: Vec<Service>,
    steps: Vec<StepReport>,
}

impl Stage {
    /// What the body sees of `running`: its services and steps.
    pub(crate) fn new(running: &RunningStage) -> Self {
        Stage {
            name: running.name().to_string(),
            run_id: running.run_id().to_string(),
            services: running.services().to_vec(),
            steps: running.steps().to_vec(),
        }
    }

    /// What the body sees of a stage another process of the run started.
    pub(crate) fn from_shared(shared: pipeline_test_harness::share::SharedStage) -> Self {
        Stage {
            name: shared.name,
            run_id: shared.run_id,
            services: shared.services,
            steps: shared.steps,
        }
    }

    /// The background service of step `name` (its name, id or hostname).
    ///
    /// # Panics
    ///
    /// When the stage has no such service; the message lists the services it has, and the
    /// panic points at the caller.
    #[track_caller]
    pub fn service(&self, name: &str) -> &Service {
        match self.try_service(name) {
            Some(service) => service,
            None => panic!(
                "stage `{}` has no service `{name}`; its services are: {}",
                self.name,
                if self.services.is_empty() {
                    "none (only `type: background` steps are services)".to_string()
                } else {
                    let known: Vec<&str> = self.services.iter().map(Service::name).collect();
                    known.join(", ")
                }
            ),
        }
    }

    /// The service of step `name`, if there is one.
    pub fn try_service(&self, name: &str) -> Option<&Service> {
        self.services
            .iter()
            .find(|s| s.name() == name || s.hostnames().iter().any(|h| h == name))
    }

    /// Every background service, in YAML order.
    pub fn services(&self) -> &[Service] {
        &self.services
    }

    /// The stage's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The run's id; every resource of the run carries the label `pipeline-test.run=<id>`.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The reports of the stage's steps.
    pub fn steps(&self) -> &[StepReport] {
        &self.steps
    }
}

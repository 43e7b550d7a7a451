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
    pub(crate) running: RunningStage,
}

impl Stage {
    /// The background service of step `name` (its name, id or hostname).
    ///
    /// # Panics
    ///
    /// When the stage has no such service; the message lists the services it has.
    pub fn service(&self, name: &str) -> &Service {
        self.running.service(name).unwrap_or_else(|| {
            let known: Vec<&str> = self.running.services().iter().map(Service::name).collect();
            panic!(
                "stage `{}` has no service `{name}`; its services are: {}",
                self.running.name(),
                if known.is_empty() {
                    "none (only `type: background` steps are services)".to_string()
                } else {
                    known.join(", ")
                }
            )
        })
    }

    /// The service of step `name`, if there is one.
    pub fn try_service(&self, name: &str) -> Option<&Service> {
        self.running.service(name)
    }

    /// Every background service, in YAML order.
    pub fn services(&self) -> &[Service] {
        self.running.services()
    }

    /// The stage's name.
    pub fn name(&self) -> &str {
        self.running.name()
    }

    /// The run's id; every resource of the run carries the label `pipeline-test.run=<id>`.
    pub fn run_id(&self) -> &str {
        self.running.run_id()
    }

    /// The reports of the stage's steps.
    pub fn steps(&self) -> &[StepReport] {
        self.running.steps()
    }
}

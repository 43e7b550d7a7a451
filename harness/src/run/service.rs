//! A background step: its container, started detached, then the wait its [`Readiness`] says
//! (its health check, its listening ports), and the [`Service`] the test body gets.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::health::{Health, wait_healthy};
use super::launch::Launcher;
use super::output::Tail;
use super::readiness::Readiness;
use super::state::{RunState, lock};
use super::step::Ended;
use super::wait::{Listen, not_listening, readiness_budget, wait_listening};
use crate::Error;
use crate::plan::PlannedStep;
use crate::report::{Event, Observer, StepStatus};
use crate::service::Service;

/// A check whose interval is at most this is not worth a note: Docker would have run it about
/// as soon as the harness did.
const PROBED_QUIETLY: std::time::Duration = std::time::Duration::from_secs(1);

/// What starting a background step takes from its stage.
pub(crate) struct ServiceStart<'a> {
    pub launch: &'a Launcher,
    pub state: &'a Mutex<RunState>,
    pub observer: &'a dyn Observer,
    /// The secrets' masks, for what the service said.
    pub masks: &'a [String],
    /// The readiness budget of a service without one of its own.
    pub ready_timeout: Duration,
    /// `PIPELINE_TEST_KEEP`, which keeps a test's databases on the service.
    pub keep: crate::teardown::Keep,
}

impl ServiceStart<'_> {
    /// Starts service `step` and waits until it is ready: healthy, or listening on its ports.
    pub(crate) async fn run(
        &self,
        step: &PlannedStep,
        started: Instant,
        tail: &Mutex<Tail>,
    ) -> Result<Ended, Error> {
        let launch = self.launch;
        let creating = Instant::now();
        let id = launch
            .create_and_start(step, None, |id| {
                lock(self.state).container_created(step.index, id);
            })
            .await?;
        lock(self.state).timings.start_services += creating.elapsed();
        let budget = readiness_budget(step.timeout, step.healthcheck.as_ref(), self.ready_timeout);
        let ready_by = creating + budget;
        let readiness = Readiness::of(step, &launch.prepared.facts(&step.resolved_image));
        let mut healthy = false;
        let mut docker_first_check = None;
        // Ready for sure: healthy, or listening on every port it was waited for.
        let mut confirmed = false;
        if readiness.health_check() {
            let waiting = Instant::now();
            let (health, interval) =
                wait_healthy(launch.engine.as_ref(), (&step.name, &id), ready_by, budget).await?;
            lock(self.state).timings.health += waiting.elapsed();
            // Docker would have run its first check one interval after the start.
            docker_first_check = interval.filter(|i| *i > PROBED_QUIETLY);
            let failure = match health {
                Health::Healthy => {
                    healthy = true;
                    confirmed = true;
                    None
                }
                Health::NoCheck => None,
                Health::Failed(message) => Some(message),
                // Its log lines follow in the stage's failure message.
                Health::Exited(exit) => Some(exit.masked(self.masks).headline()),
            };
            if let Some(message) = failure {
                tail.lock().unwrap_or_else(|e| e.into_inner()).push(message);
                return Ok(Ended {
                    status: StepStatus::Unhealthy,
                    exit_code: None,
                });
            }
        }
        let listen = readiness.ports(healthy).clone();
        // The engine picks the host ports and the process id: ask (when there is a reason to).
        let mut ports = BTreeMap::new();
        let mut pid = None;
        if launch.publish_ports || !listen.is_empty() {
            let state = launch
                .engine
                .inspect(&id)
                .await
                .map_err(|e| e.doing(format!("inspect service `{}`", step.name)))?;
            pid = state.pid;
            ports = state.ports;
        }
        if !listen.is_empty() {
            let waiting = Instant::now();
            let who = (step.name.as_str(), id.as_str());
            let listened = wait_listening(
                launch.engine.as_ref(),
                who,
                pid,
                &listen,
                (launch.reach.host, &ports),
                ready_by,
            )
            .await;
            let message = match listened {
                Listen::Ready => {
                    confirmed = true;
                    None
                }
                Listen::NotListening(port) => Some(not_listening(&step.name, port, budget)),
                // A background step's exit code is information: say so, and go on.
                Listen::Exited(exit) => {
                    let exit = exit.masked(self.masks);
                    self.observer
                        .on_event(&Event::ServiceExited { exit: &exit });
                    None
                }
            };
            if let Some(message) = message {
                self.observer.on_event(&Event::Notice { message: &message });
            }
            lock(self.state).timings.health += waiting.elapsed();
        }
        lock(self.state).services.push(Service {
            name: step.name.clone(),
            container_id: id,
            masks: self.masks.to_vec().into(),
            hostnames: step.aliases.clone(),
            image: step.resolved_image.clone(),
            written_image: step.image.clone(),
            env: step.env.clone().into(),
            keep: self.keep,
            ports,
            host: launch.reach.host,
            engine: launch.engine.clone(),
            handle: tokio::runtime::Handle::current(),
            started: creating,
            ready_by: (!confirmed).then_some(ready_by),
            budget,
            pid,
        });
        self.observer.on_event(&Event::ServiceReady {
            step: &step.name,
            after: started.elapsed(),
            healthy,
            docker_first_check: docker_first_check.filter(|_| healthy),
        });
        Ok(Ended {
            status: StepStatus::Running,
            exit_code: None,
        })
    }
}

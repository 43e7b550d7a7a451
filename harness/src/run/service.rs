//! A background step: its container, started detached, then the wait for its health check or
//! its listening ports, and the [`Service`] the test body gets.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use super::output::Tail;
use super::step::{Ended, StageRun};
use super::wait::{Health, Listen, not_listening, readiness_budget, wait_healthy, wait_listening};
use crate::Error;
use crate::docker::engine_error;
use crate::plan::{PlannedStep, StepKind};
use crate::ports::{ContainerPort, Protocol};
use crate::report::{Event, StepStatus};
use crate::service::Service;

/// The TCP ports a service without a health check is waited for: those its image `EXPOSE`s
/// when it runs the image's own command, and those the YAML lists.
pub(crate) fn ports_to_wait_for(step: &PlannedStep, image_ports: &[ContainerPort]) -> Vec<u16> {
    let own_command = step.entrypoint.is_none() && step.cmd.is_none();
    let image_ports = image_ports.iter().filter(|_| own_command);
    let mut out: Vec<u16> = image_ports
        .chain(step.ports.iter().map(|m| &m.container))
        .filter(|p| p.protocol == Protocol::Tcp)
        .map(|p| p.number)
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

impl StageRun {
    /// True for a service whose health check (its own, or its image's) holds the next step.
    pub(crate) fn waits_for_health(&self, step: &PlannedStep) -> bool {
        if step.kind != StepKind::Service {
            return false;
        }
        match &step.healthcheck {
            Some(h) => h.test.first().is_some_and(|t| t != "NONE"),
            None => self.prepared.facts(&step.resolved_image).healthcheck,
        }
    }

    /// Starts a service and waits until it is ready: healthy, or listening on its ports.
    pub(crate) async fn service(
        &self,
        step: &PlannedStep,
        started: Instant,
        tail: &Mutex<Tail>,
    ) -> Result<Ended, Error> {
        let creating = Instant::now();
        let id = self.create_and_start(step).await?;
        self.state().timings.start_services += creating.elapsed();
        let budget = readiness_budget(step.timeout, step.healthcheck.as_ref(), self.ready_timeout);
        let ready_by = creating + budget;
        let wait_health = self.waits_for_health(step);
        let mut healthy = false;
        // Ready for sure: healthy, or listening on every port it was waited for.
        let mut confirmed = false;
        if wait_health {
            let waiting = Instant::now();
            let health = wait_healthy(
                &self.docker,
                (&step.name, &id),
                ready_by,
                budget,
                self.run_health_checks,
            )
            .await;
            self.state().timings.health += waiting.elapsed();
            let failure = match health? {
                Health::Healthy => {
                    healthy = true;
                    confirmed = true;
                    None
                }
                Health::NoCheck => None,
                Health::Failed(message) => Some(message),
                // Its log lines follow in the stage's failure message.
                Health::Exited(exit) => Some(exit.masked(&self.plan.masks).headline()),
            };
            if let Some(message) = failure {
                tail.lock().unwrap_or_else(|e| e.into_inner()).push(message);
                return Ok(Ended {
                    status: StepStatus::Unhealthy,
                    exit_code: None,
                });
            }
        }
        let listen = if wait_health {
            Vec::new()
        } else {
            ports_to_wait_for(
                step,
                &self.prepared.facts(&step.resolved_image).exposed_ports,
            )
        };
        // The engine picks the host ports and the process id: ask (when there is a reason to).
        let mut ports = BTreeMap::new();
        let mut pid = None;
        if self.publish_ports || !listen.is_empty() {
            let inspect = self
                .docker
                .inspect_container(&id, None)
                .await
                .map_err(|e| engine_error(format!("inspect service `{}`", step.name), e))?;
            // A remote engine's process ids are not this machine's.
            pid = inspect
                .state
                .and_then(|s| s.pid)
                .and_then(|p| u32::try_from(p).ok())
                .filter(|_| self.reach.local);
            for (port, bindings) in inspect
                .network_settings
                .and_then(|n| n.ports)
                .unwrap_or_default()
            {
                let host = bindings
                    .unwrap_or_default()
                    .iter()
                    .find_map(|b| b.host_port.as_deref()?.parse::<u16>().ok());
                if let (Ok(port), Some(host)) = (port.parse::<ContainerPort>(), host) {
                    ports.insert(port, host);
                }
            }
        }
        if !listen.is_empty() {
            let waiting = Instant::now();
            let who = (step.name.as_str(), id.as_str());
            let listened = wait_listening(
                &self.docker,
                who,
                pid,
                &listen,
                (self.reach.host, &ports),
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
                    let exit = exit.masked(&self.plan.masks);
                    self.observer
                        .on_event(&Event::ServiceExited { exit: &exit });
                    None
                }
            };
            if let Some(message) = message {
                self.observer.on_event(&Event::Notice { message: &message });
            }
            self.state().timings.health += waiting.elapsed();
        }
        self.state().services.push(Service {
            name: step.name.clone(),
            container_id: id,
            masks: self.plan.masks.clone().into(),
            hostnames: step.aliases.clone(),
            image: step.resolved_image.clone(),
            ports,
            host: self.reach.host,
            docker: self.docker.clone(),
            handle: tokio::runtime::Handle::current(),
            started: creating,
            ready_by: (!confirmed).then_some(ready_by),
            budget,
        });
        self.observer.on_event(&Event::ServiceReady {
            step: &step.name,
            after: started.elapsed(),
            healthy,
        });
        Ok(Ended {
            status: StepStatus::Running,
            exit_code: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(spec: &str) -> PlannedStep {
        crate::plan::plan_for_test(&format!(
            "      steps:\n      - {{name: s, type: background, spec: {spec}}}\n"
        ))
        .steps
        .remove(0)
    }

    #[test]
    fn the_images_ports_and_the_yamls() {
        let image = [ContainerPort::tcp(6379), "53/udp".parse().unwrap()];
        assert_eq!(
            ports_to_wait_for(
                &step("{image: redis, ports: ['7000:7001', '9/udp']}"),
                &image
            ),
            [6379, 7001]
        );
    }

    #[test]
    fn a_service_with_its_own_command_waits_only_for_the_yamls_ports() {
        let image = [ContainerPort::tcp(6379)];
        assert_eq!(
            ports_to_wait_for(
                &step("{image: redis, args: [redis-server, --port, '7000'], ports: ['7000']}"),
                &image
            ),
            [7000]
        );
    }
}

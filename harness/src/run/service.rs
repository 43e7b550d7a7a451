//! A background step: its container, started detached, then the wait for its health check or
//! its listening ports, and the [`Service`] the test body gets.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use super::health::{Health, wait_healthy};
use super::output::Tail;
use super::step::{Ended, StageRun};
use super::wait::{Listen, WaitPorts, not_listening, readiness_budget, wait_listening};
use crate::Error;
use crate::docker::engine_error;
use crate::plan::{PlannedStep, StepKind};
use crate::ports::{ContainerPort, Protocol};
use crate::report::{Event, StepStatus};
use crate::service::Service;

/// The TCP ports a service is waited for: those the YAML lists, and those its image
/// `EXPOSE`s when it runs the image's own command. Without a health check, every one of them;
/// with one (which has passed), every port the YAML lists and one of the image's at least: a
/// server that answers its check on a local socket during an init phase with networking off
/// (the MySQL and Postgres entrypoints) is not ready until it listens again.
pub(crate) fn ports_to_wait_for(
    step: &PlannedStep,
    image_ports: &[ContainerPort],
    health_checked: bool,
) -> WaitPorts {
    let tcp = |ports: &mut dyn Iterator<Item = &ContainerPort>| {
        let mut out: Vec<u16> = ports
            .filter(|p| p.protocol == Protocol::Tcp)
            .map(|p| p.number)
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    };
    let own_command = step.entrypoint.is_none() && step.cmd.is_none();
    let declared = tcp(&mut step.ports.iter().map(|m| &m.container));
    let image = tcp(&mut image_ports.iter().filter(|_| own_command));
    if health_checked {
        let any = image
            .into_iter()
            .filter(|p| !declared.contains(p))
            .collect();
        WaitPorts { all: declared, any }
    } else {
        let mut all = declared;
        all.extend(image);
        all.sort_unstable();
        all.dedup();
        WaitPorts {
            all,
            any: Vec::new(),
        }
    }
}

/// A check whose interval is at most this is not worth a note: Docker would have run it about
/// as soon as the harness did.
const PROBED_QUIETLY: std::time::Duration = std::time::Duration::from_secs(1);

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
        let mut docker_first_check = None;
        // Ready for sure: healthy, or listening on every port it was waited for.
        let mut confirmed = false;
        if wait_health {
            let waiting = Instant::now();
            let (health, interval) =
                wait_healthy(&self.docker, (&step.name, &id), ready_by, budget).await?;
            self.state().timings.health += waiting.elapsed();
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
        let listen = ports_to_wait_for(
            step,
            &self.prepared.facts(&step.resolved_image).exposed_ports,
            healthy,
        );
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
            docker_first_check: docker_first_check.filter(|_| healthy),
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
                &image,
                false
            )
            .all,
            [6379, 7001]
        );
    }

    #[test]
    fn a_service_with_its_own_command_waits_only_for_the_yamls_ports() {
        let image = [ContainerPort::tcp(6379)];
        assert_eq!(
            ports_to_wait_for(
                &step("{image: redis, args: [redis-server, --port, '7000'], ports: ['7000']}"),
                &image,
                false
            )
            .all,
            [7000]
        );
    }

    #[test]
    fn a_healthy_service_listens_on_its_declared_ports_and_one_of_its_images() {
        let image = [ContainerPort::tcp(3306), ContainerPort::tcp(33060)];
        let ports = ports_to_wait_for(&step("{image: mysql, ports: ['13306:3306']}"), &image, true);
        assert_eq!(
            ports,
            WaitPorts {
                all: vec![3306],
                any: vec![33060]
            }
        );
    }
}

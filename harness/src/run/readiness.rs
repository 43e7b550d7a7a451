//! What makes a service ready, as a value computed from its step and its image's facts alone
//! (as testcontainers' `WaitFor`): `service.rs` only carries it out. Pure, so tested without an
//! engine.

use super::prepare::ImageFacts;
use super::wait::WaitPorts;
use crate::plan::{PlannedStep, StepKind};
use crate::ports::{ContainerPort, Protocol};

/// How a service shows it is ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Readiness {
    /// Its health check (its own, or its image's `HEALTHCHECK`) passes, then it listens on
    /// `then`. Should the container turn out to have no check after all, it listens on
    /// `unchecked`.
    HealthCheck {
        then: WaitPorts,
        unchecked: WaitPorts,
    },
    /// It listens on these ports (none: ready once started).
    Ports(WaitPorts),
    /// Not a service: a step that runs to its end.
    NotAService,
}

impl Readiness {
    /// The readiness of `step`, whose image has `facts`.
    pub(crate) fn of(step: &PlannedStep, facts: &ImageFacts) -> Readiness {
        if step.kind != StepKind::Service {
            return Readiness::NotAService;
        }
        let checked = match &step.healthcheck {
            Some(h) => h.test.first().is_some_and(|t| t != "NONE"),
            None => facts.healthcheck,
        };
        let unchecked = ports_to_wait_for(step, &facts.exposed_ports, false);
        if checked {
            Readiness::HealthCheck {
                then: ports_to_wait_for(step, &facts.exposed_ports, true),
                unchecked,
            }
        } else {
            Readiness::Ports(unchecked)
        }
    }

    /// Whether a health check is waited for: such a service holds the next step until it
    /// passes.
    pub(crate) fn health_check(&self) -> bool {
        matches!(self, Readiness::HealthCheck { .. })
    }

    /// The ports to wait for, `healthy` telling whether a health check passed.
    pub(crate) fn ports(&self, healthy: bool) -> &WaitPorts {
        static NONE: WaitPorts = WaitPorts {
            all: Vec::new(),
            any: Vec::new(),
        };
        match self {
            Readiness::HealthCheck { then, .. } if healthy => then,
            Readiness::HealthCheck { unchecked, .. } => unchecked,
            Readiness::Ports(p) => p,
            Readiness::NotAService => &NONE,
        }
    }
}

/// The TCP ports a service is waited for: those the YAML lists, and those its image
/// `EXPOSE`s when it runs the image's own command. Without a health check, every one of them;
/// with one (which has passed), every port the YAML lists and one of the image's at least: a
/// server that answers its check on a local socket during an init phase with networking off
/// (the MySQL and Postgres entrypoints) is not ready until it listens again.
fn ports_to_wait_for(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::HealthPlan;
    use std::time::Duration;

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

    fn check(test: &[&str]) -> HealthPlan {
        HealthPlan {
            test: test.iter().map(|t| t.to_string()).collect(),
            interval: Duration::from_secs(10),
            timeout: Duration::from_secs(5),
            retries: 3,
            start_period: Duration::ZERO,
        }
    }

    fn facts(ports: &[ContainerPort], healthcheck: bool) -> ImageFacts {
        ImageFacts {
            exposed_ports: ports.to_vec(),
            healthcheck,
        }
    }

    #[test]
    fn a_service_with_its_own_check_waits_for_it_then_for_its_ports() {
        let mut s = step("{image: mysql, ports: ['13306:3306']}");
        s.healthcheck = Some(check(&["CMD-SHELL", "mysqladmin ping"]));
        let r = Readiness::of(
            &s,
            &facts(
                &[ContainerPort::tcp(3306), ContainerPort::tcp(33060)],
                false,
            ),
        );
        assert!(r.health_check());
        assert_eq!(
            r.ports(true),
            &WaitPorts {
                all: vec![3306],
                any: vec![33060]
            }
        );
        assert_eq!(
            r.ports(false),
            &WaitPorts {
                all: vec![3306, 33060],
                any: vec![]
            }
        );
    }

    #[test]
    fn the_images_check_counts_unless_the_step_turns_it_off() {
        let image = facts(&[ContainerPort::tcp(6379)], true);
        let s = step("{image: redis}");
        assert!(Readiness::of(&s, &image).health_check());
        let mut off = step("{image: redis}");
        off.healthcheck = Some(check(&["NONE"]));
        assert_eq!(
            Readiness::of(&off, &image),
            Readiness::Ports(WaitPorts {
                all: vec![6379],
                any: vec![]
            })
        );
    }

    #[test]
    fn a_service_without_ports_or_check_is_ready_once_started() {
        let r = Readiness::of(
            &step("{image: alpine, args: [sleep, '60']}"),
            &facts(&[], false),
        );
        assert_eq!(r, Readiness::Ports(WaitPorts::default()));
        assert!(r.ports(false).is_empty());
    }
}

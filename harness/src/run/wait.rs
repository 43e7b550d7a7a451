//! Waiting on containers: a service's listening ports, a step's exit (its health check is
//! in `health.rs`).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::duration::format_duration;
use crate::engine::ContainerEngine;
use crate::exit::ServiceExit;
use crate::plan::HealthPlan;
use crate::ports::ContainerPort;

/// How often a stopping container is looked at.
const EXIT_LOOK: Duration = Duration::from_millis(50);
/// How long a service may take to be ready (healthy, or listening on its ports, and its
/// published ports answering), unless `PIPELINE_TEST_READY_TIMEOUT`, its `timeout` or its
/// health check's own numbers say otherwise.
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(60);
/// The pause before a local service's sockets are looked at again during its first
/// [`LISTEN_POLL_STEADY`]; after that each pause is half as long again as the one before, up
/// to [`LISTEN_POLL_MAX`]. A look costs a few microseconds while the service's network namespace holds no TCP socket (the kernel's
/// counters say so); only then is its socket table read, about a millisecond each here, as
/// the kernel walks every TCP socket of the machine (see `engine/docker/listen.rs`).
const LISTEN_POLL: Duration = Duration::from_millis(2);
/// How long the sockets are looked at every [`LISTEN_POLL`]: most services listen within it
/// (Redis in about 30 ms), and a growing pause would find them up to half a pause late.
const LISTEN_POLL_STEADY: Duration = Duration::from_millis(250);
/// The longest pause between two looks at a local service's sockets.
const LISTEN_POLL_MAX: Duration = Duration::from_millis(100);
/// How often a remote service's published port is probed.
const PROBE_POLL: Duration = Duration::from_millis(10);
/// How long the engine may take to say a container has stopped once its process is gone.
const EXIT_NOTICED: Duration = Duration::from_millis(300);
/// How often a remote service's container is looked at while its port is probed.
const EXIT_POLL: Duration = Duration::from_millis(250);

/// How a wait for listening ports ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Listen {
    /// Every port is listened on (or there was no way to tell).
    Ready,
    /// The first port not listened on within the budget.
    NotListening(u16),
    /// The container stopped.
    Exited(ServiceExit),
}

/// What `run` says of a service that did not listen on `port` within its `budget`.
pub(crate) fn not_listening(service: &str, port: u16, budget: Duration) -> String {
    format!(
        "service `{service}` did not listen on port {port} within its readiness budget of {}; going on",
        format_duration(budget)
    )
}

/// A service's readiness budget: its `timeout` when the YAML gives one; otherwise
/// `ready_timeout`, or what its declared health check may take (`start_period`, then
/// `retries` checks `interval` apart) when that is longer. One budget covers the health wait,
/// the wait for listening ports, and the check of its published ports before a test body.
pub(crate) fn readiness_budget(
    timeout: Option<Duration>,
    check: Option<&HealthPlan>,
    ready_timeout: Duration,
) -> Duration {
    timeout.unwrap_or_else(|| match check {
        Some(h) => ready_timeout.max(h.start_period + h.interval * h.retries),
        None => ready_timeout,
    })
}

/// The ports a service is waited for: every one of `all`, and one of `any` at least.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct WaitPorts {
    /// Each must listen.
    pub all: Vec<u16>,
    /// One of these must listen (when there are any).
    pub any: Vec<u16>,
}

impl WaitPorts {
    /// Nothing to wait for.
    pub(crate) fn is_empty(&self) -> bool {
        self.all.is_empty() && self.any.is_empty()
    }

    /// The first port that `open` does not satisfy: one of `all` not in it, or the first of
    /// `any` when none of them is.
    fn missing(&self, open: &[u16]) -> Option<u16> {
        if let Some(port) = self.all.iter().find(|p| !open.contains(p)) {
            return Some(*port);
        }
        let none_open = !self.any.iter().any(|p| open.contains(p));
        self.any.first().copied().filter(|_| none_open)
    }
}

/// Waits until service `name` listens on `ports`, until `deadline`. When the engine can tell
/// (a local Docker engine reads `/proc/<pid>/net/tcp{,6}`: no traffic at all); otherwise
/// its published ports are probed on 127.0.0.1 while its container is looked at now and then;
/// with neither, there is nothing to wait with.
pub(crate) async fn wait_listening(
    engine: &dyn ContainerEngine,
    (name, id): (&str, &str),
    pid: Option<u32>,
    ports: &WaitPorts,
    (host, published): (std::net::IpAddr, &BTreeMap<ContainerPort, u16>),
    deadline: Instant,
) -> Listen {
    let exited = |port: u16| async move {
        let waiting = format!("waiting for it to listen on port {port}");
        ServiceExit::inspect(engine, name, id, &waiting).await
    };
    // The process is gone: the container has stopped, or the engine is about to say so.
    let gone = |port: u16| async move {
        let until = Instant::now() + EXIT_NOTICED;
        loop {
            if let Some(exit) = exited(port).await {
                return Some(exit);
            }
            if Instant::now() >= until {
                return None;
            }
            tokio::time::sleep(EXIT_LOOK).await;
        }
    };
    let Some(first) = ports.missing(&[]) else {
        return Listen::Ready;
    };
    let enough = |open: &[u16]| ports.missing(open).is_none();
    if let Some(pid) = pid.filter(|p| *p > 0) {
        // The sockets are looked at once at the start, then every 2 ms, then after growing
        // pauses. The first look tells whether `/proc` can be read at all.
        let began = Instant::now();
        let mut pause = LISTEN_POLL;
        let mut first_read = true;
        loop {
            match engine.listening(id, pid, &enough) {
                None if first_read => break,
                None => return gone(first).await.map_or(Listen::Ready, Listen::Exited),
                Some(open) => match ports.missing(&open) {
                    None => return Listen::Ready,
                    Some(port) if Instant::now() >= deadline => return Listen::NotListening(port),
                    Some(_) => first_read = false,
                },
            }
            tokio::time::sleep(pause).await;
            if began.elapsed() >= LISTEN_POLL_STEADY {
                pause = next_pause(pause);
            }
        }
    }
    // No process to read from `/proc`: a remote engine, or it has stopped already. When the
    // engine gave a pid a moment ago, it may not say yet that the container has stopped.
    let stopped = match pid {
        Some(p) if p > 0 => gone(first).await,
        _ => exited(first).await,
    };
    if let Some(exit) = stopped {
        return Listen::Exited(exit);
    }
    // Only published ports can be probed from here.
    let reachable = |p: &&u16| published.contains_key(&ContainerPort::tcp(**p));
    let all: Vec<u16> = ports.all.iter().filter(reachable).copied().collect();
    let any: Vec<u16> = ports.any.iter().filter(reachable).copied().collect();
    let mut looked = Instant::now();
    loop {
        let mut open = Vec::new();
        for &port in all.iter().chain(&any) {
            let host_port = published[&ContainerPort::tcp(port)];
            let addr = std::net::SocketAddr::from((host, host_port));
            if crate::service::port_is_ready(addr, crate::service::QUIET_OPEN).await {
                open.push(port);
            }
        }
        let Some(port) = (WaitPorts {
            all: all.clone(),
            any: any.clone(),
        })
        .missing(&open) else {
            return Listen::Ready;
        };
        if looked.elapsed() >= EXIT_POLL {
            if let Some(exit) = exited(port).await {
                return Listen::Exited(exit);
            }
            looked = Instant::now();
        }
        if Instant::now() >= deadline {
            return Listen::NotListening(port);
        }
        tokio::time::sleep(PROBE_POLL).await;
    }
}

/// The pause after `pause`: half as long again, up to [`LISTEN_POLL_MAX`].
fn next_pause(pause: Duration) -> Duration {
    (pause + pause / 2).min(LISTEN_POLL_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_port_of_all_and_one_of_any() {
        let ports = WaitPorts {
            all: vec![6379],
            any: vec![3306, 33060],
        };
        assert_eq!(ports.missing(&[]), Some(6379));
        assert_eq!(ports.missing(&[6379]), Some(3306));
        assert_eq!(ports.missing(&[6379, 33060]), None);
        assert_eq!(WaitPorts::default().missing(&[]), None);
    }

    #[test]
    fn pauses_grow_to_a_bound() {
        let mut pause = LISTEN_POLL;
        let mut looks = Vec::new();
        let mut at = Duration::ZERO;
        while at < Duration::from_secs(10) {
            looks.push(at);
            at += pause;
            pause = next_pause(pause);
        }
        assert_eq!(pause, LISTEN_POLL_MAX);
        // A server ready within 10 ms is seen within a few ms of it.
        let after = |t: u64| {
            looks
                .iter()
                .find(|l| **l >= Duration::from_millis(t))
                .copied()
        };
        assert!(after(8).unwrap() <= Duration::from_millis(12), "{looks:?}");
        // A server that takes 10 s costs about a hundred looks, not thousands.
        assert!(looks.len() < 120, "{} looks", looks.len());
    }

    #[test]
    fn not_listening_message() {
        insta::assert_snapshot!(not_listening("cache", 7777, Duration::from_secs(3)));
    }

    #[test]
    fn readiness_budgets() {
        let ready = DEFAULT_READY_TIMEOUT;
        let check = |interval: u64, retries: u32, start: u64| HealthPlan {
            test: vec!["CMD".into(), "true".into()],
            interval: Duration::from_secs(interval),
            timeout: Duration::from_secs(2),
            retries,
            start_period: Duration::from_secs(start),
        };
        assert_eq!(readiness_budget(None, None, ready), ready);
        assert_eq!(
            readiness_budget(None, Some(&check(1, 3, 5)), ready),
            ready,
            "a quick check keeps the default: the engine ends it when it fails"
        );
        assert_eq!(
            readiness_budget(None, Some(&check(5, 30, 20)), ready),
            Duration::from_secs(170)
        );
        assert_eq!(
            readiness_budget(Some(Duration::from_secs(7)), Some(&check(5, 30, 20)), ready),
            Duration::from_secs(7)
        );
        let defaults = crate::plan::HEALTH_INTERVAL * crate::plan::HEALTH_RETRIES;
        assert_eq!(
            defaults, DEFAULT_READY_TIMEOUT,
            "the default check fits the default budget"
        );
    }
}

//! A service's health check, probed from the moment its container runs.
//!
//! Docker runs a container's first health check one `interval` after its start: 10 s as
//! GitHub's documentation writes a service's options, 30 s by default. The harness runs the
//! same command itself (an exec, as the engine would run it) from the start, every 100 ms for
//! the first seconds and then less often, up to once a second. The engine's own status still
//! counts: `healthy` ends the wait, `unhealthy` or a stopped container ends it with the cause.
//! The budget is what the declaration allows (see [`super::wait::readiness_budget`]).

use std::time::{Duration, Instant};

use crate::Error;
use crate::duration::format_duration;
use crate::engine::{ContainerEngine, HealthCheck, HealthStatus};
use crate::exit::ServiceExit;

/// The first period between two tries of a check.
pub(crate) const PROBE_FIRST: Duration = Duration::from_millis(100);
/// The longest period between two tries.
const PROBE_MAX: Duration = Duration::from_secs(1);
/// How long tries stay [`PROBE_FIRST`] apart before the period grows.
const PROBE_FAST_FOR: Duration = Duration::from_secs(5);
/// By how much the period grows at each try after [`PROBE_FAST_FOR`].
const PROBE_STEP: Duration = Duration::from_millis(100);
/// Docker's interval and timeout when a check gives none.
const DOCKER_DEFAULT: Duration = Duration::from_secs(30);
/// How much of a check's output a failure message keeps (Docker keeps 4 KiB).
const OUTPUT_KEPT: usize = 4096;

/// How a health wait ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Health {
    /// The health check passed.
    Healthy,
    /// There is no health check after all (Podman reports an empty status).
    NoCheck,
    /// Unhealthy, or not healthy within the budget: why.
    Failed(String),
    /// The container stopped.
    Exited(ServiceExit),
}

/// A health check as the harness runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Probe {
    /// The command, as an exec runs it.
    pub cmd: Vec<String>,
    /// How long one try may take.
    pub timeout: Duration,
    /// The engine's interval: when it would run its first check.
    pub interval: Duration,
}

impl Probe {
    /// The probe of a container's health check; `None` for `NONE` or an empty test.
    pub(crate) fn of(check: &HealthCheck) -> Option<Probe> {
        let test = &check.test;
        let cmd = match test.first().map(String::as_str) {
            Some("CMD") if test.len() > 1 => test[1..].to_vec(),
            Some("CMD-SHELL") if test.len() > 1 => {
                vec!["/bin/sh".into(), "-c".into(), test[1..].join(" ")]
            }
            _ => return None,
        };
        Some(Probe {
            cmd,
            timeout: check.timeout.unwrap_or(DOCKER_DEFAULT),
            interval: check.interval.unwrap_or(DOCKER_DEFAULT),
        })
    }
}

/// The wait after a try, given the one before it and the time since the first: [`PROBE_FIRST`]
/// for [`PROBE_FAST_FOR`], then [`PROBE_STEP`] longer at each try, up to [`PROBE_MAX`].
pub(crate) fn next_period(previous: Duration, since_first: Duration) -> Duration {
    if since_first < PROBE_FAST_FOR {
        PROBE_FIRST
    } else {
        (previous + PROBE_STEP).min(PROBE_MAX)
    }
}

/// A try's result as a failure message gives it: its exit code and (the end of) its output.
pub(crate) fn describe_try(exit_code: i64, output: &str) -> String {
    let output = output.trim();
    let mut start = output.len().saturating_sub(OUTPUT_KEPT);
    while !output.is_char_boundary(start) {
        start += 1;
    }
    let cut = if start > 0 { "..." } else { "" };
    format!("exit code {exit_code}: {cut}{}", &output[start..])
}

/// Waits for service `name`'s health check until `deadline` (`budget` after its start),
/// running the check here from the start. Also returns the check's interval: when the engine
/// would have run its first check.
pub(crate) async fn wait_healthy(
    engine: &dyn ContainerEngine,
    (name, id): (&str, &str),
    deadline: Instant,
    budget: Duration,
) -> Result<(Health, Option<Duration>), Error> {
    let first = Instant::now();
    let mut period = PROBE_FIRST;
    let mut own_last: Option<String> = None;
    let mut probe: Option<Option<Probe>> = None;
    loop {
        let state = engine
            .inspect(id)
            .await
            .map_err(|e| e.doing(format!("inspect service `{name}`")))?;
        let probe = probe.get_or_insert_with(|| state.check.as_ref().and_then(Probe::of));
        let interval = probe.as_ref().map(|p| p.interval);
        if !state.running {
            let waiting = "waiting for its health check";
            if let Some(exit) = ServiceExit::inspect(engine, name, id, waiting).await {
                return Ok((Health::Exited(exit), interval));
            }
        }
        let engine_last = state
            .last_check
            .as_ref()
            .map(|(code, output)| describe_try(*code, output));
        let last_check = |own_last: &Option<String>| {
            own_last
                .clone()
                .or_else(|| engine_last.clone())
                .unwrap_or_else(|| "no check has run yet".into())
        };
        match state.health {
            HealthStatus::Healthy => return Ok((Health::Healthy, interval)),
            HealthStatus::Unhealthy => {
                let last = engine_last.clone().unwrap_or_else(|| last_check(&own_last));
                let message = format!("service `{name}` is unhealthy; last check: {last}");
                return Ok((Health::Failed(message), interval));
            }
            HealthStatus::None if probe.is_none() => {
                return Ok((Health::NoCheck, None));
            }
            _ => {}
        }
        if let Some(p) = probe.as_ref() {
            let cmd = p.cmd.clone();
            let tried =
                tokio::time::timeout(p.timeout, crate::service::exec_in(engine, name, id, cmd))
                    .await;
            own_last = Some(match tried {
                Ok(Ok(ran)) if ran.exit_code == 0 => return Ok((Health::Healthy, interval)),
                Ok(Ok(ran)) => {
                    describe_try(ran.exit_code, &format!("{}{}", ran.stdout, ran.stderr))
                }
                // The container may have stopped: the next look says so.
                Ok(Err(e)) => format!("the check could not run: {e}"),
                Err(_) => format!("timed out after {}", format_duration(p.timeout)),
            });
        }
        let now = Instant::now();
        if now >= deadline {
            let message = format!(
                "service `{name}` was not healthy within its readiness budget of {}; last check: {}",
                format_duration(budget),
                last_check(&own_last)
            );
            return Ok((Health::Failed(message), interval));
        }
        tokio::time::sleep(period.min(deadline - now)).await;
        period = next_period(period, first.elapsed());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_period_stays_short_then_grows_to_a_second() {
        let mut period = PROBE_FIRST;
        let mut at = Duration::ZERO;
        let mut periods = Vec::new();
        while at < Duration::from_secs(12) {
            periods.push(period);
            at += period;
            period = next_period(period, at);
        }
        assert!(periods[..50].iter().all(|p| *p == PROBE_FIRST));
        assert_eq!(*periods.last().unwrap(), PROBE_MAX);
        assert!(periods.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn probes_of_docker_checks() {
        let check = |test: &[&str], interval: Option<u64>| HealthCheck {
            test: test.iter().map(|s| s.to_string()).collect(),
            interval: interval.map(Duration::from_secs),
            timeout: Some(Duration::from_secs(5)),
        };
        let shell = Probe::of(&check(&["CMD-SHELL", "redis-cli ping"], Some(10)));
        assert_eq!(
            shell,
            Some(Probe {
                cmd: vec!["/bin/sh".into(), "-c".into(), "redis-cli ping".into()],
                timeout: Duration::from_secs(5),
                interval: Duration::from_secs(10),
            })
        );
        let exec = Probe::of(&check(&["CMD", "pg_isready", "-q"], None)).unwrap();
        assert_eq!(exec.cmd, ["pg_isready", "-q"]);
        assert_eq!(exec.interval, DOCKER_DEFAULT, "Docker's default interval");
        assert_eq!(Probe::of(&check(&["NONE"], None)), None);
        assert_eq!(Probe::of(&check(&["CMD"], None)), None);
    }

    #[test]
    fn a_tries_output_is_kept_to_its_end() {
        assert_eq!(describe_try(1, " no\n"), "exit code 1: no");
        let long = format!("{}é{}", "a".repeat(5000), "z".repeat(4095));
        let kept = describe_try(2, &long);
        assert!(kept.starts_with("exit code 2: ...") && kept.ends_with('z'));
        assert!(kept.len() < 4200);
    }
}

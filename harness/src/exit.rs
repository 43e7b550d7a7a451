//! A service whose container has stopped: its exit code, how long it ran, its last log lines
//! and, where its log says why, the reason.

use std::fmt;
use std::time::Duration;

use crate::duration::format_duration;
use crate::engine::{ContainerEngine, last_lines};

/// Lines of a service's log shown when it stops or when its stage fails.
pub const SERVICE_LOG_LINES: usize = 20;

/// Words that mark a log line as the likely reason a service stopped.
const REASON_WORDS: &[&str] = &[
    "error",
    "fatal",
    "panic",
    "you need to",
    "must ",
    "denied",
    "not found",
    "no such",
    "failed",
    "cannot",
    "can't",
    "invalid",
    "unable",
    "missing",
];

/// A service that exited while something waited for it.
///
/// # Examples
///
/// ```
/// use pipeline_test_harness::ServiceExit;
/// let exit = ServiceExit::new("db", 1, None, "waiting for it to listen on port 3306",
///     vec!["starting".into(), "  You need to specify one of MYSQL_ROOT_PASSWORD".into()]);
/// assert_eq!(exit.reason(), Some("You need to specify one of MYSQL_ROOT_PASSWORD"));
/// assert!(exit.to_string().starts_with("service `db` exited with code 1 while waiting"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServiceExit {
    /// The service's step name.
    pub service: String,
    /// Its exit code.
    pub exit_code: i64,
    /// How long it ran, when the engine says.
    pub after: Option<Duration>,
    /// What was being waited for when it was found stopped.
    pub waiting_for: String,
    /// The last lines of its log.
    pub log: Vec<String>,
}

impl ServiceExit {
    /// A description of a stopped service.
    pub fn new(
        service: impl Into<String>,
        exit_code: i64,
        after: Option<Duration>,
        waiting_for: impl Into<String>,
        log: Vec<String>,
    ) -> Self {
        ServiceExit {
            service: service.into(),
            exit_code,
            after,
            waiting_for: waiting_for.into(),
            log,
        }
    }

    /// The log line that most likely says why it stopped: the last one with a word such as
    /// `error`, `fatal` or `you need to`.
    pub fn reason(&self) -> Option<&str> {
        self.log.iter().rev().map(|l| l.trim()).find(|l| {
            let lower = l.to_ascii_lowercase();
            REASON_WORDS.iter().any(|w| lower.contains(w))
        })
    }

    /// One line: who exited, with what code, after how long, while what was waited for, and
    /// the reason when the log gives one.
    pub fn headline(&self) -> String {
        let after = self
            .after
            .map(|d| format!(" after {}", format_duration(d)))
            .unwrap_or_default();
        let mut out = format!(
            "service `{}` exited with code {}{after} while {}",
            self.service, self.exit_code, self.waiting_for
        );
        if let Some(reason) = self.reason() {
            out.push_str(&format!("; reason: {reason}"));
        }
        out
    }

    /// The same, with every secret in its log lines masked.
    pub(crate) fn masked(mut self, masks: &[String]) -> Self {
        for line in &mut self.log {
            if let std::borrow::Cow::Owned(m) = crate::mask::apply(line, masks) {
                *line = m;
            }
        }
        self
    }

    /// Looks at container `id` of service `service`: `None` while it runs.
    pub(crate) async fn inspect(
        engine: &dyn ContainerEngine,
        service: &str,
        id: &str,
        waiting_for: &str,
    ) -> Option<ServiceExit> {
        let state = engine.inspect(id).await.ok()?;
        if state.running {
            return None;
        }
        let after = match (state.started_at.as_deref(), state.finished_at.as_deref()) {
            (Some(start), Some(end)) => ran_for(start, end),
            _ => None,
        };
        Some(ServiceExit::new(
            service,
            state.exit_code.unwrap_or(-1),
            after,
            waiting_for,
            last_lines(engine, id, SERVICE_LOG_LINES).await,
        ))
    }
}

impl fmt::Display for ServiceExit {
    /// The headline, then the last log lines.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.headline())?;
        write!(f, "\nlast log lines of `{}`:", self.service)?;
        if self.log.is_empty() {
            write!(f, "\n  | (no output)")?;
        }
        for line in &self.log {
            write!(f, "\n  | {line}")?;
        }
        Ok(())
    }
}

/// The time between two of the engine's RFC 3339 timestamps.
fn ran_for(start: &str, end: &str) -> Option<Duration> {
    let start = humantime::parse_rfc3339_weak(&nine_digits(start)).ok()?;
    let end = humantime::parse_rfc3339_weak(&nine_digits(end)).ok()?;
    // A process that ends at once can be stamped as finished before it was started.
    Some(end.duration_since(start).unwrap_or(Duration::ZERO))
}

/// The engine drops a fraction's trailing zeros (`.22858928Z`); the parser wants 3, 6 or 9
/// digits: pad to nine.
fn nine_digits(stamp: &str) -> String {
    let Some(dot) = stamp.find('.') else {
        return stamp.to_string();
    };
    let digits = stamp[dot + 1..]
        .bytes()
        .take_while(u8::is_ascii_digit)
        .count();
    if digits == 0 || digits >= 9 {
        return stamp.to_string();
    }
    let end = dot + 1 + digits;
    format!(
        "{}{}{}",
        &stamp[..end],
        "0".repeat(9 - digits),
        &stamp[end..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mysql() -> ServiceExit {
        ServiceExit::new(
            "database",
            1,
            Some(Duration::from_millis(310)),
            "waiting for it to listen on port 3306",
            vec![
                "error: database is uninitialized and password option is not specified".into(),
                "  You need to specify one of MYSQL_ROOT_PASSWORD, MYSQL_ALLOW_EMPTY_PASSWORD and MYSQL_RANDOM_ROOT_PASSWORD".into(),
            ],
        )
    }

    #[test]
    fn a_crashed_service() {
        insta::assert_snapshot!(mysql().to_string());
    }

    #[test]
    fn without_log_or_reason() {
        let exit = ServiceExit::new("cache", 137, None, "waiting for its health check", vec![]);
        assert_eq!(exit.reason(), None);
        insta::assert_snapshot!(exit.to_string());
    }

    #[test]
    fn docker_timestamps() {
        assert_eq!(
            ran_for(
                "2026-11-28T11:10:19.123456789Z",
                "2026-11-28T11:10:20.623456789Z"
            ),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            ran_for(
                "2026-11-28T12:11:54.22858928Z",
                "2026-11-28T12:11:54.244832657Z"
            ),
            Some(Duration::from_nanos(16_243_377))
        );
        assert_eq!(
            ran_for("2026-11-28T12:11:54.5Z", "2026-11-28T12:11:55Z"),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            ran_for(
                "2026-11-28T12:23:17.923864545Z",
                "2026-11-28T12:23:17.921123313Z"
            ),
            Some(Duration::ZERO),
            "finished before it was started: at once"
        );
        assert_eq!(ran_for("0001-01-01T00:00:00Z", "garbage"), None);
    }
}

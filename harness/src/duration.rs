//! Durations as pipelines write them: `90s`, `10m`, `1h30m`, `1.5h`, `500ms`.

use std::time::Duration;

/// Why a duration could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DurationError {
    /// Nothing was written.
    #[error("empty duration")]
    Empty,
    /// A unit where a number belongs.
    #[error("`{text}` is not a duration: expected a number at `{at}`")]
    NoNumber {
        /// The whole text.
        text: String,
        /// Where the number is missing.
        at: String,
    },
    /// Digits and dots that are not a number (`1..5`).
    #[error("`{number}` is not a number")]
    BadNumber {
        /// The digits.
        number: String,
    },
    /// A number without a unit.
    #[error("`{text}` has no unit: write `{text}s` for seconds or `{text}m` for minutes")]
    NoUnit {
        /// The whole text.
        text: String,
    },
    /// A unit that is not one of `ms`, `s`, `m`, `h`, `d`.
    #[error("unknown unit `{unit}` in `{text}`: use ms, s, m, h or d")]
    UnknownUnit {
        /// The unit.
        unit: String,
        /// The whole text.
        text: String,
    },
    /// Longer than a year.
    #[error("`{text}` is too long: at most a year")]
    TooLong {
        /// The whole text.
        text: String,
    },
}

/// Parses a duration such as `90s`, `10m`, `1h30m`, `1.5h` or `250ms`.
///
/// Units: `ms`, `s`, `m`, `h`, `d`. A number without a unit is refused, since it is
/// ambiguous (seconds to Docker, nanoseconds to Go).
///
/// # Errors
///
/// A [`DurationError`] saying what is wrong and what a valid duration looks like.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use pipeline_test_harness::duration::parse_duration;
/// assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
/// assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
/// assert!(parse_duration("10").is_err());
/// ```
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let s = text.trim();
    if s.is_empty() {
        return Err(DurationError::Empty);
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return Err(DurationError::NoNumber {
                text: s.into(),
                at: rest.into(),
            });
        }
        let number: f64 = rest[..num_len]
            .parse()
            .map_err(|_| DurationError::BadNumber {
                number: rest[..num_len].into(),
            })?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let seconds = match unit {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86_400.0,
            "" => {
                return Err(DurationError::NoUnit { text: s.into() });
            }
            other => {
                return Err(DurationError::UnknownUnit {
                    unit: other.into(),
                    text: s.into(),
                });
            }
        };
        total += number * seconds;
    }
    if !total.is_finite() || total > 366.0 * 86_400.0 {
        return Err(DurationError::TooLong { text: s.into() });
    }
    Ok(Duration::from_secs_f64(total))
}

/// Formats a duration the short way (`1h30m`, `90ms`, `1.5s`), for reports.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use pipeline_test_harness::duration::format_duration;
/// assert_eq!(format_duration(Duration::from_millis(1500)), "1.50s");
/// assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
/// ```
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.2}s", d.as_secs_f64())
    } else {
        let secs = d.as_secs();
        let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
        match (h, s) {
            (0, 0) => format!("{m}m"),
            (0, _) => format!("{m}m{s}s"),
            (_, 0) => format!("{h}h{m}m"),
            _ => format!("{h}h{m}m{s}s"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("2m30s"), Ok(Duration::from_secs(150)));
    }

    #[test]
    fn invalid() {
        assert!(parse_duration("").is_err());
        assert!(parse_duration("m").is_err());
        assert!(
            parse_duration("10x")
                .unwrap_err()
                .to_string()
                .contains("unknown unit `x`")
        );
        assert!(parse_duration("1..5s").is_err());
        assert!(parse_duration("99999999d").is_err());
    }
}

//! What a fake container does: a [`Script`] per step.

use std::time::Duration;

use crate::engine::HealthStatus;

/// How one step's container behaves.
#[derive(Debug, Clone, Default)]
pub(crate) struct Script {
    /// What it prints, in order: (pause before, standard error?, bytes).
    pub output: Vec<(Duration, bool, Vec<u8>)>,
    /// How it exits (run steps), after its output and `runs_for`.
    pub exit_code: i64,
    /// How long it runs after its output. A service runs until removed unless it `crashes`.
    pub runs_for: Duration,
    /// A service that stops on its own: after this long, with this exit code.
    pub crashes: Option<(Duration, i64)>,
    /// The engine's own health statuses, one per look (the last one stays).
    pub health: Vec<HealthStatus>,
    /// The exit codes of the health check's tries run by the harness (the last one stays;
    /// none: 0).
    pub probes: Vec<i64>,
    /// The ports it listens on, from this long after its start.
    pub listens: Option<(Vec<u16>, Duration)>,
    /// The engine refuses to create it, with these words.
    pub refuse_create: Option<String>,
    /// The engine refuses to start it, with these words.
    pub refuse_start: Option<String>,
    /// How long removing it takes.
    pub slow_removal: Duration,
}

impl Script {
    /// A container that prints `lines` (each a line of standard output) and exits `code`.
    pub fn exits(code: i64) -> Script {
        Script {
            exit_code: code,
            ..Script::default()
        }
    }

    /// Prints `text` (as written: no newline added) on standard output, after `pause`.
    pub fn prints_after(mut self, pause: Duration, text: &str) -> Script {
        self.output.push((pause, false, text.as_bytes().to_vec()));
        self
    }

    /// Prints `text` at once on standard output.
    pub fn prints(self, text: &str) -> Script {
        self.prints_after(Duration::ZERO, text)
    }

    /// Prints `text` at once on standard error.
    pub fn prints_err(mut self, text: &str) -> Script {
        self.output
            .push((Duration::ZERO, true, text.as_bytes().to_vec()));
        self
    }

    /// Runs this long after its output.
    pub fn runs_for(mut self, d: Duration) -> Script {
        self.runs_for = d;
        self
    }
}

//! Reading YAML nodes into the pipeline model, for every format: a mapping's keys one by one
//! ([`Fields`]), and the scalar values every part of a pipeline uses. Where the runners read the
//! same YAML differently (a key written twice, a key they do not know), the [`Dialect`] of the
//! file's own system decides, and the messages name that system.

mod fields;
mod values;

pub(in crate::spec) use fields::*;
pub(in crate::spec) use values::*;

use crate::diagnostic::Diagnostic;

/// Where a reader collects what it found wrong; reading goes on, so that a file with several
/// mistakes reports them all at once.
pub(in crate::spec) type Diags = Vec<Diagnostic>;

/// How the system a file is written for reads YAML, where that differs between systems.
#[derive(Debug, Clone, Copy)]
pub(in crate::spec) struct Dialect {
    /// The system, as messages name it ("Gitness", "Drone").
    pub(in crate::spec) system: &'static str,
    /// The runner drops every key it does not know and runs the file (Gitness): an unknown,
    /// misspelt or misplaced key is a warning, not an error.
    pub(in crate::spec) drops_unknown_keys: bool,
    /// The system knows every key of its mappings and refuses any other (GitHub's
    /// "Unexpected value"): an unknown key is an error, not a warning.
    pub(in crate::spec) refuses_unknown_keys: bool,
    /// A key written twice means its last value (Drone's reader), not an error.
    pub(in crate::spec) last_key_wins: bool,
    /// Help for an unknown key that is another format's spelling of a known one.
    pub(in crate::spec) respelling: fn(&str) -> Option<String>,
}

impl Dialect {
    /// A system that refuses what it does not know, and reads a key written twice as an error.
    pub(in crate::spec) const fn strict(system: &'static str) -> Dialect {
        Dialect {
            system,
            drops_unknown_keys: false,
            refuses_unknown_keys: false,
            last_key_wins: false,
            respelling: |_| None,
        }
    }

    /// The dialect [`reading`] set on this thread (a strict one outside of it).
    pub(in crate::spec) fn current() -> Dialect {
        DIALECT.with(std::cell::Cell::get)
    }
}

std::thread_local! {
    /// The dialect of the file being read on this thread.
    static DIALECT: std::cell::Cell<Dialect> =
        const { std::cell::Cell::new(Dialect::strict("the runner")) };
}

/// Runs `read` with `dialect` deciding how every mapping is read and what its messages say.
pub(in crate::spec) fn reading<T>(dialect: Dialect, read: impl FnOnce() -> T) -> T {
    let before = DIALECT.with(|c| c.replace(dialect));
    let out = read();
    DIALECT.with(|c| c.set(before));
    out
}

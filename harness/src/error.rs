//! The one error type of the harness.

use std::path::PathBuf;

use crate::diagnostic::Diagnostics;

/// Everything that can go wrong, each with what to do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A pipeline file could not be read.
    #[error("cannot read pipeline file {}: {source}", path.display())]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A pipeline file is not valid; the diagnostics say where and why.
    #[error("{diagnostics}")]
    Spec {
        /// Every problem found.
        diagnostics: Diagnostics,
    },
}

impl From<Diagnostics> for Error {
    fn from(diagnostics: Diagnostics) -> Self {
        Error::Spec { diagnostics }
    }
}

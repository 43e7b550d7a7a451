//! What a step's container mounts, and where from.

/// Where a mount's content comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum VolumeSource {
    /// The stage's workspace (a host directory or a volume of the run, see `Workspace`).
    Workspace,
    /// A `temp` volume of the stage, by its name in the YAML; created for the run.
    Temp(String),
    /// An engine volume by name (`name:/path` in a container's `volumes`).
    Named(String),
    /// A host path (`/host:/path`, or a `host` volume of the stage).
    Host(String),
    /// A fresh anonymous volume (`/path` alone).
    Anonymous,
}

/// One mount of a step's container.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Mount {
    /// What is mounted.
    pub source: VolumeSource,
    /// Where, inside the container.
    pub target: String,
    /// Docker's mount options after the path (`ro`, `rw,z`).
    pub options: Option<String>,
}

impl Mount {
    /// A mount of `source` at `target`.
    pub fn new(source: VolumeSource, target: impl Into<String>) -> Self {
        Mount {
            source,
            target: target.into(),
            options: None,
        }
    }

    /// Reads a container `volumes` entry: `/host:/path[:ro]`, `name:/path`, or `/path`.
    ///
    /// # Examples
    ///
    /// ```
    /// use pipeline_test_harness::plan::{Mount, VolumeSource};
    /// let m = Mount::parse_bind("/etc/hosts:/etc/hosts:ro");
    /// assert_eq!(m.source, VolumeSource::Host("/etc/hosts".into()));
    /// assert_eq!(m.options.as_deref(), Some("ro"));
    /// assert_eq!(Mount::parse_bind("cache:/data").source, VolumeSource::Named("cache".into()));
    /// assert_eq!(Mount::parse_bind("/data").source, VolumeSource::Anonymous);
    /// ```
    pub fn parse_bind(text: &str) -> Mount {
        let mut parts = text.splitn(3, ':');
        let first = parts.next().unwrap_or_default();
        let Some(target) = parts.next() else {
            return Mount::new(VolumeSource::Anonymous, first);
        };
        let source = if first.starts_with(['/', '.', '~']) {
            VolumeSource::Host(first.to_string())
        } else {
            VolumeSource::Named(first.to_string())
        };
        Mount {
            source,
            target: target.to_string(),
            options: parts.next().map(str::to_string),
        }
    }
}

//! Which kind of pipeline file this is: read from its content, with its path as the tiebreak.

use crate::source::SourceFile;
use crate::yaml::{Node, Value};

/// The CI formats pipeline-test reads. Each is read into the same model, with the places of
/// the file the user wrote, and runs the same way.
///
/// # Examples
///
/// ```
/// use pipeline_test_harness::spec::{Format, Pipeline};
/// use pipeline_test_harness::SourceFile;
///
/// let yaml = "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n    - run: cargo test\n";
/// let p = Pipeline::parse(&SourceFile::new("ci.yml", yaml)).unwrap();
/// assert_eq!(p.format, Format::GitHubActions);
/// assert_eq!(p.format.to_string(), "GitHub Actions workflow");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Format {
    /// Harness / Gitness v1 YAML (`kind: pipeline` with `spec.stages`).
    #[default]
    HarnessV1,
    /// A GitHub Actions workflow (`on:` and `jobs:`): one stage per job.
    GitHubActions,
    /// A Drone pipeline (`kind: pipeline`, `type: docker`, `steps:`); each `---` document is a
    /// stage.
    Drone,
    /// A Harness NextGen pipeline (`pipeline:` with `stages: - stage: type: CI`).
    HarnessNextGen,
}

impl Format {
    /// Where the workspace is mounted in this format's steps, as its runner does.
    pub const fn workspace_path(self) -> &'static str {
        match self {
            Format::HarnessV1 => "/gitness",
            Format::GitHubActions => "/github/workspace",
            Format::Drone => "/drone/src",
            Format::HarnessNextGen => "/harness",
        }
    }

    /// The format of `file`, as [`crate::spec::Pipeline::parse`] reads it; `None` when it is
    /// not YAML.
    ///
    /// # Examples
    ///
    /// ```
    /// use pipeline_test_harness::spec::Format;
    /// use pipeline_test_harness::SourceFile;
    /// let file = SourceFile::new(".drone.yml", "kind: pipeline\ntype: docker\nsteps: []\n");
    /// assert_eq!(Format::of(&file), Some(Format::Drone));
    /// ```
    pub fn of(file: &SourceFile) -> Option<Format> {
        let docs = crate::yaml::parse_documents(file).ok()?;
        Some(detect(file, &docs[0].1))
    }

    /// The attribute's option that names a stage of this format: `job = "..."` for a
    /// GitHub Actions workflow, `stage = "..."` otherwise.
    pub fn stage_option(self) -> &'static str {
        match self {
            Format::GitHubActions => "job",
            _ => "stage",
        }
    }

    /// The CI system that runs this format, for messages ("as on Gitness").
    pub fn runner(self) -> &'static str {
        match self {
            Format::HarnessV1 => "Gitness",
            Format::GitHubActions => "GitHub",
            Format::Drone => "Drone",
            Format::HarnessNextGen => "Harness",
        }
    }

    /// What a stage is called in this format (`job`, `pipeline`, `stage`).
    pub fn stage_word(self) -> &'static str {
        match self {
            Format::GitHubActions => "job",
            Format::Drone => "pipeline",
            Format::HarnessV1 | Format::HarnessNextGen => "stage",
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Format::HarnessV1 => "Harness v1 pipeline",
            Format::GitHubActions => "GitHub Actions workflow",
            Format::Drone => "Drone pipeline",
            Format::HarnessNextGen => "Harness NextGen pipeline",
        })
    }
}

fn keys<'a>(root: &'a Node<'_>) -> Vec<&'a str> {
    match &root.value {
        Value::Map(entries) => entries.iter().filter_map(|(k, _)| k.as_scalar()).collect(),
        _ => Vec::new(),
    }
}

fn scalar<'a>(root: &'a Node<'_>, key: &str) -> Option<&'a str> {
    match &root.value {
        Value::Map(entries) => entries
            .iter()
            .find(|(k, _)| k.as_scalar() == Some(key))
            .and_then(|(_, v)| v.as_scalar()),
        _ => None,
    }
}

/// Keys only a Drone pipeline has at its top.
const DRONE_KEYS: &[&str] = &[
    "steps",
    "services",
    "trigger",
    "platform",
    "workspace",
    "node",
    "depends_on",
    "image_pull_secrets",
];
/// Drone's pipeline types.
const DRONE_TYPES: &[&str] = &[
    "docker",
    "kubernetes",
    "exec",
    "ssh",
    "digitalocean",
    "macstadium",
    "vm",
];

/// Drone 0.8 wrote its steps as a `pipeline:` map of step name -> `{image, commands}`.
pub(crate) fn is_drone_08(root: &Node<'_>) -> bool {
    let Value::Map(top) = &root.value else {
        return false;
    };
    let Some((_, pipeline)) = top.iter().find(|(k, _)| k.as_scalar() == Some("pipeline")) else {
        return false;
    };
    let Value::Map(entries) = &pipeline.value else {
        return false;
    };
    !entries.iter().any(|(k, _)| k.as_scalar() == Some("stages"))
        && entries.iter().any(|(_, v)| match &v.value {
            Value::Map(m) => m.iter().any(|(k, _)| k.as_scalar() == Some("image")),
            _ => false,
        })
}

/// The format of a file whose first document is `root`.
pub(crate) fn detect(file: &SourceFile, root: &Node<'_>) -> Format {
    let name = file.name().replace('\\', "/");
    let base = name.rsplit('/').next().unwrap_or(&name);
    if matches!(base, ".drone.yml" | ".drone.yaml") {
        return Format::Drone;
    }
    let keys = keys(root);
    if keys.contains(&"jobs") || keys.contains(&"on") || name.contains(".github/workflows/") {
        return Format::GitHubActions;
    }
    // A NextGen pipeline written without its `pipeline:` root.
    if !keys.contains(&"kind")
        && (keys.contains(&"projectIdentifier") || keys.contains(&"orgIdentifier"))
    {
        return Format::HarnessNextGen;
    }
    if keys.contains(&"pipeline") && !keys.contains(&"kind") {
        return if is_drone_08(root) {
            Format::Drone
        } else {
            Format::HarnessNextGen
        };
    }
    match scalar(root, "kind") {
        Some("secret" | "signature") => Format::Drone,
        Some("pipeline")
            if !keys.contains(&"spec")
                && (keys.iter().any(|k| DRONE_KEYS.contains(k))
                    || scalar(root, "type").is_some_and(|t| DRONE_TYPES.contains(&t))) =>
        {
            Format::Drone
        }
        // A misspelt kind (`pipline`) of a file that is plainly Drone's.
        Some(_)
            if !keys.contains(&"spec")
                && scalar(root, "type").is_some_and(|t| DRONE_TYPES.contains(&t)) =>
        {
            Format::Drone
        }
        _ => Format::HarnessV1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(name: &str, text: &str) -> Format {
        let file = SourceFile::new(name, text);
        let root = crate::yaml::parse_documents(&file).unwrap().remove(0).1;
        detect(&file, &root)
    }

    #[test]
    fn by_content_and_path() {
        assert_eq!(of("a.yml", "on: push\njobs: {}\n"), Format::GitHubActions);
        assert_eq!(
            of(".github/workflows/x.yml", "name: x\n"),
            Format::GitHubActions
        );
        assert_eq!(
            of("a.yml", "kind: pipeline\ntype: docker\nsteps: []\n"),
            Format::Drone
        );
        assert_eq!(of("x/.drone.yml", "kind: pipelin\n"), Format::Drone);
        assert_eq!(
            of("a.yml", "pipeline:\n  stages: []\n"),
            Format::HarnessNextGen
        );
        assert_eq!(
            of("a.yml", "kind: pipeline\nspec:\n  stages: []\n"),
            Format::HarnessV1
        );
        assert_eq!(of("a.yml", "kind: pipelin\n"), Format::HarnessV1);
        assert_eq!(of("a.yml", "kind: pipeline\nname: x\n"), Format::HarnessV1);
    }
}

//! What a stage's containers are made from, besides the plan: the images' facts, the
//! network, the volumes and the workspace, as the engine prepared them (one [`Prepared`]).

use std::collections::HashMap;
use std::path::PathBuf;

use crate::plan::VolumeSource;
use crate::ports::ContainerPort;

/// What a container image offers, read once per stage.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ImageFacts {
    /// The ports it `EXPOSE`s.
    pub exposed_ports: Vec<ContainerPort>,
    /// Whether it declares a health check.
    pub healthcheck: bool,
}

/// Where the workspace comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum WorkspaceSource {
    /// A host directory, absolute.
    Directory(PathBuf),
    /// A volume of the run, by its engine name.
    Volume(String),
}

/// Everything a stage's containers are made from, besides the plan.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    /// The network the stage's containers join.
    pub network: String,
    /// By resolved image name.
    pub images: HashMap<String, ImageFacts>,
    /// The stage's `temp` volumes: YAML name -> engine name.
    pub volumes: HashMap<String, String>,
    /// The workspace.
    pub workspace: WorkspaceSource,
}

impl Prepared {
    /// What `image` offers (nothing known: no ports, no health check).
    pub fn facts(&self, image: &str) -> ImageFacts {
        self.images.get(image).cloned().unwrap_or_default()
    }

    /// The `source` part of a bind for `source`, `None` for an anonymous volume or a `temp`
    /// volume the stage does not have.
    pub fn bind_source(&self, source: &VolumeSource) -> Option<String> {
        match source {
            VolumeSource::Workspace => Some(match &self.workspace {
                WorkspaceSource::Directory(dir) => dir.display().to_string(),
                WorkspaceSource::Volume(name) => name.clone(),
            }),
            VolumeSource::Temp(name) => self.volumes.get(name).cloned(),
            VolumeSource::Named(name) | VolumeSource::Host(name) => Some(name.clone()),
            VolumeSource::Anonymous => None,
        }
    }
}

/// The engine's own network, for a stage of one container (Docker's and Podman's `bridge`).
pub(crate) const DEFAULT_NETWORK: &str = "bridge";

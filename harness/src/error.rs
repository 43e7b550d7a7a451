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
    /// `PIPELINE_TEST_IMAGES` is malformed.
    #[cfg(feature = "engine")]
    #[error("invalid PIPELINE_TEST_IMAGES: {source}")]
    ImageMap {
        /// What is wrong with it.
        #[from]
        source: crate::images::ImageMapError,
    },
    /// An environment variable the harness reads is malformed.
    #[error("invalid {name}: {reason}")]
    InvalidEnv {
        /// The variable.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A step cannot be given to the engine as it is (a NUL byte, a variable over the
    /// kernel's limit).
    #[error("{message}")]
    StepRefused {
        /// What is wrong and what to do.
        message: String,
    },
    /// The engine refused to start a step's container; its own words, and what to do.
    #[error("the engine could not start the container of step `{step}` (image `{image}`): {said}{}", if hint.is_empty() { String::new() } else { format!("\n  help: {hint}") })]
    StartRefused {
        /// The step.
        step: String,
        /// Its image.
        image: String,
        /// What the engine said.
        said: String,
        /// What to do, when the cause is a usual one.
        hint: String,
    },
    /// A run or script step names no image and no default image was given.
    #[error(
        "the step `{step}` ({place}) names no image: its CI system runs it on the build machine (Harness Cloud's VM, a GitHub runner)\n  help: give it an image (`container: IMAGE` for a run step, `image: IMAGE` for a script step, the job's `container:` on GitHub Actions), or run with `--default-image IMAGE` / PIPELINE_TEST_DEFAULT_IMAGE=IMAGE"
    )]
    NoImage {
        /// The step.
        step: String,
        /// `file:line:column` of the step.
        place: String,
    },
    /// No stage has the name asked for ([`crate::spec::Pipeline::select_stage`]).
    #[error("no {word} named `{name}` in {file}; its {word}s are: {}", available.join(", "))]
    StageNotFound {
        /// What the file's format calls a stage: `stage`, `job` (GitHub Actions), `pipeline`
        /// (Drone).
        word: &'static str,
        /// The name asked for.
        name: String,
        /// The pipeline file.
        file: String,
        /// The stages it has.
        available: Vec<String>,
    },
    /// The process got SIGINT or SIGTERM: no new stage starts, the running ones are removed.
    #[error(
        "interrupted (SIGINT/SIGTERM): no new stage starts in this process; the running stages are being removed"
    )]
    Interrupted,
    /// The Docker engine could not be reached.
    #[error(
        "cannot reach the Docker engine at {endpoint}: {reason}\n  help: start Docker (`docker info` must work), or set DOCKER_HOST to a running engine: unix:///var/run/docker.sock, tcp://HOST:2375, or a Podman socket such as unix://$XDG_RUNTIME_DIR/podman/podman.sock"
    )]
    DockerUnreachable {
        /// The endpoint tried (from `DOCKER_HOST`, or the default socket).
        endpoint: String,
        /// What the connection attempt said.
        reason: String,
    },
    /// An image is not present and the pipeline says not to pull it.
    #[error(
        "image `{image}` is not present on this machine and its pull policy is `never`\n  help: build or load it first (`docker image ls` lists what is here), or map the name onto an image you have with PIPELINE_TEST_IMAGES=\"{image}=other/image:tag\""
    )]
    ImageMissing {
        /// The image.
        image: String,
    },
    /// An image could not be pulled.
    #[error(
        "cannot pull image `{image}`: {message}\n  help: check the name and your registry login (`docker login`); on a machine without a registry, build or load the image and map the name with PIPELINE_TEST_IMAGES=\"{image}=local/image:tag\""
    )]
    ImagePull {
        /// The image.
        image: String,
        /// The registry's or engine's answer.
        message: String,
    },
    /// A service's published port did not accept connections within its readiness budget.
    #[cfg(feature = "engine")]
    #[error(
        "port {port} of service `{service}` ({host}:{host_port}) did not accept connections within its readiness budget of {} (waited {} since the service started)\n  help: if the service is slow to start, give it a `healthcheck:` with a longer `start_period`, or set PIPELINE_TEST_READY_TIMEOUT (e.g. `2m`); check that it listens on {port} at all",
        crate::duration::format_duration(*budget),
        crate::duration::format_duration(*waited)
    )]
    PortNotReady {
        /// The service.
        service: String,
        /// The container port.
        port: crate::ports::ContainerPort,
        /// The address the port is published at.
        host: std::net::IpAddr,
        /// The port there.
        host_port: u16,
        /// The service's readiness budget.
        budget: std::time::Duration,
        /// How long it had been given.
        waited: std::time::Duration,
    },
    /// A service stopped before the test body could use it.
    #[cfg(feature = "engine")]
    #[error("{exit}")]
    ServiceExited {
        /// Who, with what code, and its last log lines.
        exit: crate::exit::ServiceExit,
    },
    /// A test's own database could not be made or dropped on a service
    /// ([`crate::Service::database`]).
    #[cfg(feature = "engine")]
    #[error("cannot give the test a database of its own on service `{service}`: {message}")]
    Database {
        /// The service.
        service: String,
        /// What went wrong, and what to do.
        message: String,
    },
    /// The engine refused a request. Its answer is kept as the error's source, of the
    /// engine client's own type (no engine client's type is part of this crate's API).
    #[cfg(feature = "engine")]
    #[error("Docker engine error while trying to {action}: {source}")]
    Engine {
        /// What the harness was doing.
        action: String,
        /// The engine's answer.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Docker has no address pool left for another network, even after waiting.
    #[cfg(feature = "engine")]
    #[error(
        "cannot create network {network}: Docker has no address pool left after waiting {}: {source}\n  help: remove unused networks with `docker network prune`, or widen the engine's `default-address-pools`",
        crate::duration::format_duration(*waited)
    )]
    NoAddressPool {
        /// The network's name.
        network: String,
        /// How long the run waited for another run to give a pool back.
        waited: std::time::Duration,
        /// The engine's answer.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl From<Diagnostics> for Error {
    fn from(diagnostics: Diagnostics) -> Self {
        Error::Spec { diagnostics }
    }
}

#[cfg(all(test, feature = "engine"))]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::exit::ServiceExit;
    use crate::ports::ContainerPort;

    #[test]
    fn readiness_errors() {
        let port = Error::PortNotReady {
            service: "cache".into(),
            port: ContainerPort::tcp(7777),
            host: std::net::Ipv4Addr::LOCALHOST.into(),
            host_port: 49153,
            budget: Duration::from_secs(3),
            waited: Duration::from_millis(3140),
        };
        let exited = Error::ServiceExited {
            exit: ServiceExit::new(
                "database",
                1,
                Some(Duration::from_millis(310)),
                "waiting for its published ports before the test body",
                vec!["  You need to specify one of MYSQL_ROOT_PASSWORD".into()],
            ),
        };
        insta::assert_snapshot!(format!("{port}\n---\n{exited}"));
    }
}

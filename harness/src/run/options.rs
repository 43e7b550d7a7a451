//! How to run stages: [`RunOptions`], read from the environment, and what the workspace is.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::gate;
use super::wait::DEFAULT_READY_TIMEOUT;
use crate::Error;
use crate::plan::PlanOptions;
use crate::report::{Observer, PrintObserver};
use crate::teardown::Keep;

/// Set (to anything but empty, `0`, `false` or `no`) to keep every resource of a run.
pub const KEEP_ENV: &str = "PIPELINE_TEST_KEEP";
/// A service's readiness budget, when it has none of its own (`90s`, `2m`).
pub const READY_TIMEOUT_ENV: &str = "PIPELINE_TEST_READY_TIMEOUT";
/// Where the workspace is mounted in the containers, instead of `/gitness`.
pub const WORKSPACE_PATH_ENV: &str = "PIPELINE_TEST_WORKSPACE_PATH";
/// How many run steps' containers may wait, started, ahead of their turn.
pub const LOOKAHEAD_ENV: &str = "PIPELINE_TEST_LOOKAHEAD";
/// Set (to anything but `0` or empty), services keep the host ports their `host:container`
/// mappings write, also in a test.
pub const FIXED_PORTS_ENV: &str = "PIPELINE_TEST_FIXED_PORTS";
/// The image of run and script steps that name none (Harness Cloud runs them on its VM).
pub const DEFAULT_IMAGE_ENV: &str = "PIPELINE_TEST_DEFAULT_IMAGE";

/// What the workspace of a stage holds.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Workspace {
    /// A host directory, bind-mounted: the root of the git repository holding the pipeline
    /// file (the file's directory outside a repository).
    Directory(PathBuf),
    /// A fresh, empty volume, removed with the run.
    Volume,
}

/// How to run stages, by concern: what a stage is planned with ([`BuildOptions`]), how the
/// engine is used ([`EngineOptions`]), the run's budgets ([`Limits`]) and who hears about it.
///
/// Made by [`RunOptions::from_env`]; its fields may be changed afterwards, and more may come
/// (it is `#[non_exhaustive]`).
///
/// # Examples
///
/// ```
/// use pipeline_test_harness::{Keep, RunOptions};
///
/// let mut options = RunOptions::from_env("/").unwrap();
/// options.engine.keep = Keep::OnFailure;
/// options.limits.lookahead = 8;
/// options.build.context.branch = "main".into();
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct RunOptions {
    /// What a stage is planned with: the build, the workspace, images, environment.
    pub build: BuildOptions,
    /// How the engine is used: published ports, networks, signals, what is kept.
    pub engine: EngineOptions,
    /// The run's budgets: readiness, containers started ahead of their turn.
    pub limits: Limits,
    /// Who hears about the run as it goes.
    pub observer: Arc<dyn Observer>,
}

/// What a stage is planned with ([`crate::prepare_stage`]): nothing here needs an engine.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct BuildOptions {
    /// The build the pipeline runs for: `build.*`, `repo.*`, inputs, secrets, plugin images.
    pub context: crate::context::BuildContext,
    /// What the workspace holds.
    pub workspace: Workspace,
    /// Image map, workspace path, extra environment.
    pub plan: PlanOptions,
    /// Publish a service's `host:container` mapping on the host port it writes. Off (the
    /// library's and the attribute's default, unless `PIPELINE_TEST_FIXED_PORTS` is set), it
    /// is published on a free port the engine picks, so that tests run in parallel; the
    /// command line turns it on (a host-network step may use the written port).
    pub fixed_host_ports: bool,
}

/// How the engine is used.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct EngineOptions {
    /// Which runs' resources are kept instead of removed (`PIPELINE_TEST_KEEP`).
    pub keep: Keep,
    /// Publish the services' ports on 127.0.0.1 (for [`crate::service::Service::addr`]).
    /// The command line turns it off: nothing outside the stage talks to the services there.
    pub publish_ports: bool,
    /// Reuse networks from one stage to the next while a runner is alive (see the README's
    /// speed section); off, every stage creates and removes its own.
    pub reuse_networks: bool,
    /// On SIGINT or SIGTERM, remove every running stage's resources and exit with 130 or 143
    /// (for test binaries; off by default, since it takes over those signals).
    pub handle_signals: bool,
}

/// The run's budgets.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Limits {
    /// A service's readiness budget unless it has one of its own (its `timeout`, or a health
    /// check that takes longer): `PIPELINE_TEST_READY_TIMEOUT`, by default
    /// [`DEFAULT_READY_TIMEOUT`].
    pub ready_timeout: Duration,
    /// How many run steps' containers may wait, started, ahead of their turn
    /// (`PIPELINE_TEST_LOOKAHEAD`, by default 4): more makes long sequences of quick steps
    /// faster, and costs idle containers.
    pub lookahead: usize,
}

impl std::fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("build", &self.build)
            .field("engine", &self.engine)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl RunOptions {
    /// Options from the environment: `PIPELINE_TEST_IMAGES`, `PIPELINE_TEST_KEEP`,
    /// `PIPELINE_TEST_WORKSPACE_PATH`, `PIPELINE_TEST_DEFAULT_IMAGE`, inputs, secrets and
    /// plugin images (`PIPELINE_TEST_INPUT_*`, `PIPELINE_TEST_SECRET_*`,
    /// `PIPELINE_TEST_PLUGINS`). `dir` is the pipeline file's directory: the build context
    /// comes from the git repository holding it, whose root is the workspace (`dir` itself
    /// outside a repository). Events are printed.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidEnv`] for a malformed variable.
    ///
    /// # Examples
    ///
    /// ```
    /// use pipeline_test_harness::{RunOptions, Workspace};
    /// let options = RunOptions::from_env("/").unwrap();
    /// assert_eq!(options.build.workspace, Workspace::Directory("/".into()));
    /// assert_eq!(options.build.context.event, "manual");
    /// ```
    pub fn from_env(dir: impl Into<PathBuf>) -> Result<Self, Error> {
        let images = crate::images::ImageMap::from_env()?;
        let keep = match std::env::var(KEEP_ENV) {
            Ok(v) => Keep::parse(&v).ok_or_else(|| Error::InvalidEnv {
                name: KEEP_ENV,
                reason: format!("`{v}` is not one of `1` (keep every run), `on-failure` (keep failed runs) or `0`"),
            })?,
            Err(_) => Keep::Never,
        };
        let ready_timeout = match std::env::var(READY_TIMEOUT_ENV) {
            Ok(v) if !v.trim().is_empty() => {
                crate::duration::parse_duration(&v).map_err(|e| Error::InvalidEnv {
                    name: READY_TIMEOUT_ENV,
                    reason: format!("{e} (for example `2m`)"),
                })?
            }
            _ => DEFAULT_READY_TIMEOUT,
        };
        let workspace_path = std::env::var(WORKSPACE_PATH_ENV)
            .ok()
            .filter(|p| !p.is_empty());
        if let Some(p) = &workspace_path {
            if !p.starts_with('/') {
                return Err(Error::InvalidEnv {
                    name: WORKSPACE_PATH_ENV,
                    reason: format!("`{p}` is not an absolute path inside the container"),
                });
            }
        }
        let dir: PathBuf = dir.into();
        let context = crate::context::BuildContext::from_git(&dir).with_env();
        let lookahead = match std::env::var(LOOKAHEAD_ENV) {
            Ok(v) if !v.trim().is_empty() => {
                v.trim().parse::<usize>().map_err(|_| Error::InvalidEnv {
                    name: LOOKAHEAD_ENV,
                    reason: format!("`{v}` is not a whole number (for example `4`)"),
                })?
            }
            _ => gate::DEFAULT_LOOKAHEAD,
        };
        let default_image = std::env::var(DEFAULT_IMAGE_ENV)
            .ok()
            .filter(|i| !i.trim().is_empty());
        Ok(RunOptions {
            build: BuildOptions {
                workspace: Workspace::Directory(context.root.clone().unwrap_or(dir)),
                context,
                plan: PlanOptions {
                    images,
                    workspace_path,
                    env: Vec::new(),
                    build_env: Vec::new(),
                    default_image,
                    masks: Vec::new(),
                },
                fixed_host_ports: std::env::var(FIXED_PORTS_ENV)
                    .is_ok_and(|v| !v.is_empty() && v != "0"),
            },
            engine: EngineOptions {
                keep,
                publish_ports: true,
                reuse_networks: true,
                handle_signals: false,
            },
            limits: Limits {
                ready_timeout,
                lookahead,
            },
            observer: Arc::new(PrintObserver),
        })
    }
}

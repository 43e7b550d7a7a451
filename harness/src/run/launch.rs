//! Asking the engine for a step's container: the environment checked against the kernel's
//! limits, create, the script uploaded as a file, start (with the engine's own words when it
//! refuses), and the removal of finished steps' containers, one owner at a time.

use std::sync::Mutex;

use super::github::Turn;
use super::prepare::Prepared;
use crate::Error;
use crate::engine::{CreateRequest, Engine, Reach};
use crate::plan::{PlannedStep, SCRIPT_PATH};
use crate::teardown::Guard;

/// The longest environment variable (`NAME=value`) Linux passes to a program: 32 pages
/// (`MAX_ARG_STRLEN`), its final NUL included.
pub(crate) const MAX_ENV_ENTRY: usize = 128 * 1024 - 1;

/// Why `step`'s environment cannot reach its program, if it cannot: a NUL byte, or a variable
/// over the kernel's limit of 128 KiB per string.
pub(crate) fn env_problem(step: &PlannedStep) -> Option<String> {
    for (k, v) in &step.env {
        if k.contains('\0') || v.contains('\0') {
            return Some(format!(
                "the environment variable `{}` of step `{}` holds a NUL byte, which no program can receive",
                k.replace('\0', "\\0"),
                step.name
            ));
        }
        let len = k.len() + 1 + v.len();
        if len > MAX_ENV_ENTRY {
            return Some(format!(
                "the environment variable `{k}` of step `{}` is {len} bytes: Linux passes at most 128 KiB per variable (MAX_ARG_STRLEN); put the value in a file in the workspace instead",
                step.name
            ));
        }
    }
    None
}

/// The name of step `step`'s container in run `run_id`.
pub(crate) fn container_name(run_id: &str, step: &PlannedStep) -> String {
    format!(
        "pipeline-test-{run_id}-{}-{}",
        step.index + 1,
        slug(&step.name)
    )
}

/// A step name as a part of a container name: lower-case letters, digits and `-`.
fn slug(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let s = s.trim_matches('-');
    if s.is_empty() {
        "step".into()
    } else {
        s.chars().take(40).collect()
    }
}

/// The script as a tar archive holding [`SCRIPT_PATH`], for the engine's upload.
fn script_archive(script: &str) -> Vec<u8> {
    let mut header = tar::Header::new_gnu();
    header.set_size(script.len() as u64);
    header.set_mode(0o755);
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::Regular);
    let mut archive = tar::Builder::new(Vec::with_capacity(script.len() + 2048));
    let path = SCRIPT_PATH.trim_start_matches('/');
    // Writing to memory cannot fail.
    let _ = archive.append_data(&mut header, path, script.as_bytes());
    archive.into_inner().unwrap_or_default()
}

/// What a stage asks the engine for, per container: creating (with the script in place),
/// uploading a turn's files, starting. Every container is in the guard as soon as it exists.
pub(crate) struct Launcher {
    pub engine: Engine,
    /// The stage's network, volumes and images' facts.
    pub prepared: Prepared,
    /// What teardown removes.
    pub guard: Guard,
    /// Publish the services' ports (see [`crate::EngineOptions::publish_ports`]).
    pub publish_ports: bool,
    /// Where published ports are bound and reached.
    pub reach: Reach,
}

impl Launcher {
    /// Creates and starts the container of `step`, with what its GitHub `turn` adds (its
    /// environment, its script and arguments made at its turn, its files in place before it
    /// starts); `created` hears the container's id as soon as it exists.
    pub(crate) async fn create_and_start(
        &self,
        step: &PlannedStep,
        turn: Option<&Turn>,
        created: impl FnOnce(&str),
    ) -> Result<String, Error> {
        let Some(turn) = turn else {
            let id = self.create(step, None, created).await?;
            self.start(step, &id).await?;
            return Ok(id);
        };
        let mut step = step.clone();
        let added = turn.container_env(&step.env);
        step.env.extend(added);
        if let Some(script) = &turn.script {
            step.script = Some(script.clone());
        }
        if let Some(cmd) = &turn.cmd {
            step.cmd = Some(cmd.clone());
        }
        let id = self.create(&step, None, created).await?;
        self.upload_turn(&step, &id, turn).await?;
        self.start(&step, &id).await?;
        Ok(id)
    }

    /// Puts a GitHub step's turn (its script when made at its turn, the variables its gate
    /// exports, empty file-command files) into its container `id`.
    pub(crate) async fn upload_turn(
        &self,
        step: &PlannedStep,
        id: &str,
        turn: &Turn,
    ) -> Result<(), Error> {
        self.engine
            .upload(id, super::file_commands::turn_archive(turn))
            .await
            .map_err(|e| {
                e.doing(format!(
                    "put the files of step `{}` in its container",
                    step.name
                ))
            })
    }

    /// Creates the container of `step`, with its script in place; it is in the guard, and
    /// `created` hears its id, as soon as it exists.
    pub(crate) async fn create(
        &self,
        step: &PlannedStep,
        gate: Option<Vec<String>>,
        created: impl FnOnce(&str),
    ) -> Result<String, Error> {
        if let Some(problem) = env_problem(step) {
            return Err(Error::StepRefused { message: problem });
        }
        if crate::reaper::interrupted() {
            return Err(Error::Interrupted);
        }
        let run_id = self.guard.run_id();
        let publish = self.publish_ports.then_some(self.reach.bind.as_str());
        let name = container_name(run_id, step);
        let request = CreateRequest {
            name: &name,
            step,
            gate,
            run_id,
            prepared: &self.prepared,
            publish,
        };
        let id = self
            .engine
            .create(request)
            .await
            .map_err(|e| e.doing(format!("create the container of step `{}`", step.name)))?;
        self.guard.track(|t| t.containers.push(id.clone()));
        created(&id);
        if let Some(script) = &step.script {
            self.engine
                .upload(&id, script_archive(script))
                .await
                .map_err(|e| {
                    e.doing(format!(
                        "put the script of step `{}` in its container",
                        step.name
                    ))
                })?;
        }
        Ok(id)
    }

    /// Starts container `id` of `step`; a refusal comes back with the engine's own words and
    /// what to do about the usual causes.
    pub(crate) async fn start(&self, step: &PlannedStep, id: &str) -> Result<(), Error> {
        let Err(e) = self.engine.start(id).await else {
            return Ok(());
        };
        let said = e.to_string();
        let program = step
            .entrypoint
            .as_ref()
            .and_then(|e| e.first())
            .cloned()
            .unwrap_or_default();
        let hint = if said.contains("no such file or directory") && step.script.is_some() {
            format!(
                "the image `{}` has no `{program}`: a step with a script needs a shell in its image; use an image that has one (or, for a background step, leave out `run` and `script` to run the image's own command)",
                step.image
            )
        } else if said.contains("no such file or directory")
            || said.contains("executable file not found")
        {
            format!("the image `{}` has no `{program}`", step.image)
        } else if said.contains("port is already allocated")
            || said.contains("address already in use")
        {
            "another container or program holds that host port: a port written with a host part (`8080:80`, or a GitHub Actions service of a job without `container:`) is published on that number, so only one run at a time can have it; stop the other run, run these tests one at a time, or leave the host part out (give the job a `container:`)".to_string()
        } else if said.contains("privileged") || said.contains("operation not permitted") {
            "the engine refused a privileged container: remove `privileged: true`, or run where privileged containers are allowed".to_string()
        } else {
            String::new()
        };
        Err(Error::StartRefused {
            step: step.name.clone(),
            image: step.image.clone(),
            said,
            hint,
        })
    }
}

/// Removals of finished steps' containers, running in the background until the stage ends.
/// Each container has one owner at a time: a removal takes it out of the run's record of
/// containers (into `removing`) and gives it back only if it failed.
#[derive(Debug, Default)]
pub(crate) struct Removals(Mutex<Vec<tokio::task::JoinHandle<()>>>);

impl Removals {
    /// Kills and removes container `id` in the background.
    pub fn remove_soon(
        &self,
        engine: &Engine,
        id: String,
        resources: std::sync::Arc<Mutex<crate::teardown::Resources>>,
    ) {
        {
            let mut r = resources.lock().unwrap_or_else(|e| e.into_inner());
            r.containers.retain(|c| *c != id);
            r.removing.push(id.clone());
        }
        let engine = engine.clone();
        // On the background runtime: a passed stage returns before its removals end, and the
        // test's runtime, which ends with the test, would cut them short.
        let handle = crate::background::spawn(async move {
            let removed = engine.remove(std::slice::from_ref(&id)).await.is_empty();
            let mut r = resources.lock().unwrap_or_else(|e| e.into_inner());
            r.removing.retain(|c| *c != id);
            if !removed {
                // Back to teardown, which reports what the engine says.
                r.containers.push(id);
            }
        });
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(handle);
    }

    /// The removals still under way, to await.
    pub fn take(&self) -> Vec<tokio::task::JoinHandle<()>> {
        std::mem::take(&mut self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(steps: &str) -> crate::plan::StagePlan {
        crate::plan::plan_for_test(&format!("      steps:\n{steps}"))
    }

    #[test]
    fn container_names_and_slugs() {
        let p = plan(
            "      - {name: Build it, type: run, spec: {container: alpine, script: 'true'}}\n",
        );
        assert_eq!(
            container_name("r", &p.steps[0]),
            "pipeline-test-r-1-build-it"
        );
        assert_eq!(slug("My Step!"), "my-step");
        assert_eq!(slug("!!"), "step");
    }

    #[test]
    fn the_script_archive_holds_one_executable_file() {
        let archive = script_archive("echo hi\n");
        let mut a = tar::Archive::new(&archive[..]);
        let mut entries = a.entries().unwrap();
        let mut e = entries.next().unwrap().unwrap();
        assert_eq!(e.path().unwrap().to_str(), Some("pipeline-test/script"));
        assert_eq!(e.header().mode().unwrap(), 0o755);
        let mut text = String::new();
        std::io::Read::read_to_string(&mut e, &mut text).unwrap();
        assert_eq!(text, "echo hi\n");
    }

    #[test]
    fn environments_the_kernel_would_refuse_are_named() {
        let p = plan(
            "      - {name: s, type: run, spec: {container: alpine, script: 'true', envs: {BIG: x}}}\n",
        );
        let mut step = p.steps[0].clone();
        assert_eq!(env_problem(&step), None);
        step.env.push(("BIG".into(), "x".repeat(MAX_ENV_ENTRY)));
        assert!(
            env_problem(&step)
                .unwrap()
                .contains("at most 128 KiB per variable (MAX_ARG_STRLEN)")
        );
        step.env.pop();
        step.env.push(("NUL".into(), "a\0b".into()));
        assert!(env_problem(&step).unwrap().contains("holds a NUL byte"));
    }
}

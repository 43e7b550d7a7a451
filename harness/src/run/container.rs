//! A planned step -> the container the engine is asked for (pure), then its creation, start
//! and removal.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use bollard::Docker;
use bollard::body_full;
use bollard::models::{
    ContainerCreateBody, EndpointSettings, HealthConfig, HostConfig, NetworkingConfig, PortBinding,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder, UploadToContainerOptionsBuilder,
};

use super::prepare::Prepared;
use super::step::StageRun;
use crate::Error;
use crate::docker::{STEP_LABEL, engine_error, labels};
use crate::plan::{PlannedStep, SCRIPT_PATH, StepKind, VolumeSource};
use crate::ports::{ContainerPort, PortMapping};

/// The name of step `step`'s container in run `run_id`.
pub(crate) fn container_name(run_id: &str, step: &PlannedStep) -> String {
    format!(
        "pipeline-test-{run_id}-{}-{}",
        step.index + 1,
        slug(&step.name)
    )
}

/// The container for `step`. With `gate`, that command replaces its entrypoint and command,
/// and standard input stays open for the go. A service's
/// ports are published on 127.0.0.1 when `publish_ports`.
pub(crate) fn container_body(
    step: &PlannedStep,
    gate: Option<Vec<String>>,
    run_id: &str,
    prepared: &Prepared,
    publish_ports: bool,
) -> ContainerCreateBody {
    let mut labels = labels(run_id);
    labels.insert(STEP_LABEL.to_string(), step.name.clone());
    let mut binds = Vec::new();
    let mut anonymous = Vec::new();
    for mount in &step.mounts {
        match (&mount.source, prepared.bind_source(&mount.source)) {
            (VolumeSource::Anonymous, _) => anonymous.push(mount.target.clone()),
            (_, Some(source)) => binds.push(match &mount.options {
                Some(options) => format!("{source}:{}:{options}", mount.target),
                None => format!("{source}:{}", mount.target),
            }),
            (_, None) => {}
        }
    }
    let published = if step.kind == StepKind::Service && publish_ports {
        publish(
            &prepared.facts(&step.resolved_image).exposed_ports,
            &step.ports,
        )
    } else {
        BTreeMap::new()
    };
    let exposed: Vec<String> = published.keys().map(ToString::to_string).collect();
    let port_bindings: HashMap<String, Option<Vec<PortBinding>>> = published
        .iter()
        .map(|(port, host)| {
            let binding = PortBinding {
                host_ip: Some("127.0.0.1".into()),
                host_port: Some(host.map(|h| h.to_string()).unwrap_or_default()),
            };
            (port.to_string(), Some(vec![binding]))
        })
        .collect();
    let (network_mode, networking) = match &step.network_mode {
        Some(mode) => (Some(mode.clone()), None),
        None => {
            let endpoint = EndpointSettings {
                aliases: Some(step.aliases.clone()),
                ..Default::default()
            };
            (
                Some(prepared.network.clone()),
                Some(NetworkingConfig {
                    endpoints_config: Some(HashMap::from([(prepared.network.clone(), endpoint)])),
                }),
            )
        }
    };
    let healthcheck = step.healthcheck.as_ref().map(|h| HealthConfig {
        test: Some(h.test.clone()),
        interval: Some(nanos(h.interval)),
        timeout: Some(nanos(h.timeout)),
        retries: Some(i64::from(h.retries)),
        start_period: Some(nanos(h.start_period)),
        start_interval: None,
    });
    let gated = gate.is_some();
    let env: Vec<String> = step.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let non_empty = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
    ContainerCreateBody {
        image: Some(step.resolved_image.clone()),
        env: Some(env),
        cmd: if gated { None } else { step.cmd.clone() },
        entrypoint: gate.or_else(|| step.entrypoint.clone()),
        open_stdin: Some(gated),
        stdin_once: Some(gated),
        attach_stdin: Some(gated),
        working_dir: step.workdir.clone(),
        user: step.user.clone(),
        labels: Some(labels),
        exposed_ports: non_empty(&exposed),
        volumes: non_empty(&anonymous),
        healthcheck,
        host_config: Some(HostConfig {
            binds: non_empty(&binds),
            network_mode,
            port_bindings: (!port_bindings.is_empty()).then_some(port_bindings),
            privileged: Some(step.privileged),
            dns: non_empty(&step.dns),
            dns_search: non_empty(&step.dns_search),
            extra_hosts: non_empty(&step.extra_hosts),
            memory: step.memory,
            nano_cpus: step.nano_cpus,
            shm_size: step.shm_size,
            ..Default::default()
        }),
        networking_config: networking,
        ..Default::default()
    }
}

/// The ports to publish on 127.0.0.1, each with the host port asked for (`None`: any free
/// port): the image's, and the YAML's, which win.
pub(crate) fn publish(
    image_ports: &[ContainerPort],
    yaml_ports: &[PortMapping],
) -> BTreeMap<ContainerPort, Option<u16>> {
    let mut out: BTreeMap<ContainerPort, Option<u16>> =
        image_ports.iter().map(|p| (*p, None)).collect();
    for m in yaml_ports {
        out.insert(m.container, m.host);
    }
    out
}

fn nanos(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

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

impl StageRun {
    /// Creates and starts the container of `step` (see [`container_body`]); it is in the
    /// guard and the run state as soon as it exists.
    pub(crate) async fn create_and_start(&self, step: &PlannedStep) -> Result<String, Error> {
        let id = self.create(step, None).await?;
        self.start(step, &id).await?;
        Ok(id)
    }

    /// Creates the container of `step`, with its script in place; it is in the guard and the
    /// run state as soon as it exists.
    pub(crate) async fn create(
        &self,
        step: &PlannedStep,
        gate: Option<Vec<String>>,
    ) -> Result<String, Error> {
        if let Some(problem) = env_problem(step) {
            return Err(Error::StepRefused { message: problem });
        }
        let run_id = self.guard.run_id();
        let body = container_body(step, gate, run_id, &self.prepared, self.publish_ports);
        let name = container_name(run_id, step);
        let created = self
            .docker
            .create_container(
                Some(CreateContainerOptionsBuilder::default().name(&name).build()),
                body,
            )
            .await
            .map_err(|e| {
                engine_error(format!("create the container of step `{}`", step.name), e)
            })?;
        self.guard.track(|t| t.containers.push(created.id.clone()));
        self.state().container_created(step.index, &created.id);
        if let Some(script) = &step.script {
            let opts = UploadToContainerOptionsBuilder::default().path("/").build();
            self.docker
                .upload_to_container(
                    &created.id,
                    Some(opts),
                    body_full(script_archive(script).into()),
                )
                .await
                .map_err(|e| {
                    engine_error(
                        format!("put the script of step `{}` in its container", step.name),
                        e,
                    )
                })?;
        }
        Ok(created.id)
    }

    /// Starts container `id` of `step`; a refusal comes back with the engine's own words and
    /// what to do about the usual causes.
    pub(crate) async fn start(&self, step: &PlannedStep, id: &str) -> Result<(), Error> {
        let Err(e) = self.docker.start_container(id, None).await else {
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
        docker: &Docker,
        id: String,
        resources: std::sync::Arc<Mutex<crate::teardown::Resources>>,
    ) {
        {
            let mut r = resources.lock().unwrap_or_else(|e| e.into_inner());
            r.containers.retain(|c| *c != id);
            r.removing.push(id.clone());
        }
        let docker = docker.clone();
        let handle = tokio::spawn(async move {
            let opts = RemoveContainerOptionsBuilder::default()
                .force(true)
                .v(true)
                .build();
            let removed = match docker.remove_container(&id, Some(opts)).await {
                Ok(()) => true,
                Err(e) => crate::docker::is_not_found(&e),
            };
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

    fn plan(steps: &str) -> crate::plan::StagePlan {
        crate::plan::plan_for_test(&format!(
            "      volumes:\n      - {{name: tmp, type: temp}}\n      - {{name: etc, type: host, spec: {{path: /etc}}}}\n      steps:\n{steps}"
        ))
    }

    fn prepared() -> Prepared {
        Prepared {
            network: "net".into(),
            images: HashMap::from([(
                "redis".to_string(),
                super::super::prepare::ImageFacts {
                    exposed_ports: vec![ContainerPort::tcp(6379)],
                    healthcheck: false,
                },
            )]),
            volumes: HashMap::from([("tmp".to_string(), "pipeline-test-r-tmp".to_string())]),
            workspace: super::super::prepare::WorkspaceSource::Volume("ws".into()),
        }
    }

    #[test]
    fn ports_are_published_on_loopback() {
        let published = publish(
            &[ContainerPort::tcp(6379)],
            &["8080:80".parse().unwrap(), "53/udp".parse().unwrap()],
        );
        let shown: Vec<(String, Option<u16>)> =
            published.iter().map(|(p, h)| (p.to_string(), *h)).collect();
        assert_eq!(
            shown,
            [
                ("53/udp".to_string(), None),
                ("80/tcp".to_string(), Some(8080)),
                ("6379/tcp".to_string(), None)
            ]
        );
    }

    #[test]
    fn a_service_body() {
        let p = plan(
            "      - name: cache\n        type: background\n        spec:\n          image: redis\n          ports: ['7000:7000']\n          mount: [{name: tmp, path: /tmp/x}, {name: etc, path: /host-etc}]\n",
        );
        let body = container_body(&p.steps[0], None, "r", &prepared(), true);
        let host = body.host_config.unwrap();
        assert_eq!(
            host.binds.unwrap(),
            [
                "ws:/gitness",
                "pipeline-test-r-tmp:/tmp/x",
                "/etc:/host-etc"
            ]
        );
        assert_eq!(body.exposed_ports.unwrap(), ["6379/tcp", "7000/tcp"]);
        let bindings = host.port_bindings.unwrap();
        let b = |k: &str| bindings[k].as_ref().unwrap()[0].clone();
        assert_eq!(b("6379/tcp").host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(b("6379/tcp").host_port.as_deref(), Some(""));
        assert_eq!(b("7000/tcp").host_port.as_deref(), Some("7000"));
        assert_eq!(host.network_mode.as_deref(), Some("net"));
        assert_eq!(body.labels.unwrap()["pipeline-test.step"], "cache");
        assert_eq!(body.open_stdin, Some(false));
        assert!(body.entrypoint.is_none() && body.cmd.is_none());
    }

    #[test]
    fn a_gated_run_step_body() {
        let p = plan(
            "      - name: Build It\n        type: run\n        spec:\n          container: {image: alpine, volumes: ['/data', 'named:/n:ro']}\n          script: make\n",
        );
        let step = &p.steps[0];
        let gate = vec!["/bin/sh".to_string(), "-c".into(), "gate".into()];
        let body = container_body(step, Some(gate.clone()), "r", &prepared(), true);
        assert_eq!(body.entrypoint.as_ref(), Some(&gate));
        assert!(body.cmd.is_none());
        assert_eq!(body.open_stdin, Some(true));
        let env = body.env.unwrap();
        assert!(
            !env.iter().any(|e| e.starts_with("PIPELINE_TEST_")),
            "the script travels as a file, the exit code out of band: {env:?}"
        );
        assert!(body.exposed_ports.is_none(), "only services publish ports");
        assert_eq!(body.volumes.unwrap(), ["/data"]);
        assert_eq!(
            body.host_config.unwrap().binds.unwrap(),
            ["ws:/gitness", "named:/n:ro"]
        );
        assert_eq!(container_name("r", step), "pipeline-test-r-1-build-it");
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("My Step!"), "my-step");
        assert_eq!(slug("!!"), "step");
    }
}

//! A planned step -> the container the engine is asked for: its name, its body, the ports it
//! publishes. Pure; `launch.rs` asks the engine for it.

use std::collections::{BTreeMap, HashMap};

use bollard::models::{
    ContainerCreateBody, EndpointSettings, HealthConfig, HostConfig, NetworkingConfig, PortBinding,
};

use crate::labels::{STEP_LABEL, labels};
use crate::plan::{PlannedStep, StepKind, VolumeSource};
use crate::ports::{ContainerPort, PortMapping};
use crate::run::Prepared;

/// The container for `step`. With `gate`, that command replaces its entrypoint and command,
/// and standard input stays open for the go. A service's ports are published on address
/// `bind` (127.0.0.1 for an engine on this machine, `""` for all interfaces) when given.
pub(crate) fn container_body(
    step: &PlannedStep,
    gate: Option<Vec<String>>,
    run_id: &str,
    prepared: &Prepared,
    bind: Option<&str>,
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
    let published = if step.kind == StepKind::Service && bind.is_some() {
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
                host_ip: bind.map(str::to_string),
                host_port: Some(host.map(|h| h.to_string()).unwrap_or_default()),
            };
            (port.to_string(), Some(vec![binding]))
        })
        .collect();
    let (network_mode, networking) = match &step.network_mode {
        Some(mode) => (Some(mode.clone()), None),
        // The engine's network takes no aliases: a lone container needs none.
        None if prepared.network == crate::run::DEFAULT_NETWORK => {
            (Some(prepared.network.clone()), None)
        }
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

#[cfg(test)]
mod tests {
    use super::*;

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
                crate::run::ImageFacts {
                    exposed_ports: vec![ContainerPort::tcp(6379)],
                    healthcheck: false,
                },
            )]),
            volumes: HashMap::from([("tmp".to_string(), "pipeline-test-r-tmp".to_string())]),
            workspace: crate::run::WorkspaceSource::Volume("ws".into()),
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
        let body = container_body(&p.steps[0], None, "r", &prepared(), Some("127.0.0.1"));
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
        let body = container_body(
            step,
            Some(gate.clone()),
            "r",
            &prepared(),
            Some("127.0.0.1"),
        );
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
    }
}

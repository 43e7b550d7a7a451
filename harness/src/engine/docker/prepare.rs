//! Before any container: the images (checked, pulled or built), the network and the volumes
//! of a stage, concurrently, into one [`Prepared`] value.

use std::collections::HashMap;
use std::time::Instant;

use bollard::Docker;
use bollard::models::VolumeCreateRequest;
use bollard::query_parameters::CreateImageOptionsBuilder;
use futures::StreamExt;
use futures::future::join_all;

use super::network::acquire_network;
use crate::Error;
use crate::engine::PrepareRequest;
use crate::engine::docker::client::{engine_error, is_not_found};
use crate::images::{Login, docker_config_login, registry_of, split_reference};
use crate::labels::labels;
use crate::report::{Event, Observer, Timings};
use crate::run::{DEFAULT_NETWORK, ImageFacts, Prepared, Workspace, WorkspaceSource};
use crate::spec::Pull;

/// Checks or pulls the images, takes a network and creates the volumes, concurrently; every
/// resource is in `guard` as soon as it exists. Records the phases' times in `timings`.
pub(crate) async fn prepare(
    docker: &Docker,
    endpoint: &str,
    request: PrepareRequest<'_>,
    timings: &mut Timings,
) -> Result<Prepared, Error> {
    let PrepareRequest {
        plan,
        guard,
        workspace,
        reuse_networks,
        network: made,
        observer,
    } = request;
    super::build::build_images(docker, endpoint, observer, plan).await?;
    let images = plan.images();
    let started = Instant::now();
    let pulls = async {
        let r = join_all(images.iter().map(|(image, pull, login)| {
            prepare_image(docker, (endpoint, observer), image, *pull, login.clone())
        }))
        .await;
        (r, started.elapsed())
    };
    let run_id = guard.run_id().to_string();
    let fresh_name = format!("pipeline-test-net-{run_id}");
    let lone = plan.is_lone();
    let network = async {
        if let Some(made) = made.clone() {
            return (Ok(made), started.elapsed());
        }
        if lone {
            return (Ok(DEFAULT_NETWORK.to_string()), started.elapsed());
        }
        let r = acquire_network(docker, observer, &fresh_name, reuse_networks).await;
        (r, started.elapsed())
    };
    let workspace_volume = format!("pipeline-test-{run_id}-workspace");
    let mut wanted: Vec<(Option<&str>, String)> = plan
        .temp_volumes
        .iter()
        .map(|v| (Some(v.as_str()), format!("pipeline-test-{run_id}-{v}")))
        .collect();
    if *workspace == Workspace::Volume {
        wanted.push((None, workspace_volume.clone()));
    }
    let volumes = join_all(wanted.iter().map(|(_, name)| {
        docker.create_volume(VolumeCreateRequest {
            name: Some(name.clone()),
            labels: Some(labels(&run_id)),
            ..Default::default()
        })
    }));
    // The process's lease comes before a network or volume of the run (a sweep judges them by
    // their lease's heartbeat), beside the images' checks. A stage with neither leaves it to
    // its first container, created beside it (the sweep spares young containers).
    let creates = !wanted.is_empty() || (!lone && made.is_none());
    let resources = async {
        let leased = match creates {
            true => super::reaper::spawn::ensure_for(docker, endpoint, &run_id).await,
            false => Ok(()),
        };
        let (network, created) = tokio::join!(network, volumes);
        (leased, network, created)
    };
    let ((pulled, prepare_time), (leased, (network, network_time), created)) =
        tokio::join!(pulls, resources);
    leased?;
    timings.prepare = prepare_time;
    timings.network = network_time;
    for ((_, name), r) in wanted.iter().zip(&created) {
        if r.is_ok() {
            guard.track(|t| t.volumes.push(name.clone()));
        }
    }
    if let (Ok(name), false, None) = (&network, lone, &made) {
        guard.track(|t| t.network = Some(name.clone()));
    }
    let mut facts = HashMap::new();
    for ((image, _, _), f) in images.iter().zip(pulled) {
        facts.insert(image.clone(), f?);
    }
    let network = network?;
    let mut volumes = HashMap::new();
    for ((stage_name, name), r) in wanted.into_iter().zip(created) {
        r.map_err(|e| engine_error(format!("create volume {name}"), e))?;
        if let Some(stage_name) = stage_name {
            volumes.insert(stage_name.to_string(), name);
        }
    }
    let workspace = match workspace {
        Workspace::Directory(dir) => {
            WorkspaceSource::Directory(std::fs::canonicalize(dir).unwrap_or_else(|_| dir.clone()))
        }
        Workspace::Volume => WorkspaceSource::Volume(workspace_volume),
    };
    Ok(Prepared {
        network,
        images: facts,
        volumes,
        workspace,
    })
}

/// What the images found present offer, by engine endpoint and image, once per process: a
/// test binary's stages use the same few images. An image built here is looked at again
/// ([`forget_image`]), and so is one a container could not be created from.
static FOUND: std::sync::LazyLock<std::sync::Mutex<HashMap<(String, String), ImageFacts>>> =
    std::sync::LazyLock::new(Default::default);

fn found() -> std::sync::MutexGuard<'static, HashMap<(String, String), ImageFacts>> {
    FOUND.lock().unwrap_or_else(|e| e.into_inner())
}

/// How many times an image was to be looked at again ([`forget_image`]).
static FORGOTTEN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// `image` on `endpoint` is to be looked at again before its next use.
pub(crate) fn forget_image(endpoint: &str, image: &str) {
    let mut found = found();
    FORGOTTEN.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    found.remove(&(endpoint.to_string(), image.to_string()));
}

/// What `image` on `endpoint` is known to offer.
#[cfg(test)]
pub(crate) fn known(endpoint: &str, image: &str) -> Option<ImageFacts> {
    found()
        .get(&(endpoint.to_string(), image.to_string()))
        .cloned()
}

/// The count [`remember_image`] compares: read it before looking at the image.
pub(crate) fn forgotten() -> u64 {
    FORGOTTEN.load(std::sync::atomic::Ordering::SeqCst)
}

/// What `image` on `endpoint` offers, learnt off a stage's path (see
/// [`crate::warm_up_with_images`]): kept unless it is known already, or an image was to be
/// looked at again since `since` (it may have been built anew meanwhile).
pub(crate) fn remember_image(endpoint: &str, image: &str, facts: ImageFacts, since: u64) {
    let mut found = found();
    if forgotten() == since {
        found
            .entry((endpoint.to_string(), image.to_string()))
            .or_insert(facts);
    }
}

/// Makes sure `image` is present, pulling it as `pull` says; returns what it offers.
pub(crate) async fn prepare_image(
    docker: &Docker,
    (endpoint, observer): (&str, &dyn Observer),
    image: &str,
    pull: Pull,
    login: Option<Login>,
) -> Result<ImageFacts, Error> {
    let key = (endpoint.to_string(), image.to_string());
    if pull != Pull::Always {
        if let Some(facts) = found().get(&key) {
            return Ok(facts.clone());
        }
        match docker.inspect_image(image).await {
            Ok(inspect) => {
                let facts = facts(inspect);
                found().insert(key, facts.clone());
                return Ok(facts);
            }
            Err(e) if is_not_found(&e) => {
                if pull == Pull::Never {
                    return Err(Error::ImageMissing {
                        image: image.into(),
                    });
                }
            }
            Err(e) => return Err(engine_error(format!("inspect image {image}"), e)),
        }
    }
    observer.on_event(&Event::Notice {
        message: &format!("pulling {image}"),
    });
    let (name, tag) = split_reference(image);
    let options = CreateImageOptionsBuilder::default()
        .from_image(name)
        .tag(tag.unwrap_or("latest"))
        .build();
    let login = login.or_else(|| docker_config_login(registry_of(image)));
    let credentials = login.map(|l| bollard::auth::DockerCredentials {
        username: Some(l.username),
        password: Some(l.password),
        ..Default::default()
    });
    let mut stream = docker.create_image(Some(options), None, credentials);
    while let Some(item) = stream.next().await {
        let message = match item {
            Err(bollard::errors::Error::DockerResponseServerError { message, .. }) => message,
            Err(other) => other.to_string(),
            Ok(info) => match info.error_detail.and_then(|d| d.message) {
                Some(detail) => detail,
                None => continue,
            },
        };
        return Err(Error::ImagePull {
            image: image.into(),
            message,
        });
    }
    let inspect = docker
        .inspect_image(image)
        .await
        .map_err(|e| engine_error(format!("inspect image {image} after pulling it"), e))?;
    Ok(facts(inspect))
}

pub(crate) fn facts(inspect: bollard::models::ImageInspect) -> ImageFacts {
    let config = inspect.config.unwrap_or_default();
    let test = config.healthcheck.and_then(|h| h.test);
    facts_of(
        config.exposed_ports.iter().flatten().map(String::as_str),
        test.as_deref(),
    )
}

/// What an image offers: the ports it exposes (`6379/tcp`, in order), and whether its health
/// check `test` checks anything.
pub(crate) fn facts_of<'a>(
    exposed_ports: impl Iterator<Item = &'a str>,
    test: Option<&[String]>,
) -> ImageFacts {
    let mut ports: Vec<_> = exposed_ports.filter_map(|p| p.parse().ok()).collect();
    ports.sort();
    ports.dedup();
    ImageFacts {
        exposed_ports: ports,
        healthcheck: test.is_some_and(|t| t.first().is_some_and(|x| x != "NONE")),
    }
}

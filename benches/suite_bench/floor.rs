//! (h) The engine's floor for a container per test: 20 bare create, start and remove sequences
//! of the Redis image through bollard, as many at a time as the test binaries run tests (the
//! machine's parallelism), with nothing waited for in between.
//! (i) The floor of (b) and (d): one container created, started and answering.

use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder};
use futures::StreamExt;

/// One create, start and forced remove of `image`, labelled so that nothing escapes the
/// bench's count.
async fn one(docker: &Docker, image: &str, n: usize) {
    let name = format!("pipeline-test-bench-floor-{}-{n}", std::process::id());
    create_and_start(docker, &name, body(image)).await;
    remove(docker, &name).await;
}

/// A labelled container of `image`, so that nothing escapes the bench's count.
fn body(image: &str) -> ContainerCreateBody {
    ContainerCreateBody {
        image: Some(image.to_string()),
        labels: Some([("pipeline-test.bench-floor".to_string(), "true".to_string())].into()),
        ..Default::default()
    }
}

/// Creates container `name` from `body` and starts it.
async fn create_and_start(docker: &Docker, name: &str, body: ContainerCreateBody) {
    let options = CreateContainerOptionsBuilder::default().name(name).build();
    docker
        .create_container(Some(options), body)
        .await
        .expect("the floor's container is created");
    docker
        .start_container(
            name,
            None::<bollard::query_parameters::StartContainerOptions>,
        )
        .await
        .expect("the floor's container starts");
}

/// Removes container `name`, forced, with its volumes.
async fn remove(docker: &Docker, name: &str) {
    let remove = RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(true)
        .build();
    docker
        .remove_container(name, Some(remove))
        .await
        .expect("the floor's container is removed");
}

/// Runs `work` with a Docker client on a runtime of its own.
fn with_docker<T>(work: impl AsyncFnOnce(&Docker) -> T) -> T {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(async {
        let docker = Docker::connect_with_defaults()
            .expect("a Docker client")
            .negotiate_version()
            .await
            .expect("the Docker engine answers");
        work(&docker).await
    })
}

/// The 20 sequences' wall time.
pub fn run(image: &str) -> Duration {
    with_docker(async |docker| {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let start = Instant::now();
        futures::stream::iter(0..20)
            .for_each_concurrent(threads, |n| async move { one(docker, image, n).await })
            .await;
        start.elapsed()
    })
}

/// (i) The floor of (b) and (d): one container of `image` created, started and answering
/// Redis's `PING` on its published port, from this (already running) process through bollard;
/// removed after the clock stops. (b) and (d) pay this, a process's start and their 20 tests.
pub fn single(image: &str) -> Duration {
    with_docker(async |docker| {
        let name = format!("pipeline-test-bench-floor-{}-single", std::process::id());
        let start = Instant::now();
        super::one_redis::until_answering(docker, image, Some(&name)).await;
        let took = start.elapsed();
        remove(docker, &name).await;
        took
    })
}

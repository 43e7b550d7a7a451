//! (h) The engine's floor for a container per test: 20 bare create, start and remove sequences
//! of the Redis image through bollard, as many at a time as the test binaries run tests (the
//! machine's parallelism), with nothing waited for in between.

use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder};
use futures::StreamExt;

/// One create, start and forced remove of `image`, labelled so that nothing escapes the
/// bench's count.
async fn one(docker: &Docker, image: &str, n: usize) {
    let name = format!("pipeline-test-bench-floor-{}-{n}", std::process::id());
    let body = ContainerCreateBody {
        image: Some(image.to_string()),
        labels: Some([("pipeline-test.bench-floor".to_string(), "true".to_string())].into()),
        ..Default::default()
    };
    let options = CreateContainerOptionsBuilder::default().name(&name).build();
    docker
        .create_container(Some(options), body)
        .await
        .expect("the floor's container is created");
    docker
        .start_container(
            &name,
            None::<bollard::query_parameters::StartContainerOptions>,
        )
        .await
        .expect("the floor's container starts");
    let remove = RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(true)
        .build();
    docker
        .remove_container(&name, Some(remove))
        .await
        .expect("the floor's container is removed");
}

/// The 20 sequences' wall time.
pub fn run(image: &str) -> Duration {
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
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let start = Instant::now();
        futures::stream::iter(0..20)
            .for_each_concurrent(threads, |n| {
                let docker = &docker;
                async move { one(docker, image, n).await }
            })
            .await;
        start.elapsed()
    })
}

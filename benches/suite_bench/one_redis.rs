//! One Redis container with its port published on 127.0.0.1, created, started and sent `PING`
//! every 2 ms until it answers: the work of (i) and of (j) (`benches/suite/tests/floor_static.rs`).

use std::net::SocketAddr;
use std::time::Duration;

use bollard::Docker;
use bollard::models::{ContainerCreateBody, HostConfig, PortBinding};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, InspectContainerOptions, StartContainerOptions,
};

/// Creates a container of `image` (named `name`, if any), labelled so that nothing escapes the
/// bench's count, starts it and waits until its Redis answers; its id and address.
pub async fn until_answering(
    docker: &Docker,
    image: &str,
    name: Option<&str>,
) -> (String, SocketAddr) {
    let binding = PortBinding {
        host_ip: Some("127.0.0.1".into()),
        host_port: Some(String::new()),
    };
    let body = ContainerCreateBody {
        image: Some(image.to_string()),
        exposed_ports: Some(vec!["6379/tcp".to_string()]),
        labels: Some([("pipeline-test.bench-floor".to_string(), "true".to_string())].into()),
        host_config: Some(HostConfig {
            port_bindings: Some([("6379/tcp".to_string(), Some(vec![binding]))].into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let options = name.map(|n| CreateContainerOptionsBuilder::default().name(n).build());
    let id = docker
        .create_container(options, body)
        .await
        .expect("the floor's container is created")
        .id;
    docker
        .start_container(&id, None::<StartContainerOptions>)
        .await
        .expect("the floor's container starts");
    let port: u16 = docker
        .inspect_container(&id, None::<InspectContainerOptions>)
        .await
        .expect("the floor's container is inspected")
        .network_settings
        .and_then(|n| n.ports)
        .and_then(|p| p.get("6379/tcp").cloned().flatten())
        .and_then(|b| b.first().and_then(|b| b.host_port.clone()))
        .and_then(|p| p.parse().ok())
        .expect("the floor's container publishes 6379");
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    while !pongs(addr).await {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    (id, addr)
}

/// True when the Redis at `addr` answers `PING`.
async fn pongs(addr: SocketAddr) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut s) = tokio::net::TcpStream::connect(addr).await else {
        return false;
    };
    let mut buf = [0u8; 16];
    s.write_all(b"PING\r\n").await.is_ok()
        && matches!(s.read(&mut buf).await, Ok(n) if buf[..n].starts_with(b"+PONG"))
}

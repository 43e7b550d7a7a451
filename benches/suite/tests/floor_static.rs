//! (j) The floor of (b) and (d) as a test binary: the least a test binary can do to give its
//! 20 tests one Redis. bollard with a fixed API version (1.41, Docker 20.10 and up: no
//! negotiation), one container of the Redis image with its port published on 127.0.0.1,
//! created, started, inspected for that port, and sent `PING` every 2 ms until it answers;
//! then the same 20 tests. Nothing else: no file read, no lease, no log followed, and, as for
//! (d), no removal (a `static` is never dropped; the bench removes the container).

mod common;

use std::net::SocketAddr;
use std::sync::LazyLock;
use std::time::Duration;

use bollard::models::{ContainerCreateBody, HostConfig, PortBinding};
use bollard::query_parameters::{InspectContainerOptions, StartContainerOptions};
use bollard::{ClientVersion, Docker};

static REDIS: LazyLock<SocketAddr> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(start())
});

async fn start() -> SocketAddr {
    let version = ClientVersion {
        major_version: 1,
        minor_version: 41,
    };
    let docker =
        Docker::connect_with_unix("/var/run/docker.sock", 60, &version).expect("a Docker client");
    let (name, tag) = common::image();
    let binding = PortBinding {
        host_ip: Some("127.0.0.1".into()),
        host_port: Some(String::new()),
    };
    let body = ContainerCreateBody {
        image: Some(format!("{name}:{tag}")),
        exposed_ports: Some(vec!["6379/tcp".to_string()]),
        labels: Some([("pipeline-test.bench-floor".to_string(), "true".to_string())].into()),
        host_config: Some(HostConfig {
            port_bindings: Some([("6379/tcp".to_string(), Some(vec![binding]))].into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let id = docker
        .create_container(
            None::<bollard::query_parameters::CreateContainerOptions>,
            body,
        )
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
    addr
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

macro_rules! make {
    ($($name:ident),*) => {$(
        #[test]
        fn $name() {
            common::exercise(*REDIS, stringify!($name));
        }
    )*};
}
twenty!(make);

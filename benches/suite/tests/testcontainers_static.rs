//! (d) testcontainers-rs with the usual `static` container in a `OnceCell`, shared by the
//! tests; statics are never dropped, so the container outlives the binary.

mod common;

use std::net::SocketAddr;

use testcontainers::core::{IntoContainerPort, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, GenericImage, ImageExt};
use tokio::sync::OnceCell;

static REDIS: OnceCell<(ContainerAsync<GenericImage>, u16)> = OnceCell::const_new();

async fn addr() -> SocketAddr {
    let (_, port) = REDIS
        .get_or_init(|| async {
            let (name, tag) = common::image();
            let container = GenericImage::new(name, tag)
                .with_exposed_port(6379.tcp())
                .with_wait_for(WaitFor::message_on_stdout("Ready to accept connections"))
                .with_startup_timeout(std::time::Duration::from_secs(60))
                .start()
                .await
                .expect("Redis started");
            let port = container.get_host_port_ipv4(6379.tcp()).await.unwrap();
            (container, port)
        })
        .await;
    ([127, 0, 0, 1], *port).into()
}

macro_rules! make {
    ($($name:ident),*) => {$(
        #[tokio::test]
        async fn $name() {
            common::exercise(addr().await, stringify!($name));
        }
    )*};
}
twenty!(make);

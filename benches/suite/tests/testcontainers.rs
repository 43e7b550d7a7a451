//! (c) testcontainers-rs: a container per test (`GenericImage` with a log wait, as its
//! documentation shows).

mod common;

use testcontainers::core::{IntoContainerPort, WaitFor};
use testcontainers::runners::SyncRunner;
use testcontainers::{GenericImage, ImageExt};

fn redis() -> testcontainers::Container<GenericImage> {
    let (name, tag) = common::image();
    GenericImage::new(name, tag)
        .with_exposed_port(6379.tcp())
        .with_wait_for(WaitFor::message_on_stdout("Ready to accept connections"))
        .with_startup_timeout(std::time::Duration::from_secs(60))
        .start()
        .expect("Redis started")
}

macro_rules! make {
    ($($name:ident),*) => {$(
        #[test]
        fn $name() {
            let container = redis();
            let port = container.get_host_port_ipv4(6379.tcp()).unwrap();
            common::exercise(([127, 0, 0, 1], port).into(), stringify!($name));
        }
    )*};
}
twenty!(make);

//! (j) The floor of (b) and (d) as a test binary: the least a test binary can do to give its
//! 20 tests one Redis. bollard with a fixed API version (1.41, Docker 20.10 and up: no
//! negotiation), one container of the Redis image with its port published on 127.0.0.1,
//! created, started, inspected for that port, and sent `PING` every 2 ms until it answers;
//! then the same 20 tests. Nothing else: no file read, no lease, no log followed, and, as for
//! (d), no removal (a `static` is never dropped; the bench removes the container).

mod common;
#[path = "../../suite_bench/one_redis.rs"]
mod one_redis;

use std::net::SocketAddr;
use std::sync::LazyLock;

use bollard::{ClientVersion, Docker};

static REDIS: LazyLock<SocketAddr> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(async {
            let version = ClientVersion {
                major_version: 1,
                minor_version: 41,
            };
            let docker = Docker::connect_with_unix("/var/run/docker.sock", 60, &version)
                .expect("a Docker client");
            let (name, tag) = common::image();
            one_redis::until_answering(&docker, &format!("{name}:{tag}"), None)
                .await
                .1
        })
});

macro_rules! make {
    ($($name:ident),*) => {$(
        #[test]
        fn $name() {
            common::exercise(*REDIS, stringify!($name));
        }
    )*};
}
twenty!(make);

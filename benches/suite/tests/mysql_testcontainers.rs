//! (g) testcontainers-rs: a MySQL container per test (`GenericImage` waiting for the server's
//! last start line, as testcontainers-modules' MySQL does), the same 20 tests as (f).

mod common;

use testcontainers::core::{IntoContainerPort, WaitFor};
use testcontainers::runners::SyncRunner;
use testcontainers::{GenericImage, ImageExt};

fn mysql() -> testcontainers::Container<GenericImage> {
    let (name, tag) = common::mysql_image();
    GenericImage::new(name, tag)
        .with_exposed_port(3306.tcp())
        .with_wait_for(WaitFor::message_on_stderr("port: 3306"))
        .with_env_var("MYSQL_ROOT_PASSWORD", "root")
        // As `mysql.yaml` sets it for (f): the stand-in initialises as long as the real image.
        .with_env_var("PIPELINE_TEST_FIXTURE_INIT_SECONDS", "10")
        .with_startup_timeout(std::time::Duration::from_secs(120))
        .start()
        .expect("MySQL started")
}

macro_rules! make {
    ($($name:ident),*) => {$(
        #[test]
        fn $name() {
            let container = mysql();
            let port = container.get_host_port_ipv4(3306.tcp()).unwrap();
            common::exercise_mysql(&format!("mysql://root:root@127.0.0.1:{port}/mysql"));
        }
    )*};
}
twenty!(make);

//! Services are reached where the engine publishes them: 127.0.0.1 for an engine on this
//! machine (Docker's socket, Podman's), the engine's host for a remote one
//! (`DOCKER_HOST=tcp://HOST:PORT`), or `PIPELINE_TEST_HOST`. `scripts/engines.sh` runs this
//! file (with the seed, Redis and MySQL tests) against Podman and through a TCP engine.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, ToSocketAddrs};

use pipeline_test::{Stage, pipeline_test};

/// Where this test expects the services: what the user set, as they would work it out.
fn expected_host() -> IpAddr {
    if let Ok(host) = std::env::var("PIPELINE_TEST_HOST") {
        return (host.as_str(), 0)
            .to_socket_addrs()
            .unwrap()
            .next()
            .unwrap()
            .ip();
    }
    match std::env::var("DOCKER_HOST") {
        Ok(h) if h.starts_with("tcp://") => {
            let host = h["tcp://".len()..].rsplit_once(':').unwrap().0;
            (host, 0).to_socket_addrs().unwrap().next().unwrap().ip()
        }
        _ => IpAddr::V4(Ipv4Addr::LOCALHOST),
    }
}

#[pipeline_test("tests/pipelines/redis.yaml")]
fn redis_is_reached_at_the_engines_host(stage: &Stage) {
    let cache = stage.service("cache");
    let addr = cache.addr(6379);
    assert_eq!(
        addr.ip(),
        expected_host(),
        "DOCKER_HOST and PIPELINE_TEST_HOST"
    );
    assert_eq!(cache.host(), addr.ip());
    let mut redis = std::net::TcpStream::connect(addr).unwrap();
    redis.write_all(b"PING\r\n").unwrap();
    let mut answer = [0u8; 7];
    redis.read_exact(&mut answer).unwrap();
    assert_eq!(&answer, b"+PONG\r\n");
}

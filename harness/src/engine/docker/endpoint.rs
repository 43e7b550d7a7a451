//! Which engine `DOCKER_HOST` names, how to connect to it, and where its published ports are
//! reached from here.
//!
//! - `unix://PATH` (the default `/var/run/docker.sock`, a rootless or Podman socket): the
//!   engine is on this machine; ports are published on 127.0.0.1 and reached there.
//! - `tcp://HOST:PORT` / `http://`: a remote engine; with `DOCKER_TLS_VERIFY` set (or
//!   `https://`), over TLS with the client certificates in `DOCKER_CERT_PATH` (`~/.docker` by
//!   default; feature `tls`). Ports are published on all the engine's interfaces and reached
//!   at HOST.
//! - `ssh://USER@HOST`: through the `ssh` command (feature `ssh`); ports are reached at HOST.
//!
//! `PIPELINE_TEST_HOST` overrides the address services are reached at (and then ports are
//! published on all interfaces, whatever the engine).

use std::net::{IpAddr, ToSocketAddrs};

use bollard::{ClientVersion, Docker};

use crate::Error;
use crate::engine::Reach;

/// The address a test reaches the services' published ports at, instead of the engine's host.
pub const HOST_ENV: &str = "PIPELINE_TEST_HOST";

/// Seconds a single request may take before bollard gives up.
const REQUEST_TIMEOUT: u64 = 600;

/// How the engine is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    Unix,
    Http,
    Tls,
    Ssh,
}

/// The endpoint's scheme, and its host for the remote ones.
pub(crate) fn parse(endpoint: &str) -> Result<(Scheme, Option<String>), String> {
    let tls_env =
        std::env::var("DOCKER_TLS_VERIFY").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false");
    let (scheme, rest) = endpoint
        .split_once("://")
        .ok_or_else(|| format!("`{endpoint}` has no scheme (unix://, tcp://, ssh://)"))?;
    let scheme = match scheme {
        "unix" => return Ok((Scheme::Unix, None)),
        "tcp" | "http" if tls_env => Scheme::Tls,
        "tcp" | "http" => Scheme::Http,
        "https" => Scheme::Tls,
        "ssh" => Scheme::Ssh,
        other => {
            return Err(format!(
                "the scheme `{other}://` is not one the harness speaks (unix://, tcp://, https://, ssh://)"
            ));
        }
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    if host.is_empty() {
        return Err(format!("`{endpoint}` names no host"));
    }
    Ok((scheme, Some(host.to_string())))
}

/// A client for `endpoint` speaking API `version`; a local engine's over the process's kept
/// connections (see `pool.rs`).
pub(crate) fn client(endpoint: &str, version: &ClientVersion) -> Result<Docker, String> {
    let (scheme, _) = parse(endpoint)?;
    let built = match scheme {
        Scheme::Unix => {
            let path = endpoint.strip_prefix("unix://").unwrap_or(endpoint);
            return super::pool::client(path, REQUEST_TIMEOUT, version);
        }
        Scheme::Http => Docker::connect_with_http(endpoint, REQUEST_TIMEOUT, version),
        Scheme::Tls => return tls(endpoint, version),
        Scheme::Ssh => return ssh(endpoint, version),
    };
    built.map_err(|e| e.to_string())
}

#[cfg(feature = "tls")]
fn tls(endpoint: &str, version: &ClientVersion) -> Result<Docker, String> {
    let dir = std::env::var_os("DOCKER_CERT_PATH")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".docker")))
        .ok_or("DOCKER_TLS_VERIFY is set but neither DOCKER_CERT_PATH nor HOME is")?;
    Docker::connect_with_ssl(
        endpoint,
        &dir.join("key.pem"),
        &dir.join("cert.pem"),
        &dir.join("ca.pem"),
        REQUEST_TIMEOUT,
        version,
    )
    .map_err(|e| format!("{e} (client certificates from {})", dir.display()))
}

#[cfg(not(feature = "tls"))]
fn tls(_: &str, _: &ClientVersion) -> Result<Docker, String> {
    Err("this engine speaks TLS, and pipeline-test was built without it: enable the `tls` feature of `pipeline-test`".into())
}

#[cfg(feature = "ssh")]
fn ssh(endpoint: &str, version: &ClientVersion) -> Result<Docker, String> {
    Docker::connect_with_ssh(endpoint, REQUEST_TIMEOUT, version, None).map_err(|e| e.to_string())
}

#[cfg(not(feature = "ssh"))]
fn ssh(_: &str, _: &ClientVersion) -> Result<Docker, String> {
    Err("ssh:// engines need the `ssh` feature of `pipeline-test` (and the `ssh` command)".into())
}

/// [`Reach`] for `endpoint`, with `PIPELINE_TEST_HOST` (`over`) first.
///
/// # Errors
///
/// [`Error::InvalidEnv`] when the host does not resolve to an address.
pub(crate) fn reach(endpoint: &str, over: Option<&str>) -> Result<Reach, Error> {
    let local = matches!(parse(endpoint), Ok((Scheme::Unix, _)));
    let (name, what) = match over.filter(|h| !h.trim().is_empty()) {
        Some(h) => (h.trim().to_string(), HOST_ENV),
        None => match parse(endpoint) {
            Ok((Scheme::Unix, _)) | Err(_) => return Ok(Reach::local()),
            Ok((_, Some(h))) => (h, "DOCKER_HOST"),
            Ok((_, None)) => return Ok(Reach::local()),
        },
    };
    let host = resolve(&name).ok_or_else(|| Error::InvalidEnv {
        name: what,
        reason: format!("`{name}` does not resolve to an address from this machine"),
    })?;
    Ok(Reach {
        host,
        bind: String::new(),
        local,
    })
}

/// The first address of `name`, IPv4 first.
fn resolve(name: &str) -> Option<IpAddr> {
    if let Ok(ip) = name.parse::<IpAddr>() {
        return Some(ip);
    }
    let addrs: Vec<IpAddr> = (name, 0).to_socket_addrs().ok()?.map(|a| a.ip()).collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| addrs.first())
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        assert_eq!(
            parse("unix:///var/run/docker.sock"),
            Ok((Scheme::Unix, None))
        );
        assert_eq!(
            parse("tcp://127.0.0.2:2375"),
            Ok((Scheme::Http, Some("127.0.0.2".into())))
        );
        assert_eq!(
            parse("ssh://ci@build-host"),
            Ok((Scheme::Ssh, Some("build-host".into())))
        );
        assert_eq!(
            parse("https://[::1]:2376"),
            Ok((Scheme::Tls, Some("::1".into())))
        );
        assert!(parse("docker.example:2375").is_err());
        assert!(parse("npipe:////./pipe/docker_engine").is_err());
    }

    #[test]
    fn where_ports_are_reached() {
        assert_eq!(
            reach("unix:///run/podman.sock", None).unwrap(),
            Reach::local()
        );
        let remote = reach("tcp://127.0.0.2:2375", None).unwrap();
        assert_eq!(remote.host.to_string(), "127.0.0.2");
        assert_eq!(remote.bind, "", "published on every interface");
        let over = reach("unix:///var/run/docker.sock", Some("10.0.0.7")).unwrap();
        assert_eq!(over.host.to_string(), "10.0.0.7");
        assert!(reach("tcp://no-such-host.invalid:2375", None).is_err());
    }
}

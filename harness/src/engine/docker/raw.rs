//! The few requests made before the process has a client: over the engine's Unix socket, as
//! HTTP/1.0 (the engine answers and closes), read by hand. `GET /_ping` tells the API version
//! (how the Docker CLI negotiates, and far cheaper than bollard's `/version`, for which the
//! engine asks its components for their versions); an image's inspection tells the version
//! as well, in the same header, and what the image offers.

use std::collections::HashMap;

use bollard::ClientVersion;
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::run::ImageFacts;

/// The most of an answer that is read.
const MOST: u64 = 4 * 1024 * 1024;

/// An answer of the engine.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: u16,
    /// Its `Api-Version` header: the engine's API version.
    pub version: Option<ClientVersion>,
    pub body: Vec<u8>,
}

/// `GET path` on `endpoint`; `None` for an endpoint that is not a Unix socket, or when the
/// engine cannot be reached or answers something that is not HTTP.
pub(crate) async fn get(endpoint: &str, path: &str) -> Option<Answer> {
    let socket = endpoint.strip_prefix("unix://")?;
    let mut stream = tokio::net::UnixStream::connect(socket).await.ok()?;
    let request = format!("GET {path} HTTP/1.0\r\nHost: docker\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut answer = Vec::new();
    stream.take(MOST).read_to_end(&mut answer).await.ok()?;
    answer_of(&answer)
}

/// The status, version and body of an HTTP answer.
fn answer_of(answer: &[u8]) -> Option<Answer> {
    let end = answer.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&answer[..end]).ok()?;
    let mut lines = head.lines();
    let status_line = lines.next()?;
    if !status_line.starts_with("HTTP/1.") {
        return None;
    }
    let status = status_line.split_whitespace().nth(1)?.parse().ok()?;
    let version = lines
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("api-version")
                .then(|| value.trim())
        })
        .and_then(version_of);
    Some(Answer {
        status,
        version,
        body: answer[end + 4..].to_vec(),
    })
}

fn version_of(value: &str) -> Option<ClientVersion> {
    let (major, minor) = value.split_once('.')?;
    Some(ClientVersion {
        major_version: major.parse().ok()?,
        minor_version: minor.parse().ok()?,
    })
}

/// The engine's API version from its `GET /_ping` answer (`200 OK`).
pub(crate) async fn ping_version(endpoint: &str) -> Option<ClientVersion> {
    let answer = get(endpoint, "/_ping").await?;
    (answer.status == 200).then_some(answer.version)?
}

/// `image` looked at without an API version in the path (the engine answers as its own
/// version, which it names): the engine's version, and what the image offers when it is
/// present. `None` when nothing usable came back, or for a name that is not a plain
/// reference.
pub(crate) async fn inspect_image(
    endpoint: &str,
    image: &str,
) -> Option<(ClientVersion, Option<ImageFacts>)> {
    let plain = !image.is_empty()
        && image
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-/:@+".contains(&b));
    if !plain {
        return None;
    }
    let answer = get(endpoint, &format!("/images/{image}/json")).await?;
    let version = answer.version?;
    let facts = (answer.status == 200)
        .then(|| facts_of_json(&answer.body))
        .flatten();
    Some((version, facts))
}

/// The part of an image's inspection that is used.
#[derive(Deserialize)]
struct Inspect {
    #[serde(rename = "Config", default)]
    config: Option<Config>,
}

#[derive(Deserialize)]
struct Config {
    #[serde(rename = "ExposedPorts", default)]
    exposed_ports: Option<HashMap<String, serde::de::IgnoredAny>>,
    #[serde(rename = "Healthcheck", default)]
    healthcheck: Option<Healthcheck>,
}

#[derive(Deserialize)]
struct Healthcheck {
    #[serde(rename = "Test", default)]
    test: Option<Vec<String>>,
}

/// What an image offers, from the JSON of its inspection.
fn facts_of_json(body: &[u8]) -> Option<ImageFacts> {
    let inspect: Inspect = serde_json::from_slice(body).ok()?;
    let config = inspect.config.unwrap_or(Config {
        exposed_ports: None,
        healthcheck: None,
    });
    let ports = config.exposed_ports.unwrap_or_default();
    let test = config.healthcheck.and_then(|h| h.test);
    Some(super::prepare::facts_of(
        ports.keys().map(String::as_str),
        test.as_deref(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_version_of_an_answer() {
        let ok =
            answer_of(b"HTTP/1.0 200 OK\r\nApi-Version: 1.47\r\nOstype: linux\r\n\r\nOK").unwrap();
        let v = ok.version.expect("a version");
        assert_eq!((ok.status, v.major_version, v.minor_version), (200, 1, 47));
        assert_eq!(ok.body, b"OK");
        let lower = answer_of(b"HTTP/1.1 200 OK\r\napi-version:1.41\r\n\r\n").unwrap();
        assert_eq!(lower.version.map(|v| v.minor_version), Some(41));
        let missing = answer_of(b"HTTP/1.0 404 Not Found\r\nApi-Version: 1.47\r\n\r\n{}").unwrap();
        assert_eq!(missing.status, 404);
        assert!(missing.version.is_some());
        let none = answer_of(b"HTTP/1.0 200 OK\r\nServer: x\r\n\r\nOK").unwrap();
        assert!(none.version.is_none());
        let odd = answer_of(b"HTTP/1.0 200 OK\r\nApi-Version: new\r\n\r\n").unwrap();
        assert!(odd.version.is_none());
        assert!(answer_of(b"SSH-2.0-OpenSSH\r\n\r\n").is_none());
        assert!(answer_of(b"HTTP/1.0 200 OK\r\nApi-Version: 1.47").is_none());
    }

    #[test]
    fn what_an_image_offers_from_its_inspection() {
        let body = br#"{"Id":"sha256:1","Config":{"Env":["A=1"],"ExposedPorts":{"6379/tcp":{},"53/udp":{}},"Healthcheck":{"Test":["CMD-SHELL","redis-cli ping"],"Interval":1000}},"RootFS":{"Layers":["x"]}}"#;
        let facts = facts_of_json(body).expect("facts");
        let mut ports: Vec<String> = facts.exposed_ports.iter().map(|p| p.to_string()).collect();
        ports.sort();
        assert_eq!(ports, ["53/udp", "6379/tcp"]);
        assert!(facts.healthcheck);
        let plain =
            facts_of_json(br#"{"Config":{"ExposedPorts":null,"Healthcheck":{"Test":["NONE"]}}}"#)
                .expect("facts");
        assert!(plain.exposed_ports.is_empty() && !plain.healthcheck);
        let bare = facts_of_json(br#"{"Id":"x"}"#).expect("facts");
        assert!(bare.exposed_ports.is_empty() && !bare.healthcheck);
        assert!(facts_of_json(b"not json").is_none());
    }

    /// The engine's answer about an image tells its API version and the image's ports, as
    /// bollard's inspection does; `warm` keeps them for the stages of the process.
    #[tokio::test]
    async fn one_request_tells_the_version_and_what_the_image_offers() {
        let endpoint = crate::engine::docker::client::endpoint();
        let image = pipeline_test_support::images().resolve("redis");
        let (docker, _) = crate::engine::docker::client::connect()
            .await
            .expect("the Docker engine answers");
        let engine = docker.version().await.expect("the engine's version");
        let (version, facts) = inspect_image(&endpoint, &image)
            .await
            .unwrap_or_else(|| panic!("no answer about {image} from {endpoint}"));
        let named = format!("{}.{}", version.major_version, version.minor_version);
        assert_eq!(
            Some(named),
            engine.api_version,
            "the version the engine names"
        );
        let facts = facts.unwrap_or_else(|| panic!("{image} is not on the engine"));
        let ports: Vec<String> = facts.exposed_ports.iter().map(|p| p.to_string()).collect();
        assert_eq!(ports, ["6379/tcp"], "what {image} exposes");
        let bollard = docker
            .inspect_image(&image)
            .await
            .expect("bollard's inspection");
        assert_eq!(super::super::prepare::facts(bollard), facts);

        let (_, missing) = inspect_image(&endpoint, "pipeline-test-no-such-image:0")
            .await
            .expect("an answer about a missing image");
        assert_eq!(missing, None);
        assert!(
            inspect_image(&endpoint, "a b").await.is_none(),
            "not a reference"
        );

        crate::engine::docker::client::warm(std::slice::from_ref(&image)).await;
        let kept = super::super::prepare::known(&endpoint, &image);
        assert_eq!(kept, Some(facts), "what warm kept for the stages");
    }
}

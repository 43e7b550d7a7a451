//! Image names: the `PIPELINE_TEST_IMAGES` map, references, and registry credentials.

use std::collections::HashMap;
use std::path::PathBuf;

/// Why an image map could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ImageMapError {
    /// An entry without `=`.
    #[error("`{entry}` has no `=`: write entries as `name=image`, e.g. `redis=mirror/redis:7`")]
    NoEquals {
        /// The entry.
        entry: String,
    },
    /// An entry with nothing on one side of its `=`.
    #[error("`{entry}` has an empty side: write `name=image`")]
    EmptySide {
        /// The entry.
        entry: String,
    },
}

/// Maps the image names a pipeline uses onto others: mirrors, or local stand-ins.
///
/// Read from `PIPELINE_TEST_IMAGES`, a comma-separated list of `from=to` pairs. A name without
/// a tag means `:latest`, and `docker.io/library/` prefixes are ignored, so `redis`,
/// `redis:latest` and `docker.io/library/redis` are the same name.
///
/// # Examples
///
/// ```
/// use pipeline_test_harness::ImageMap;
/// let map = ImageMap::parse("redis=mirror/redis:7, mysql:8.0=mirror/mariadb:10.11").unwrap();
/// assert_eq!(map.resolve("redis:latest"), "mirror/redis:7");
/// assert_eq!(map.resolve("mysql:8.0"), "mirror/mariadb:10.11");
/// assert_eq!(map.resolve("postgres:16"), "postgres:16");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageMap {
    map: HashMap<String, String>,
}

impl ImageMap {
    /// The environment variable the map is read from.
    pub const ENV: &'static str = "PIPELINE_TEST_IMAGES";

    /// Parses `from=to[,from=to...]`.
    ///
    /// # Errors
    ///
    /// An [`ImageMapError`] naming the entry that has no `=` or an empty side.
    pub fn parse(text: &str) -> Result<Self, ImageMapError> {
        let mut map = HashMap::new();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let Some((from, to)) = entry.split_once('=') else {
                return Err(ImageMapError::NoEquals {
                    entry: entry.into(),
                });
            };
            let (from, to) = (from.trim(), to.trim());
            if from.is_empty() || to.is_empty() {
                return Err(ImageMapError::EmptySide {
                    entry: entry.into(),
                });
            }
            map.insert(normalize(from), to.to_string());
        }
        Ok(ImageMap { map })
    }

    /// Reads the map from `PIPELINE_TEST_IMAGES`; an unset variable is an empty map.
    ///
    /// # Errors
    ///
    /// [`crate::Error::ImageMap`] when the variable is malformed.
    pub fn from_env() -> Result<Self, crate::Error> {
        match std::env::var(Self::ENV) {
            Ok(v) => Ok(Self::parse(&v)?),
            Err(_) => Ok(Self::default()),
        }
    }

    /// Adds or replaces one mapping.
    pub fn insert(&mut self, from: &str, to: &str) {
        self.map.insert(normalize(from), to.to_string());
    }

    /// Merges `other` into this map; `other` wins.
    pub fn extend(&mut self, other: ImageMap) {
        self.map.extend(other.map);
    }

    /// The image to use for `image`: its mapping, or itself.
    pub fn resolve(&self, image: &str) -> String {
        self.map
            .get(&normalize(image))
            .cloned()
            .unwrap_or_else(|| image.to_string())
    }

    /// True when nothing is mapped.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// `redis` -> `redis:latest`; `docker.io/library/redis:7` -> `redis:7`.
fn normalize(image: &str) -> String {
    let image = image
        .strip_prefix("docker.io/library/")
        .or_else(|| image.strip_prefix("index.docker.io/library/"))
        .or_else(|| image.strip_prefix("library/"))
        .unwrap_or(image);
    let (name, tag) = split_reference(image);
    if image.contains('@') {
        return image.to_string();
    }
    format!("{name}:{}", tag.unwrap_or("latest"))
}

/// Splits `registry:5000/name:tag` into (`registry:5000/name`, `Some("tag")`).
pub(crate) fn split_reference(image: &str) -> (&str, Option<&str>) {
    let slash = image.rfind('/').map_or(0, |i| i + 1);
    match image[slash..].rfind(':') {
        Some(i) if !image.contains('@') => (&image[..slash + i], Some(&image[slash + i + 1..])),
        _ => (image, None),
    }
}

/// The registry host an image is pulled from (`docker.io` when none is named).
pub(crate) fn registry_of(image: &str) -> &str {
    match image.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            first
        }
        _ => "docker.io",
    }
}

/// A user name and password for a registry.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Login {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Login({}, ****)", self.username)
    }
}

/// Reads the login for `registry` from the Docker config file (`$DOCKER_CONFIG/config.json`,
/// else `~/.docker/config.json`): `auths.<registry>.auth`, base64 of `user:password`.
/// Credential helpers are not consulted.
pub(crate) fn docker_config_login(registry: &str) -> Option<Login> {
    use base64::Engine as _;
    let dir = std::env::var_os("DOCKER_CONFIG")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker")))?;
    let text = std::fs::read_to_string(dir.join("config.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    let auths = json.get("auths")?.as_object()?;
    let wanted = if registry == "docker.io" {
        "index.docker.io"
    } else {
        registry
    };
    let (_, entry) = auths.iter().find(|(key, _)| {
        let host = key
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap_or("");
        host == wanted || (registry == "docker.io" && host == "docker.io")
    })?;
    if let Some(auth) = entry.get("auth").and_then(|a| a.as_str()) {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth)
            .ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        let (username, password) = decoded.split_once(':')?;
        return Some(Login {
            username: username.to_string(),
            password: password.to_string(),
        });
    }
    let username = entry.get("username")?.as_str()?.to_string();
    let password = entry.get("password")?.as_str()?.to_string();
    Some(Login { username, password })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references() {
        assert_eq!(split_reference("redis"), ("redis", None));
        assert_eq!(split_reference("redis:7"), ("redis", Some("7")));
        assert_eq!(
            split_reference("localhost:5000/a/b:1"),
            ("localhost:5000/a/b", Some("1"))
        );
        assert_eq!(
            split_reference("localhost:5000/a"),
            ("localhost:5000/a", None)
        );
        assert_eq!(registry_of("redis"), "docker.io");
        assert_eq!(registry_of("ghcr.io/x/y:1"), "ghcr.io");
        assert_eq!(registry_of("localhost:5000/y"), "localhost:5000");
        assert_eq!(registry_of("bitnami/redis"), "docker.io");
    }

    #[test]
    fn map_normalises_names() {
        let m = ImageMap::parse("redis=a/redis:7,docker.io/library/mysql:8.0=b").unwrap();
        assert_eq!(m.resolve("redis"), "a/redis:7");
        assert_eq!(m.resolve("docker.io/library/redis:latest"), "a/redis:7");
        assert_eq!(m.resolve("redis:7"), "redis:7");
        assert_eq!(m.resolve("mysql:8.0"), "b");
        assert!(
            ImageMap::parse("redis")
                .unwrap_err()
                .to_string()
                .contains("has no `=`")
        );
        assert!(ImageMap::parse("=x").is_err());
        assert!(ImageMap::parse("").unwrap().is_empty());
    }
}

//! Container ports and port mappings, parsed once from the text a pipeline or an image gives.

use std::fmt;
use std::str::FromStr;

/// A transport protocol of a container port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[non_exhaustive]
pub enum Protocol {
    /// TCP (the default when none is written).
    #[default]
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

impl Protocol {
    /// The protocol as Docker writes it: `tcp`, `udp`, `sctp`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        }
    }
}

/// A port inside a container, as Docker names it: `6379/tcp`.
///
/// # Examples
///
/// ```
/// use pipeline_test_harness::ports::{ContainerPort, Protocol};
/// let port: ContainerPort = "53/udp".parse().unwrap();
/// assert_eq!(port, ContainerPort::new(53, Protocol::Udp));
/// assert_eq!(port.to_string(), "53/udp");
/// assert_eq!("6379".parse::<ContainerPort>().unwrap(), ContainerPort::tcp(6379));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContainerPort {
    /// The port number.
    pub number: u16,
    /// Its protocol.
    pub protocol: Protocol,
}

impl ContainerPort {
    /// A port of `protocol`.
    pub fn new(number: u16, protocol: Protocol) -> Self {
        ContainerPort { number, protocol }
    }

    /// A TCP port.
    pub fn tcp(number: u16) -> Self {
        Self::new(number, Protocol::Tcp)
    }
}

impl fmt::Display for ContainerPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.number, self.protocol.as_str())
    }
}

impl PartialEq<str> for ContainerPort {
    /// Compares with a port as text: `6379/tcp` (or `6379`, TCP).
    fn eq(&self, other: &str) -> bool {
        other.parse::<ContainerPort>() == Ok(*self)
    }
}

/// A port or port mapping that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not a port: {reason}")]
pub struct PortError {
    /// The text.
    pub input: String,
    /// What is wrong with it, and the forms that are right.
    pub reason: &'static str,
}

fn port_number(text: &str, input: &str) -> Result<u16, PortError> {
    match text.parse::<u16>() {
        Ok(0) => Err(PortError {
            input: input.into(),
            reason: "port 0 cannot be published; use 1 to 65535",
        }),
        Ok(n) => Ok(n),
        Err(_) if text.contains('-') => Err(PortError {
            input: input.into(),
            reason: "port ranges are not supported; list each port",
        }),
        Err(_) => Err(PortError {
            input: input.into(),
            reason: "write `PORT`, `HOST:PORT` or `IP:HOST:PORT`, optionally followed by `/tcp` or `/udp`, with ports from 1 to 65535",
        }),
    }
}

impl FromStr for ContainerPort {
    type Err = PortError;

    fn from_str(input: &str) -> Result<Self, PortError> {
        let (number, protocol) = input
            .trim()
            .split_once('/')
            .unwrap_or((input.trim(), "tcp"));
        let protocol = match protocol.to_ascii_lowercase().as_str() {
            "tcp" => Protocol::Tcp,
            "udp" => Protocol::Udp,
            "sctp" => Protocol::Sctp,
            _ => {
                return Err(PortError {
                    input: input.into(),
                    reason: "the protocol after `/` is `tcp`, `udp` or `sctp`",
                });
            }
        };
        Ok(ContainerPort::new(port_number(number, input)?, protocol))
    }
}

/// A `ports:` entry of a pipeline: a container port and, if the YAML names one, the host port
/// it is published on (`6379`, `8080:80`, `127.0.0.1:8080:80/udp`). The harness publishes on
/// 127.0.0.1 whatever address the entry names.
///
/// # Examples
///
/// ```
/// use pipeline_test_harness::ports::{ContainerPort, PortMapping};
/// let m: PortMapping = "127.0.0.1:8080:80".parse().unwrap();
/// assert_eq!(m.host, Some(8080));
/// assert_eq!(m.container, ContainerPort::tcp(80));
/// assert!("80-90:80-90".parse::<PortMapping>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortMapping {
    /// The host port asked for; `None`: any free port.
    pub host: Option<u16>,
    /// The port inside the container.
    pub container: ContainerPort,
}

impl FromStr for PortMapping {
    type Err = PortError;

    fn from_str(input: &str) -> Result<Self, PortError> {
        let text = input.trim();
        let (spec, protocol) = match text.split_once('/') {
            Some((spec, protocol)) => (spec, Some(protocol)),
            None => (text, None),
        };
        let (host, container) = match spec.rsplit_once(':') {
            Some((rest, container)) => (rest.rsplit(':').next(), container),
            None => (None, spec),
        };
        let container_text = match protocol {
            Some(p) => format!("{container}/{p}"),
            None => container.to_string(),
        };
        let container = container_text
            .parse::<ContainerPort>()
            .map_err(|e| PortError {
                input: input.into(),
                reason: e.reason,
            })?;
        let host = match host.filter(|h| !h.is_empty()) {
            Some(h) => Some(port_number(h, input)?),
            None => None,
        };
        Ok(PortMapping { host, container })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_ports() {
        assert_eq!(
            "6379/tcp".parse::<ContainerPort>(),
            Ok(ContainerPort::tcp(6379))
        );
        assert_eq!(
            "53/UDP".parse::<ContainerPort>().map(|p| p.to_string()),
            Ok("53/udp".into())
        );
        assert!("x/tcp".parse::<ContainerPort>().is_err());
        assert!("80/icmp".parse::<ContainerPort>().is_err());
        assert!("0".parse::<ContainerPort>().is_err());
        assert!("70000".parse::<ContainerPort>().is_err());
    }

    #[test]
    fn mappings() {
        let m = |s: &str| s.parse::<PortMapping>();
        assert_eq!(
            m("6379"),
            Ok(PortMapping {
                host: None,
                container: ContainerPort::tcp(6379)
            })
        );
        assert_eq!(m("8080:80").unwrap().host, Some(8080));
        assert_eq!(
            m("0.0.0.0:8080:80/udp").unwrap(),
            PortMapping {
                host: Some(8080),
                container: ContainerPort::new(80, Protocol::Udp)
            }
        );
        assert_eq!(m("127.0.0.1::80").unwrap().host, None);
        assert_eq!(
            m("8000-8010:8000-8010").unwrap_err().reason,
            "port ranges are not supported; list each port"
        );
        assert!(m("abc").is_err());
        assert!(m("80:").is_err());
    }
}

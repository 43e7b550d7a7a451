//! What the process that started a shared stage records on the engine once the stage is
//! ready, so that the other processes of the run build the same services without looking at
//! them again: names, containers, hostnames, images, environments and published ports, and the
//! steps' reports. JSON, in a label of the stage's record volume.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::engine::Engine;
use crate::plan::StepKind;
use crate::report::{StepReport, StepStatus};
use crate::service::Service;
use crate::teardown::Keep;

/// A ready shared stage, as recorded.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct Record {
    /// The stage's name.
    pub stage: String,
    /// The run id every resource of the stage carries.
    pub run_id: String,
    /// Who started it: `test name (process pid)`.
    pub started_by: String,
    pub services: Vec<ServiceRecord>,
    pub steps: Vec<StepRecord>,
}

/// A service of the record.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct ServiceRecord {
    name: String,
    container_id: String,
    masks: Vec<String>,
    hostnames: Vec<String>,
    image: String,
    written_image: String,
    env: Vec<(String, String)>,
    /// `6379/tcp` -> host port.
    ports: BTreeMap<String, u16>,
    host: std::net::IpAddr,
    budget_ms: u64,
}

/// A step's report, as recorded.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct StepRecord {
    name: String,
    type_name: String,
    service: bool,
    image: String,
    status: StepStatus,
    exit_code: Option<i64>,
    duration_ms: u64,
    output_tail: Vec<String>,
}

/// The `type:` names a step report carries.
const TYPE_NAMES: &[&str] = &[
    "run",
    "background",
    "script",
    "group",
    "parallel",
    "plugin",
    "unsupported",
    "action",
    "service",
];

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl ServiceRecord {
    pub(crate) fn of(service: &Service) -> Self {
        ServiceRecord {
            name: service.name.clone(),
            container_id: service.container_id.clone(),
            masks: service.masks.to_vec(),
            hostnames: service.hostnames.clone(),
            image: service.image.clone(),
            written_image: service.written_image.clone(),
            env: service.env.to_vec(),
            ports: service
                .ports
                .iter()
                .map(|(port, host)| (port.to_string(), *host))
                .collect(),
            host: service.host,
            budget_ms: millis(service.budget),
        }
    }

    /// The service, reached through `engine` from this process: found ready by the process
    /// that started it, so never waited for again.
    pub(crate) fn service(&self, engine: &Engine, keep: Keep) -> Service {
        Service {
            name: self.name.clone(),
            container_id: self.container_id.clone(),
            masks: self.masks.clone().into(),
            hostnames: self.hostnames.clone(),
            image: self.image.clone(),
            written_image: self.written_image.clone(),
            env: self.env.clone().into(),
            keep,
            ports: self
                .ports
                .iter()
                .filter_map(|(port, host)| Some((port.parse().ok()?, *host)))
                .collect(),
            host: self.host,
            engine: engine.clone(),
            handle: tokio::runtime::Handle::current(),
            started: std::time::Instant::now(),
            ready_by: None,
            budget: Duration::from_millis(self.budget_ms),
            // Another process's view: the engine is asked.
            pid: None,
        }
    }
}

impl StepRecord {
    pub(crate) fn of(step: &StepReport) -> Self {
        StepRecord {
            name: step.name.clone(),
            type_name: step.type_name.to_string(),
            service: step.kind == StepKind::Service,
            image: step.image.clone(),
            status: step.status.clone(),
            exit_code: step.exit_code,
            duration_ms: millis(step.duration),
            output_tail: step.output_tail.clone(),
        }
    }

    pub(crate) fn report(&self) -> StepReport {
        StepReport {
            name: self.name.clone(),
            type_name: TYPE_NAMES
                .iter()
                .find(|t| **t == self.type_name)
                .copied()
                .unwrap_or("run"),
            kind: if self.service {
                StepKind::Service
            } else {
                StepKind::Run
            },
            image: self.image.clone(),
            status: self.status.clone(),
            exit_code: self.exit_code,
            duration: Duration::from_millis(self.duration_ms),
            output_tail: self.output_tail.clone(),
        }
    }
}

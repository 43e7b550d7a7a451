//! A stage whose steps have run, with its services still up, until [`RunningStage::finish`]
//! (or its drop) tears it down.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::join_all;

use crate::Error;
use crate::engine::{Engine, last_lines};
use crate::exit::{SERVICE_LOG_LINES, ServiceExit};
use crate::report::{Event, Observer, Outcome, StageReport, StepReport, StepStatus, Timings};
use crate::service::Service;
use crate::teardown::Guard;

/// A limit far enough away that only the services' readiness budgets count.
const UNTIL_READY: Duration = Duration::from_secs(365 * 24 * 3600);

/// A stage whose steps have run, with its services still up.
///
/// [`RunningStage::finish`] tears it down and returns the report; dropping it tears it down
/// too (from a thread of its own).
pub struct RunningStage {
    pub(super) network: String,
    pub(super) reuse_networks: bool,
    /// The engine; it keeps what it pools (networks) until this stage is torn down.
    pub(super) engine: Engine,
    /// Every service container that was created, healthy or not: (step, id).
    pub(super) service_containers: Vec<(String, String)>,
    pub(super) run_id: String,
    pub(super) name: String,
    pub(super) guard: Option<Guard>,
    pub(super) observer: Arc<dyn Observer>,
    pub(super) services: Vec<Service>,
    pub(super) steps: Vec<StepReport>,
    pub(super) outcome: Outcome,
    pub(super) started: Instant,
    pub(super) timings: Timings,
    pub(super) removals: Vec<tokio::task::JoinHandle<()>>,
    /// Set by [`RunningStage::mark_failed`].
    pub(super) body_failed: bool,
    /// Secrets to mask in what is printed.
    pub(super) masks: Vec<String>,
    /// A GitHub Actions job's `outputs:`, evaluated.
    pub(super) outputs: Vec<(String, String)>,
}

impl std::fmt::Debug for RunningStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningStage")
            .field("name", &self.name)
            .field("outcome", &self.outcome)
            .finish_non_exhaustive()
    }
}

impl RunningStage {
    /// For a kept run: each service's container and ports, to look at it.
    fn how_to_reach(&self) -> String {
        let mut out = String::new();
        for s in &self.services {
            let id = &s.container_id[..s.container_id.len().min(12)];
            out.push_str(&format!(
                "\n  service `{}`: docker exec -it {id} sh; docker logs {id}",
                s.name
            ));
            for (port, host) in &s.ports {
                out.push_str(&format!("; {port} at {}:{host}", s.host));
            }
        }
        out
    }

    /// The stage's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// True when every step passed.
    pub fn passed(&self) -> bool {
        self.outcome == Outcome::Passed
    }

    /// The run's id: its resources carry the label `pipeline-test.run=<id>`.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// How the steps ended.
    pub fn outcome(&self) -> &Outcome {
        &self.outcome
    }

    /// The steps' reports so far.
    pub fn steps(&self) -> &[StepReport] {
        &self.steps
    }

    /// The background services, in YAML order.
    pub fn services(&self) -> &[Service] {
        &self.services
    }

    /// The service of step `name`.
    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services
            .iter()
            .find(|s| s.name == name || s.hostnames.iter().any(|h| h == name))
    }

    /// Waits until every published port of every service accepts connections, within each
    /// service's readiness budget and at most `limit`; ends at once when a service has
    /// stopped.
    ///
    /// # Errors
    ///
    /// [`Error::ServiceExited`] with the service's exit code and last log lines;
    /// [`Error::PortNotReady`] naming the service and port that did not open in time.
    pub async fn wait_for_ports(&self, limit: Duration) -> Result<(), Error> {
        let deadline = Instant::now()
            .checked_add(limit)
            .unwrap_or_else(|| Instant::now() + UNTIL_READY);
        for r in join_all(self.services.iter().map(|s| s.wait_for_ports(deadline))).await {
            r?;
        }
        Ok(())
    }

    /// [`RunningStage::wait_for_ports`] bounded by the services' readiness budgets alone.
    ///
    /// # Errors
    ///
    /// As [`RunningStage::wait_for_ports`].
    pub async fn wait_until_ready(&self) -> Result<(), Error> {
        self.wait_for_ports(UNTIL_READY).await
    }

    /// Says that what used this stage failed (a test body), so that
    /// `PIPELINE_TEST_KEEP=on-failure` keeps it.
    pub fn mark_failed(&mut self) {
        self.body_failed = true;
    }

    /// For a stage that passed and is not kept: returns the report at once and removes the
    /// stage on a thread of its own, off the caller's path. Anything that thread has not
    /// removed when the process exits is removed by the process's watcher (see
    /// [`crate::reaper`]). A failed stage, or one `PIPELINE_TEST_KEEP` keeps, is finished as
    /// [`RunningStage::finish`] does, before this returns.
    pub async fn finish_detached(mut self) -> StageReport {
        let failed = self.outcome != Outcome::Passed || self.body_failed;
        let Some(guard) = self.guard.take() else {
            return self.finish().await;
        };
        if failed || guard.keeps(false) {
            self.guard = Some(guard);
            return self.finish().await;
        }
        // Not kept after all (`on-failure`, and it passed): what the process's end finds of it
        // goes.
        crate::reaper::unkeep(&self.run_id);
        let recycle = self.reuse_networks;
        let spawned = crate::async_drop::spawn_on(
            "pipeline-test-teardown",
            &self.engine,
            move |engine: Engine| async move {
                // The guard removes every container it recorded, the services among them.
                let report = guard.teardown_with(&engine, recycle, false).await;
                for e in &report.errors {
                    eprintln!("pipeline-test: teardown: {e}");
                }
                // The engine (and its network pool) goes last: an emptied network went back
                // first.
                drop(engine);
            },
        );
        if let Err(why) = spawned {
            eprintln!(
                "pipeline-test: teardown could not start ({why}); the watcher removes the stage when the process exits"
            );
        }
        self.report(Vec::new(), Vec::new())
    }

    /// Every service container that was created.
    fn service_ids(&self) -> Vec<String> {
        self.service_containers
            .iter()
            .map(|(_, id)| id.clone())
            .collect()
    }

    /// The stage's report, told to the observer.
    fn report(
        &mut self,
        service_logs: Vec<(String, Vec<String>)>,
        teardown_errors: Vec<String>,
    ) -> StageReport {
        let report = StageReport {
            stage: self.name.clone(),
            run_id: self.run_id.clone(),
            network: self.network.clone(),
            steps: std::mem::take(&mut self.steps),
            outcome: self.outcome.clone(),
            service_logs,
            teardown_errors,
            duration: self.started.elapsed(),
            timings: self.timings,
            outputs: self.outputs.clone(),
        };
        self.observer
            .on_event(&Event::StageFinished { report: &report });
        report
    }

    /// Leaves the stage running for the rest of the process: it is removed when the process
    /// ends, by its watcher (or by the signal handler on SIGINT/SIGTERM); with
    /// `PIPELINE_TEST_KEEP=1` it is kept. For stages that many users share.
    pub fn detach(mut self) {
        if let Some(guard) = self.guard.take() {
            if guard.keeps(false) {
                crate::reaper::keep(&self.run_id);
            } else {
                crate::reaper::unkeep(&self.run_id);
            }
            guard.detach();
        }
        // The services' containers, the network and the engine's pool live on with the process.
        std::mem::forget(self.engine.clone());
    }

    /// Notes how services ended, collects their logs if the stage failed, tears everything
    /// down and returns the report.
    pub async fn finish(mut self) -> StageReport {
        let failed = self.outcome != Outcome::Passed;
        let exits = join_all(self.services.iter().map(|s| {
            ServiceExit::inspect(
                self.engine.as_ref(),
                &s.name,
                &s.container_id,
                "the stage ran",
            )
        }))
        .await;
        let exits: Vec<ServiceExit> = exits
            .into_iter()
            .flatten()
            .map(|e| e.masked(&self.masks))
            .collect();
        for exit in &exits {
            if let Some(r) = self.steps.iter_mut().find(|r| r.name == exit.service) {
                if r.status == StepStatus::Running {
                    r.status = StepStatus::Exited {
                        exit_code: exit.exit_code,
                        after: exit.after,
                    };
                    r.exit_code = Some(exit.exit_code);
                }
            }
        }
        let mut service_logs = Vec::new();
        if failed {
            // A stopped service's last lines were read just now; the others' are read here.
            let logs = join_all(self.service_containers.iter().map(|(name, id)| async {
                match exits.iter().find(|e| e.service == *name) {
                    Some(exit) => exit.log.clone(),
                    None => last_lines(self.engine.as_ref(), id, SERVICE_LOG_LINES)
                        .await
                        .into_iter()
                        .map(|l| crate::mask::apply(&l, &self.masks).into_owned())
                        .collect(),
                }
            }))
            .await;
            for ((name, _), lines) in self.service_containers.iter().zip(logs) {
                service_logs.push((name.clone(), lines));
            }
        }
        let teardown_started = Instant::now();
        let keep = self
            .guard
            .as_ref()
            .is_some_and(|g| g.keeps(failed || self.body_failed));
        if !keep {
            // Finished steps' containers are already going; remove the services beside them.
            let ids = self.service_ids();
            let services = self.engine.remove(&ids);
            let (_, failed) = tokio::join!(join_all(std::mem::take(&mut self.removals)), services);
            // What went need not go again: the guard removes what is left.
            if let Some(guard) = &self.guard {
                guard.track(|r| {
                    r.containers
                        .retain(|c| !ids.contains(c) || failed.iter().any(|(f, _)| f == c));
                });
            }
        }
        let teardown = match self.guard.take() {
            Some(g) => {
                g.teardown(self.reuse_networks, failed || self.body_failed)
                    .await
            }
            None => Default::default(),
        };
        self.timings.teardown = teardown_started.elapsed();
        for e in &teardown.errors {
            self.observer.on_event(&Event::Notice {
                message: &format!("teardown: {e}"),
            });
        }
        if let Some(kept) = &teardown.kept {
            let message = format!("{kept}{}", self.how_to_reach());
            self.observer.on_event(&Event::Notice { message: &message });
        }
        self.report(service_logs, teardown.errors)
    }
}

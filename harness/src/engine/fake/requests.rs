//! How the fake engine answers each request of the seam: from the step's [`Script`], the
//! world's containers and the failures a test asked for, recording every request as a
//! [`Call`].

use std::collections::HashMap;
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};

use super::container::Container;
use super::{Call, FakeEngine};
use crate::Error;
use crate::engine::{
    Attached, ContainerEngine, ContainerState, CreateRequest, Engine, EngineError, HealthCheck,
    Output, PrepareRequest, Reach, Teardown,
};
use crate::report::Timings;
use crate::run::{Prepared, Workspace, WorkspaceSource};
use crate::service::ExecOutput;
use crate::share::{SharedKey, SharedState};
use crate::teardown::TeardownReport;

impl ContainerEngine for FakeEngine {
    fn reach(&self) -> Reach {
        Reach {
            local: false,
            ..Reach::local()
        }
    }

    fn prepare<'a>(
        &'a self,
        request: PrepareRequest<'a>,
        _timings: &'a mut Timings,
    ) -> BoxFuture<'a, Result<Prepared, Error>> {
        async move {
            self.record(Call::Prepare);
            self.failing("prepare", None)
                .map_err(|e| e.doing("prepare the stage"))?;
            let run_id = request.guard.run_id().to_string();
            let network = format!("fake-net-{run_id}");
            let volumes: HashMap<String, String> = request
                .plan
                .temp_volumes
                .iter()
                .map(|v| (v.clone(), format!("fake-{run_id}-{v}")))
                .collect();
            request.guard.track(|t| {
                t.network = Some(network.clone());
                t.volumes.extend(volumes.values().cloned());
            });
            let images = self.images.lock().unwrap().clone();
            let images = request
                .plan
                .steps
                .iter()
                .map(|s| {
                    let facts = images.get(&s.resolved_image).cloned().unwrap_or_default();
                    (s.resolved_image.clone(), facts)
                })
                .collect();
            let workspace = match request.workspace {
                Workspace::Directory(dir) => WorkspaceSource::Directory(dir.clone()),
                Workspace::Volume => WorkspaceSource::Volume(format!("fake-{run_id}-workspace")),
            };
            Ok(Prepared {
                network,
                images,
                volumes,
                workspace,
            })
        }
        .boxed()
    }

    fn create<'a>(
        &'a self,
        request: CreateRequest<'a>,
    ) -> BoxFuture<'a, Result<String, EngineError>> {
        async move {
            let step = request.step;
            self.record(Call::Create(step.name.clone(), request.gate.is_some()));
            self.failing("create", Some(&step.name))?;
            let script = self
                .scripts
                .lock()
                .unwrap()
                .get(&step.name)
                .cloned()
                .unwrap_or_default();
            if let Some(words) = &script.refuse_create {
                return Err(EngineError::new(words.clone()));
            }
            let check = step.healthcheck.as_ref().map(|h| HealthCheck {
                test: h.test.clone(),
                interval: Some(h.interval),
                timeout: Some(h.timeout),
            });
            let mut world = self.world();
            world.next_id += 1;
            let id = format!("fake{:08}", world.next_id);
            let mut container = Container::new(step, script, request.gate.is_some(), check);
            if request.publish.is_some() {
                // Published as the engine would: the step's ports and its image's, each on a
                // host port of its own.
                let image = request.prepared.facts(&step.resolved_image).exposed_ports;
                let ports = step.ports.iter().map(|m| m.container).chain(image);
                for port in ports {
                    let host = 40000 + u16::try_from(container.published.len()).unwrap_or(0);
                    container.published.entry(port).or_insert(host);
                }
            }
            world.containers.insert(id.clone(), Arc::new(container));
            let alive = world.containers.values().filter(|c| !c.removed()).count();
            world.max_alive = world.max_alive.max(alive);
            Ok(id)
        }
        .boxed()
    }

    fn upload<'a>(
        &'a self,
        id: &'a str,
        archive: Vec<u8>,
    ) -> BoxFuture<'a, Result<(), EngineError>> {
        async move {
            let c = self.container(id)?;
            self.record(Call::Upload(c.step.clone(), unpack(&archive)));
            self.failing("upload", Some(&c.step))
        }
        .boxed()
    }

    fn download<'a>(
        &'a self,
        id: &'a str,
        _path: &'a str,
    ) -> BoxFuture<'a, Result<Vec<u8>, EngineError>> {
        async move {
            let c = self.container(id)?;
            self.failing("download", Some(&c.step))?;
            // An empty tar archive: no file command wrote anything.
            Ok(vec![0; 1024])
        }
        .boxed()
    }

    fn attach<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Attached, EngineError>> {
        async move {
            let c = self.container(id)?;
            self.failing("attach", Some(&c.step))?;
            Ok(c.attach())
        }
        .boxed()
    }

    fn start<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), EngineError>> {
        async move {
            let c = self.container(id)?;
            self.record(Call::Start(c.step.clone()));
            self.failing("start", Some(&c.step))?;
            if let Some(words) = &c.script.refuse_start {
                return Err(EngineError::new(words.clone()));
            }
            c.clone().start();
            Ok(())
        }
        .boxed()
    }

    fn logs(&self, id: &str, follow: bool, tail: Option<usize>) -> Output {
        match self.container(id) {
            Ok(c) => c.logs(follow, tail),
            Err(e) => futures::stream::once(async move { Err(e) }).boxed(),
        }
    }

    fn wait<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<i64, EngineError>> {
        async move {
            let c = self.container(id)?;
            self.failing("wait", Some(&c.step))?;
            Ok(c.wait().await)
        }
        .boxed()
    }

    fn inspect<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<ContainerState, EngineError>> {
        async move {
            let c = self.container(id)?;
            self.failing("inspect", Some(&c.step))?;
            Ok(c.state())
        }
        .boxed()
    }

    fn listening(&self, id: &str, _pid: u32, _enough: &dyn Fn(&[u16]) -> bool) -> Option<Vec<u16>> {
        self.container(id).ok()?.listening()
    }

    fn exec<'a>(
        &'a self,
        id: &'a str,
        cmd: Vec<String>,
    ) -> BoxFuture<'a, Result<ExecOutput, EngineError>> {
        async move {
            let c = self.container(id)?;
            self.record(Call::Exec(c.step.clone()));
            self.failing("exec", Some(&c.step))?;
            c.exec(&cmd)
        }
        .boxed()
    }

    fn remove<'a>(&'a self, ids: &'a [String]) -> BoxFuture<'a, Vec<(String, EngineError)>> {
        async move {
            let found: Vec<Arc<Container>> = ids
                .iter()
                .filter_map(|id| self.container(id).ok())
                .collect();
            futures::future::join_all(found.iter().map(|c| async {
                if !c.removed() {
                    self.record(Call::Remove(c.step.clone()));
                }
                c.remove().await
            }))
            .await;
            Vec::new()
        }
        .boxed()
    }

    fn teardown<'a>(&'a self, run: Teardown) -> BoxFuture<'a, TeardownReport> {
        async move {
            let mut ids = run.resources.containers.clone();
            ids.extend(run.resources.removing.iter().cloned());
            let containers: Vec<Arc<Container>> = ids
                .iter()
                .filter_map(|id| self.container(id).ok())
                .collect();
            self.record(Call::Teardown {
                containers: containers.iter().map(|c| c.step.clone()).collect(),
                keep: run.keep,
            });
            let mut report = TeardownReport::default();
            if run.keep {
                report.kept = Some(format!("kept run {}", run.run_id));
                return report;
            }
            futures::future::join_all(containers.iter().map(|c| c.remove())).await;
            report
        }
        .boxed()
    }

    fn mark_kept<'a>(&'a self, run_id: &'a str) -> BoxFuture<'a, Option<String>> {
        self.record(Call::MarkKept);
        let marker = format!("fake-kept-{run_id}");
        async move { Some(marker) }.boxed()
    }

    fn leftovers(&self) -> BoxFuture<'_, Result<Vec<String>, Error>> {
        let alive = self.alive();
        async move {
            Ok(alive
                .into_iter()
                .map(|s| format!("container {s}"))
                .collect())
        }
        .boxed()
    }

    fn sweep_in_background(&self) {}

    fn release(&self) -> BoxFuture<'_, ()> {
        async {}.boxed()
    }

    fn detached(&self) -> Result<Engine, String> {
        Ok(self.engine())
    }

    fn join_shared<'a>(&'a self, key: &'a SharedKey) -> BoxFuture<'a, Result<(), EngineError>> {
        self.world().shared_users.push(key.run_id().to_string());
        async { Ok(()) }.boxed()
    }

    fn shared_state<'a>(
        &'a self,
        key: &'a SharedKey,
    ) -> BoxFuture<'a, Result<SharedState, EngineError>> {
        let state = self
            .world()
            .shared
            .get(key.run_id())
            .cloned()
            .unwrap_or(SharedState::Unclaimed);
        async { Ok(state) }.boxed()
    }

    fn shared_changes<'a>(&'a self, _key: &'a SharedKey) -> futures::stream::BoxStream<'a, ()> {
        // A record made after this call is seen, even before the stream is first polled.
        let published = self.published.subscribe();
        futures::stream::unfold(published, |mut published| async move {
            published.changed().await.ok()?;
            Some(((), published))
        })
        .boxed()
    }

    fn claim_shared<'a>(
        &'a self,
        key: &'a SharedKey,
        _plan: &'a crate::plan::StagePlan,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        let mut world = self.world();
        let won = !world.shared.contains_key(key.run_id());
        if won {
            world
                .shared
                .insert(key.run_id().to_string(), SharedState::Starting);
        }
        async move { Ok(won) }.boxed()
    }

    fn publish_shared<'a>(
        &'a self,
        key: &'a SharedKey,
        state: &'a SharedState,
    ) -> BoxFuture<'a, Result<(), EngineError>> {
        self.world()
            .shared
            .insert(key.run_id().to_string(), state.clone());
        self.published.send_modify(|n| *n += 1);
        async { Ok(()) }.boxed()
    }

    fn abandon_shared(&self, key: &SharedKey) {
        self.world().shared.remove(key.run_id());
    }
}

/// The files of a tar archive: paths and texts.
fn unpack(archive: &[u8]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut a = tar::Archive::new(archive);
    let Ok(entries) = a.entries() else {
        return out;
    };
    for mut entry in entries.flatten() {
        let path = entry
            .path()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut entry, &mut text);
        out.push((path, text));
    }
    out
}

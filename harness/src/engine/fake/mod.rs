//! An in-memory engine for the run-logic tests: no daemon, milliseconds per stage.
//!
//! Each step's container behaves as its [`Script`] says (found by the step's name; a step
//! without one prints nothing and exits 0, a service runs until removed): output lines (which
//! may be split across reads), delays, an exit code, a health sequence, a service that crashes
//! after a while, ports it listens on after a while, refused creates or starts, slow removals,
//! and an engine error at a chosen request. Every request is recorded ([`Call`]) for the tests
//! to assert the order of what the runner asked.

mod container;
mod requests;
mod script;

pub(crate) use script::Script;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use self::container::Container;
use super::{Engine, EngineError};
use crate::run::ImageFacts;

/// One request the runner made, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Call {
    Prepare,
    /// A step's container created (by step name), gated or not.
    Create(String, bool),
    /// Files put into a step's container: their paths and texts.
    Upload(String, Vec<(String, String)>),
    Start(String),
    Exec(String),
    /// Containers removed by a step's or stage's end (by step name).
    Remove(String),
    /// A run torn down: the step names of its containers still recorded, kept or not.
    Teardown {
        containers: Vec<String>,
        keep: bool,
    },
    MarkKept,
}

/// An engine error to give at a chosen request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    /// `prepare`, `create`, `upload`, `attach`, `start`, `wait`, `inspect`, `exec`, `download`.
    pub request: &'static str,
    /// Only for this step's container (`None`: any).
    pub step: Option<String>,
}

#[derive(Debug, Default)]
struct World {
    containers: HashMap<String, Arc<Container>>,
    calls: Vec<Call>,
    next_id: u64,
    /// The most containers that existed at once.
    max_alive: usize,
    /// Shared stages by id: what is recorded.
    shared: HashMap<String, crate::share::SharedState>,
    /// The users registered, by stage id.
    shared_users: Vec<String>,
}

/// The fake engine: clone it to keep a handle for assertions after giving it to a runner.
#[derive(Debug, Clone)]
pub(crate) struct FakeEngine {
    scripts: Arc<Mutex<HashMap<String, Script>>>,
    images: Arc<Mutex<HashMap<String, ImageFacts>>>,
    failures: Arc<Mutex<Vec<Failure>>>,
    world: Arc<Mutex<World>>,
    /// How many shared stages have been recorded: what `shared_changes` watches.
    published: Arc<tokio::sync::watch::Sender<u64>>,
}

impl Default for FakeEngine {
    fn default() -> FakeEngine {
        FakeEngine {
            scripts: Arc::default(),
            images: Arc::default(),
            failures: Arc::default(),
            world: Arc::default(),
            published: Arc::new(tokio::sync::watch::channel(0).0),
        }
    }
}

impl FakeEngine {
    pub fn new() -> FakeEngine {
        FakeEngine::default()
    }

    /// Step `step`'s container behaves as `script` says.
    pub fn script(self, step: &str, script: Script) -> FakeEngine {
        self.scripts.lock().unwrap().insert(step.into(), script);
        self
    }

    /// Image `image` (as resolved) exposes `ports` and declares a health check or not.
    pub fn image(self, image: &str, ports: &[u16], healthcheck: bool) -> FakeEngine {
        let facts = ImageFacts {
            exposed_ports: ports
                .iter()
                .map(|p| crate::ports::ContainerPort::tcp(*p))
                .collect(),
            healthcheck,
        };
        self.images.lock().unwrap().insert(image.into(), facts);
        self
    }

    /// The engine fails `request` (for `step`'s container, or any).
    pub fn fail(self, request: &'static str, step: Option<&str>) -> FakeEngine {
        self.failures.lock().unwrap().push(Failure {
            request,
            step: step.map(str::to_string),
        });
        self
    }

    /// The handle a runner takes.
    pub fn engine(&self) -> Engine {
        Arc::new(self.clone())
    }

    /// Every request so far.
    pub fn calls(&self) -> Vec<Call> {
        self.world().calls.clone()
    }

    /// How many times shared stage `id` was joined.
    pub fn shared_users(&self, id: &str) -> usize {
        self.world()
            .shared_users
            .iter()
            .filter(|u| *u == id)
            .count()
    }

    /// The step names of the containers that exist now (not removed).
    pub fn alive(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .world()
            .containers
            .values()
            .filter(|c| !c.removed())
            .map(|c| c.step.clone())
            .collect();
        v.sort();
        v
    }

    /// The files put into step `step`'s containers so far: paths and texts.
    pub fn uploads_of(&self, step: &str) -> Vec<(String, String)> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Upload(s, files) if s == step => Some(files),
                _ => None,
            })
            .flatten()
            .collect()
    }

    /// The most containers that existed at once.
    pub fn max_alive(&self) -> usize {
        self.world().max_alive
    }

    /// The environment step `step`'s (last) container was created with.
    pub fn env_of(&self, step: &str) -> Option<Vec<(String, String)>> {
        let world = self.world();
        let mut found: Vec<&Arc<Container>> = world
            .containers
            .values()
            .filter(|c| c.step == step)
            .collect();
        found.sort_by_key(|c| c.created);
        found.last().map(|c| c.env.clone())
    }

    fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn record(&self, call: Call) {
        self.world().calls.push(call);
    }

    fn container(&self, id: &str) -> Result<Arc<Container>, EngineError> {
        self.world()
            .containers
            .get(id)
            .cloned()
            .ok_or_else(|| EngineError::new(format!("No such container: {id}")))
    }

    /// The error for `request` on `step`'s container, when the test asked for one.
    fn failing(&self, request: &str, step: Option<&str>) -> Result<(), EngineError> {
        let failures = self.failures.lock().unwrap();
        let hit = failures
            .iter()
            .any(|f| f.request == request && (f.step.is_none() || f.step.as_deref() == step));
        match hit {
            true => Err(EngineError::new(format!("fake engine: {request} failed"))),
            false => Ok(()),
        }
    }
}

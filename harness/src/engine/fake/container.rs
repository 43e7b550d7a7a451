//! One container of the fake engine: its process as its [`Script`] says, its output as the
//! engine would stream it, its health, its removal.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use futures::StreamExt;
use tokio::io::AsyncBufReadExt;

use super::Script;
use crate::engine::{
    Attached, Chunk, ContainerState, EngineError, HealthCheck, HealthStatus, Output,
};
use crate::plan::{PlannedStep, StepKind};
use crate::service::ExecOutput;

/// The exit code of a container killed by its removal.
const KILLED: i64 = 137;

#[derive(Debug, Default)]
struct Inner {
    started: Option<Instant>,
    exit: Option<i64>,
    removed: bool,
    output: Vec<Chunk>,
    /// The container's side of its standard input, once attached.
    stdin: Option<tokio::io::DuplexStream>,
    looks: usize,
    probes: usize,
    process: Option<tokio::task::JoinHandle<()>>,
}

#[derive(Debug)]
pub(super) struct Container {
    pub step: String,
    pub kind: StepKind,
    pub env: Vec<(String, String)>,
    pub script: Script,
    pub created: Instant,
    gated: bool,
    check: Option<HealthCheck>,
    /// Container port -> host port, when the request published its ports.
    pub published: std::collections::BTreeMap<crate::ports::ContainerPort, u16>,
    inner: Arc<Mutex<Inner>>,
    /// Bumped at every change of its output or state.
    changed: tokio::sync::watch::Sender<u64>,
}

impl Container {
    pub fn new(
        step: &PlannedStep,
        script: Script,
        gated: bool,
        check: Option<HealthCheck>,
    ) -> Container {
        Container {
            step: step.name.clone(),
            kind: step.kind,
            env: step.env.clone(),
            script,
            created: Instant::now(),
            gated,
            check,
            published: Default::default(),
            inner: Arc::default(),
            changed: tokio::sync::watch::channel(0).0,
        }
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn bump(&self) {
        self.changed.send_modify(|n| *n += 1);
    }

    pub fn removed(&self) -> bool {
        self.inner().removed
    }

    fn push(&self, chunk: Chunk) {
        self.inner().output.push(chunk);
        self.bump();
    }

    fn exit(&self, code: i64) {
        let mut inner = self.inner();
        if inner.exit.is_none() {
            inner.exit = Some(code);
        }
        drop(inner);
        self.bump();
    }

    pub fn attach(&self) -> Attached {
        let (ours, theirs) = tokio::io::duplex(4096);
        self.inner().stdin = Some(theirs);
        Attached {
            input: Box::pin(ours),
            output: self.logs_from(0, true),
        }
    }

    /// Starts its process.
    pub fn start(self: Arc<Self>) {
        let started = Instant::now();
        self.inner().started = Some(started);
        self.bump();
        let me = self.clone();
        let process = tokio::spawn(async move {
            if me.gated {
                let stdin = me.inner().stdin.take();
                let mut line = String::new();
                if let Some(stdin) = stdin {
                    let _ = tokio::io::BufReader::new(stdin).read_line(&mut line).await;
                }
                if line.trim_end() != "run" {
                    return me.exit(1);
                }
            }
            let crash = me.script.crashes;
            let life = async {
                for (pause, err, bytes) in &me.script.output {
                    tokio::time::sleep(*pause).await;
                    let bytes = bytes::Bytes::from(bytes.clone());
                    me.push(if *err {
                        Chunk::Err(bytes)
                    } else {
                        Chunk::Out(bytes)
                    });
                }
                tokio::time::sleep(me.script.runs_for).await;
                if me.kind == StepKind::Run {
                    me.script.exit_code
                } else {
                    std::future::pending().await
                }
            };
            let code = match crash {
                Some((after, code)) => tokio::select! {
                    c = life => c,
                    () = tokio::time::sleep_until((started + after).into()) => code,
                },
                None => life.await,
            };
            me.exit(code);
        });
        self.inner().process = Some(process);
    }

    /// Its output from chunk `from`: to its exit with `follow`, else what there is.
    fn logs_from(&self, from: usize, follow: bool) -> Output {
        if !follow {
            let chunks: Vec<Result<Chunk, EngineError>> = self
                .inner()
                .output
                .iter()
                .skip(from)
                .cloned()
                .map(Ok)
                .collect();
            return futures::stream::iter(chunks).boxed();
        }
        let state = (from, self.changed.subscribe(), self.inner.clone());
        futures::stream::unfold(state, |(mut at, mut rx, inner)| async move {
            loop {
                let (next, ended) = {
                    let inner = inner.lock().unwrap_or_else(|e| e.into_inner());
                    let ended = inner.exit.is_some() || inner.removed;
                    (inner.output.get(at).cloned(), ended)
                };
                if let Some(chunk) = next {
                    at += 1;
                    return Some((Ok(chunk), (at, rx, inner)));
                }
                if ended || rx.changed().await.is_err() {
                    return None;
                }
            }
        })
        .boxed()
    }

    /// Its output: followed to its exit, or what there is (the last `tail` lines).
    pub fn logs(&self, follow: bool, tail: Option<usize>) -> Output {
        let Some(n) = tail else {
            return self.logs_from(0, follow);
        };
        let text: Vec<u8> = self
            .inner()
            .output
            .iter()
            .flat_map(|c| c.clone().into_bytes().to_vec())
            .collect();
        let text = String::from_utf8_lossy(&text).into_owned();
        let lines: Vec<&str> = text.lines().collect();
        let kept = lines[lines.len().saturating_sub(n)..].join("\n");
        let chunk = Chunk::Out(bytes::Bytes::from(kept));
        futures::stream::once(async move { Ok(chunk) }).boxed()
    }

    /// Waits for its exit; its exit code.
    pub async fn wait(&self) -> i64 {
        let mut rx = self.changed.subscribe();
        loop {
            if let Some(code) = self.inner().exit {
                return code;
            }
            if rx.changed().await.is_err() {
                return -1;
            }
        }
    }

    fn running(inner: &Inner) -> bool {
        inner.started.is_some() && inner.exit.is_none() && !inner.removed
    }

    /// What the engine says of it now; each look takes the next of its health statuses.
    pub fn state(&self) -> ContainerState {
        let mut inner = self.inner();
        let health = match self.script.health.as_slice() {
            [] if self.check.is_some() => HealthStatus::Starting,
            [] => HealthStatus::None,
            seq => seq[inner.looks.min(seq.len() - 1)],
        };
        inner.looks += 1;
        let running = Container::running(&inner);
        ContainerState {
            running: running || inner.started.is_none() && !inner.removed,
            exit_code: inner.exit,
            pid: (running && self.script.listens.is_some()).then_some(1),
            check: self.check.clone(),
            health,
            ports: self.published.clone(),
            ..ContainerState::default()
        }
    }

    /// The ports it listens on now; `None` once its process is gone.
    pub fn listening(&self) -> Option<Vec<u16>> {
        let inner = self.inner();
        if !Container::running(&inner) {
            return None;
        }
        let (ports, after) = self.script.listens.clone()?;
        let up = inner.started.is_some_and(|s| s.elapsed() >= after);
        Some(if up { ports } else { Vec::new() })
    }

    /// A command run in it: the health check's next try.
    pub fn exec(&self, _cmd: &[String]) -> Result<ExecOutput, EngineError> {
        let mut inner = self.inner();
        if !Container::running(&inner) {
            return Err(EngineError::new(format!(
                "container of `{}` is not running",
                self.step
            )));
        }
        let exit_code = match self.script.probes.as_slice() {
            [] => 0,
            seq => seq[inner.probes.min(seq.len() - 1)],
        };
        inner.probes += 1;
        Ok(ExecOutput {
            exit_code,
            stdout: String::new(),
            stderr: if exit_code == 0 {
                String::new()
            } else {
                "not ready".into()
            },
        })
    }

    /// Kills and removes it (after its slow removal, if scripted).
    pub async fn remove(&self) {
        tokio::time::sleep(self.script.slow_removal).await;
        let process = {
            let mut inner = self.inner();
            inner.removed = true;
            if inner.exit.is_none() {
                inner.exit = Some(KILLED);
            }
            inner.process.take()
        };
        if let Some(p) = process {
            p.abort();
        }
        self.bump();
    }
}

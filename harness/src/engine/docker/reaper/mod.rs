//! The Docker side of the watcher (see the crate's `reaper` module): the heartbeat volume
//! (`lease`), starting the watcher (`spawn`), and what it removes (`watch`); the run watcher
//! of a stage shared by the processes of a run (`run_watch`).

pub(crate) mod lease;
pub(crate) mod run_watch;
pub(crate) mod spawn;
pub(crate) mod watch;

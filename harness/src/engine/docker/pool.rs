//! The connections to a local engine (`unix://`), kept and shared by every client of the
//! process.
//!
//! bollard's own Unix transport keeps no connection: every request connects anew, and a stage
//! makes a dozen requests. Here one HTTP/1 client per socket keeps its connections open
//! between requests, and lends them to every client, every stage and every test of the
//! process. The connections live on the process's background runtime ([`crate::background`]),
//! so that they outlive the runtime of the test that opened them: a test's runtime ends with
//! the test.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, LazyLock, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bollard::{BollardRequest, ClientVersion, Docker};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioIo, TokioTimer};

/// How long a connection may sit unused before it is closed.
const IDLE: Duration = Duration::from_secs(30);

/// The body bollard sends (a type it does not name publicly).
type Body = <BollardRequest as HasBody>::Body;

trait HasBody {
    type Body;
}

impl<B> HasBody for http::Request<B> {
    type Body = B;
}

/// The shared client of each socket path.
type Pooled = Client<Connector, Body>;
static CLIENTS: LazyLock<Mutex<HashMap<String, Pooled>>> = LazyLock::new(Default::default);

/// A client for the engine at socket `path` speaking API `version`, over the process's kept
/// connections to it.
pub(crate) fn client(
    path: &str,
    timeout_secs: u64,
    version: &ClientVersion,
) -> Result<Docker, String> {
    if !std::path::Path::new(path).exists() {
        return Err(bollard::errors::Error::SocketNotFoundError(path.to_string()).to_string());
    }
    let io = crate::background::handle()?;
    let pooled = {
        let mut clients = CLIENTS.lock().unwrap_or_else(|e| e.into_inner());
        clients
            .entry(path.to_string())
            .or_insert_with(|| {
                Client::builder(Spawner(io.clone()))
                    .pool_idle_timeout(IDLE)
                    .pool_timer(TokioTimer::new())
                    .build(Connector {
                        path: Arc::from(path),
                        io: io.clone(),
                    })
            })
            .clone()
    };
    let transport = move |request: BollardRequest| {
        let pooled = pooled.clone();
        async move {
            pooled
                .request(request)
                .await
                .map_err(bollard::errors::Error::from)
        }
    };
    Docker::connect_with_custom_transport(transport, Some("http://docker"), timeout_secs, version)
        .map_err(|e| e.to_string())
}

/// Runs the connections' tasks on the connection thread.
#[derive(Clone)]
struct Spawner(tokio::runtime::Handle);

impl<F> hyper::rt::Executor<F> for Spawner
where
    F: Future<Output = ()> + Send + 'static,
{
    fn execute(&self, future: F) {
        self.0.spawn(future);
    }
}

/// Connects to the socket from the connection thread, so that the socket belongs to that
/// thread's runtime and not to the caller's, which may end first.
#[derive(Clone)]
struct Connector {
    path: Arc<str>,
    io: tokio::runtime::Handle,
}

impl tower_service::Service<http::Uri> for Connector {
    type Response = TokioIo<tokio::net::UnixStream>;
    type Error = std::io::Error;
    type Future =
        Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send + 'static>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: http::Uri) -> Self::Future {
        let path = self.path.clone();
        let connecting = self
            .io
            .spawn(async move { tokio::net::UnixStream::connect(&*path).await });
        Box::pin(async move {
            let stream = connecting.await.map_err(std::io::Error::other)??;
            Ok(TokioIo::new(stream))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_socket_is_named() {
        let e = client("/no/such/docker.sock", 5, bollard::API_DEFAULT_VERSION).unwrap_err();
        assert!(e.contains("/no/such/docker.sock"), "{e}");
    }
}

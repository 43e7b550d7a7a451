//! The entry points on [`Service`]: the kind from the image, the service's environment and
//! ports, and the commands run inside it for each kind.

use super::{Database, DatabaseKind, SUPPORTED, mysql, postgres, redis};
use crate::Error;
use crate::service::{ExecOutput, Service};

impl Service {
    /// A database of the test's own on this service, of the kind its image tells
    /// ([`DatabaseKind::from_image`], the image as the file names it). Credentials come from the
    /// service's environment, as its image reads them (`MYSQL_ROOT_PASSWORD`,
    /// `POSTGRES_USER`/`POSTGRES_PASSWORD`/`POSTGRES_DB`, `REDIS_PASSWORD`). With a shared
    /// stage, each test gets its own database on the one server.
    ///
    /// # Errors
    ///
    /// [`Error::Database`] when the image does not tell the kind (use
    /// [`Service::database_of`]), when credentials are missing, or with the server's words.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn f(service: &pipeline_test_harness::Service) -> Result<(), pipeline_test_harness::Error> {
    /// let db = service.database().await?;
    /// assert!(db.url().starts_with("mysql://"));
    /// # Ok(()) }
    /// ```
    pub async fn database(&self) -> Result<Database, Error> {
        let kind = DatabaseKind::from_image(&self.written_image)
            .or_else(|| DatabaseKind::from_image(&self.image))
            .ok_or_else(|| Error::Database {
                service: self.name.clone(),
                message: format!(
                    "its image `{}` does not tell what kind of server it runs; name the kind with `database_of(DatabaseKind::...)`: {SUPPORTED}",
                    self.written_image
                ),
            })?;
        self.database_of(kind).await
    }

    /// [`Service::database`] for a service whose image does not tell its kind.
    ///
    /// # Errors
    ///
    /// As [`Service::database`].
    pub async fn database_of(&self, kind: DatabaseKind) -> Result<Database, Error> {
        let port = kind.port();
        let host_port = self.try_host_port(port).ok_or_else(|| {
            self.error(format!(
                "it does not publish port {port}, where {kind} listens; list `{port}` under the service's ports"
            ))
        })?;
        let made = match kind {
            DatabaseKind::MySql | DatabaseKind::MariaDb => mysql::create(self).await?,
            DatabaseKind::Postgres => postgres::create(self).await?,
            DatabaseKind::Redis => redis::create(self).await?,
        };
        Ok(Database {
            kind,
            name: made.name,
            user: made.user,
            password: made.password,
            host: self.host,
            port: host_port,
            index: made.index,
            service: self.clone(),
            keep: self.keep,
            removed: false,
        })
    }

    /// [`Service::database`] from a test body that is not `async`.
    ///
    /// # Errors
    ///
    /// As [`Service::database`].
    ///
    /// # Panics
    ///
    /// When called from inside an async runtime.
    pub fn database_blocking(&self) -> Result<Database, Error> {
        self.handle.block_on(self.database())
    }

    /// The last value the service's environment gives `key` (the plan's order: later wins).
    pub(super) fn env(&self, key: &str) -> Option<&str> {
        self.env
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub(super) fn error(&self, message: String) -> Error {
        Error::Database {
            service: self.name.clone(),
            message,
        }
    }

    /// Runs `cmd` in the service; its standard output, or the server's words as an error
    /// about `doing`.
    pub(super) async fn run(&self, doing: &str, cmd: Vec<String>) -> Result<String, Error> {
        let out: ExecOutput =
            crate::service::exec_in(self.engine.as_ref(), &self.name, &self.container_id, cmd)
                .await?;
        if out.exit_code == 0 {
            return Ok(out.stdout);
        }
        let said = if out.stderr.trim().is_empty() {
            out.stdout.trim()
        } else {
            out.stderr.trim()
        };
        Err(self.error(format!(
            "{doing} failed (exit code {}): {}",
            out.exit_code,
            crate::mask::apply(said, &self.masks)
        )))
    }
}

//! A database of its own for each test, on a service the tests share: `CREATE DATABASE` and a
//! user on MySQL and MariaDB, a copy of a template on PostgreSQL (as `#[sqlx::test]` does), a
//! database index on Redis and Valkey. Every command runs inside the service's container
//! (`exec`), so the test needs no client crate for it.

mod mysql;
mod postgres;
mod redis;
mod service;

use crate::Error;
use crate::service::Service;
use crate::teardown::Keep;

/// What kind of server a service runs, for [`Service::database`].
///
/// # Examples
///
/// ```
/// use pipeline_test_harness::DatabaseKind;
///
/// assert_eq!(DatabaseKind::from_image("mysql:8.0"), Some(DatabaseKind::MySql));
/// assert_eq!(DatabaseKind::from_image("docker.io/library/postgres:16-alpine"), Some(DatabaseKind::Postgres));
/// assert_eq!(DatabaseKind::from_image("valkey/valkey:8"), Some(DatabaseKind::Redis));
/// assert_eq!(DatabaseKind::from_image("nginx"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DatabaseKind {
    /// MySQL (and Percona Server): a database and a user with every grant on it, nothing else.
    MySql,
    /// MariaDB: as MySQL.
    MariaDb,
    /// PostgreSQL: a database copied from a template taken once, after the stage's steps ran.
    Postgres,
    /// Redis or Valkey: one of the server's numbered databases (`SELECT n`), flushed after use.
    Redis,
}

/// The kinds [`DatabaseKind::from_image`] knows, as messages list them.
const SUPPORTED: &str = "MySQL, MariaDB, PostgreSQL, Redis (and Valkey)";

impl DatabaseKind {
    /// The kind an image name tells, from its last path component without tag or digest:
    /// `mysql`, `percona`, `percona-server`; `mariadb`; `postgres`, `postgresql`, `postgis`,
    /// `timescaledb`; `redis`, `redis-stack-server`, `valkey`.
    pub fn from_image(image: &str) -> Option<DatabaseKind> {
        let name = image.rsplit('/').next().unwrap_or(image);
        let name = name.split(['@', ':']).next().unwrap_or(name);
        match name.to_ascii_lowercase().as_str() {
            "mysql" | "mysql-server" | "percona" | "percona-server" => Some(DatabaseKind::MySql),
            "mariadb" => Some(DatabaseKind::MariaDb),
            "postgres" | "postgresql" | "postgis" | "timescaledb" | "timescaledb-ha" => {
                Some(DatabaseKind::Postgres)
            }
            "redis" | "redis-stack-server" | "valkey" => Some(DatabaseKind::Redis),
            _ => None,
        }
    }

    /// The server's port in its container.
    fn port(self) -> u16 {
        match self {
            DatabaseKind::MySql | DatabaseKind::MariaDb => 3306,
            DatabaseKind::Postgres => 5432,
            DatabaseKind::Redis => 6379,
        }
    }
}

impl std::fmt::Display for DatabaseKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DatabaseKind::MySql => "MySQL",
            DatabaseKind::MariaDb => "MariaDB",
            DatabaseKind::Postgres => "PostgreSQL",
            DatabaseKind::Redis => "Redis",
        })
    }
}

/// A database of one test's own on a shared service: its name, credentials and URL. Dropping
/// it drops the database (and its user), unless `PIPELINE_TEST_KEEP` keeps it: `always`, or
/// `on-failure` when it is dropped while the test panics.
///
/// # Examples
///
/// ```no_run
/// # async fn f(service: &pipeline_test_harness::Service) -> Result<(), pipeline_test_harness::Error> {
/// let db = service.database().await?;
/// println!("connect to {}", db.url()); // mysql://test_1a2b...:...@127.0.0.1:49153/test_1a2b...
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "the database is dropped as soon as this value is"]
pub struct Database {
    kind: DatabaseKind,
    name: String,
    user: String,
    password: String,
    host: std::net::IpAddr,
    port: u16,
    /// Redis's database index.
    index: Option<u32>,
    service: Service,
    keep: Keep,
    removed: bool,
}

impl Database {
    /// Its kind.
    pub fn kind(&self) -> DatabaseKind {
        self.kind
    }

    /// The database's name (Redis: its index, as text).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The user to connect as (Redis: empty, or `default` when the server has a password).
    pub fn user(&self) -> &str {
        &self.user
    }

    /// That user's password (may be empty).
    pub fn password(&self) -> &str {
        &self.password
    }

    /// Redis's database index (`SELECT n`); `None` for the other kinds.
    pub fn index(&self) -> Option<u32> {
        self.index
    }

    /// Where the server is reached from the test (its published port).
    pub fn addr(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::from((self.host, self.port))
    }

    /// A URL with everything a client needs: `mysql://user:password@host:port/name`,
    /// `postgres://...`, `redis://[:password@]host:port/index`; user and password
    /// percent-encoded.
    pub fn url(&self) -> String {
        let addr = self.addr();
        match self.kind {
            DatabaseKind::MySql | DatabaseKind::MariaDb | DatabaseKind::Postgres => {
                let scheme = if self.kind == DatabaseKind::Postgres {
                    "postgres"
                } else {
                    "mysql"
                };
                format!(
                    "{scheme}://{}:{}@{addr}/{}",
                    encode(&self.user),
                    encode(&self.password),
                    self.name
                )
            }
            DatabaseKind::Redis if self.password.is_empty() => {
                format!("redis://{addr}/{}", self.name)
            }
            DatabaseKind::Redis => {
                format!("redis://:{}@{addr}/{}", encode(&self.password), self.name)
            }
        }
    }

    /// Drops the database now, saying what went wrong if it could not (dropping the value does
    /// the same and prints such a problem instead). `PIPELINE_TEST_KEEP=always` keeps it.
    ///
    /// # Errors
    ///
    /// [`Error::Database`] with the server's words, [`Error::Engine`] when the command could not
    /// run.
    pub async fn remove(mut self) -> Result<(), Error> {
        self.removed = true;
        if self.keep.keeps(false) {
            self.say_kept();
            return Ok(());
        }
        remove(&self.service, self.kind, &self.name, &self.user).await
    }

    fn say_kept(&self) {
        eprintln!(
            "pipeline-test: kept {} database `{}` on service `{}` (PIPELINE_TEST_KEEP): {}",
            self.kind,
            self.name,
            self.service.name,
            self.url()
        );
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if self.removed {
            return;
        }
        if self.keep.keeps(std::thread::panicking()) {
            self.say_kept();
            return;
        }
        let (service, kind, name, user) = (
            self.service.clone(),
            self.kind,
            self.name.clone(),
            self.user.clone(),
        );
        let done = crate::async_drop::spawn_on("pipeline-test-database", &self.service.engine, {
            move |engine| async move {
                let service = Service { engine, ..service };
                remove(&service, kind, &name, &user).await
            }
        })
        .and_then(|handle| {
            handle
                .join()
                .map_err(|_| "the removal thread panicked".to_string())?
        });
        match done {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("pipeline-test: {e}"),
            Err(e) => eprintln!(
                "pipeline-test: cannot drop {kind} database `{}` on service `{}`: {e}",
                self.name, self.service.name
            ),
        }
    }
}

/// What a kind's `create` made.
struct Made {
    name: String,
    user: String,
    password: String,
    index: Option<u32>,
}

async fn remove(
    service: &Service,
    kind: DatabaseKind,
    name: &str,
    user: &str,
) -> Result<(), Error> {
    match kind {
        DatabaseKind::MySql | DatabaseKind::MariaDb => mysql::remove(service, name, user).await,
        DatabaseKind::Postgres => postgres::remove(service, name).await,
        DatabaseKind::Redis => redis::remove(service, name).await,
    }
}

/// A fresh name for a test's database: `test_` and 12 hex digits (a valid identifier
/// everywhere, unique across processes).
fn fresh_name() -> String {
    format!("test_{}", crate::labels::new_run_id())
}

/// `text` percent-encoded for a URL's user or password.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A shell script's arguments as the exec command wants them.
fn args<const N: usize>(fixed: [&str; N], rest: impl IntoIterator<Item = String>) -> Vec<String> {
    fixed.iter().map(|s| s.to_string()).chain(rest).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_from_image_names() {
        for (image, kind) in [
            ("mysql", Some(DatabaseKind::MySql)),
            ("mysql:8.0", Some(DatabaseKind::MySql)),
            ("percona/percona-server:8.0", Some(DatabaseKind::MySql)),
            ("mariadb:11", Some(DatabaseKind::MariaDb)),
            ("postgres:16-alpine", Some(DatabaseKind::Postgres)),
            ("postgis/postgis:16-3.4", Some(DatabaseKind::Postgres)),
            ("bitnami/postgresql", Some(DatabaseKind::Postgres)),
            ("ghcr.io/acme/redis@sha256:abc", Some(DatabaseKind::Redis)),
            ("valkey/valkey:8", Some(DatabaseKind::Redis)),
            ("localhost:5000/redis", Some(DatabaseKind::Redis)),
            ("mongo:7", None),
            ("my-mysql-fork", None),
        ] {
            assert_eq!(DatabaseKind::from_image(image), kind, "{image}");
        }
    }

    #[test]
    fn user_and_password_are_encoded() {
        assert_eq!(encode("a b@c:d/é"), "a%20b%40c%3Ad%2F%C3%A9");
        assert_eq!(encode("plain-1._~"), "plain-1._~");
    }

    #[test]
    fn fresh_names_are_identifiers_and_differ() {
        let (a, b) = (fresh_name(), fresh_name());
        assert_ne!(a, b);
        assert_eq!(a.len(), 17);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_'));
    }
}

//! PostgreSQL: a database per test, copied (`CREATE DATABASE ... TEMPLATE`) from a template
//! taken once from the service's database after the stage's steps ran (its migrations), as
//! `#[sqlx::test]` does. Commands run as the service's superuser over the local socket,
//! connected to `template1`, so that no connection of ours holds the database being copied.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

use super::{Made, args, fresh_name};
use crate::Error;
use crate::service::Service;

/// The template every test's database is copied from.
const TEMPLATE: &str = "pipeline_test_template";
/// How long a copy may wait for other sessions to leave the database it copies.
const BUSY_WAIT: Duration = Duration::from_secs(10);

const CLIENT: &str =
    r#"PGPASSWORD="$1"; export PGPASSWORD; shift; exec psql -X -q -v ON_ERROR_STOP=1 "$@""#;

/// The template of each service (by container), taken once per process.
static TEMPLATES: LazyLock<Mutex<HashMap<String, Arc<OnceCell<()>>>>> =
    LazyLock::new(Mutex::default);

/// The superuser, its password and the database the image made, as the official image reads
/// them.
fn credentials(service: &Service) -> (String, String, String) {
    let user = service
        .env("POSTGRES_USER")
        .unwrap_or("postgres")
        .to_string();
    let password = service.env("POSTGRES_PASSWORD").unwrap_or("").to_string();
    let db = service.env("POSTGRES_DB").unwrap_or(&user).to_string();
    (user, password, db)
}

async fn sql(service: &Service, doing: &str, statement: String) -> Result<String, Error> {
    let (user, password, _) = credentials(service);
    let cmd = args(
        ["sh", "-c", CLIENT, "sh"],
        [
            password,
            "-U".into(),
            user,
            "-d".into(),
            "template1".into(),
            "-c".into(),
            statement,
        ],
    );
    service.run(doing, cmd).await
}

/// `statement`, tried again while another session is still in the database it copies.
async fn copy(service: &Service, doing: &str, statement: String) -> Result<(), Error> {
    let until = Instant::now() + BUSY_WAIT;
    loop {
        match sql(service, doing, statement.clone()).await {
            Ok(_) => return Ok(()),
            Err(Error::Database { message, .. })
                if message.contains("being accessed by other users") && Instant::now() < until =>
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

async fn template(service: &Service) -> Result<(), Error> {
    let cell = TEMPLATES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(service.container_id.clone())
        .or_default()
        .clone();
    cell.get_or_try_init(|| async {
        let (_, _, db) = credentials(service);
        match copy(
            service,
            &format!("taking a template of database `{db}`"),
            format!("CREATE DATABASE {TEMPLATE} TEMPLATE \"{db}\""),
        )
        .await
        {
            // Another process of the run took it first.
            Err(Error::Database { message, .. }) if message.contains("already exists") => Ok(()),
            other => other,
        }
    })
    .await
    .copied()
}

pub(super) async fn create(service: &Service) -> Result<Made, Error> {
    template(service).await?;
    let name = fresh_name();
    copy(
        service,
        &format!("creating database `{name}`"),
        format!("CREATE DATABASE \"{name}\" TEMPLATE {TEMPLATE}"),
    )
    .await?;
    let (user, password, _) = credentials(service);
    Ok(Made {
        name,
        user,
        password,
        index: None,
    })
}

pub(super) async fn remove(service: &Service, name: &str) -> Result<(), Error> {
    let doing = format!("dropping database `{name}`");
    // WITH (FORCE) ends the test's own connections left open (PostgreSQL 13 and later).
    match sql(
        service,
        &doing,
        format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
    )
    .await
    {
        Err(Error::Database { message, .. }) if message.contains("syntax error") => {
            sql(
                service,
                &doing,
                format!("DROP DATABASE IF EXISTS \"{name}\""),
            )
            .await
        }
        other => other,
    }
    .map(drop)
}

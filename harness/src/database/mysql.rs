//! MySQL and MariaDB: `CREATE DATABASE` and a user with every grant on it and on nothing else,
//! made as `root` with the password the service's environment gives the image.

use super::{Made, args, fresh_name};
use crate::Error;
use crate::service::Service;

/// Runs the server's client (`mysql`, or `mariadb` where only that exists) as root over the
/// local socket; the password goes through `MYSQL_PWD`, not the command line.
const CLIENT: &str = r#"MYSQL_PWD="$1"; export MYSQL_PWD; shift
if command -v mysql >/dev/null 2>&1; then exec mysql -uroot "$@"; else exec mariadb -uroot "$@"; fi"#;

/// Root's password, as the official images read it.
fn root_password(service: &Service) -> Result<String, Error> {
    for key in ["MYSQL_ROOT_PASSWORD", "MARIADB_ROOT_PASSWORD"] {
        if let Some(pw) = service.env(key) {
            return Ok(pw.to_string());
        }
    }
    let empty = [
        "MYSQL_ALLOW_EMPTY_PASSWORD",
        "MARIADB_ALLOW_EMPTY_ROOT_PASSWORD",
    ];
    if empty
        .iter()
        .any(|k| service.env(k).is_some_and(|v| !v.is_empty()))
    {
        return Ok(String::new());
    }
    Err(service.error(
        "its environment gives no root password (MYSQL_ROOT_PASSWORD or MARIADB_ROOT_PASSWORD, or \
         MYSQL_ALLOW_EMPTY_PASSWORD); a random one cannot be known: set MYSQL_ROOT_PASSWORD in \
         the service's environment"
            .into(),
    ))
}

async fn sql(service: &Service, doing: &str, statements: String) -> Result<String, Error> {
    let pw = root_password(service)?;
    let cmd = args(["sh", "-c", CLIENT, "sh"], [pw, "-e".into(), statements]);
    service.run(doing, cmd).await
}

pub(super) async fn create(service: &Service) -> Result<Made, Error> {
    let name = fresh_name();
    let password = crate::labels::new_run_id();
    sql(
        service,
        &format!("creating database `{name}`"),
        format!(
            "CREATE DATABASE `{name}`; CREATE USER '{name}'@'%' IDENTIFIED BY '{password}'; \
             GRANT ALL PRIVILEGES ON `{name}`.* TO '{name}'@'%';"
        ),
    )
    .await?;
    Ok(Made {
        user: name.clone(),
        name,
        password,
        index: None,
    })
}

pub(super) async fn remove(service: &Service, name: &str, user: &str) -> Result<(), Error> {
    sql(
        service,
        &format!("dropping database `{name}`"),
        format!("DROP DATABASE IF EXISTS `{name}`; DROP USER IF EXISTS '{user}'@'%';"),
    )
    .await
    .map(drop)
}

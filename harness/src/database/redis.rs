//! Redis and Valkey: one of the server's numbered databases (1 to `databases - 1`; 0 stays the
//! stage's), claimed atomically by a key in database 0, flushed and given back after the test.
//! When every one is taken, the test waits for one.

use std::time::{Duration, Instant};

use super::{Made, args};
use crate::Error;
use crate::service::Service;

/// How long a test waits for a free database index.
const CLAIM_WAIT: Duration = Duration::from_secs(300);
/// The claim of index `n` is the key `pipeline-test:database:<n>` in database 0.
const CLAIM_PREFIX: &str = "pipeline-test:database:";

/// Runs `redis-cli` with the password from `REDIS_PASSWORD` (as Bitnami's image reads it), if
/// any, through `REDISCLI_AUTH`.
const CLIENT: &str = r#"if [ -n "$1" ]; then REDISCLI_AUTH="$1"; export REDISCLI_AUTH; fi; shift
exec redis-cli "$@""#;

/// Claims the first free index below ARGV[2], returning it, or 0 when all are taken.
const CLAIM: &str = "for i = 1, tonumber(ARGV[2]) - 1 do \
  if redis.call('SET', ARGV[3] .. i, ARGV[1], 'NX') then return i end \
end return 0";

fn password(service: &Service) -> String {
    service.env("REDIS_PASSWORD").unwrap_or("").to_string()
}

async fn cli(service: &Service, doing: &str, rest: Vec<String>) -> Result<String, Error> {
    let cmd = args(
        ["sh", "-c", CLIENT, "sh"],
        std::iter::once(password(service)).chain(rest),
    );
    let out = service.run(doing, cmd).await?;
    // redis-cli exits 0 on a server error, printing it.
    if out.starts_with("ERR") || out.starts_with("NOAUTH") || out.starts_with("WRONGPASS") {
        return Err(service.error(format!("{doing} failed: {}", out.trim())));
    }
    Ok(out)
}

pub(super) async fn create(service: &Service) -> Result<Made, Error> {
    let doing = "claiming a database index";
    let config = cli(
        service,
        doing,
        vec!["CONFIG".into(), "GET".into(), "databases".into()],
    )
    .await
    .unwrap_or_default();
    // `databases` then its value; a server with CONFIG disabled has Redis's default, 16.
    let databases: u32 = config
        .lines()
        .nth(1)
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(16);
    if databases < 2 {
        return Err(service.error(format!(
            "the server has {databases} database(s) and database 0 is the stage's; start it with \
             `--databases 16` or more"
        )));
    }
    let owner = crate::labels::new_run_id();
    let until = Instant::now() + CLAIM_WAIT;
    loop {
        let out = cli(
            service,
            doing,
            vec![
                "EVAL".into(),
                CLAIM.into(),
                "0".into(),
                owner.clone(),
                databases.to_string(),
                CLAIM_PREFIX.into(),
            ],
        )
        .await?;
        let index: u32 = out.trim().parse().map_err(|_| {
            service.error(format!(
                "{doing}: unexpected answer from redis-cli: {}",
                out.trim()
            ))
        })?;
        if index > 0 {
            return Ok(Made {
                name: index.to_string(),
                user: if password(service).is_empty() {
                    String::new()
                } else {
                    "default".into()
                },
                password: password(service),
                index: Some(index),
            });
        }
        if Instant::now() >= until {
            return Err(service.error(format!(
                "all {} of its databases (1 to {}) stayed in use by other tests for {}s; give \
                 the server more with `--databases N`, or run fewer tests at once",
                databases - 1,
                databases - 1,
                CLAIM_WAIT.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(super) async fn remove(service: &Service, index: &str) -> Result<(), Error> {
    let doing = format!("flushing database {index}");
    cli(
        service,
        &doing,
        vec!["-n".into(), index.into(), "FLUSHDB".into()],
    )
    .await?;
    cli(
        service,
        &doing,
        vec!["DEL".into(), format!("{CLAIM_PREFIX}{index}")],
    )
    .await
    .map(drop)
}

//! Where the CLI's database comes from, and the connection each command works on.

use anyhow::{Context, bail};
use chatledger_domain::{PoolConfig, PooledConnection};

/// The URL given by `--database-url` or `DATABASE_URL`, or an error saying how to give one.
pub fn require_url(database_url: Option<String>) -> anyhow::Result<String> {
    match database_url {
        Some(url) if !url.trim().is_empty() => Ok(url),
        _ => bail!(
            "no database given: pass --database-url or set DATABASE_URL (a .env file works too)"
        ),
    }
}

/// One connection, taken from a pool of one so that it gets the library's session setup
/// (`application_name`); an unreachable database is reported here, before any work starts.
pub async fn connect(url: &str) -> anyhow::Result<PooledConnection> {
    let mut config = PoolConfig::new(url);
    config.max_size = 1;
    config.application_name = "chatledger-cli".to_owned();
    let pool = config.build().context("invalid database configuration")?;

    pool.get()
        .await
        .map_err(|error| anyhow::anyhow!("could not connect to the database: {error}"))
}

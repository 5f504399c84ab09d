//! Where the CLI's database comes from, and the one pool each command uses.

use anyhow::{Context, bail};
use chatledger_domain::{PgPool, PoolConfig};

/// The URL given by `--database-url` or `DATABASE_URL`, or an error saying how to give one.
pub fn require_url(database_url: Option<String>) -> anyhow::Result<String> {
    match database_url {
        Some(url) if !url.trim().is_empty() => Ok(url),
        _ => bail!(
            "no database given: pass --database-url or set DATABASE_URL (a .env file works too)"
        ),
    }
}

/// A small pool for one command; the first connection is opened here, so that an unreachable
/// database is reported before any work starts.
pub async fn connect(url: &str) -> anyhow::Result<PgPool> {
    let mut config = PoolConfig::new(url);
    config.max_size = 4;
    config.application_name = "chatledger-cli".to_owned();
    let pool = config.build().context("invalid database configuration")?;
    drop(
        pool.get()
            .await
            .map_err(|error| anyhow::anyhow!("could not connect to the database: {error}"))?,
    );
    Ok(pool)
}

//! The database a run works in: a fresh `chatledger_bench_<scale>` on the server that
//! `--database-url` names (or on a throwaway server), migrated by the library itself and seeded
//! set-wise, and dropped at the end unless it is to be reused.

use anyhow::Context;
use chatledger_tempdb::ThrowawayPostgres;
use url::Url;

use crate::scale::Scale;
use crate::{baseline, seed};

/// The server a run talks to, kept alive for as long as the run needs it.
#[derive(Debug)]
pub struct Server {
    /// A URL of the server's maintenance database, used to create and drop the bench database.
    maintenance_url: String,
    /// Stops the server when dropped, if the runner started it.
    _throwaway: Option<ThrowawayPostgres>,
}

impl Server {
    /// The server of `database_url`, or a throwaway one started from the machine's binaries.
    pub fn connect_or_start(database_url: Option<String>) -> anyhow::Result<Self> {
        match database_url {
            Some(url) if !url.trim().is_empty() => Ok(Self {
                maintenance_url: url,
                _throwaway: None,
            }),
            _ => {
                eprintln!("no --database-url or DATABASE_URL: starting a throwaway PostgreSQL");
                let throwaway =
                    ThrowawayPostgres::start().context("could not start a throwaway PostgreSQL")?;
                Ok(Self {
                    maintenance_url: throwaway.url("postgres"),
                    _throwaway: Some(throwaway),
                })
            }
        }
    }

    /// The URL of database `name` on this server.
    pub fn url_of(&self, name: &str) -> anyhow::Result<String> {
        let mut url = Url::parse(&self.maintenance_url).context("the database URL is not a URL")?;
        url.set_path(name);
        Ok(url.into())
    }

    /// Makes `chatledger_bench_<scale>` ready: reused as it is when `reuse` is set and it holds a
    /// seeded ledger, otherwise created afresh, migrated and seeded.
    pub async fn prepare(&self, scale: Scale, reuse: bool) -> anyhow::Result<BenchDatabase> {
        let name = format!("chatledger_bench_{}", scale.label());
        let url = self.url_of(&name)?;
        let admin = baseline::connect(&self.maintenance_url).await?;

        if reuse && exists(&admin, &name).await? && seed::is_seeded(&url).await? {
            eprintln!("reusing the seeded database {name}");
            return Ok(BenchDatabase {
                name,
                url,
                keep: true,
            });
        }

        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await?;
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await?;
        chatledger_domain::migrations::run_pending(&url)
            .await
            .context("migrating the bench database failed")?;
        seed::seed(&url, scale).await?;
        Ok(BenchDatabase {
            name,
            url,
            keep: reuse,
        })
    }

    /// Drops the bench database unless it is kept for reuse.
    pub async fn finish(&self, database: &BenchDatabase) -> anyhow::Result<()> {
        if database.keep {
            eprintln!("kept the database {} for --reuse", database.name);
            return Ok(());
        }
        let admin = baseline::connect(&self.maintenance_url).await?;
        admin
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                database.name
            ))
            .await?;
        Ok(())
    }
}

/// The database the operations run in.
#[derive(Debug)]
pub struct BenchDatabase {
    /// Its name, `chatledger_bench_<scale>`.
    pub name: String,
    /// Its URL.
    pub url: String,
    /// Whether it outlives the run.
    keep: bool,
}

async fn exists(admin: &tokio_postgres::Client, name: &str) -> anyhow::Result<bool> {
    let row = admin
        .query_one(
            "SELECT count(*) FROM pg_database WHERE datname = $1",
            &[&name],
        )
        .await?;
    Ok(row.try_get::<_, i64>(0)? > 0)
}

//! The schema's migrations, compiled into the library, so that an application needs no diesel CLI
//! in production.
//!
//! Instances of an application often start together and each runs pending migrations. A
//! session-level advisory lock makes them take turns: the first applies what is pending, the
//! others then find nothing to do, and every migration is applied exactly once.

use diesel::sql_types::BigInt;
use diesel::{Connection, PgConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

/// Every migration of `migrations/`, in order.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations");

/// The advisory-lock key that serialises migration runs ("chatledger" in ASCII, truncated).
const MIGRATION_LOCK_KEY: i64 = 0x6368_6174_6c65_6467;

/// Why migrations could not be run or listed.
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    /// The database could not be reached.
    #[error("could not connect to the database")]
    Connect(#[from] diesel::ConnectionError),
    /// A migration or the bookkeeping around it failed.
    #[error("migration failed: {0}")]
    Migration(String),
    /// The blocking task that runs migrations did not finish.
    #[error("the migration task stopped: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Whether each embedded migration is applied, in order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MigrationStatus {
    /// The migration's directory name, e.g. `2026-12-01-000006_messages`.
    pub name: String,
    /// Whether the database records it as applied.
    pub applied: bool,
}

/// Applies every pending migration and returns the names of those this call applied (none
/// when another instance got there first). Safe to call from many processes at once.
pub async fn run_pending(database_url: &str) -> Result<Vec<String>, MigrationError> {
    let url = database_url.to_owned();
    tokio::task::spawn_blocking(move || run_pending_blocking(&url)).await?
}

/// Lists every embedded migration with whether it is applied.
pub async fn status(database_url: &str) -> Result<Vec<MigrationStatus>, MigrationError> {
    let url = database_url.to_owned();
    tokio::task::spawn_blocking(move || status_blocking(&url)).await?
}

/// The blocking form of [`run_pending`], for callers without a runtime.
pub fn run_pending_blocking(database_url: &str) -> Result<Vec<String>, MigrationError> {
    let _span = tracing::info_span!("migrations.run_pending").entered();
    let mut connection = PgConnection::establish(database_url)?;

    advisory_lock(&mut connection, "pg_advisory_lock")?;
    let applied = connection
        .run_pending_migrations(MIGRATIONS)
        .map(|versions| versions.iter().map(ToString::to_string).collect::<Vec<_>>())
        .map_err(|error| MigrationError::Migration(error.to_string()));
    advisory_lock(&mut connection, "pg_advisory_unlock")?;

    let applied = applied?;
    tracing::info!(applied = applied.len(), "migrations run");
    Ok(applied)
}

fn status_blocking(database_url: &str) -> Result<Vec<MigrationStatus>, MigrationError> {
    let mut connection = PgConnection::establish(database_url)?;
    let migration_error = |error: Box<dyn std::error::Error + Send + Sync>| {
        MigrationError::Migration(error.to_string())
    };

    let applied: Vec<String> = connection
        .applied_migrations()
        .map_err(migration_error)?
        .iter()
        .map(ToString::to_string)
        .collect();
    let all = diesel::migration::MigrationSource::<diesel::pg::Pg>::migrations(&MIGRATIONS)
        .map_err(migration_error)?;

    Ok(all
        .iter()
        .map(|migration| {
            let name = migration.name().to_string();
            let version = migration.name().version().to_string();
            MigrationStatus {
                applied: applied.contains(&version),
                name,
            }
        })
        .collect())
}

fn advisory_lock(connection: &mut PgConnection, function: &str) -> Result<(), MigrationError> {
    diesel::sql_query(format!("SELECT {function}($1)"))
        .bind::<BigInt, _>(MIGRATION_LOCK_KEY)
        .execute(connection)
        .map(drop)
        .map_err(|error| MigrationError::Migration(error.to_string()))
}

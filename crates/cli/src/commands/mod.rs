//! One module per subcommand; [`Command`] dispatches to them.

use std::process::ExitCode;

mod migrate;

/// The subcommands of `chatledger`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Applies pending migrations (safe to run from several processes at once).
    Migrate(migrate::MigrateArgs),
}

impl Command {
    /// Runs the subcommand against the database named by `database_url`, if any.
    pub async fn run(self, database_url: Option<String>) -> anyhow::Result<ExitCode> {
        match self {
            Self::Migrate(args) => migrate::run(args, database_url).await,
        }
    }
}

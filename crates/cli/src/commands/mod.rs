//! One module per subcommand; [`Command`] dispatches to them.

use std::process::ExitCode;

mod demo;
mod erase_user;
mod export;
mod migrate;
mod report;
mod seed;

/// The subcommands of `chatledger`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Shows the whole system: a throwaway database, the schema, a demo dataset and reports.
    Demo(demo::DemoArgs),
    /// Erases a user and everything that is theirs (their conversations, messages, retrievals
    /// and the feedback on them); feedback they gave elsewhere stays, anonymous.
    EraseUser(erase_user::EraseUserArgs),
    /// Streams the labelled dataset for fine-tuning (openai-sft, openai-dpo, trl, kto, jsonl).
    Export(export::ExportArgs),
    /// Applies pending migrations (safe to run from several processes at once).
    Migrate(migrate::MigrateArgs),
    /// Runs a packaged report.
    Report(report::ReportArgs),
    /// Writes a deterministic synthetic dataset of any size, in bulk.
    Seed(seed::SeedArgs),
}

impl Command {
    /// Runs the subcommand against the database named by `database_url`, if any.
    pub async fn run(self, database_url: Option<String>) -> anyhow::Result<ExitCode> {
        match self {
            Self::Demo(args) => demo::run(args, database_url).await,
            Self::EraseUser(args) => erase_user::run(args, database_url).await,
            Self::Export(args) => export::run(args, database_url).await,
            Self::Migrate(args) => migrate::run(args, database_url).await,
            Self::Report(args) => report::run(args, database_url).await,
            Self::Seed(args) => seed::run(args, database_url).await,
        }
    }
}

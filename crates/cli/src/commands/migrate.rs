//! `chatledger migrate [--status]`: apply the embedded migrations, or list them.

use std::io::Write;
use std::process::ExitCode;

use crate::database::require_url;

/// Arguments of `chatledger migrate`.
#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    /// List every migration and whether it is applied, without applying anything.
    #[arg(long)]
    status: bool,
}

pub async fn run(args: MigrateArgs, database_url: Option<String>) -> anyhow::Result<ExitCode> {
    let url = require_url(database_url)?;
    let _span = tracing::info_span!("command.migrate", status = args.status).entered();
    let mut stdout = std::io::stdout().lock();

    if args.status {
        for migration in chatledger_domain::migrations::status(&url).await? {
            let state = if migration.applied {
                "applied"
            } else {
                "pending"
            };
            writeln!(stdout, "{state:8} {}", migration.name)?;
        }
        return Ok(ExitCode::SUCCESS);
    }

    let applied = chatledger_domain::migrations::run_pending(&url).await?;
    for name in &applied {
        writeln!(stdout, "applied  {name}")?;
    }
    writeln!(
        stdout,
        "{} migration(s) applied; the schema is up to date",
        applied.len()
    )?;
    Ok(ExitCode::SUCCESS)
}

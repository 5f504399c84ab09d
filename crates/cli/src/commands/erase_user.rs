//! `chatledger erase-user ID [--yes]`: the right to be forgotten, from the command line.
//!
//! ID is the user's chatledger id (a UUID) or, when no user has that id, the id the
//! application's auth system knows them by (`external_id`). Without `--yes` the command shows
//! what would go and asks on a terminal; with no terminal to ask on, it refuses.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::bail;
use chatledger_domain::users::{self, ErasureReceipt, User};
use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::database::{connect, require_url};

/// Arguments of `chatledger erase-user`.
#[derive(Debug, clap::Args)]
pub struct EraseUserArgs {
    /// The user's chatledger id, or their external id.
    id: String,

    /// Erase without asking.
    #[arg(long)]
    yes: bool,
}

pub async fn run(args: EraseUserArgs, database_url: Option<String>) -> anyhow::Result<ExitCode> {
    let url = require_url(database_url)?;
    let mut connection = connect(&url).await?;

    let user = find_user(&mut connection, &args.id).await?;
    let _span = tracing::info_span!("command.erase_user", user_id = %user.id).entered();
    let mut stdout = std::io::stdout().lock();

    if !args.yes {
        let preview = preview(&mut connection, &user).await?;
        if !std::io::stdin().is_terminal() {
            bail!(
                "refusing to erase user {} without --yes when there is no terminal to ask on",
                user.id
            );
        }
        write!(
            stdout,
            "Erase user {} and {}? [y/N] ",
            user.id,
            describe(&preview)
        )?;
        stdout.flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            writeln!(stdout, "Nothing was erased.")?;
            return Ok(ExitCode::SUCCESS);
        }
    }

    let receipt = users::erase(&mut connection, user.id).await?;
    writeln!(stdout, "Erased user {}: {}.", user.id, describe(&receipt))?;
    Ok(ExitCode::SUCCESS)
}

async fn find_user(connection: &mut AsyncPgConnection, id: &str) -> anyhow::Result<User> {
    if let Ok(uuid) = id.parse()
        && let Some(user) = users::find(connection, uuid).await?
    {
        return Ok(user);
    }
    match users::find_by_external_id(connection, id).await? {
        Some(user) => Ok(user),
        None => bail!("no user has the id or external id {id:?}"),
    }
}

/// What erasing would remove: the real erasure, in a transaction that is then rolled back.
async fn preview(
    connection: &mut AsyncPgConnection,
    user: &User,
) -> anyhow::Result<ErasureReceipt> {
    let mut receipt = None;
    let outcome = connection
        .transaction::<(), RolledBack, _>(async |connection| {
            receipt = Some(users::erase(connection, user.id).await?);
            Err(RolledBack::OnPurpose)
        })
        .await;
    match (outcome, receipt) {
        (Err(RolledBack::OnPurpose), Some(receipt)) => Ok(receipt),
        (Err(RolledBack::Failed(error)), _) => Err(error.into()),
        _ => bail!("the erasure preview did not run"),
    }
}

/// Why the preview transaction ended: always rolled back, on purpose or by an error.
#[derive(Debug)]
enum RolledBack {
    OnPurpose,
    Failed(chatledger_domain::Error),
}

impl From<chatledger_domain::Error> for RolledBack {
    fn from(error: chatledger_domain::Error) -> Self {
        Self::Failed(error)
    }
}

impl From<diesel::result::Error> for RolledBack {
    fn from(error: diesel::result::Error) -> Self {
        Self::Failed(error.into())
    }
}

fn describe(receipt: &ErasureReceipt) -> String {
    format!(
        "{} conversations, {} messages, {} retrievals and {} feedback records removed; \
         {} feedback records on others' messages and {} prompt versions kept without their author",
        receipt.conversations,
        receipt.messages,
        receipt.retrievals,
        receipt.feedback_removed,
        receipt.feedback_anonymised,
        receipt.prompt_versions_unattributed,
    )
}

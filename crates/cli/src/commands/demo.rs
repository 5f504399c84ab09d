//! `chatledger demo [--force]`: the whole system in one command, for a newcomer.
//!
//! Without a database it starts a throwaway PostgreSQL from the machine's own binaries (removed
//! when the demo ends); with one it uses it, and refuses one that already holds data unless
//! `--force`. Then it migrates, loads the demo dataset through the library and prints two reports.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, bail};
use chatledger_query::filters::ReportFilter;
use chatledger_query::reports;
use chatledger_schema::schema::{embeddings, prompt_versions, users};
use chatledger_tempdb::ThrowawayPostgres;
use diesel::QueryDsl;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::database::connect;
use crate::demo_dataset;
use crate::output::{Format, write_rows, write_rows_omitting};

/// Arguments of `chatledger demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Load the demo dataset even into a database that already holds data.
    #[arg(long)]
    force: bool,
}

pub async fn run(args: DemoArgs, database_url: Option<String>) -> anyhow::Result<ExitCode> {
    let _span = tracing::info_span!("command.demo", force = args.force).entered();
    let mut stdout = std::io::stdout().lock();

    // Kept until the end of the demo: dropping it stops the server and removes its files.
    let mut throwaway = None;
    let url = match database_url {
        Some(url) => url,
        None => {
            let server = tokio::task::spawn_blocking(ThrowawayPostgres::start)
                .await?
                .context(
                    "no DATABASE_URL given, and a throwaway PostgreSQL could not be started",
                )?;
            writeln!(
                stdout,
                "Started a throwaway PostgreSQL on 127.0.0.1:{} (it is removed when the demo ends).",
                server.port()
            )?;
            let url = server.url("postgres");
            throwaway = Some(server);
            url
        }
    };

    let applied = chatledger_domain::migrations::run_pending(&url).await?;
    writeln!(stdout, "Applied {} migration(s).", applied.len())?;

    let mut connection = connect(&url).await?;
    if !args.force && holds_data(&mut connection).await? {
        bail!("the database already holds data; pass --force to load the demo dataset anyway");
    }

    let tag = uuid::Uuid::now_v7().simple().to_string();
    let counts = demo_dataset::load(&mut connection, &tag[tag.len() - 8..]).await?;
    writeln!(
        stdout,
        "Loaded {} users, {} prompt versions, {} chunks, {} conversations, {} messages, \
         {} retrievals and {} feedback records.\n",
        counts.users,
        counts.prompt_versions,
        counts.chunks,
        counts.conversations,
        counts.messages,
        counts.retrievals,
        counts.feedback,
    )?;

    let everything = ReportFilter::default();
    writeln!(
        stdout,
        "Which prompt version drives the best thumbs-up rate? (report prompt-feedback)"
    )?;
    let feedback = reports::prompt_feedback(&mut connection, &everything).await?;
    write_rows_omitting(
        &mut stdout,
        Format::Table,
        &feedback,
        &["prompt_version_id"],
    )?;

    writeln!(
        stdout,
        "\nHow fast does each model answer? (report latency)"
    )?;
    let latency = reports::latency(&mut connection, &everything).await?;
    write_rows(&mut stdout, Format::Table, &latency)?;

    if throwaway.is_none() {
        writeln!(
            stdout,
            "\nNext: chatledger report prompt-compare --a support-answer@1 --b support-answer@2"
        )?;
    }
    drop(connection);
    drop(throwaway);
    Ok(ExitCode::SUCCESS)
}

/// Whether any of the tables a demo writes to already has rows.
async fn holds_data(connection: &mut AsyncPgConnection) -> anyhow::Result<bool> {
    let users: i64 = users::table.count().get_result(connection).await?;
    let prompts: i64 = prompt_versions::table
        .count()
        .get_result(connection)
        .await?;
    let chunks: i64 = embeddings::table.count().get_result(connection).await?;
    Ok(users + prompts + chunks > 0)
}

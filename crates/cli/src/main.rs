//! `chatledger`: the command operators and analysts run against a chatledger database.
//!
//! Each subcommand lives in its own module under `commands/`. This file parses the arguments,
//! sets up logging on stderr, runs the command and turns its outcome into an exit code:
//! 0 on success, 2 for a usage error (clap's own), 1 for any other failure, printed as one line.

mod commands;
mod database;
mod demo_dataset;
mod output;

use std::process::ExitCode;

use clap::Parser;

use crate::commands::Command;

/// Keeps the record of an LLM product: conversations, prompt versions, retrievals, feedback.
#[derive(Debug, Parser)]
#[command(name = "chatledger", version, about)]
struct Cli {
    /// PostgreSQL URL; defaults to DATABASE_URL (a .env file is read too).
    #[arg(long, global = true, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,

    #[command(subcommand)]
    command: Command,
}

fn main() -> ExitCode {
    // A missing .env is normal; a malformed one is reported by the command that needs the URL.
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    init_logging();

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            return fail(&anyhow::Error::new(error).context("could not start the async runtime"));
        }
    };
    match runtime.block_on(cli.command.run(cli.database_url)) {
        Ok(code) => code,
        Err(error) => fail(&error),
    }
}

/// Logs go to stderr, filtered by `RUST_LOG` (warnings and errors by default).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// Prints the error and its causes on one line, as `error: what: why: root cause`; libpq's
/// multi-line messages are folded into that line. A closed stdout (`chatledger export | head`)
/// ends the command quietly, as it does for other Unix tools.
fn fail(error: &anyhow::Error) -> ExitCode {
    let stdout_closed = error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    });
    if stdout_closed {
        return ExitCode::SUCCESS;
    }

    let message = format!("{error:#}");
    eprintln!(
        "error: {}",
        message.split_whitespace().collect::<Vec<_>>().join(" ")
    );
    ExitCode::FAILURE
}

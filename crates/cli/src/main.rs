//! `chatledger`: the command operators and analysts run against a chatledger database.
//!
//! Each subcommand lives in its own module under `commands/`. This file parses the arguments,
//! sets up logging on stderr, runs the command and turns its outcome into an exit code:
//! 0 on success, 2 for a usage error (clap's own, or a [`UsageError`] for values that only make
//! sense together, such as a time window), 1 for any other failure, printed as one line.

mod commands;
mod database;
mod demo_dataset;
mod output;

use std::process::ExitCode;

use clap::Parser;
use std::io::IsTerminal;

use tracing_subscriber::filter::Directive;
use tracing_subscriber::fmt::format::FmtSpan;

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
    // A missing .env is normal; one that cannot be read is an error to fix, not to ignore.
    if let Err(error) = dotenvy::dotenv()
        && !error.not_found()
    {
        return fail(&anyhow::Error::new(error).context("could not read the .env file"));
    }
    let cli = Cli::parse();
    init_logging();

    // One command, one task: a current-thread runtime runs the connections' drivers on the
    // same thread as the command, so a response reaches it without a wake-up across threads.
    // An export of 1M records took 20 to 22 s this way against 24 s on a multi-thread runtime
    // (docs/benchmarks.md, third round).
    let runtime = match tokio::runtime::Builder::new_current_thread()
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

/// An argument that clap accepted but that makes no sense, e.g. `--since` after `--until`;
/// it exits 2 like clap's own usage errors.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Targets whose debug output carries data: tokio-postgres logs every statement's bound
/// parameters (message contents, corrections, metadata) at debug level. They stay at info
/// whatever `RUST_LOG` asks for.
const TARGETS_THAT_LOG_DATA: [&str; 1] = ["tokio_postgres=info"];

/// Logs go to stderr, filtered by `RUST_LOG` (warnings and errors by default). Each span that
/// the filter lets through also logs a line when it closes, with its time, so `RUST_LOG=debug`
/// shows every operation with its ids and duration.
fn init_logging() {
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    for directive in TARGETS_THAT_LOG_DATA {
        if let Ok(directive) = directive.parse::<Directive>() {
            filter = filter.add_directive(directive);
        }
    }
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(FmtSpan::CLOSE)
        .with_ansi(std::io::stderr().is_terminal())
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
    let code = if error.is::<UsageError>() { 2 } else { 1 };
    eprintln!(
        "error: {}",
        message.split_whitespace().collect::<Vec<_>>().join(" ")
    );
    ExitCode::from(code)
}

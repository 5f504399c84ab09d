//! `chatledger-bench`: measures chatledger against a hand-written tokio-postgres client and
//! against PostgreSQL's own limits, on one server, and prints one table (issue 5).
//!
//! This file reads the arguments, prepares the bench database, runs the chosen operations and
//! prints their rows. The method is described in `docs/benchmarks.md`.

mod baseline;
mod database;
mod measure;
mod ops;
mod scale;
mod seed;
mod stats;
mod table;

use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use crate::database::Server;
use crate::ops::{Context, Operation};
use crate::scale::Scale;

/// Measures chatledger against hand-written SQL and against PostgreSQL itself.
#[derive(Debug, Parser)]
#[command(name = "chatledger-bench", version, about)]
struct Cli {
    /// How much data to seed and how often to repeat; `smoke` finishes in seconds.
    #[arg(long, value_enum, default_value = "smoke")]
    scale: Scale,

    /// A PostgreSQL server to create `chatledger_bench_<scale>` on; without it (and without
    /// DATABASE_URL) a throwaway server is started.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,

    /// Runs only these operations (repeat the flag or separate with commas).
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<Operation>,

    /// Measured rounds of each operation instead of the scale's default.
    #[arg(long)]
    repeat: Option<usize>,

    /// Keeps the seeded database after the run and reuses it on the next one.
    #[arg(long)]
    reuse: bool,

    #[command(subcommand)]
    child: Option<Child>,
}

/// The runner's own helpers, started by the runner itself.
#[derive(Debug, Subcommand)]
enum Child {
    /// Runs one export and prints `records seconds peak_kib`.
    #[command(name = "export-child", hide = true)]
    ExportChild {
        /// The bench database.
        #[arg(long)]
        database_url: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();

    // The export child runs the export as the CLI does, on a current-thread runtime; the
    // runner itself needs threads for its concurrent appends.
    let mut runtime = if cli.child.is_some() {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let runtime = match runtime.enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => return fail(&anyhow::Error::new(error)),
    };
    let outcome = match cli.child {
        Some(Child::ExportChild { ref database_url }) => {
            runtime.block_on(ops::export::run_child(database_url))
        }
        None => runtime.block_on(run(cli)),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(&error),
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let server = Server::connect_or_start(cli.database_url.clone())?;
    let database = server.prepare(cli.scale, cli.reuse).await?;

    let rows = measure_all(&cli, &database.url).await;

    server.finish(&database).await?;
    table::print(&rows?)
}

/// Runs each chosen operation in turn and gathers their rows.
async fn measure_all(cli: &Cli, url: &str) -> anyhow::Result<Vec<table::Row>> {
    let mut config = chatledger_domain::PoolConfig::new(url);
    config.max_size = 16;
    config.application_name = "chatledger-bench".to_owned();
    let pool = config.build().context("invalid database configuration")?;
    let context = Context::load(cli.scale, url.to_owned(), pool, cli.repeat).await?;

    let mut rows = Vec::new();
    for operation in Operation::ALL {
        if !cli.only.is_empty() && !cli.only.contains(&operation) {
            continue;
        }
        eprintln!("measuring {operation:?} at {}", cli.scale.label());
        let measured = operation
            .run(&context)
            .await
            .with_context(|| format!("measuring {operation:?} failed"))?;
        rows.extend(measured);
    }
    Ok(rows)
}

/// Prints the error and its causes on one line.
fn fail(error: &anyhow::Error) -> ExitCode {
    eprintln!("error: {error:#}");
    ExitCode::FAILURE
}

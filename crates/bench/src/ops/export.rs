//! Operation 6: exporting every rated answer as JSON lines. The export runs in a child process
//! of the runner, so that its peak resident memory (VmHWM) is the export's own and not the
//! seeding's or another operation's.
//!
//! The baseline is what PostgreSQL itself can do: one statement that produces the rows the
//! export's records are made of (`export_rows.sql`, the export's own cursor until the third
//! round), copied out with `COPY … TO STDOUT` and thrown away. Its records per second are the
//! export's records divided by the time the server takes just to produce those rows. The
//! export now reads them in batches, which PostgreSQL answers faster than this one statement.

use std::io::Write;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context as _, bail};
use chatledger_query::export::{self, ExportFormat, ExportOptions, NoProgress};
use futures_util::StreamExt as _;

use super::Context;
use crate::stats::median;
use crate::table::Row;

/// The name of the hidden subcommand that runs the child's side.
pub const CHILD_COMMAND: &str = "export-child";

/// What the child reports on its stdout, one line of `records seconds peak_kib`.
#[derive(Debug)]
struct ChildReport {
    records: u64,
    seconds: f64,
    peak_kib: u64,
}

/// Rounds of the export and of its baseline, in alternating order.
const ROUNDS: usize = 3;

/// Runs the export in a child and its rows' `COPY` in alternation, and reports the median
/// records per second of each and the export's highest peak memory.
pub async fn run(context: &Context) -> anyhow::Result<Vec<Row>> {
    let mut export_seconds = Vec::new();
    let mut copy_seconds = Vec::new();
    let mut records = 0;
    let mut peak_kib = 0;
    for round in 0..ROUNDS {
        let copy_first = round % 2 == 1;
        if copy_first {
            copy_seconds.push(copy_out_export_rows(&context.url).await?);
        }
        let report = run_child_export(&context.url).await?;
        records = report.records;
        peak_kib = peak_kib.max(report.peak_kib);
        export_seconds.push(report.seconds);
        if !copy_first {
            copy_seconds.push(copy_out_export_rows(&context.url).await?);
        }
    }
    let report = ChildReport {
        records,
        seconds: median(export_seconds),
        peak_kib,
    };
    let copy_seconds = median(copy_seconds);

    let scale = context.scale.label();
    let rate = report.records as f64 / report.seconds;
    let copy_rate = report.records as f64 / copy_seconds;
    let peak_mib = report.peak_kib as f64 / 1024.0;
    let throughput = Row::throughput(
        format!(
            "export jsonl, {} records vs COPY of its rows",
            report.records
        ),
        scale,
        rate,
        Some(copy_rate),
        "records",
    )
    .with_target(">= 50000 records/s", Some(rate >= 50_000.0));
    let memory = Row::figure(
        format!("export jsonl, {} records: peak RSS", report.records),
        scale,
        format!("{peak_mib:.1} MiB"),
        String::new(),
    )
    .with_target(
        "<= 150 MB, flat in records",
        Some(peak_mib * 1.048_576 <= 150.0),
    );
    Ok(vec![throughput, memory])
}

/// The export's rows in one statement.
const EXPORT_ROWS_SQL: &str = include_str!("../export_rows.sql");

/// Seconds that `COPY` of the export's rows to a discarding client takes, in the export's kind
/// of transaction and with its settings.
async fn copy_out_export_rows(url: &str) -> anyhow::Result<f64> {
    let mut client = crate::baseline::connect(url).await?;
    let transaction = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    transaction.batch_execute("SET LOCAL jit = off").await?;
    let every_rating = "'{thumbs_up,thumbs_down,neutral}'::feedback_rating[]";
    let query = EXPORT_ROWS_SQL.replace("$1", every_rating);

    let started = Instant::now();
    let mut stream = std::pin::pin!(
        transaction
            .copy_out(&format!("COPY ({query}) TO STDOUT"))
            .await?
    );
    let mut bytes = 0_usize;
    while let Some(chunk) = stream.next().await {
        bytes += chunk?.len();
    }
    let seconds = started.elapsed().as_secs_f64();

    transaction.commit().await?;
    if bytes == 0 {
        bail!("COPY of the export's rows returned nothing");
    }
    Ok(seconds)
}

/// One export in a child process of the runner.
async fn run_child_export(url: &str) -> anyhow::Result<ChildReport> {
    let executable = std::env::current_exe().context("cannot find the runner's own executable")?;
    let url = url.to_owned();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(executable)
            .arg(CHILD_COMMAND)
            .arg("--database-url")
            .arg(url)
            .output()
    })
    .await??;
    if !output.status.success() {
        bail!(
            "the export child failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    parse_report(&String::from_utf8_lossy(&output.stdout))
}

fn parse_report(stdout: &str) -> anyhow::Result<ChildReport> {
    let fields: Vec<&str> = stdout.split_whitespace().collect();
    let [records, seconds, peak_kib] = fields.as_slice() else {
        bail!("the export child printed {stdout:?}, not `records seconds peak_kib`");
    };
    Ok(ChildReport {
        records: records.parse()?,
        seconds: seconds.parse()?,
        peak_kib: peak_kib.parse()?,
    })
}

/// The child's side: one connection, the library's export into a sink, then the figures.
pub async fn run_child(database_url: &str) -> anyhow::Result<()> {
    let pool = chatledger_domain::PoolConfig::new(database_url).build()?;
    let mut connection = pool.get().await?;
    let options = ExportOptions::new(ExportFormat::Jsonl);
    let mut sink = std::io::sink();

    let started = Instant::now();
    let summary = export::export(&mut connection, &options, &mut sink, &mut NoProgress).await?;
    let seconds = started.elapsed().as_secs_f64();

    let peak_kib = peak_resident_kib()?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{} {seconds} {peak_kib}", summary.records_written)?;
    Ok(())
}

/// The process's peak resident set, from `/proc/self/status`.
fn peak_resident_kib() -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find(|line| line.starts_with("VmHWM:"))
        .context("/proc/self/status has no VmHWM")?;
    let kib = line
        .split_whitespace()
        .nth(1)
        .context("VmHWM has no value")?;
    Ok(kib.parse()?)
}

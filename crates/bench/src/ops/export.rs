//! Operation 6: exporting every rated answer as JSON lines. The export runs in a child process
//! of the runner, so that its peak resident memory (VmHWM) is the export's own and not the
//! seeding's or another operation's.

use std::io::Write;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context as _, bail};
use chatledger_query::export::{self, ExportFormat, ExportOptions, NoProgress};

use super::Context;
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

/// Runs the export in a child and reports records per second and peak memory.
pub async fn run(context: &Context) -> anyhow::Result<Vec<Row>> {
    let executable = std::env::current_exe().context("cannot find the runner's own executable")?;
    let url = context.url.clone();
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
    let report = parse_report(&String::from_utf8_lossy(&output.stdout))?;

    let scale = context.scale.label();
    let rate = report.records as f64 / report.seconds;
    let peak_mib = report.peak_kib as f64 / 1024.0;
    let throughput = Row::throughput(
        format!("export jsonl, {} records", report.records),
        scale,
        rate,
        None,
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

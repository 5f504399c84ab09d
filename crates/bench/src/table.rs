//! The printed result: one row per operation and scale, the same columns for every kind of
//! operation, so that one run's output can be pasted into `docs/benchmarks.md` as it is.

use std::io::Write;
use std::time::Duration;

use comfy_table::presets::ASCII_MARKDOWN;
use comfy_table::{CellAlignment, Table};

use crate::measure::Comparison;
use crate::scale::Scale;

/// One line of the result table.
#[derive(Debug, Clone)]
pub struct Row {
    operation: String,
    scale: String,
    chatledger: [String; 2],
    baseline: [String; 2],
    ratio: Option<f64>,
    server: Option<String>,
    target: String,
}

impl Row {
    /// A latency comparison: p50 and p99 of each side, and the ratio of the medians.
    pub fn latency(operation: impl Into<String>, scale: &str, comparison: &Comparison) -> Self {
        let ratio = match (comparison.chatledger.p50(), comparison.baseline.p50()) {
            (Some(ours), Some(theirs)) if !theirs.is_zero() => {
                Some(ours.as_secs_f64() / theirs.as_secs_f64())
            }
            _ => None,
        };

        Self {
            operation: operation.into(),
            scale: scale.to_owned(),
            chatledger: [
                millis(comparison.chatledger.p50()),
                millis(comparison.chatledger.p99()),
            ],
            baseline: [
                millis(comparison.baseline.p50()),
                millis(comparison.baseline.p99()),
            ],
            ratio,
            server: None,
            target: String::new(),
        }
    }

    /// A throughput comparison in `unit` per second (the median of the rounds in the p50 column);
    /// the ratio is chatledger's rate over the baseline's, so higher is better.
    pub fn throughput(
        operation: impl Into<String>,
        scale: &str,
        chatledger_per_second: f64,
        baseline_per_second: Option<f64>,
        unit: &str,
    ) -> Self {
        let ratio = baseline_per_second
            .filter(|rate| *rate > 0.0)
            .map(|rate| chatledger_per_second / rate);

        Self {
            operation: operation.into(),
            scale: scale.to_owned(),
            chatledger: [
                format!("{chatledger_per_second:.0} {unit}/s"),
                String::new(),
            ],
            baseline: [
                baseline_per_second.map_or_else(String::new, |rate| format!("{rate:.0} {unit}/s")),
                String::new(),
            ],
            ratio,
            server: None,
            target: String::new(),
        }
    }

    /// A measurement without a comparison (a size, a peak memory), shown in the chatledger
    /// columns.
    pub fn figure(operation: impl Into<String>, scale: &str, value: String, other: String) -> Self {
        Self {
            operation: operation.into(),
            scale: scale.to_owned(),
            chatledger: [value, String::new()],
            baseline: [other, String::new()],
            ratio: None,
            server: None,
            target: String::new(),
        }
    }

    /// The same row with the server-side execution time.
    pub fn with_server_time(mut self, server: Duration) -> Self {
        self.server = Some(format!("{:.3}", server.as_secs_f64() * 1000.0));
        self
    }

    /// The same row with the target and whether this run met it. A smoke run only
    /// checks that the runner works, so it is never judged.
    pub fn with_target(mut self, target: &str, met: Option<bool>) -> Self {
        let judged = if self.scale == Scale::Smoke.label() {
            None
        } else {
            met
        };
        let verdict = match judged {
            Some(true) => " met",
            Some(false) => " NOT met",
            None => "",
        };
        self.target = format!("{target}{verdict}");
        self
    }

    /// The ratio of the row, if it has one.
    pub fn ratio(&self) -> Option<f64> {
        self.ratio
    }
}

/// Formats a latency in milliseconds with microsecond resolution.
fn millis(duration: Option<Duration>) -> String {
    duration.map_or_else(String::new, |duration| {
        format!("{:.3}", duration.as_secs_f64() * 1000.0)
    })
}

/// Prints `rows` as a Markdown table on stdout.
pub fn print(rows: &[Row]) -> anyhow::Result<()> {
    let mut table = Table::new();
    table.load_style(ASCII_MARKDOWN);
    table.set_header([
        "operation",
        "scale",
        "chatledger p50 (ms)",
        "chatledger p99 (ms)",
        "baseline p50 (ms)",
        "baseline p99 (ms)",
        "ratio",
        "server (ms)",
        "target",
    ]);

    for row in rows {
        table.add_row([
            row.operation.clone(),
            row.scale.clone(),
            row.chatledger[0].clone(),
            row.chatledger[1].clone(),
            row.baseline[0].clone(),
            row.baseline[1].clone(),
            row.ratio
                .map_or_else(String::new, |ratio| format!("{ratio:.3}")),
            row.server.clone().unwrap_or_default(),
            row.target.clone(),
        ]);
    }
    for column in table.column_iter_mut().skip(2).take(6) {
        column.set_cell_alignment(CellAlignment::Right);
    }

    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{table}")?;
    Ok(())
}

//! `chatledger export --format F [--out FILE] [--no-redact]`: streams the labelled dataset.
//!
//! Records go to `--out` (written to a temporary file and renamed when complete, so an
//! interrupted export leaves nothing under that name) or to stdout. A progress bar is drawn on
//! stderr when stderr is a terminal; the last line, on stderr, says what was written and skipped.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use chatledger_query::export::{
    self, ExportFormat, ExportOptions, ExportProgress, ExportSummary, NoProgress,
};
use indicatif::{ProgressBar, ProgressStyle};

use crate::database::{connect, require_url};

/// Arguments of `chatledger export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// openai-sft, openai-dpo, trl, kto or jsonl.
    #[arg(long)]
    format: ExportFormat,

    /// Write to this file instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,

    /// Keep e-mail addresses, phone numbers, IP and card numbers and secrets as written.
    #[arg(long)]
    no_redact: bool,
}

pub async fn run(args: ExportArgs, database_url: Option<String>) -> anyhow::Result<ExitCode> {
    let url = require_url(database_url)?;
    let _span =
        tracing::info_span!("command.export", format = %args.format, redact = !args.no_redact)
            .entered();
    let mut connection = connect(&url).await?;

    let mut options = ExportOptions::new(args.format);
    options.redact = !args.no_redact;
    let mut progress: Box<dyn ExportProgress> = if std::io::stderr().is_terminal() {
        Box::new(Bar::default())
    } else {
        Box::new(NoProgress)
    };

    let summary = match &args.out {
        Some(path) => {
            export::export_to_path(&mut connection, &options, path, progress.as_mut()).await?
        }
        None => {
            // Not the lock: the export is a future that may move between threads.
            let mut stdout = std::io::stdout();
            export::export(&mut connection, &options, &mut stdout, progress.as_mut()).await?
        }
    };

    eprintln!("{summary}");
    Ok(ExitCode::SUCCESS)
}

/// The progress bar: candidates examined against the total, records written in the message.
#[derive(Default)]
struct Bar {
    bar: Option<ProgressBar>,
}

impl ExportProgress for Bar {
    fn wants_total(&self) -> bool {
        true
    }

    fn started(&mut self, total_candidates: Option<u64>) {
        let bar = ProgressBar::new(total_candidates.unwrap_or_default());
        if let Ok(style) =
            ProgressStyle::with_template("{bar:40} {pos}/{len} answers read, {msg} ({eta} left)")
        {
            bar.set_style(style);
        }
        self.bar = Some(bar);
    }

    fn advanced(&mut self, candidates_examined: u64, records_written: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(candidates_examined);
            bar.set_message(format!("{records_written} records written"));
        }
    }

    fn finished(&mut self, _summary: &ExportSummary) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

//! Streaming the labelled dataset that feedback exists for, in the formats training tools read.
//!
//! An export lists the feedback of the rated messages through one cursor and reads the messages
//! of the conversations that hold them, each up to its last candidate, in batches of whole
//! conversations, each batch with its retrieved chunks (module `page`). It writes one JSON line
//! per record (module `records`). Each earlier message is redacted and serialised once and
//! reused by every later record of its conversation. Memory therefore follows the page size,
//! the batch size, the longest conversation and the number of prompt versions, never the
//! number of messages or ratings.
//!
//! An export keeps one thread busy. It runs fastest on a current-thread runtime, as the
//! `chatledger` CLI runs it, where the connection's driver shares that thread and rows reach the
//! export without a wake-up across threads (docs/export.md has the figures).
//!
//! Every text written is redacted ([`crate::redact`]) unless [`ExportOptions::redact`] is turned
//! off. [`export`] writes to any [`Write`]; [`export_to_path`] writes a file that appears under
//! its name only once complete. Both fail with [`ExportError`]; candidates that make no record
//! are not errors but counted in the [`ExportSummary`] by [`SkipReason`].

mod format;
mod page;
mod records;
mod summary;

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use diesel_async::AsyncPgConnection;
use tracing::Instrument;
use uuid::Uuid;

pub use format::{ExportFormat, UnknownFormat};
pub use summary::{ExportProgress, ExportSummary, NoProgress, SkipReason};

use crate::redact::Redactor;
use page::MessageCursor;
use records::{CandidateView, ContextEntry, Outcome, Redaction};

/// Candidates per page unless the caller says otherwise.
pub const DEFAULT_PAGE_SIZE: u32 = 256;

/// What to export and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportOptions {
    /// The dataset format.
    pub format: ExportFormat,
    /// Whether to redact personal data and secrets; on unless the caller opts out
    /// (`--no-redact`).
    pub redact: bool,
    /// Candidates read per page; 0 counts as 1. Larger pages mean fewer queries and more memory.
    pub page_size: u32,
}

impl ExportOptions {
    /// Options for `format` with redaction on and the default page size.
    pub fn new(format: ExportFormat) -> Self {
        Self {
            format,
            redact: true,
            page_size: DEFAULT_PAGE_SIZE,
        }
    }
}

/// Why an export failed. Whatever was written before the failure is incomplete.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// A query failed, or the connection was already inside a transaction.
    #[error("reading the dataset from the database failed")]
    Database(#[from] diesel::result::Error),
    /// Writing to the output failed.
    #[error("writing the export failed")]
    Io(#[from] std::io::Error),
    /// Creating, writing or renaming the output file failed; nothing is left under its name.
    #[error("writing the export to {} failed", path.display())]
    File {
        /// The file that was to be written.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// A record could not be serialised as JSON.
    #[error("serialising an export record failed")]
    Serialise(#[from] serde_json::Error),
}

/// Writes the dataset to `output`, one JSON object per line, and returns the counts.
///
/// Runs in one read-only, repeatable-read transaction, so every page sees the same snapshot; the
/// connection must not be inside a transaction already. Writes to `output` block the task
/// between queries; pass a buffered writer (each record is one `write_all`).
pub async fn export<W: Write + Send>(
    connection: &mut AsyncPgConnection,
    options: &ExportOptions,
    output: &mut W,
    progress: &mut dyn ExportProgress,
) -> Result<ExportSummary, ExportError> {
    let span = tracing::info_span!(
        "export",
        format = %options.format,
        redacted = options.redact,
        page_size = options.page_size,
        candidates_examined = tracing::field::Empty,
        records_written = tracing::field::Empty,
        records_skipped = tracing::field::Empty,
    );
    let summary = connection
        .build_transaction()
        .read_only()
        .repeatable_read()
        .run(async |connection| write_records(connection, options, output, progress).await)
        .instrument(span.clone())
        .await?;

    span.record("candidates_examined", summary.candidates_examined);
    span.record("records_written", summary.records_written);
    span.record("records_skipped", summary.skipped_total());
    span.in_scope(|| tracing::info!("export finished"));
    Ok(summary)
}

/// Writes the dataset to the file at `path`, replacing it only when the export is complete.
///
/// Records go to a hidden temporary file in the same folder (so the final rename stays on one
/// file system), which is flushed to disk and renamed to `path` at the end. If the export fails
/// or the process dies, `path` keeps what it had before and the temporary file is removed (on
/// failure) or left as `.chatledger-export-*.partial` (when killed).
pub async fn export_to_path(
    connection: &mut AsyncPgConnection,
    options: &ExportOptions,
    path: &Path,
    progress: &mut dyn ExportProgress,
) -> Result<ExportSummary, ExportError> {
    let file_error = |source| ExportError::File {
        path: path.to_owned(),
        source,
    };
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };

    let temporary = tempfile::Builder::new()
        .prefix(".chatledger-export-")
        .suffix(".partial")
        .tempfile_in(folder)
        .map_err(file_error)?;
    let mut output = BufWriter::new(temporary);

    let summary = export(connection, options, &mut output, progress)
        .await
        .map_err(|error| match error {
            ExportError::Io(source) => file_error(source),
            other => other,
        })?;

    let temporary = output
        .into_inner()
        .map_err(|error| file_error(error.into_error()))?;
    temporary.as_file().sync_all().map_err(file_error)?;
    temporary
        .persist(path)
        .map_err(|error| file_error(error.error))?;
    Ok(summary)
}

/// The page loop, inside the export's transaction.
async fn write_records<W: Write + Send>(
    connection: &mut AsyncPgConnection,
    options: &ExportOptions,
    output: &mut W,
    progress: &mut dyn ExportProgress,
) -> Result<ExportSummary, ExportError> {
    let format = options.format;
    let page_size = usize::try_from(options.page_size.max(1)).unwrap_or(usize::MAX);
    let redactor = options.redact.then(Redactor::new);
    let redaction = Redaction(redactor.as_ref());
    let mut summary = ExportSummary::new(format, options.redact);

    let total = if progress.wants_total() {
        Some(page::count_candidates(connection, format).await?)
    } else {
        None
    };
    progress.started(total);

    // The earlier messages of the conversation being read; a conversation may run on over
    // several pages, so they outlive the page.
    let mut conversation: Option<Uuid> = None;
    let mut earlier: Vec<ContextEntry> = Vec::new();
    let mut line = Vec::new();

    let mut cursor = MessageCursor::open(connection, format).await?;
    while let Some(page) = cursor.next_page(page_size).await? {
        for message in &page.messages {
            if conversation != Some(message.conversation_id) {
                conversation = Some(message.conversation_id);
                earlier.clear();
            }

            let converted = records::convert(message, redaction);
            if message.is_candidate() {
                let prompt = cursor.prompts().of(message);
                let view = CandidateView::new(message, prompt, &converted, &earlier);
                line.clear();
                match records::encode(format, &view, redaction, &mut line)? {
                    Outcome::Encoded => {
                        output.write_all(&line)?;
                        summary.count_written();
                    }
                    Outcome::Skipped(reason) => summary.count_skipped(reason),
                }
            }
            earlier.push(ContextEntry::of(&converted)?);
        }

        tracing::debug!(candidates = page.candidates(), "export page written");
        progress.advanced(summary.candidates_examined, summary.records_written);
    }

    progress.finished(&summary);
    output.flush()?;
    Ok(summary)
}

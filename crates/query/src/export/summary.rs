//! What an export tells its caller while it runs and when it ends: progress callbacks, the
//! reasons a candidate is skipped, and the counts behind the CLI's final line.

use std::collections::BTreeMap;
use std::fmt;

use super::ExportFormat;

/// Receives progress while an export runs; the CLI draws a progress bar with it.
///
/// Every method has a default that does nothing, so an implementation overrides only what it
/// shows. The export never prints.
pub trait ExportProgress: Send {
    /// Whether to count the candidates before the first page, so that [`started`] gets a total.
    /// The count is one more scan of the rated messages; return `false` when nothing shows it.
    ///
    /// [`started`]: ExportProgress::started
    fn wants_total(&self) -> bool {
        false
    }

    /// Called once before the first page, with the number of candidates when
    /// [`wants_total`](ExportProgress::wants_total) asked for it.
    fn started(&mut self, total_candidates: Option<u64>) {
        let _ = total_candidates;
    }

    /// Called after each page, with the running totals.
    fn advanced(&mut self, candidates_examined: u64, records_written: u64) {
        let _ = (candidates_examined, records_written);
    }

    /// Called once after the last record is written, before the output is flushed.
    fn finished(&mut self, summary: &ExportSummary) {
        let _ = summary;
    }
}

/// Shows nothing: for output that does not go to a terminal, and for tests.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl ExportProgress for NoProgress {}

/// Why a candidate message produced no record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SkipReason {
    /// A thumbs-down answer whose feedback gives no non-blank correction (sft, dpo, trl).
    MissingCorrection,
    /// As many thumbs-up as thumbs-down ratings, so no label (kto).
    TiedRatings,
    /// The answer is the first message of its conversation, so there is no prompt (every format
    /// but jsonl).
    NoEarlierContext,
    /// The answer or a message before it has `tool_calls` that are not an array of
    /// `{"id", "name", "arguments"}` objects.
    MalformedToolCalls,
}

impl SkipReason {
    /// A short phrase for the summary line, e.g. `thumbs-down without a correction`.
    pub const fn describe(self) -> &'static str {
        match self {
            Self::MissingCorrection => "thumbs-down without a correction",
            Self::TiedRatings => "tied between thumbs-up and thumbs-down",
            Self::NoEarlierContext => "with no earlier message as prompt",
            Self::MalformedToolCalls => "with malformed tool calls",
        }
    }
}

/// The outcome of a finished export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSummary {
    /// The format written.
    pub format: ExportFormat,
    /// Whether text was redacted.
    pub redacted: bool,
    /// Candidate messages looked at: written plus skipped.
    pub candidates_examined: u64,
    /// Records (lines) written.
    pub records_written: u64,
    /// Candidates skipped, by reason; reasons that never occurred are absent.
    pub skipped: BTreeMap<SkipReason, u64>,
}

impl ExportSummary {
    pub(super) fn new(format: ExportFormat, redacted: bool) -> Self {
        Self {
            format,
            redacted,
            candidates_examined: 0,
            records_written: 0,
            skipped: BTreeMap::new(),
        }
    }

    /// Candidates skipped, whatever the reason.
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }

    pub(super) fn count_written(&mut self) {
        self.candidates_examined += 1;
        self.records_written += 1;
    }

    pub(super) fn count_skipped(&mut self, reason: SkipReason) {
        self.candidates_examined += 1;
        *self.skipped.entry(reason).or_default() += 1;
    }
}

/// One line for the end of the CLI's output, e.g. `wrote 12 openai-sft records, skipped 3 (2
/// thumbs-down without a correction, 1 with no earlier message as prompt)`.
impl fmt::Display for ExportSummary {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let noun = if self.records_written == 1 {
            "record"
        } else {
            "records"
        };
        write!(
            formatter,
            "wrote {} {} {noun}",
            self.records_written, self.format
        )?;
        write!(formatter, ", skipped {}", self.skipped_total())?;
        if !self.skipped.is_empty() {
            let reasons: Vec<String> = self
                .skipped
                .iter()
                .map(|(reason, count)| format!("{count} {}", reason.describe()))
                .collect();
            write!(formatter, " ({})", reasons.join(", "))?;
        }
        if !self.redacted {
            formatter.write_str(", not redacted")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_line_names_counts_and_reasons() {
        let mut summary = ExportSummary::new(ExportFormat::OpenAiSft, true);
        summary.count_written();
        summary.count_written();
        summary.count_skipped(SkipReason::MissingCorrection);
        summary.count_skipped(SkipReason::NoEarlierContext);
        summary.count_skipped(SkipReason::MissingCorrection);
        assert_eq!(summary.candidates_examined, 5);
        assert_eq!(
            summary.to_string(),
            "wrote 2 openai-sft records, skipped 3 (2 thumbs-down without a correction, \
             1 with no earlier message as prompt)"
        );
    }

    #[test]
    fn the_summary_line_says_when_nothing_was_redacted() {
        let mut summary = ExportSummary::new(ExportFormat::Kto, false);
        summary.count_written();
        assert_eq!(
            summary.to_string(),
            "wrote 1 kto record, skipped 0, not redacted"
        );
    }
}

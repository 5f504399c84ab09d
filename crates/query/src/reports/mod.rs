//! The packaged reports: one function per question that the ledger exists to answer, each
//! taking a connection and its options and returning typed rows that serialise to JSON.
//!
//! Each report lives in a file of its own. Queries are written with diesel's DSL where it can
//! say them; where it cannot (subqueries in `FROM`, `unnest`, grouping by a computed day), the
//! SQL sits in a `.sql` file beside the report, with a sentence on why, and binds the shared
//! [`ReportFilter`] as its first four parameters.
//!
//! Errors: every report returns [`ReportError`]. Parsing what a caller types is a concern of its
//! own, with its own error: [`PromptRefError`] for `NAME@V`, [`PriceTableError`] for a price
//! file and [`TimeWindowError`](crate::filters::TimeWindowError) for a time bound.

mod embedding_audit;
mod feedback_categories;
mod finish_reasons;
mod latency;
mod prices;
mod prompt_compare;
mod prompt_feedback;
mod retrieval_feedback;
mod sql_functions;
mod token_anomalies;
mod token_usage;

pub use embedding_audit::{
    EmbeddingAudit, EmbeddingModelRow, MultiModelSourceRow, embedding_audit,
};
pub use feedback_categories::{FeedbackCategoryRow, feedback_categories};
pub use finish_reasons::{
    DEFAULT_MAX_LENGTH_SHARE, FinishReasonOptions, FinishReasonRow, finish_reasons,
};
pub use latency::{LatencyRow, latency};
pub use prices::{ModelPrice, PriceTable, PriceTableError};
pub use prompt_compare::{
    CompareOptions, DEFAULT_MIN_RATED, PromptComparison, PromptRef, PromptRefError, Verdict,
    prompt_compare,
};
pub use prompt_feedback::{PromptFeedbackRow, prompt_feedback};
pub use retrieval_feedback::{RetrievalFeedbackRow, retrieval_feedback};
pub use token_anomalies::{
    DEFAULT_ANOMALY_FACTOR, TokenAnomalyOptions, TokenAnomalyRow, token_anomalies,
};
pub use token_usage::{TokenUsageOptions, TokenUsageRow, token_usage};

use crate::filters::{ReportFilter, TimeWindow};

/// Why a report could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The database refused or failed the report's query.
    #[error("the report query failed")]
    Database(#[from] diesel::result::Error),

    /// An option or filter that no data can satisfy, e.g. an empty time window.
    #[error("invalid report filter: {reason}")]
    InvalidFilter {
        /// What is wrong, in words for the person who typed it.
        reason: String,
    },

    /// A `NAME@V` that names no prompt version.
    #[error("there is no prompt version {reference}")]
    UnknownPromptVersion {
        /// The reference as resolved.
        reference: PromptRef,
    },
}

/// Refuses a window that cannot hold a message, before any query runs.
fn check_window(window: &TimeWindow) -> Result<(), ReportError> {
    window
        .validate()
        .map_err(|error| ReportError::InvalidFilter {
            reason: error.to_string(),
        })
}

/// Refuses a filter that cannot hold a message, before any query runs.
fn check_filter(filter: &ReportFilter) -> Result<(), ReportError> {
    check_window(&filter.window)
}

/// `part / whole`, or `None` when the whole is zero.
fn share(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

//! `finish_reasons`: why each model stopped writing, and which models are cut off by the length
//! limit too often (answers truncated mid-sentence).

use chatledger_schema::MessageRole;
use chatledger_schema::schema::messages;
use diesel::dsl::count_star;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use super::{ReportError, check_filter};
use crate::filters::ReportFilter;

/// The default largest share of `length` stops a model may have before it is flagged.
pub const DEFAULT_MAX_LENGTH_SHARE: f64 = 0.05;

/// The finish reason that means "cut off by the token limit".
const LENGTH: &str = "length";

/// Which messages count, and when to flag a model.
#[derive(Debug, Clone, PartialEq)]
pub struct FinishReasonOptions {
    /// Which messages count.
    pub filter: ReportFilter,
    /// A model whose share of `length` stops exceeds this (0 to 1) is flagged.
    pub max_length_share: f64,
}

impl Default for FinishReasonOptions {
    fn default() -> Self {
        Self {
            filter: ReportFilter::default(),
            max_length_share: DEFAULT_MAX_LENGTH_SHARE,
        }
    }
}

/// How often one model stopped for one reason.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FinishReasonRow {
    /// The model; `None` for assistant messages that name none.
    pub model_name: Option<String>,
    /// The reason as the provider reported it; `None` when unrecorded.
    pub finish_reason: Option<String>,
    /// Assistant messages of the model that stopped for this reason.
    pub messages: i64,
    /// Their share of the model's assistant messages.
    pub share: f64,
    /// Whether the model's share of `length` stops exceeds `max_length_share`; the same on
    /// every row of the model.
    pub flagged: bool,
}

/// The count of one (model, finish reason) pair, as the query returns it.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = messages, check_for_backend(diesel::pg::Pg))]
struct ReasonCount {
    model_name: Option<String>,
    finish_reason: Option<String>,
    #[diesel(select_expression = count_star())]
    #[diesel(select_expression_type = diesel::dsl::CountStar)]
    messages: i64,
}

/// One row per model and finish reason of assistant messages, by model, then most frequent
/// reason first.
#[tracing::instrument(name = "report.finish_reasons", skip_all, fields(
    filter = ?options.filter,
    max_length_share = options.max_length_share,
))]
pub async fn finish_reasons(
    connection: &mut AsyncPgConnection,
    options: &FinishReasonOptions,
) -> Result<Vec<FinishReasonRow>, ReportError> {
    check_filter(&options.filter)?;
    if !(0.0..=1.0).contains(&options.max_length_share) {
        return Err(ReportError::InvalidFilter {
            reason: format!(
                "the largest share of length stops must be between 0 and 1, not {}",
                options.max_length_share
            ),
        });
    }

    let counts: Vec<ReasonCount> = messages::table
        .filter(messages::role.eq(MessageRole::Assistant))
        .filter(options.filter.message_predicate())
        .group_by((messages::model_name, messages::finish_reason))
        .select(ReasonCount::as_select())
        .order_by((
            messages::model_name,
            count_star().desc(),
            messages::finish_reason,
        ))
        .load(connection)
        .await?;

    let rows = with_shares(&counts, options.max_length_share);

    tracing::debug!(rows = rows.len(), "report ready");
    Ok(rows)
}

/// Adds each row's share of its model and the model's flag; `counts` come grouped by model.
fn with_shares(counts: &[ReasonCount], max_length_share: f64) -> Vec<FinishReasonRow> {
    let mut rows = Vec::with_capacity(counts.len());

    for model_counts in counts.chunk_by(|a, b| a.model_name == b.model_name) {
        let total: i64 = model_counts.iter().map(|count| count.messages).sum();
        let length_stops: i64 = model_counts
            .iter()
            .filter(|count| count.finish_reason.as_deref() == Some(LENGTH))
            .map(|count| count.messages)
            .sum();
        let flagged = super::share(length_stops, total).unwrap_or(0.0) > max_length_share;

        rows.extend(model_counts.iter().map(|count| FinishReasonRow {
            model_name: count.model_name.clone(),
            finish_reason: count.finish_reason.clone(),
            messages: count.messages,
            share: super::share(count.messages, total).unwrap_or(0.0),
            flagged,
        }));
    }

    rows
}

//! `retrieval_feedback`: which retrieved documents lead to bad answers. Each embedded source is
//! scored by the ratings of the answers its chunks were put in front of.

use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use super::{ReportError, check_filter};
use crate::filters::ReportFilter;

/// The query, in SQL because it joins two subqueries (retrievals per source and answer,
/// feedback per answer), which diesel's DSL cannot put in a `FROM` clause.
const RETRIEVAL_FEEDBACK_SQL: &str = include_str!("retrieval_feedback.sql");

/// How the answers fed by one source were rated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RetrievalFeedbackRow {
    /// The kind of source.
    pub source_type: String,
    /// The source's id in the application.
    pub source_id: String,
    /// Times one of its chunks was retrieved for an answer.
    pub retrievals: i64,
    /// Distinct answers its chunks fed.
    pub messages: i64,
    /// Thumbs-up records on those answers.
    pub thumbs_up: i64,
    /// Thumbs-down records on those answers.
    pub thumbs_down: i64,
    /// thumbs_down / (thumbs_up + thumbs_down); `None` when neither was given.
    pub thumbs_down_share: Option<f64>,
}

/// The counts as the query returns them.
#[derive(Debug, diesel::QueryableByName)]
struct SourceCounts {
    #[diesel(sql_type = Text)]
    source_type: String,
    #[diesel(sql_type = Text)]
    source_id: String,
    #[diesel(sql_type = BigInt)]
    retrievals: i64,
    #[diesel(sql_type = BigInt)]
    messages: i64,
    #[diesel(sql_type = BigInt)]
    thumbs_up: i64,
    #[diesel(sql_type = BigInt)]
    thumbs_down: i64,
}

/// One row per retrieved source, worst first: highest thumbs-down share, then most
/// thumbs-down, then most retrieved; sources without ratings last.
#[tracing::instrument(name = "report.retrieval_feedback", skip_all, fields(
    filter = ?filter,
))]
pub async fn retrieval_feedback(
    connection: &mut AsyncPgConnection,
    filter: &ReportFilter,
) -> Result<Vec<RetrievalFeedbackRow>, ReportError> {
    check_filter(filter)?;

    let counts: Vec<SourceCounts> = filter
        .bind_to(diesel::sql_query(RETRIEVAL_FEEDBACK_SQL))
        .load(connection)
        .await?;

    let mut rows: Vec<RetrievalFeedbackRow> = counts
        .into_iter()
        .map(|counts| RetrievalFeedbackRow {
            thumbs_down_share: super::share(
                counts.thumbs_down,
                counts.thumbs_up + counts.thumbs_down,
            ),
            source_type: counts.source_type,
            source_id: counts.source_id,
            retrievals: counts.retrievals,
            messages: counts.messages,
            thumbs_up: counts.thumbs_up,
            thumbs_down: counts.thumbs_down,
        })
        .collect();
    rows.sort_by(worst_first);

    tracing::debug!(rows = rows.len(), "report ready");
    Ok(rows)
}

/// The report's order; ties end on the source, so the order is total.
fn worst_first(a: &RetrievalFeedbackRow, b: &RetrievalFeedbackRow) -> std::cmp::Ordering {
    let share = |row: &RetrievalFeedbackRow| row.thumbs_down_share.unwrap_or(-1.0);

    share(b)
        .total_cmp(&share(a))
        .then(b.thumbs_down.cmp(&a.thumbs_down))
        .then(b.retrievals.cmp(&a.retrievals))
        .then_with(|| a.source_type.cmp(&b.source_type))
        .then_with(|| a.source_id.cmp(&b.source_id))
}

//! `feedback_categories`: what people said was wrong (or right) with each prompt version's
//! answers, from the labels on their feedback.

use diesel::sql_types::{BigInt, Integer, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use uuid::Uuid;

use super::{ReportError, check_filter};
use crate::filters::ReportFilter;

/// The query, in SQL because it expands `feedback.categories` with `unnest` in the `FROM`
/// clause, which diesel's DSL cannot write.
const FEEDBACK_CATEGORIES_SQL: &str = include_str!("feedback_categories.sql");

/// How often one category was given on one prompt version's messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, diesel::QueryableByName)]
pub struct FeedbackCategoryRow {
    /// The prompt's name.
    #[diesel(sql_type = Text)]
    pub prompt_name: String,
    /// The version number within the name.
    #[diesel(sql_type = Integer)]
    pub version: i32,
    /// The version's id.
    #[diesel(sql_type = SqlUuid)]
    pub prompt_version_id: Uuid,
    /// The category label.
    #[diesel(sql_type = Text)]
    pub category: String,
    /// Feedback records carrying the category.
    #[diesel(sql_type = BigInt)]
    pub feedback: i64,
    /// Of those, the thumbs-up records.
    #[diesel(sql_type = BigInt)]
    pub thumbs_up: i64,
    /// Of those, the thumbs-down records.
    #[diesel(sql_type = BigInt)]
    pub thumbs_down: i64,
    /// Of those, the neutral records.
    #[diesel(sql_type = BigInt)]
    pub neutral: i64,
}

/// One row per prompt version and category, by version, then most frequent category first.
/// Feedback on messages without a prompt version is not counted.
#[tracing::instrument(name = "report.feedback_categories", skip_all, fields(
    filter = ?filter,
))]
pub async fn feedback_categories(
    connection: &mut AsyncPgConnection,
    filter: &ReportFilter,
) -> Result<Vec<FeedbackCategoryRow>, ReportError> {
    check_filter(filter)?;

    let rows: Vec<FeedbackCategoryRow> = filter
        .bind_to(diesel::sql_query(FEEDBACK_CATEGORIES_SQL))
        .load(connection)
        .await?;

    tracing::debug!(rows = rows.len(), "report ready");
    Ok(rows)
}

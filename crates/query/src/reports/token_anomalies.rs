//! `token_anomalies`: answers far longer than their prompt version usually writes, which are
//! often loops, runaway lists or a prompt that lost its length instruction.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Double, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use uuid::Uuid;

use super::{ReportError, check_filter};
use crate::filters::ReportFilter;

/// The query, in SQL because it compares each message with the median of its group, which
/// takes subqueries in `FROM` (medians per version and per model) that diesel's DSL cannot
/// write.
const TOKEN_ANOMALIES_SQL: &str = include_str!("token_anomalies.sql");

/// The default factor: an answer is an anomaly above 4 times its group's median.
pub const DEFAULT_ANOMALY_FACTOR: f64 = 4.0;

/// Which messages to search, and how far above the median is unusual.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenAnomalyOptions {
    /// Which messages count, both as candidates and for the medians.
    pub filter: ReportFilter,
    /// A message is reported when its token count exceeds this many times the median.
    pub factor: f64,
}

impl Default for TokenAnomalyOptions {
    fn default() -> Self {
        Self {
            filter: ReportFilter::default(),
            factor: DEFAULT_ANOMALY_FACTOR,
        }
    }
}

/// An assistant message longer than `factor` times its group's median.
#[derive(Debug, Clone, PartialEq, Serialize, diesel::QueryableByName)]
pub struct TokenAnomalyRow {
    /// The message.
    #[diesel(sql_type = SqlUuid)]
    pub message_id: Uuid,
    /// Its conversation.
    #[diesel(sql_type = SqlUuid)]
    pub conversation_id: Uuid,
    /// Its prompt version; `None` when it was compared with its model's median.
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub prompt_version_id: Option<Uuid>,
    /// Its model.
    #[diesel(sql_type = Nullable<Text>)]
    pub model_name: Option<String>,
    /// Its tokens.
    #[diesel(sql_type = Integer)]
    pub token_count: i32,
    /// The median token count of its prompt version, or of its model without one.
    #[diesel(sql_type = Double)]
    pub median: f64,
    /// token_count / median.
    #[diesel(sql_type = Double)]
    pub ratio: f64,
    /// When it was written.
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
}

/// The assistant messages above `factor` × their group's median, newest first.
#[tracing::instrument(name = "report.token_anomalies", skip_all, fields(
    filter = ?options.filter,
    factor = options.factor,
))]
pub async fn token_anomalies(
    connection: &mut AsyncPgConnection,
    options: &TokenAnomalyOptions,
) -> Result<Vec<TokenAnomalyRow>, ReportError> {
    check_filter(&options.filter)?;
    if !(options.factor.is_finite() && options.factor > 0.0) {
        return Err(ReportError::InvalidFilter {
            reason: format!(
                "the anomaly factor must be a number above 0, not {}",
                options.factor
            ),
        });
    }

    let rows: Vec<TokenAnomalyRow> = options
        .filter
        .bind_to(diesel::sql_query(TOKEN_ANOMALIES_SQL))
        .bind::<Double, _>(options.factor)
        .load(connection)
        .await?;

    tracing::debug!(rows = rows.len(), "report ready");
    Ok(rows)
}

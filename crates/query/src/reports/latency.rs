//! `latency`: how long each model takes to answer, as percentiles, because a mean hides the
//! slow tail that users notice.

use chatledger_schema::schema::messages;
use diesel::dsl::{count, max};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use super::sql_functions::{PercentileCont, percentile_cont};
use super::{ReportError, check_filter};
use crate::filters::ReportFilter;

/// The latency percentiles of one model.
#[derive(Debug, Clone, PartialEq, Serialize, Queryable, Selectable)]
#[diesel(table_name = messages, check_for_backend(diesel::pg::Pg))]
pub struct LatencyRow {
    /// The model; `None` for messages that name none.
    pub model_name: Option<String>,
    /// Messages with a recorded latency.
    #[diesel(select_expression = count(messages::latency_ms))]
    #[diesel(select_expression_type = count<messages::latency_ms>)]
    pub messages: i64,
    /// The median latency, interpolated (`percentile_cont(0.5)`).
    #[diesel(select_expression = percentile_cont(0.50, messages::latency_ms))]
    #[diesel(select_expression_type = PercentileCont<messages::latency_ms>)]
    pub p50_ms: Option<f64>,
    /// The 95th percentile, interpolated.
    #[diesel(select_expression = percentile_cont(0.95, messages::latency_ms))]
    #[diesel(select_expression_type = PercentileCont<messages::latency_ms>)]
    pub p95_ms: Option<f64>,
    /// The 99th percentile, interpolated.
    #[diesel(select_expression = percentile_cont(0.99, messages::latency_ms))]
    #[diesel(select_expression_type = PercentileCont<messages::latency_ms>)]
    pub p99_ms: Option<f64>,
    /// The slowest answer.
    #[diesel(select_expression = max(messages::latency_ms))]
    #[diesel(select_expression_type = diesel::helper_types::max<messages::latency_ms>)]
    pub max_ms: Option<i32>,
}

/// One row per model among the messages that have a latency, by model name.
#[tracing::instrument(name = "report.latency", skip_all, fields(
    filter = ?filter,
))]
pub async fn latency(
    connection: &mut AsyncPgConnection,
    filter: &ReportFilter,
) -> Result<Vec<LatencyRow>, ReportError> {
    check_filter(filter)?;

    let rows = messages::table
        .filter(messages::latency_ms.is_not_null())
        .filter(filter.message_predicate())
        .group_by(messages::model_name)
        .select(LatencyRow::as_select())
        .order_by(messages::model_name)
        .load(connection)
        .await?;

    tracing::debug!(rows = rows.len(), "report ready");
    Ok(rows)
}

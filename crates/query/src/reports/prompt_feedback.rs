//! `prompt_feedback`: how people rated the answers of each prompt version, with the uncertainty
//! of that rate, so that a version with three ratings does not look better than one with three
//! thousand.

use diesel::sql_types::{Array, BigInt, Bool, Integer, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use uuid::Uuid;

use super::{ReportError, check_filter};
use crate::filters::{ReportFilter, TimeWindow};
use crate::stats::{Z_95, wilson_interval};

/// The query over messages, in SQL because it joins a subquery (feedback counted per message),
/// which diesel's DSL cannot put in a `FROM` clause. It answers every filter.
const PROMPT_FEEDBACK_SQL: &str = include_str!("prompt_feedback.sql");

/// The query over the counts the database keeps (`prompt_version_stats` and
/// `feedback.prompt_version_id`), for the dashboard case: no time window and no model name. In
/// SQL because its `MATERIALIZED` CTEs, which keep a generic plan from running each aggregate
/// once per version, have no DSL form.
const PROMPT_FEEDBACK_COUNTED_SQL: &str = include_str!("prompt_feedback_counted.sql");

/// One prompt version's messages and the feedback on them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PromptFeedbackRow {
    /// The prompt's name.
    pub prompt_name: String,
    /// The version number within the name.
    pub version: i32,
    /// The version's id.
    pub prompt_version_id: Uuid,
    /// Whether this version is the one served for its name.
    pub is_active: bool,
    /// Messages generated with this version (within the filters).
    pub messages: i64,
    /// Thumbs-up feedback records on those messages.
    pub thumbs_up: i64,
    /// Thumbs-down feedback records on those messages.
    pub thumbs_down: i64,
    /// Neutral feedback records on those messages.
    pub neutral: i64,
    /// thumbs_up / (thumbs_up + thumbs_down); `None` when neither was given.
    pub thumbs_up_rate: Option<f64>,
    /// Lower bound of the 95% Wilson score interval of the rate.
    pub wilson_low: Option<f64>,
    /// Upper bound of the 95% Wilson score interval of the rate.
    pub wilson_high: Option<f64>,
}

/// The counts as the query returns them, before the rates are worked out.
#[derive(Debug, diesel::QueryableByName)]
struct VersionCounts {
    #[diesel(sql_type = Text)]
    prompt_name: String,
    #[diesel(sql_type = Integer)]
    version: i32,
    #[diesel(sql_type = SqlUuid)]
    prompt_version_id: Uuid,
    #[diesel(sql_type = Bool)]
    is_active: bool,
    #[diesel(sql_type = BigInt)]
    messages: i64,
    #[diesel(sql_type = BigInt)]
    thumbs_up: i64,
    #[diesel(sql_type = BigInt)]
    thumbs_down: i64,
    #[diesel(sql_type = BigInt)]
    neutral: i64,
}

impl From<VersionCounts> for PromptFeedbackRow {
    fn from(counts: VersionCounts) -> Self {
        let rated = counts.thumbs_up + counts.thumbs_down;
        let interval = wilson_interval(
            u64::try_from(counts.thumbs_up).unwrap_or(0),
            u64::try_from(rated).unwrap_or(0),
            Z_95,
        );

        Self {
            thumbs_up_rate: super::share(counts.thumbs_up, rated),
            wilson_low: interval.map(|interval| interval.low),
            wilson_high: interval.map(|interval| interval.high),
            prompt_name: counts.prompt_name,
            version: counts.version,
            prompt_version_id: counts.prompt_version_id,
            is_active: counts.is_active,
            messages: counts.messages,
            thumbs_up: counts.thumbs_up,
            thumbs_down: counts.thumbs_down,
            neutral: counts.neutral,
        }
    }
}

/// One row per prompt version (by name, then version), versions without messages included
/// with zeros. The time window and model name filter the messages; the prompt name filters
/// the versions.
#[tracing::instrument(name = "report.prompt_feedback", skip_all, fields(
    filter = ?filter,
))]
pub async fn prompt_feedback(
    connection: &mut AsyncPgConnection,
    filter: &ReportFilter,
) -> Result<Vec<PromptFeedbackRow>, ReportError> {
    check_filter(filter)?;

    let rows = load_prompt_feedback(connection, filter, None).await?;

    tracing::debug!(rows = rows.len(), "report ready");
    Ok(rows)
}

/// The report's query, optionally narrowed to the versions `only_versions`. Without a time
/// window or a model name the kept counts answer it; at 10M messages that took 57-86 ms against
/// 6.8 s for the query over messages (docs/benchmarks.md).
pub(super) async fn load_prompt_feedback(
    connection: &mut AsyncPgConnection,
    filter: &ReportFilter,
    only_versions: Option<Vec<Uuid>>,
) -> Result<Vec<PromptFeedbackRow>, ReportError> {
    let counted_by_the_database =
        filter.window == TimeWindow::all_time() && filter.model_name.is_none();

    let counts: Vec<VersionCounts> = if counted_by_the_database {
        diesel::sql_query(PROMPT_FEEDBACK_COUNTED_SQL)
            .bind::<Nullable<Text>, _>(filter.prompt_name.as_deref())
            .bind::<Nullable<Array<SqlUuid>>, _>(only_versions)
            .load(connection)
            .await?
    } else {
        filter
            .bind_to(diesel::sql_query(PROMPT_FEEDBACK_SQL))
            .bind::<Nullable<Array<SqlUuid>>, _>(only_versions)
            .load(connection)
            .await?
    };

    Ok(counts.into_iter().map(PromptFeedbackRow::from).collect())
}

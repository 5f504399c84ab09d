//! `token_usage`: how many tokens each model spent per day, and what they cost when the caller
//! has a price table.

use chrono::NaiveDate;
use diesel::sql_types::{BigInt, Bool, Date, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use uuid::Uuid;

use super::{PriceTable, ReportError, check_filter};
use crate::filters::ReportFilter;

/// The query, in SQL because it groups by a computed value (the UTC day of `created_at`), which
/// diesel's group-by checking accepts only for plain columns.
const TOKEN_USAGE_SQL: &str = include_str!("token_usage.sql");

/// What to group by and how to price it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TokenUsageOptions {
    /// Which messages count.
    pub filter: ReportFilter,
    /// Group by the conversation's user as well as by day and model.
    pub per_user: bool,
    /// Prices to work out `cost` with; without them every cost is `None`.
    pub prices: Option<PriceTable>,
}

/// The tokens of one model on one UTC day (and of one user, with `per_user`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenUsageRow {
    /// The UTC day the messages were created on.
    pub day: NaiveDate,
    /// The messages' model; `None` for messages that name none.
    pub model_name: Option<String>,
    /// The owner of the messages' conversations; only with `per_user`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<Uuid>,
    /// Messages counted.
    pub messages: i64,
    /// Their tokens, input and output.
    pub tokens: i64,
    /// Tokens of system, user and tool messages.
    pub input_tokens: i64,
    /// Tokens of assistant messages.
    pub output_tokens: i64,
    /// Input and output tokens at the model's price; `None` without a price for the model.
    pub cost: Option<f64>,
}

/// The counts as the query returns them, before they are priced.
#[derive(Debug, diesel::QueryableByName)]
struct UsageCounts {
    #[diesel(sql_type = Date)]
    day: NaiveDate,
    #[diesel(sql_type = Nullable<Text>)]
    model_name: Option<String>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    user_id: Option<Uuid>,
    #[diesel(sql_type = BigInt)]
    messages: i64,
    #[diesel(sql_type = BigInt)]
    tokens: i64,
    #[diesel(sql_type = BigInt)]
    input_tokens: i64,
    #[diesel(sql_type = BigInt)]
    output_tokens: i64,
}

impl UsageCounts {
    fn priced(self, prices: Option<&PriceTable>) -> TokenUsageRow {
        let cost = prices
            .zip(self.model_name.as_deref())
            .and_then(|(prices, model)| prices.cost(model, self.input_tokens, self.output_tokens));

        TokenUsageRow {
            day: self.day,
            model_name: self.model_name,
            user_id: self.user_id,
            messages: self.messages,
            tokens: self.tokens,
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
            cost,
        }
    }
}

/// One row per UTC day and model (and user, with `per_user`), oldest day first.
#[tracing::instrument(name = "report.token_usage", skip_all, fields(
    filter = ?options.filter,
    per_user = options.per_user,
    priced = options.prices.is_some(),
))]
pub async fn token_usage(
    connection: &mut AsyncPgConnection,
    options: &TokenUsageOptions,
) -> Result<Vec<TokenUsageRow>, ReportError> {
    check_filter(&options.filter)?;

    let counts: Vec<UsageCounts> = options
        .filter
        .bind_to(diesel::sql_query(TOKEN_USAGE_SQL))
        .bind::<Bool, _>(options.per_user)
        .load(connection)
        .await?;

    let rows: Vec<TokenUsageRow> = counts
        .into_iter()
        .map(|counts| counts.priced(options.prices.as_ref()))
        .collect();

    tracing::debug!(rows = rows.len(), "report ready");
    Ok(rows)
}

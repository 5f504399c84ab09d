//! Operation 5: the `prompt-feedback` report over every message, the dashboard query of the
//! ledger. Without filters the report reads the counts the database keeps; the baseline runs
//! that same SQL file through a prepared statement and works out the same Wilson intervals, so
//! the ratio is the cost of the library around the query.

use std::time::Duration;

use chatledger_query::filters::ReportFilter;
use chatledger_query::reports;
use chatledger_query::stats::{Z_95, wilson_interval};
use uuid::Uuid;

use super::{Context, server_execution_time};
use crate::baseline;
use crate::measure::alternate;
use crate::scale::Scale;
use crate::table::Row;

/// The report's query without filters, as the query crate ships it.
const PROMPT_FEEDBACK_SQL: &str =
    include_str!("../../../query/src/reports/prompt_feedback_counted.sql");

/// The target for the report over 10M messages, warm.
const TARGET: Duration = Duration::from_millis(300);

/// Alternates `reports::prompt_feedback` with its SQL on a plain client, without filters.
pub async fn run(context: &Context) -> anyhow::Result<Vec<Row>> {
    let mut connection = context.pool.get().await?;
    let client = baseline::connect(&context.url).await?;
    // A named statement switches to a generic plan after five runs, while the library prepares
    // `sql_query` afresh on every call and so always gets a custom plan. The baseline keeps its
    // prepared statement and asks for custom plans, so both sides run the same plan.
    client
        .batch_execute("SET plan_cache_mode = force_custom_plan")
        .await?;
    let statement = client.prepare(PROMPT_FEEDBACK_SQL).await?;
    let filter = ReportFilter::default();
    let no_text: Option<&str> = None;
    let no_versions: Option<Vec<Uuid>> = None;

    let comparison = alternate(
        context.rounds(context.scale.report_rounds()),
        async || {
            reports::prompt_feedback(&mut connection, &filter).await?;
            Ok(())
        },
        async || {
            let rows = client.query(&statement, &[&no_text, &no_versions]).await?;
            for row in &rows {
                let thumbs_up: i64 = row.try_get("thumbs_up")?;
                let thumbs_down: i64 = row.try_get("thumbs_down")?;
                let rated = u64::try_from(thumbs_up + thumbs_down)?;
                wilson_interval(u64::try_from(thumbs_up)?, rated, Z_95);
            }
            Ok(())
        },
    )
    .await?;

    let server =
        server_execution_time(&client, PROMPT_FEEDBACK_SQL, &[&no_text, &no_versions]).await?;
    let row = Row::latency("prompt-feedback report", context.scale.label(), &comparison)
        .with_server_time(server);
    let row = if context.scale == Scale::TenMillion {
        let met = comparison.chatledger.p50().map(|p50| p50 <= TARGET);
        row.with_target("p50 <= 300 ms at 10m", met)
    } else {
        row.with_target("p50 <= 300 ms at 10m", None)
    };
    Ok(vec![row])
}

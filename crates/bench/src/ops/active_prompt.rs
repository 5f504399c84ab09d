//! Operation 2: the active version of a prompt, the lookup every model call starts with.

use chatledger_domain::prompts;

use super::{Context, PROMPT_NAME, server_execution_time};
use crate::baseline::{self, ACTIVE_PROMPT_SQL, Prepared, PromptVersionRow};
use crate::measure::alternate;
use crate::table::Row;

/// Alternates `prompts::active` with the same `SELECT` prepared on a plain client.
pub async fn run(context: &Context) -> anyhow::Result<Vec<Row>> {
    let mut connection = context.pool.get().await?;
    let client = baseline::connect(&context.url).await?;
    let prepared = Prepared::on(&client).await?;

    let comparison = alternate(
        context.rounds(context.scale.point_rounds()),
        async || {
            prompts::active(&mut connection, PROMPT_NAME).await?;
            Ok(())
        },
        async || {
            let row = client
                .query_one(&prepared.active_prompt, &[&PROMPT_NAME, &1_i64])
                .await?;
            PromptVersionRow::decode(&row)?;
            Ok(())
        },
    )
    .await?;

    let server = server_execution_time(&client, ACTIVE_PROMPT_SQL, &[&PROMPT_NAME, &1_i64]).await?;
    let row = Row::latency("active prompt lookup", context.scale.label(), &comparison)
        .with_server_time(server);
    let met = row.ratio().map(|ratio| ratio <= 1.10);
    Ok(vec![row.with_target("ratio <= 1.10", met)])
}

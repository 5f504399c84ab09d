//! Operation 3: one page of 50 messages from the middle of a conversation, as a chat window
//! scrolls back.

use chatledger_domain::PageRequest;
use chatledger_domain::messages::{self, HistoryCursor};

use super::{Context, server_execution_time};
use crate::baseline::{self, HISTORY_SQL, MessageRow, Prepared};
use crate::measure::alternate;
use crate::table::Row;

/// Messages per page.
const PAGE_SIZE: u32 = 50;

/// The page starts after this position, so that it is neither the first nor the last.
const AFTER_POSITION: i32 = 25;

/// Alternates `messages::history` with the same `SELECT` prepared on a plain client.
pub async fn run(context: &Context) -> anyhow::Result<Vec<Row>> {
    let conversation_id = context.history_conversation()?;
    let mut connection = context.pool.get().await?;
    let client = baseline::connect(&context.url).await?;
    let prepared = Prepared::on(&client).await?;
    let fetch = i64::from(PAGE_SIZE) + 1;
    let page = PageRequest::after(
        PAGE_SIZE,
        HistoryCursor {
            position: AFTER_POSITION,
        },
    );

    let comparison = alternate(
        context.rounds(context.scale.point_rounds()),
        async || {
            messages::history(&mut connection, conversation_id, &page).await?;
            Ok(())
        },
        async || {
            let rows = client
                .query(
                    &prepared.history,
                    &[&conversation_id, &AFTER_POSITION, &fetch],
                )
                .await?;
            let mut page = rows
                .iter()
                .map(MessageRow::decode)
                .collect::<Result<Vec<_>, _>>()?;
            page.truncate(PAGE_SIZE as usize);
            Ok(())
        },
    )
    .await?;

    let server = server_execution_time(
        &client,
        HISTORY_SQL,
        &[&conversation_id, &AFTER_POSITION, &fetch],
    )
    .await?;
    let row = Row::latency("history page of 50", context.scale.label(), &comparison)
        .with_server_time(server);
    let met = row.ratio().map(|ratio| ratio <= 1.10);
    Ok(vec![row.with_target("ratio <= 1.10", met)])
}

//! Operation 1: appending one message, the write every chat turn makes. The row trigger numbers
//! it and adds its tokens to the conversation in the same statement, on both sides.
//!
//! With several tasks, each appends to its own conversation at the same moment as the others,
//! so that commits overlap as they do under a busy service; every append's latency is a sample.

use std::time::Instant;

use chatledger_domain::messages::{self, NewMessage};
use chatledger_domain::{MessageRole, PooledConnection};
use futures_util::future::try_join_all;
use tokio_postgres::Client;
use uuid::Uuid;

use super::Context;
use crate::baseline::{self, MessageRow, Prepared, Role};
use crate::measure::Comparison;
use crate::stats::Samples;
use crate::table::Row;

/// What every appended message says.
const CONTENT: &str = "A benchmark answer of a realistic length, with a sentence or two in it.";
const MODEL: &str = "bench-model";
const FINISH_REASON: &str = "stop";
const TOKENS: i32 = 42;
const LATENCY_MS: i32 = 850;

/// Measures appends with one task and with eight.
pub async fn run(context: &Context) -> anyhow::Result<Vec<Row>> {
    let mut rows = Vec::new();
    for tasks in [1, 8] {
        let comparison = compare(context, tasks).await?;
        let row = Row::latency(
            format!("append 1 message, {tasks} task(s)"),
            context.scale.label(),
            &comparison,
        );
        let met = row.ratio().map(|ratio| ratio <= 1.10);
        rows.push(row.with_target("ratio <= 1.10", met));
    }
    Ok(rows)
}

/// One chatledger connection and one plain client per task.
struct Writer {
    conversation_id: Uuid,
    connection: PooledConnection,
    client: Client,
    prepared: Prepared,
}

async fn compare(context: &Context, tasks: usize) -> anyhow::Result<Comparison> {
    let mut writers = Vec::with_capacity(tasks);
    for conversation_id in context.conversations.iter().copied().cycle().take(tasks) {
        let client = baseline::connect(&context.url).await?;
        let prepared = Prepared::on(&client).await?;
        let connection = context.pool.get().await?;
        writers.push(Writer {
            conversation_id,
            connection,
            client,
            prepared,
        });
    }
    let prompt_version_id = context.prompt_version_id;
    let rounds = context.rounds(context.scale.point_rounds());

    for _ in 0..rounds.warm_up {
        round(&mut writers, prompt_version_id, Side::Chatledger).await?;
        round(&mut writers, prompt_version_id, Side::Baseline).await?;
    }

    let mut comparison = Comparison::default();
    for index in 0..rounds.measured {
        let order = if index % 2 == 0 {
            [Side::Chatledger, Side::Baseline]
        } else {
            [Side::Baseline, Side::Chatledger]
        };
        for side in order {
            let samples = round(&mut writers, prompt_version_id, side).await?;
            match side {
                Side::Chatledger => comparison.chatledger.extend(samples),
                Side::Baseline => comparison.baseline.extend(samples),
            }
        }
    }
    Ok(comparison)
}

#[derive(Debug, Clone, Copy)]
enum Side {
    Chatledger,
    Baseline,
}

/// Every writer appends one message at once; returns each append's latency.
async fn round(
    writers: &mut [Writer],
    prompt_version_id: Uuid,
    side: Side,
) -> anyhow::Result<Samples> {
    let appends = writers.iter_mut().map(|writer| async move {
        let started = Instant::now();
        match side {
            Side::Chatledger => append_through_chatledger(writer, prompt_version_id).await?,
            Side::Baseline => append_through_baseline(writer, prompt_version_id).await?,
        }
        anyhow::Ok(started.elapsed())
    });

    let mut samples = Samples::default();
    for latency in try_join_all(appends).await? {
        samples.push(latency);
    }
    Ok(samples)
}

async fn append_through_chatledger(
    writer: &mut Writer,
    prompt_version_id: Uuid,
) -> anyhow::Result<()> {
    let mut message = NewMessage::assistant(writer.conversation_id, CONTENT)
        .with_token_count(TOKENS)
        .generated_by(prompt_version_id, MODEL);
    message.finish_reason = Some(FINISH_REASON.to_owned());
    message.latency_ms = Some(LATENCY_MS);

    messages::append(&mut writer.connection, message).await?;
    Ok(())
}

async fn append_through_baseline(
    writer: &mut Writer,
    prompt_version_id: Uuid,
) -> anyhow::Result<()> {
    let id = Uuid::now_v7();
    let metadata = serde_json::json!({});
    let row = writer
        .client
        .query_one(
            &writer.prepared.append,
            &[
                &id,
                &writer.conversation_id,
                &Role(MessageRole::Assistant),
                &CONTENT,
                &Some(TOKENS),
                &Some(prompt_version_id),
                &Some(MODEL),
                &Some(FINISH_REASON),
                &Some(LATENCY_MS),
                &None::<serde_json::Value>,
                &None::<&str>,
                &metadata,
            ],
        )
        .await?;
    MessageRow::decode(&row)?;
    Ok(())
}

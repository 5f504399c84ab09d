//! Operation 4: ingesting many messages at once through the library's bulk path
//! (`messages::append_batch`), against the same `INSERT … SELECT FROM unnest` on a plain client and
//! against `psql \copy` of the same rows, PostgreSQL's own fastest path. All three go through
//! the row triggers.
//!
//! Each round writes into conversations created for it, which are deleted afterwards (and the
//! tables vacuumed at the end), so that the rounds and the later operations see the same tables.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use chatledger_domain::messages::{self, NewMessage};
use tokio_postgres::Client;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use super::Context;
use crate::baseline::{self, Role};
use crate::scale::MESSAGES_PER_CONVERSATION;
use crate::stats::median;
use crate::table::Row;

/// Rows per `INSERT`: the library's chunk.
const ROWS_PER_INSERT: usize = 10_000;

#[derive(Debug, Clone, Copy)]
enum Contender {
    Chatledger,
    Baseline,
    PsqlCopy,
}

/// Rounds of the three contenders in rotating order; the median rate of each.
pub async fn run(context: &Context) -> anyhow::Result<Vec<Row>> {
    let client = baseline::connect(&context.url).await?;
    let messages_per_round = context.scale.bulk_messages();
    let contenders = [
        Contender::Chatledger,
        Contender::Baseline,
        Contender::PsqlCopy,
    ];
    let mut rates: [Vec<f64>; 3] = [Vec::new(), Vec::new(), Vec::new()];

    // The first round warms the caches and is not counted.
    for round in 0..=context.repeat.unwrap_or(context.scale.bulk_rounds()) {
        for offset in 0..contenders.len() {
            let index = (round + offset) % contenders.len();
            let elapsed = ingest(context, &client, contenders[index], messages_per_round).await?;
            if round > 0 {
                rates[index].push(f64::from(messages_per_round) / elapsed.as_secs_f64());
            }
        }
    }
    client
        .batch_execute("VACUUM (ANALYZE) messages, conversations")
        .await?;

    let [chatledger, plain, copy] = rates.map(median);
    let scale = context.scale.label();
    let label = format!("bulk ingest {messages_per_round} messages");
    let against_copy = Row::throughput(
        format!("{label} vs psql \\copy"),
        scale,
        chatledger,
        Some(copy),
        "rows",
    );
    let met = against_copy.ratio().map(|ratio| ratio >= 0.8);
    let against_plain = Row::throughput(
        format!("{label} vs tokio-postgres"),
        scale,
        chatledger,
        Some(plain),
        "rows",
    );
    Ok(vec![
        against_copy.with_target("ratio >= 0.8", met),
        against_plain.with_target("no target", None),
    ])
}

/// Writes one round's messages with `contender` and returns how long the write took.
async fn ingest(
    context: &Context,
    client: &Client,
    contender: Contender,
    count: u32,
) -> anyhow::Result<Duration> {
    let conversations = count.div_ceil(MESSAGES_PER_CONVERSATION);
    let conversation_ids: Vec<Uuid> = client
        .query(
            "INSERT INTO conversations (user_id, title) \
             SELECT (SELECT id FROM users ORDER BY id LIMIT 1), 'bulk ' || n \
               FROM generate_series(1, $1) AS n RETURNING id",
            &[&i32::try_from(conversations)?],
        )
        .await?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()?;
    let batch = build_batch(&conversation_ids, count, context.prompt_version_id);

    let elapsed = match contender {
        Contender::Chatledger => {
            let mut connection = context.pool.get().await?;
            let started = Instant::now();
            messages::append_batch(&mut connection, batch).await?;
            started.elapsed()
        }
        Contender::Baseline => insert_plain(&context.url, &batch).await?,
        Contender::PsqlCopy => copy_with_psql(&context.url, &batch).await?,
    };

    client
        .execute(
            "DELETE FROM conversations WHERE id = ANY($1)",
            &[&conversation_ids],
        )
        .await?;
    Ok(elapsed)
}

/// `count` messages spread over the conversations in order, users' and answers' alternating.
fn build_batch(conversation_ids: &[Uuid], count: u32, prompt_version_id: Uuid) -> Vec<NewMessage> {
    let per_conversation = MESSAGES_PER_CONVERSATION as usize;
    (0..count as usize)
        .filter_map(|index| {
            let conversation_id = *conversation_ids.get(index / per_conversation)?;
            let text = format!("bulk message {index}, a line of ordinary length for a chat turn");
            let message = if index % 2 == 0 {
                NewMessage::user(conversation_id, text).with_token_count(12)
            } else {
                NewMessage::assistant(conversation_id, text)
                    .with_token_count(40)
                    .generated_by(prompt_version_id, "bench-model")
            };
            Some(message)
        })
        .collect()
}

/// The library's statements, written out: one transaction of `INSERT … SELECT FROM unnest`,
/// one per chunk, each column bound as one array.
async fn insert_plain(url: &str, batch: &[NewMessage]) -> anyhow::Result<Duration> {
    let mut client = baseline::connect(url).await?;
    let started = Instant::now();

    let transaction = client.transaction().await?;
    for chunk in batch.chunks(ROWS_PER_INSERT) {
        let ids: Vec<Uuid> = chunk.iter().map(|message| message.id).collect();
        let conversations: Vec<Uuid> = chunk.iter().map(|m| m.conversation_id).collect();
        let roles: Vec<Role> = chunk.iter().map(|message| Role(message.role)).collect();
        let contents: Vec<&str> = chunk.iter().map(|m| m.content.as_str()).collect();
        let token_counts: Vec<Option<i32>> = chunk.iter().map(|m| m.token_count).collect();
        let prompts: Vec<Option<Uuid>> = chunk.iter().map(|m| m.prompt_version_id).collect();
        let models: Vec<Option<&str>> = chunk.iter().map(|m| m.model_name.as_deref()).collect();
        let finishes: Vec<Option<&str>> =
            chunk.iter().map(|m| m.finish_reason.as_deref()).collect();
        let latencies: Vec<Option<i32>> = chunk.iter().map(|m| m.latency_ms).collect();
        let tool_calls: Vec<Option<serde_json::Value>> = chunk
            .iter()
            .map(|m| m.tool_calls.as_ref().map(|_| serde_json::json!([])))
            .collect();
        let call_ids: Vec<Option<&str>> = chunk.iter().map(|m| m.tool_call_id.as_deref()).collect();
        let metadata: Vec<&serde_json::Value> = chunk.iter().map(|m| &m.metadata).collect();
        let params: [&(dyn ToSql + Sync); 12] = [
            &ids,
            &conversations,
            &roles,
            &contents,
            &token_counts,
            &prompts,
            &models,
            &finishes,
            &latencies,
            &tool_calls,
            &call_ids,
            &metadata,
        ];
        transaction
            .execute(messages::BULK_INSERT_SQL, &params)
            .await?;
    }
    transaction.commit().await?;
    Ok(started.elapsed())
}

/// The same rows as CSV through `psql \copy`; the file is written before the clock starts.
async fn copy_with_psql(url: &str, batch: &[NewMessage]) -> anyhow::Result<Duration> {
    let mut csv = String::with_capacity(batch.len() * 160);
    for message in batch {
        let optional = |value: Option<String>| value.unwrap_or_default();
        writeln!(
            csv,
            "{},{},{},\"{}\",{},{},{},{},{},{{}}",
            message.id,
            message.conversation_id,
            message.role.as_str(),
            message.content.replace('"', "\"\""),
            optional(message.token_count.map(|value| value.to_string())),
            optional(message.prompt_version_id.map(|value| value.to_string())),
            optional(message.model_name.clone()),
            optional(message.finish_reason.clone()),
            optional(message.latency_ms.map(|value| value.to_string())),
        )?;
    }
    let file = tempfile_path()?;
    std::fs::write(&file, csv)?;

    let command = format!(
        "\\copy messages (id, conversation_id, role, content, token_count, prompt_version_id, \
         model_name, finish_reason, latency_ms, metadata) FROM '{}' WITH (FORMAT csv)",
        file.display()
    );
    let url = url.to_owned();
    let started = Instant::now();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("psql")
            .args([
                "--no-psqlrc",
                "--quiet",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                &url,
                "-c",
                &command,
            ])
            .output()
    })
    .await?
    .context("could not run psql (is it on PATH?)")?;
    let elapsed = started.elapsed();

    std::fs::remove_file(&file)?;
    if !output.status.success() {
        bail!(
            "psql \\copy failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(elapsed)
}

fn tempfile_path() -> anyhow::Result<std::path::PathBuf> {
    Ok(std::env::temp_dir().join(format!(
        "chatledger-bench-{}-{}.csv",
        std::process::id(),
        Uuid::now_v7()
    )))
}

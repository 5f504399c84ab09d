//! Writing several messages at once: a turn (the user's message, the answer and what was
//! retrieved for it, all or nothing) and the bulk path for seeding and benchmarks.

use chatledger_schema::schema::sql_types::MessageRole as SqlRole;
use diesel::sql_types::{Array, Integer, Jsonb, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};

use super::{Message, NewMessage};
use crate::error::{Error, InvalidReason};
use crate::retrievals::{self, NewRetrieval, Retrieval};

/// Rows per statement in [`append_batch`]: enough that a statement's own cost vanishes among
/// its rows, few enough that one statement's arrays stay a few megabytes.
const MESSAGES_PER_INSERT: usize = 10_000;

/// The statement [`append_batch`] sends for each chunk of up to 10 000 messages, public so that
/// a benchmark's hand-written client can send exactly the same.
///
/// Each column travels as one array, and `unnest` turns the arrays back into rows in the order
/// given. A multi-row `VALUES` list of the same rows reached 0.77 to 0.90 of the rows per second
/// of `psql \copy`; the arrays skip parsing and planning thousands of parameters
/// (docs/benchmarks.md, operation 4).
pub const BULK_INSERT_SQL: &str = "\
    INSERT INTO messages (id, conversation_id, role, content, token_count, prompt_version_id, \
                          model_name, finish_reason, latency_ms, tool_calls, tool_call_id, \
                          metadata) \
    SELECT id, conversation_id, role, content, token_count, prompt_version_id, model_name, \
           finish_reason, latency_ms, tool_calls, tool_call_id, metadata \
      FROM unnest($1::uuid[], $2::uuid[], $3::message_role[], $4::text[], $5::integer[], \
                  $6::uuid[], $7::text[], $8::text[], $9::integer[], $10::jsonb[], $11::text[], \
                  $12::jsonb[]) WITH ORDINALITY \
           AS given (id, conversation_id, role, content, token_count, prompt_version_id, \
                     model_name, finish_reason, latency_ms, tool_calls, tool_call_id, \
                     metadata, place) \
     ORDER BY place";

/// The messages of one exchange, with the chunks retrieved for them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewTurn {
    /// The messages, in the order they are to be written; all in one conversation.
    pub messages: Vec<NewMessage>,
    /// Retrievals, each for one of `messages` (by its id).
    pub retrievals: Vec<NewRetrieval>,
}

/// A turn as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    /// The messages with their positions, in the order given.
    pub messages: Vec<Message>,
    /// The retrievals, by message then rank.
    pub retrievals: Vec<Retrieval>,
}

/// Appends a turn in one transaction: every message and retrieval, or none of them.
#[tracing::instrument(
    name = "messages.append_turn",
    skip_all,
    fields(conversation_id = tracing::field::Empty, messages = turn.messages.len())
)]
pub async fn append_turn(conn: &mut AsyncPgConnection, turn: NewTurn) -> Result<Turn, Error> {
    let Some(first) = turn.messages.first() else {
        let rule = InvalidReason::Rule("a turn has at least one message");
        return Err(Error::invalid("messages", rule));
    };
    let conversation_id = first.conversation_id;
    tracing::Span::current().record("conversation_id", tracing::field::display(conversation_id));
    for (index, message) in turn.messages.iter().enumerate() {
        message.validate(&format!("messages[{index}]"))?;
        if message.conversation_id != conversation_id {
            let rule = InvalidReason::Rule("every message of a turn is in one conversation");
            return Err(Error::invalid(
                format!("messages[{index}].conversation_id"),
                rule,
            ));
        }
    }
    retrievals::validate_all(&turn.retrievals)?;
    for (index, retrieval) in turn.retrievals.iter().enumerate() {
        if !turn
            .messages
            .iter()
            .any(|message| message.id == retrieval.message_id)
        {
            let rule = InvalidReason::Rule("a retrieval of a turn is for one of its messages");
            return Err(Error::invalid(
                format!("retrievals[{index}].message_id"),
                rule,
            ));
        }
    }

    conn.transaction::<_, Error, _>(async move |conn| {
        let mut written = Vec::with_capacity(turn.messages.len());
        for message in &turn.messages {
            written.push(super::insert_one(conn, message).await?);
        }
        let retrievals = retrievals::insert(conn, &turn.retrievals).await?;
        Ok(Turn {
            messages: written,
            retrievals,
        })
    })
    .await
}

/// Appends many messages in one transaction, one `INSERT` per 10 000 of them, and returns how
/// many were written. Messages of one conversation take positions in the order given. Every message is checked before the first
/// is written; the first bad one is named by its index (`messages[41].content`).
#[tracing::instrument(name = "messages.append_batch", skip_all, fields(messages = batch.len()))]
pub async fn append_batch(
    conn: &mut AsyncPgConnection,
    batch: Vec<NewMessage>,
) -> Result<u64, Error> {
    for (index, message) in batch.iter().enumerate() {
        message.validate(&format!("messages[{index}]"))?;
    }
    if batch.is_empty() {
        return Ok(0);
    }

    conn.transaction::<_, Error, _>(async move |conn| {
        let mut written = 0_u64;
        for chunk in batch.chunks(MESSAGES_PER_INSERT) {
            let rows = insert_unnested(conn, chunk).await?;
            written += u64::try_from(rows).unwrap_or_default();
        }
        Ok(written)
    })
    .await
}

/// Writes `chunk` with one [`BULK_INSERT_SQL`].
async fn insert_unnested(
    conn: &mut AsyncPgConnection,
    chunk: &[NewMessage],
) -> Result<usize, diesel::result::Error> {
    fn column<'a, T>(chunk: &'a [NewMessage], field: impl Fn(&'a NewMessage) -> T) -> Vec<T> {
        chunk.iter().map(field).collect()
    }

    diesel::sql_query(BULK_INSERT_SQL)
        .bind::<Array<SqlUuid>, _>(column(chunk, |message| message.id))
        .bind::<Array<SqlUuid>, _>(column(chunk, |message| message.conversation_id))
        .bind::<Array<SqlRole>, _>(column(chunk, |message| message.role))
        .bind::<Array<Text>, _>(column(chunk, |message| message.content.as_str()))
        .bind::<Array<Nullable<Integer>>, _>(column(chunk, |message| message.token_count))
        .bind::<Array<Nullable<SqlUuid>>, _>(column(chunk, |message| message.prompt_version_id))
        .bind::<Array<Nullable<Text>>, _>(column(chunk, |message| message.model_name.as_deref()))
        .bind::<Array<Nullable<Text>>, _>(column(chunk, |message| message.finish_reason.as_deref()))
        .bind::<Array<Nullable<Integer>>, _>(column(chunk, |message| message.latency_ms))
        .bind::<Array<Nullable<Jsonb>>, _>(column(chunk, |message| message.tool_calls.as_ref()))
        .bind::<Array<Nullable<Text>>, _>(column(chunk, |message| message.tool_call_id.as_deref()))
        .bind::<Array<Jsonb>, _>(column(chunk, |message| &message.metadata))
        .execute(conn)
        .await
}

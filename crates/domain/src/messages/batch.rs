//! Writing several messages at once: a turn (the user's message, the answer and what was
//! retrieved for it, all or nothing) and the bulk path for seeding and benchmarks.

use chatledger_schema::schema::messages;
use diesel::SelectableHelper;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};

use super::{Message, NEW_MESSAGE_COLUMNS, NewMessage};
use crate::error::{Error, InvalidReason};
use crate::retrievals::{self, NewRetrieval, Retrieval};

/// PostgreSQL numbers bind parameters with 16 bits, so one statement takes at most this many.
const MAX_BIND_PARAMETERS: usize = 65_535;

/// Rows of [`NewMessage`] per multi-row `INSERT` in [`append_batch`].
const MESSAGES_PER_INSERT: usize = MAX_BIND_PARAMETERS / NEW_MESSAGE_COLUMNS;

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
            let row = diesel::insert_into(messages::table)
                .values(message)
                .returning(Message::as_returning())
                .get_result(conn)
                .await?;
            written.push(row);
        }
        let retrievals = retrievals::insert(conn, &turn.retrievals).await?;
        Ok(Turn {
            messages: written,
            retrievals,
        })
    })
    .await
}

/// Appends many messages in one transaction with multi-row `INSERT`s, each kept under
/// PostgreSQL's 65 535 bind parameters, and returns how many were written. Messages of one
/// conversation take positions in the order given. Every message is checked before the first
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
            let rows = diesel::insert_into(messages::table)
                .values(chunk)
                .execute(conn)
                .await?;
            written += u64::try_from(rows).unwrap_or_default();
        }
        Ok(written)
    })
    .await
}

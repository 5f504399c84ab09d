//! The queries of an export: one cursor over the messages that records are made of, read a
//! batch at a time, and the feedback and retrieved chunks of each page's candidates in one
//! query per kind, so that nothing grows with the size of the dataset.
//!
//! The cursor (`export_messages.sql`) starts from feedback, so only conversations with a
//! candidate are read, and then walks each of them once in position order, from its first
//! message to its last candidate. A conversation's earlier messages are therefore read once
//! however many of its answers are rated, and never once per answer or once per page.

use std::collections::{HashMap, VecDeque};

use chatledger_schema::schema::sql_types::{
    FeedbackRating as SqlFeedbackRating, MessageRole as SqlRole,
};
use chatledger_schema::schema::{embeddings, feedback, message_retrievals, messages};
use chatledger_schema::{FeedbackRating, MessageRole};
use diesel::dsl::exists;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Array, Bool, Integer, Jsonb, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::ExportFormat;

/// The rows an export reads, in (conversation, position) order.
const EXPORT_MESSAGES_SQL: &str = include_str!("export_messages.sql");

/// The cursor's name; one export runs per transaction, so one name suffices.
const CURSOR_NAME: &str = "chatledger_export_messages";

/// Rows fetched from the cursor per round trip: enough to make the round trips cheap, few
/// enough that a batch of long messages stays small.
const FETCH_ROWS: u32 = 2_048;

/// A message the export reads: the context of later candidates, and a candidate itself when
/// `is_candidate` says so.
#[derive(Debug, QueryableByName)]
pub(super) struct ExportMessage {
    #[diesel(sql_type = SqlUuid)]
    pub(super) id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub(super) conversation_id: Uuid,
    #[diesel(sql_type = SqlRole)]
    pub(super) role: MessageRole,
    #[diesel(sql_type = Text)]
    pub(super) content: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub(super) model_name: Option<String>,
    #[diesel(sql_type = Nullable<Jsonb>)]
    pub(super) tool_calls: Option<serde_json::Value>,
    #[diesel(sql_type = Nullable<Text>)]
    pub(super) tool_call_id: Option<String>,
    /// An assistant answer with feedback of a rating the format wants.
    #[diesel(sql_type = Bool)]
    pub(super) is_candidate: bool,
    #[diesel(sql_type = Nullable<Text>)]
    prompt_name: Option<String>,
    #[diesel(sql_type = Nullable<Integer>)]
    prompt_version: Option<i32>,
}

impl ExportMessage {
    /// The prompt version that produced the message, if one did.
    pub(super) fn prompt(&self) -> Option<PromptLabel<'_>> {
        let name = self.prompt_name.as_deref()?;
        let version = self.prompt_version?;
        Some(PromptLabel { name, version })
    }
}

/// The prompt version that produced a candidate.
#[derive(Debug, Clone, Copy)]
pub(super) struct PromptLabel<'m> {
    pub(super) name: &'m str,
    pub(super) version: i32,
}

/// One feedback row on a candidate.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = feedback, check_for_backend(Pg))]
pub(super) struct Feedback {
    pub(super) message_id: Uuid,
    pub(super) rating: FeedbackRating,
    pub(super) comment: Option<String>,
    pub(super) categories: Vec<String>,
    pub(super) correction: Option<String>,
}

/// Where a chunk ranked for a candidate.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = message_retrievals, check_for_backend(Pg))]
pub(super) struct Retrieval {
    pub(super) message_id: Uuid,
    pub(super) rank: i32,
    pub(super) score: f64,
}

/// The chunk a retrieval points at.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = embeddings, check_for_backend(Pg))]
pub(super) struct Chunk {
    pub(super) source_type: String,
    pub(super) source_id: String,
    pub(super) chunk_text: String,
}

/// A run of messages that ends with the page's last candidate (or with the last message), and
/// what its candidates' records need.
#[derive(Debug)]
pub(super) struct Page {
    /// In (conversation, position) order; a page may begin inside a conversation that the
    /// previous page began.
    pub(super) messages: Vec<ExportMessage>,
    /// Per candidate, its feedback from oldest to newest.
    pub(super) feedback: HashMap<Uuid, Vec<Feedback>>,
    /// Per candidate, its retrieved chunks by rank; empty unless the format wants them.
    pub(super) retrievals: HashMap<Uuid, Vec<(Retrieval, Chunk)>>,
}

impl Page {
    pub(super) fn candidates(&self) -> usize {
        self.messages
            .iter()
            .filter(|message| message.is_candidate)
            .count()
    }
}

/// The export's cursor, with the rows fetched but not yet handed out.
pub(super) struct MessageCursor {
    format: ExportFormat,
    fetched: VecDeque<ExportMessage>,
    exhausted: bool,
}

impl MessageCursor {
    /// Declares the cursor in the connection's transaction, which must be open; the cursor is
    /// closed when the transaction ends.
    pub(super) async fn open(
        connection: &mut AsyncPgConnection,
        format: ExportFormat,
    ) -> QueryResult<Self> {
        // The cursor's plan is index probes, which JIT compilation does not speed up; compiling
        // it took about 0.8 s of a 7 s export of 100 000 records (docs/benchmarks.md). `LOCAL`
        // ends the setting with the export's transaction.
        diesel::sql_query("SET LOCAL jit = off")
            .execute(connection)
            .await?;
        diesel::sql_query(format!(
            "DECLARE {CURSOR_NAME} NO SCROLL CURSOR FOR {EXPORT_MESSAGES_SQL}"
        ))
        .bind::<Array<SqlFeedbackRating>, _>(format.candidate_ratings())
        .execute(connection)
        .await?;
        Ok(Self {
            format,
            fetched: VecDeque::new(),
            exhausted: false,
        })
    }

    /// The next page of at most `page_size` candidates (at least one), with the messages before
    /// them that earlier pages did not hand out; `None` after the last page.
    pub(super) async fn next_page(
        &mut self,
        connection: &mut AsyncPgConnection,
        page_size: usize,
    ) -> QueryResult<Option<Page>> {
        let mut messages = Vec::new();
        let mut candidate_ids = Vec::new();
        while candidate_ids.len() < page_size.max(1) {
            let Some(message) = self.next_message(connection).await? else {
                break;
            };
            if message.is_candidate {
                candidate_ids.push(message.id);
            }
            messages.push(message);
        }
        if messages.is_empty() {
            return Ok(None);
        }

        let feedback = load_feedback(connection, &candidate_ids).await?;
        let retrievals = if self.format.includes_retrievals() {
            load_retrievals(connection, &candidate_ids).await?
        } else {
            HashMap::new()
        };
        Ok(Some(Page {
            messages,
            feedback,
            retrievals,
        }))
    }

    async fn next_message(
        &mut self,
        connection: &mut AsyncPgConnection,
    ) -> QueryResult<Option<ExportMessage>> {
        if self.fetched.is_empty() && !self.exhausted {
            let batch: Vec<ExportMessage> =
                diesel::sql_query(format!("FETCH FORWARD {FETCH_ROWS} FROM {CURSOR_NAME}"))
                    .load(connection)
                    .await?;
            self.exhausted = batch.len() < FETCH_ROWS as usize;
            self.fetched.extend(batch);
        }
        Ok(self.fetched.pop_front())
    }
}

/// Assistant messages with at least one feedback row rated as `format` wants.
#[diesel::dsl::auto_type]
fn is_candidate(ratings: &'static [FeedbackRating]) -> _ {
    let wanted_feedback = feedback::table
        .filter(feedback::message_id.eq(messages::id))
        .filter(feedback::rating.eq_any(ratings));
    let assistant: MessageRole = MessageRole::Assistant;
    messages::role.eq(assistant).and(exists(wanted_feedback))
}

/// How many candidates `format` will look at, for a progress bar's total.
pub(super) async fn count_candidates(
    connection: &mut AsyncPgConnection,
    format: ExportFormat,
) -> QueryResult<u64> {
    let count: i64 = messages::table
        .filter(is_candidate(format.candidate_ratings()))
        .count()
        .get_result(connection)
        .await?;
    Ok(u64::try_from(count).unwrap_or(0))
}

async fn load_feedback(
    connection: &mut AsyncPgConnection,
    candidate_ids: &[Uuid],
) -> QueryResult<HashMap<Uuid, Vec<Feedback>>> {
    if candidate_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<Feedback> = feedback::table
        .filter(feedback::message_id.eq_any(candidate_ids))
        .order((feedback::message_id, feedback::created_at, feedback::id))
        .select(Feedback::as_select())
        .load(connection)
        .await?;

    let mut by_message: HashMap<Uuid, Vec<Feedback>> = HashMap::new();
    for row in rows {
        by_message.entry(row.message_id).or_default().push(row);
    }
    Ok(by_message)
}

async fn load_retrievals(
    connection: &mut AsyncPgConnection,
    candidate_ids: &[Uuid],
) -> QueryResult<HashMap<Uuid, Vec<(Retrieval, Chunk)>>> {
    if candidate_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(Retrieval, Chunk)> = message_retrievals::table
        .inner_join(embeddings::table)
        .filter(message_retrievals::message_id.eq_any(candidate_ids))
        .order((message_retrievals::message_id, message_retrievals::rank))
        .select((Retrieval::as_select(), Chunk::as_select()))
        .load(connection)
        .await?;

    let mut by_message: HashMap<Uuid, Vec<(Retrieval, Chunk)>> = HashMap::new();
    for (retrieval, chunk) in rows {
        by_message
            .entry(retrieval.message_id)
            .or_default()
            .push((retrieval, chunk));
    }
    Ok(by_message)
}

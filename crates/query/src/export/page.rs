//! The queries of an export: one cursor over the messages that records are made of, read a
//! batch at a time, and the feedback and retrieved chunks of each page's candidates in one
//! query per kind, so that nothing grows with the size of the dataset.
//!
//! The cursor (`export_messages.sql`) starts from feedback, so only conversations with a
//! candidate are read, and then walks each of them once in position order, from its first
//! message to its last candidate. A conversation's earlier messages are therefore read once
//! however many of its answers are rated, and never once per answer or once per page.

use std::collections::{HashMap, VecDeque};
use std::pin::Pin;
use std::task::Poll;

use chatledger_schema::schema::sql_types::{
    FeedbackRating as SqlFeedbackRating, MessageRole as SqlRole,
};
use chatledger_schema::schema::{embeddings, feedback, message_retrievals, messages};
use chatledger_schema::{FeedbackRating, MessageRole};
use diesel::dsl::exists;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, Bool, Integer, Jsonb, Nullable, Text, Untyped, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::ExportFormat;

/// The rows an export reads, in (conversation, position) order.
const EXPORT_MESSAGES_SQL: &str = include_str!("export_messages.sql");

/// The cursor's name; one export runs per transaction, so one name suffices.
const CURSOR_NAME: &str = "chatledger_export_messages";

/// Rows fetched from the cursor per round trip: enough to make the round trips cheap, few
/// enough that a batch of long messages stays small.
const FETCH_ROWS: usize = 2_048;

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
    /// How many of the page's messages are candidates.
    pub(super) fn candidates(&self) -> usize {
        self.messages
            .iter()
            .filter(|message| message.is_candidate)
            .count()
    }
}

/// `FETCH FORWARD` from the export's cursor, as a query of its own type so that diesel
/// prepares it once and every later batch costs one round trip.
#[derive(Debug, Clone, Copy, QueryId)]
struct FetchBatch;

impl QueryFragment<Pg> for FetchBatch {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(&format!("FETCH FORWARD {FETCH_ROWS} FROM {CURSOR_NAME}"));
        Ok(())
    }
}

impl Query for FetchBatch {
    type SqlType = Untyped;
}

impl RunQueryDsl<&AsyncPgConnection> for FetchBatch {}

/// What a query sent ahead resolves to.
type Pending<'c, T> = Pin<Box<dyn Future<Output = QueryResult<T>> + Send + 'c>>;

/// A query sent to the server and not yet awaited, or its result when it was ready at once.
enum SentAhead<'c, T> {
    Sent(Pending<'c, T>),
    Ready(QueryResult<T>),
}

impl<'c, T> SentAhead<'c, T> {
    /// Polls `query` once, which writes it to the connection, so that the server works on it
    /// while the caller does something else. (A statement that diesel has not prepared yet only
    /// gets as far as the request to prepare it; that happens once per statement.)
    async fn send(mut query: Pending<'c, T>) -> Self {
        match std::future::poll_fn(|context| Poll::Ready(query.as_mut().poll(context))).await {
            Poll::Ready(result) => Self::Ready(result),
            Poll::Pending => Self::Sent(query),
        }
    }

    async fn result(self) -> QueryResult<T> {
        match self {
            Self::Sent(query) => query.await,
            Self::Ready(result) => result,
        }
    }
}

/// The export's cursor, with the rows fetched but not yet handed out and the next batch on its
/// way.
///
/// Queries go through a shared reference to the connection, which diesel-async pipelines: the
/// next batch is asked for right after a page's feedback and chunks, so the server reads it
/// while the client writes the page's records.
pub(super) struct MessageCursor<'c> {
    connection: &'c AsyncPgConnection,
    format: ExportFormat,
    fetched: VecDeque<ExportMessage>,
    next_batch: Option<SentAhead<'c, Vec<ExportMessage>>>,
    exhausted: bool,
}

impl<'c> MessageCursor<'c> {
    /// Declares the cursor in the connection's transaction, which must be open; the cursor is
    /// closed when the transaction ends.
    pub(super) async fn open(
        connection: &'c AsyncPgConnection,
        format: ExportFormat,
    ) -> QueryResult<Self> {
        let mut shared = connection;

        // The cursor's plan is index probes, which JIT compilation does not speed up; compiling
        // it took about 0.8 s of a 7 s export of 100 000 records (docs/benchmarks.md). `LOCAL`
        // ends the setting with the export's transaction.
        diesel::sql_query("SET LOCAL jit = off")
            .execute(&mut shared)
            .await?;
        diesel::sql_query(format!(
            "DECLARE {CURSOR_NAME} NO SCROLL CURSOR FOR {EXPORT_MESSAGES_SQL}"
        ))
        .bind::<Array<SqlFeedbackRating>, _>(format.candidate_ratings())
        .execute(&mut shared)
        .await?;
        Ok(Self {
            connection,
            format,
            fetched: VecDeque::new(),
            next_batch: None,
            exhausted: false,
        })
    }

    /// The next page of at most `page_size` candidates (at least one), with the messages before
    /// them that earlier pages did not hand out; `None` after the last page.
    pub(super) async fn next_page(&mut self, page_size: usize) -> QueryResult<Option<Page>> {
        // Responses come back in the order the queries were sent, and the connection stops
        // reading once a response that nobody reads fills its buffers: a query sent now would
        // wait behind the batch sent ahead, and this task would wait for that query. So the
        // batch is taken in first; it has had the whole previous page to arrive.
        if let Some(sent) = self.next_batch.take() {
            let batch = sent.result().await?;
            self.take_in(batch);
        }

        let mut messages = Vec::new();
        let mut candidate_ids = Vec::new();
        while candidate_ids.len() < page_size.max(1) {
            let Some(message) = self.next_message().await? else {
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

        // In this order on the wire: the server answers the page's own queries first and then
        // reads the next batch while the page is written.
        let feedback = SentAhead::send(Box::pin(load_feedback(
            self.connection,
            candidate_ids.clone(),
        )))
        .await;
        let retrievals = if self.format.includes_retrievals() {
            Some(SentAhead::send(Box::pin(load_retrievals(self.connection, candidate_ids))).await)
        } else {
            None
        };
        // Only while less than a batch is left, so that at most two batches wait here.
        if self.next_batch.is_none() && self.fetched.len() < FETCH_ROWS && !self.exhausted {
            self.next_batch = Some(SentAhead::send(self.fetch()).await);
        }

        let feedback = feedback.result().await?;
        let retrievals = match retrievals {
            Some(retrievals) => retrievals.result().await?,
            None => HashMap::new(),
        };
        Ok(Some(Page {
            messages,
            feedback,
            retrievals,
        }))
    }

    async fn next_message(&mut self) -> QueryResult<Option<ExportMessage>> {
        if self.fetched.is_empty() && !self.exhausted {
            let batch = match self.next_batch.take() {
                Some(sent) => sent.result().await?,
                None => self.fetch().await?,
            };
            self.take_in(batch);
        }
        Ok(self.fetched.pop_front())
    }

    fn take_in(&mut self, batch: Vec<ExportMessage>) {
        self.exhausted = batch.len() < FETCH_ROWS;
        self.fetched.extend(batch);
    }

    fn fetch(&self) -> Pending<'c, Vec<ExportMessage>> {
        let mut shared = self.connection;
        Box::pin(async move { FetchBatch.load(&mut shared).await })
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
    connection: &AsyncPgConnection,
    candidate_ids: Vec<Uuid>,
) -> QueryResult<HashMap<Uuid, Vec<Feedback>>> {
    let mut shared = connection;
    if candidate_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<Feedback> = feedback::table
        .filter(feedback::message_id.eq_any(&candidate_ids))
        .order((feedback::message_id, feedback::created_at, feedback::id))
        .select(Feedback::as_select())
        .load(&mut shared)
        .await?;

    let mut by_message: HashMap<Uuid, Vec<Feedback>> = HashMap::new();
    for row in rows {
        by_message.entry(row.message_id).or_default().push(row);
    }
    Ok(by_message)
}

async fn load_retrievals(
    connection: &AsyncPgConnection,
    candidate_ids: Vec<Uuid>,
) -> QueryResult<HashMap<Uuid, Vec<(Retrieval, Chunk)>>> {
    let mut shared = connection;
    if candidate_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(Retrieval, Chunk)> = message_retrievals::table
        .inner_join(embeddings::table)
        .filter(message_retrievals::message_id.eq_any(&candidate_ids))
        .order((message_retrievals::message_id, message_retrievals::rank))
        .select((Retrieval::as_select(), Chunk::as_select()))
        .load(&mut shared)
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

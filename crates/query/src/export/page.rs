//! The queries of an export: the rated messages from one cursor, the messages that records
//! are made of in batches of whole conversations, and the feedback and retrieved chunks of each
//! page's candidates in one query per kind, so that nothing grows with the size of the dataset.
//!
//! The cursor (`export_rated.sql`) lists the rated messages from feedback alone, which carries
//! their conversations and positions, so only conversations with a rating are read. Each batch
//! then asks for the messages of a run of such conversations, each from its first message up to
//! its last rated one, with one `conversation_id = ANY (…)` probe: PostgreSQL answers it with
//! one bitmap scan that reads each heap page of the run once, where a walk conversation by
//! conversation read one page per message (conversations that run at the same time share
//! pages). The batch comes back in heap order and is put in (conversation, position) order
//! here, where the rated assistant answers become the candidates. A conversation's earlier
//! messages are therefore read once however many of its answers are rated, and never once per
//! answer or once per page.

use std::collections::{HashMap, VecDeque};
use std::pin::Pin;
use std::task::Poll;

use chatledger_schema::schema::sql_types::FeedbackRating as SqlFeedbackRating;
use chatledger_schema::schema::{
    embeddings, feedback, message_retrievals, messages, prompt_versions,
};
use chatledger_schema::{FeedbackRating, MessageRole};
use diesel::dsl::exists;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, Bool, Integer, Untyped, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use uuid::Uuid;

use super::ExportFormat;

/// Where the messages rated as a format wants are, in (conversation, position) order.
const EXPORT_RATED_SQL: &str = include_str!("export_rated.sql");

/// The cursor's name; one export runs per transaction, so one name suffices.
const CURSOR_NAME: &str = "chatledger_export_rated";

/// Rated messages fetched from the cursor per round trip; each is two small columns.
const FETCH_RATED: usize = 4_096;

/// About how many messages a batch asks for (its conversations' last rated positions added
/// up): enough conversations that the ones which ran at the same time share the heap
/// pages that one scan reads, few enough that a batch stays a few megabytes. A conversation
/// longer than this is a batch of its own.
const BATCH_MESSAGES: usize = 8_192;

/// A message the export reads: the context of later candidates, and a candidate itself when
/// `is_candidate` says so. The fields are in the order of [`load_batch`]'s select.
#[derive(Debug, Queryable)]
pub(super) struct ExportMessage {
    pub(super) id: Uuid,
    pub(super) conversation_id: Uuid,
    position: i32,
    pub(super) role: MessageRole,
    pub(super) content: String,
    pub(super) model_name: Option<String>,
    pub(super) tool_calls: Option<serde_json::Value>,
    pub(super) tool_call_id: Option<String>,
    prompt_name: Option<String>,
    prompt_version: Option<i32>,
    /// An assistant answer with feedback of a rating the format wants; read as `false` and
    /// marked by the batch, which knows the ratings.
    pub(super) is_candidate: bool,
}

/// A rated message as the cursor lists it; a candidate when it turns out to be an assistant
/// answer.
#[derive(Debug, QueryableByName)]
struct RatedMessage {
    #[diesel(sql_type = SqlUuid)]
    conversation_id: Uuid,
    #[diesel(sql_type = Integer)]
    position: i32,
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
/// prepares it once and every later fetch costs one round trip.
#[derive(Debug, Clone, Copy, QueryId)]
struct FetchRated;

impl QueryFragment<Pg> for FetchRated {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(&format!("FETCH FORWARD {FETCH_RATED} FROM {CURSOR_NAME}"));
        Ok(())
    }
}

impl Query for FetchRated {
    type SqlType = Untyped;
}

impl RunQueryDsl<&AsyncPgConnection> for FetchRated {}

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

/// A run of whole conversations whose messages one query reads.
#[derive(Debug, Default)]
struct Batch {
    /// In the cursor's order, which is `conversation_id` order.
    conversations: Vec<WantedConversation>,
    /// The highest last rated position of the batch, which bounds the query's range scan.
    highest_position: i32,
    /// The messages the batch will hand out.
    messages: usize,
}

/// A conversation of a batch: its id and the positions of its rated messages, in order.
#[derive(Debug)]
struct WantedConversation {
    id: Uuid,
    rated_positions: Vec<i32>,
}

impl Batch {
    /// Adds one conversation, given the positions of all its rated messages in order.
    fn add(&mut self, id: Uuid, rated_positions: impl IntoIterator<Item = i32>) {
        let mut rated_positions: Vec<i32> = rated_positions.into_iter().collect();
        // A message rated twice is listed twice, next to itself.
        rated_positions.dedup();
        let Some(&last) = rated_positions.last() else {
            return;
        };
        self.conversations.push(WantedConversation {
            id,
            rated_positions,
        });
        self.highest_position = self.highest_position.max(last);
        self.messages += usize::try_from(last).unwrap_or(0);
    }

    fn conversation_ids(&self) -> Vec<Uuid> {
        self.conversations
            .iter()
            .map(|conversation| conversation.id)
            .collect()
    }

    /// The batch's messages in (conversation, position) order, each conversation up to its
    /// last rated message, with the candidates (the rated assistant answers) marked.
    ///
    /// The rows are ordered by a small key and then walked beside the batch's conversations,
    /// which come in the same order, so no row is moved more than once or hashed at all.
    fn arrange(&self, rows: Vec<ExportMessage>) -> Vec<ExportMessage> {
        let mut order: Vec<(Uuid, i32, usize)> = rows
            .iter()
            .enumerate()
            .map(|(index, row)| (row.conversation_id, row.position, index))
            .collect();
        order.sort_unstable();
        let mut rows: Vec<Option<ExportMessage>> = rows.into_iter().map(Some).collect();

        let mut arranged = Vec::with_capacity(order.len());
        let mut wanted = self.conversations.iter().peekable();
        let mut rated: &[i32] = &[];
        let mut current: Option<Uuid> = None;
        for (conversation_id, position, index) in order {
            if current != Some(conversation_id) {
                // Conversations the rows skip (none, in one snapshot) are passed over.
                while wanted.next_if(|next| next.id < conversation_id).is_some() {}
                let Some(conversation) = wanted.next_if(|next| next.id == conversation_id) else {
                    continue;
                };
                current = Some(conversation_id);
                rated = &conversation.rated_positions;
            }
            let Some((&next_rated, later)) = rated.split_first() else {
                // Past the conversation's last rated message.
                continue;
            };
            let is_rated = position == next_rated;
            if is_rated {
                rated = later;
            }
            if let Some(mut message) = rows.get_mut(index).and_then(Option::take) {
                message.is_candidate = is_rated && message.role == MessageRole::Assistant;
                arranged.push(message);
            }
        }
        arranged
    }
}

/// Reads `batch`'s messages; the statement is one, however many conversations the batch holds.
fn load_batch(connection: &AsyncPgConnection, batch: Batch) -> Pending<'_, Vec<ExportMessage>> {
    Box::pin(async move {
        let mut shared = connection;
        let rows: Vec<ExportMessage> = messages::table
            .left_join(prompt_versions::table)
            .filter(messages::conversation_id.eq_any(batch.conversation_ids()))
            .filter(messages::position.le(batch.highest_position))
            .select((
                messages::id,
                messages::conversation_id,
                messages::position,
                messages::role,
                messages::content,
                messages::model_name,
                messages::tool_calls,
                messages::tool_call_id,
                prompt_versions::name.nullable(),
                prompt_versions::version.nullable(),
                false.into_sql::<Bool>(),
            ))
            .load(&mut shared)
            .await?;
        Ok(batch.arrange(rows))
    })
}

/// The export's cursor and batches, with the messages read but not yet handed out and the
/// next batch on its way.
///
/// Queries go through a shared reference to the connection, which diesel-async pipelines: the
/// next batch is asked for right after a page's feedback and chunks, so the server reads it
/// while the client writes the page's records.
pub(super) struct MessageCursor<'c> {
    connection: &'c AsyncPgConnection,
    format: ExportFormat,
    /// Fetched from the cursor and not yet in a batch.
    rated: VecDeque<RatedMessage>,
    rated_exhausted: bool,
    fetched: VecDeque<ExportMessage>,
    next_batch: Option<SentAhead<'c, Vec<ExportMessage>>>,
}

impl<'c> MessageCursor<'c> {
    /// Declares the cursor in the connection's transaction, which must be open; the cursor and
    /// the settings are gone when the transaction ends.
    pub(super) async fn open(
        connection: &'c AsyncPgConnection,
        format: ExportFormat,
    ) -> QueryResult<Self> {
        let mut shared = connection;

        // The plans are scans and probes that JIT compilation does not speed up; compiling
        // them took about 0.8 s of a 7 s export of 100 000 records (docs/benchmarks.md).
        // Every row of the cursor is read, so it is planned for all of them, not for a fast
        // start. A batch's probe is planned for the batch it is given: a generic plan, which
        // PostgreSQL would switch to after five runs, cannot see how many conversations the
        // array holds.
        shared
            .batch_execute(
                "SET LOCAL jit = off; SET LOCAL cursor_tuple_fraction = 1; \
                 SET LOCAL plan_cache_mode = force_custom_plan",
            )
            .await?;
        diesel::sql_query(format!(
            "DECLARE {CURSOR_NAME} NO SCROLL CURSOR FOR {EXPORT_RATED_SQL}"
        ))
        .bind::<Array<SqlFeedbackRating>, _>(format.candidate_ratings())
        .execute(&mut shared)
        .await?;
        Ok(Self {
            connection,
            format,
            rated: VecDeque::new(),
            rated_exhausted: false,
            fetched: VecDeque::new(),
            next_batch: None,
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
            self.fetched.extend(sent.result().await?);
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

        // Planned now, while nothing is on the wire, because planning may fetch from the
        // cursor; only while less than a batch is left, so that at most two batches wait here.
        let ahead = if self.fetched.len() < BATCH_MESSAGES {
            self.plan_batch().await?
        } else {
            None
        };

        // In this order on the wire: the server answers the page's own queries first and then
        // reads the next batch while the page is written.
        let retrieval_ids = self
            .format
            .includes_retrievals()
            .then(|| candidate_ids.clone());
        let feedback =
            SentAhead::send(Box::pin(load_feedback(self.connection, candidate_ids))).await;
        let retrievals = match retrieval_ids {
            Some(ids) => {
                Some(SentAhead::send(Box::pin(load_retrievals(self.connection, ids))).await)
            }
            None => None,
        };
        if let Some(batch) = ahead {
            self.next_batch = Some(SentAhead::send(load_batch(self.connection, batch)).await);
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
        while self.fetched.is_empty() {
            let batch = match self.next_batch.take() {
                Some(sent) => sent.result().await?,
                None => match self.plan_batch().await? {
                    Some(batch) => load_batch(self.connection, batch).await?,
                    None => return Ok(None),
                },
            };
            self.fetched.extend(batch);
        }
        Ok(self.fetched.pop_front())
    }

    /// The next run of whole conversations, about [`BATCH_MESSAGES`] messages long; `None`
    /// once the cursor has no rated message left.
    async fn plan_batch(&mut self) -> QueryResult<Option<Batch>> {
        let mut batch = Batch::default();
        while batch.messages < BATCH_MESSAGES {
            let Some(conversation_length) = self.next_conversation_length().await? else {
                break;
            };
            let mut rated = self.rated.drain(..conversation_length).peekable();
            let Some(id) = rated.peek().map(|message| message.conversation_id) else {
                break;
            };
            batch.add(id, rated.map(|message| message.position));
        }
        Ok((!batch.conversations.is_empty()).then_some(batch))
    }

    /// How many of the fetched rated messages belong to the first conversation, once all of
    /// them are fetched; `None` when none is left.
    async fn next_conversation_length(&mut self) -> QueryResult<Option<usize>> {
        loop {
            if let Some(first) = self.rated.front() {
                let conversation = first.conversation_id;
                let next_conversation_starts = self
                    .rated
                    .iter()
                    .position(|message| message.conversation_id != conversation);
                if let Some(length) = next_conversation_starts {
                    return Ok(Some(length));
                }
                if self.rated_exhausted {
                    return Ok(Some(self.rated.len()));
                }
            } else if self.rated_exhausted {
                return Ok(None);
            }
            self.fetch_rated().await?;
        }
    }

    async fn fetch_rated(&mut self) -> QueryResult<()> {
        let mut shared = self.connection;
        let fetched: Vec<RatedMessage> = FetchRated.load(&mut shared).await?;
        self.rated_exhausted = fetched.len() < FETCH_RATED;
        self.rated.extend(fetched);
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A message of a conversation where the user speaks at odd positions and the assistant at
    /// even ones.
    fn row(conversation_id: Uuid, position: i32) -> ExportMessage {
        ExportMessage {
            id: Uuid::now_v7(),
            conversation_id,
            position,
            role: if position % 2 == 0 {
                MessageRole::Assistant
            } else {
                MessageRole::User
            },
            content: format!("message {position}"),
            model_name: None,
            tool_calls: None,
            tool_call_id: None,
            prompt_name: None,
            prompt_version: None,
            is_candidate: false,
        }
    }

    fn batch_of(conversations: &[(Uuid, &[i32])]) -> Batch {
        let mut batch = Batch::default();
        for &(conversation_id, positions) in conversations {
            batch.add(conversation_id, positions.iter().copied());
        }
        batch
    }

    #[test]
    fn a_batch_in_heap_order_comes_out_by_conversation_and_position_up_to_the_last_rating() {
        let first = Uuid::now_v7();
        let second = Uuid::now_v7();
        // The first conversation's answer at position 2 is rated twice; the second
        // conversation's rating at position 3 is on a user message.
        let batch = batch_of(&[(first, &[2, 2, 4]), (second, &[2, 3])]);
        // As a bitmap scan returns them: interleaved, and beyond each last rated message.
        let rows = [
            (second, 2),
            (first, 3),
            (second, 4),
            (first, 1),
            (second, 1),
            (first, 5),
            (first, 4),
            (second, 3),
            (first, 2),
        ]
        .into_iter()
        .map(|(conversation_id, position)| row(conversation_id, position))
        .collect();

        let arranged: Vec<(Uuid, String, bool)> = batch
            .arrange(rows)
            .into_iter()
            .map(|message| {
                (
                    message.conversation_id,
                    message.content,
                    message.is_candidate,
                )
            })
            .collect();

        let expected = [
            (first, 1, false),
            (first, 2, true),
            (first, 3, false),
            (first, 4, true),
            (second, 1, false),
            (second, 2, true),
            (second, 3, false),
        ]
        .map(|(conversation_id, position, is_candidate)| {
            (conversation_id, format!("message {position}"), is_candidate)
        });
        assert_eq!(arranged, expected);
        assert_eq!(batch.highest_position, 4);
        assert_eq!(batch.messages, 7);
    }
}

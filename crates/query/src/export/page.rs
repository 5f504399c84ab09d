//! The queries of an export: one cursor over the feedback of the rated messages, and the
//! messages that records are made of in batches of whole conversations, each with the retrieved
//! chunks of its rated messages, so that nothing grows with the size of the dataset.
//!
//! The cursor (`export_rated.sql`) lists feedback alone, which carries each rated message's
//! conversation and position, in conversation order. Its rows say which conversations to read
//! and how far, and they are the candidates' feedback as well, so no page waits for a query of
//! its own. Each batch then asks for the messages of a run of rated conversations, each from its
//! first message up to its last rated one, with one `conversation_id = ANY (…)` probe:
//! PostgreSQL answers it with one bitmap scan that reads each heap page of the run once, where a
//! walk conversation by conversation read one page per message (conversations that run at the
//! same time share pages). The batch comes back in heap order and is put in (conversation,
//! position) order here, where the rated assistant answers become the candidates. A
//! conversation's earlier messages are therefore read once however many of its answers are
//! rated, and never once per answer or once per page.
//!
//! Two batches are on their way while the client writes the records of a third: as soon as a
//! batch arrives, the next is sent, so the server keeps reading while the client writes.

use std::collections::{HashMap, VecDeque};
use std::pin::Pin;
use std::task::Poll;

use chatledger_schema::schema::{
    embeddings, feedback, message_retrievals, messages, prompt_versions,
};
use chatledger_schema::{FeedbackRating, MessageRole};
use diesel::dsl::exists;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Integer, Untyped, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use uuid::Uuid;

use super::ExportFormat;

/// The feedback of the rated messages, in (conversation, position) order.
const EXPORT_RATED_SQL: &str = include_str!("export_rated.sql");

/// The cursor's name; one export runs per transaction, so one name suffices.
const CURSOR_NAME: &str = "chatledger_export_rated";

/// Feedback rows fetched from the cursor per round trip, a few megabytes. The next fetch is sent
/// behind a batch once fewer than half of this are left, so its rows are there before they are
/// needed.
const FETCH_RATED: usize = 16_384;

/// About how many messages a batch asks for (its conversations' last rated positions added
/// up): enough conversations that the ones which ran at the same time share the heap
/// pages that one scan reads, few enough that a batch stays a few megabytes. A conversation
/// longer than this is a batch of its own.
const BATCH_MESSAGES: usize = 8_192;

/// Batches on their way while one is handed out. With one, the server sat idle while the
/// client took in the rows of the batch that had just arrived; two keep it reading.
const BATCHES_AHEAD: usize = 2;

/// A message the export reads: the context of later candidates, and a candidate itself when it
/// is an assistant answer with a rating the format wants, in which case the batch that read it
/// has given it all its feedback (and, when the format wants them, its retrieved chunks).
#[derive(Debug)]
pub(super) struct ExportMessage {
    pub(super) id: Uuid,
    pub(super) conversation_id: Uuid,
    position: i32,
    pub(super) role: MessageRole,
    pub(super) content: String,
    pub(super) model_name: Option<String>,
    pub(super) tool_calls: Option<serde_json::Value>,
    pub(super) tool_call_id: Option<String>,
    prompt_version_id: Option<Uuid>,
    /// From oldest to newest; empty unless the message is a candidate.
    pub(super) feedback: Vec<Feedback>,
    /// By rank; empty unless the message is a candidate and the format wants them.
    pub(super) retrievals: Vec<(Retrieval, Chunk)>,
}

impl ExportMessage {
    /// Whether the message's record is to be written: only candidates get feedback.
    pub(super) fn is_candidate(&self) -> bool {
        !self.feedback.is_empty()
    }
}

/// The columns of a message that [`load_batch`] selects, in its order.
type MessageRow = (
    Uuid,
    Uuid,
    i32,
    MessageRole,
    String,
    Option<String>,
    Option<serde_json::Value>,
    Option<String>,
    Option<Uuid>,
);

impl<ST> Queryable<ST, Pg> for ExportMessage
where
    MessageRow: diesel::deserialize::FromStaticSqlRow<ST, Pg>,
{
    type Row = MessageRow;

    fn build(row: MessageRow) -> diesel::deserialize::Result<Self> {
        Ok(Self {
            id: row.0,
            conversation_id: row.1,
            position: row.2,
            role: row.3,
            content: row.4,
            model_name: row.5,
            tool_calls: row.6,
            tool_call_id: row.7,
            prompt_version_id: row.8,
            feedback: Vec::new(),
            retrievals: Vec::new(),
        })
    }
}

/// A feedback row as the cursor lists it, with the place of the message it rates.
#[derive(Debug, QueryableByName)]
struct ListedFeedback {
    #[diesel(sql_type = SqlUuid)]
    conversation_id: Uuid,
    #[diesel(sql_type = Integer)]
    position: i32,
    #[diesel(embed)]
    feedback: Feedback,
}

/// The prompt version that produced a candidate.
#[derive(Debug, Clone, Copy)]
pub(super) struct PromptLabel<'m> {
    pub(super) name: &'m str,
    pub(super) version: i32,
}

/// The name and version of every prompt version, by id. Records name the prompt version of
/// their answer; a table of them read once costs the server less than a join in every batch,
/// which looked up the prompt version of each message it read. A deployment keeps hundreds
/// of prompt versions, not millions, so the table stays small.
#[derive(Debug)]
pub(super) struct PromptLabels(HashMap<Uuid, (String, i32)>);

impl PromptLabels {
    async fn load(connection: &AsyncPgConnection) -> QueryResult<Self> {
        let mut shared = connection;
        let rows: Vec<(Uuid, String, i32)> = prompt_versions::table
            .select((
                prompt_versions::id,
                prompt_versions::name,
                prompt_versions::version,
            ))
            .load(&mut shared)
            .await?;
        let labels = rows
            .into_iter()
            .map(|(id, name, version)| (id, (name, version)))
            .collect();
        Ok(Self(labels))
    }

    /// The prompt version that produced `message`, if one did.
    pub(super) fn of(&self, message: &ExportMessage) -> Option<PromptLabel<'_>> {
        let (name, version) = self.0.get(&message.prompt_version_id?)?;
        Some(PromptLabel {
            name,
            version: *version,
        })
    }
}

/// One feedback row on a candidate.
#[derive(Debug, QueryableByName)]
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

/// Per rated message, its retrieved chunks by rank.
type RetrievalsByMessage = HashMap<Uuid, Vec<(Retrieval, Chunk)>>;

/// A run of messages that ends with the page's last candidate (or with the last message).
#[derive(Debug, Default)]
pub(super) struct Page {
    /// In (conversation, position) order; a page may begin inside a conversation that the
    /// previous page began.
    pub(super) messages: Vec<ExportMessage>,
}

impl Page {
    /// How many of the page's messages are candidates.
    pub(super) fn candidates(&self) -> usize {
        self.messages
            .iter()
            .filter(|message| message.is_candidate())
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

/// A query handed to the connection and not yet awaited, or its result once it has one.
///
/// diesel-async starts a query only as far as a poll takes it, and a query that waits for the
/// statement cache's lock (while another query prepares its statement) is handed the lock
/// only to go on when it is polled again. A query that nobody polls then holds the lock, and
/// every query sent after it waits in turn, so that each reaches the server only when awaited.
/// The cursor therefore advances every query on its way, in the order they were sent, each time
/// it sends one and at every page.
enum SentAhead<'c, T> {
    Sent(Pending<'c, T>),
    Ready(QueryResult<T>),
}

impl<'c, T> SentAhead<'c, T> {
    /// Hands `query` to the connection and takes it as far as it goes without waiting.
    async fn send(query: Pending<'c, T>) -> Self {
        let mut sent = Self::Sent(query);
        sent.advance().await;
        sent
    }

    /// Polls the query once, if it has no result yet: it writes its request, reads what rows
    /// have arrived, or finishes.
    async fn advance(&mut self) {
        if let Self::Sent(query) = self {
            let polled =
                std::future::poll_fn(|context| Poll::Ready(query.as_mut().poll(context))).await;
            if let Poll::Ready(result) = polled {
                *self = Self::Ready(result);
            }
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

/// A conversation of a batch: its id and its rated messages, in order.
#[derive(Debug)]
struct WantedConversation {
    id: Uuid,
    rated: Vec<RatedMessage>,
}

/// A message with at least one rating the format wants, and all its feedback, oldest first.
#[derive(Debug)]
struct RatedMessage {
    position: i32,
    feedback: Vec<Feedback>,
}

impl Batch {
    /// Adds one conversation, given all the feedback on its messages in the cursor's order. Its
    /// rated messages are the ones with at least one rating in `wanted`; a conversation without
    /// any is left out.
    fn add(
        &mut self,
        id: Uuid,
        listed: impl IntoIterator<Item = ListedFeedback>,
        wanted: &[FeedbackRating],
    ) {
        let mut rated = Vec::new();
        let mut listed = listed.into_iter().peekable();
        while let Some(first) = listed.next() {
            let position = first.position;
            let mut message_feedback = vec![first.feedback];
            while let Some(more) = listed.next_if(|next| next.position == position) {
                message_feedback.push(more.feedback);
            }

            if message_feedback
                .iter()
                .any(|row| wanted.contains(&row.rating))
            {
                rated.push(RatedMessage {
                    position,
                    feedback: message_feedback,
                });
            }
        }

        let Some(last) = rated.last().map(|message| message.position) else {
            return;
        };
        self.conversations.push(WantedConversation { id, rated });
        self.highest_position = self.highest_position.max(last);
        self.messages += usize::try_from(last).unwrap_or(0);
    }

    fn conversation_ids(&self) -> Vec<Uuid> {
        self.conversations
            .iter()
            .map(|conversation| conversation.id)
            .collect()
    }

    /// The ids of the batch's rated messages, whatever their role.
    fn rated_message_ids(&self) -> Vec<Uuid> {
        self.conversations
            .iter()
            .flat_map(|conversation| &conversation.rated)
            .filter_map(|message| message.feedback.first())
            .map(|row| row.message_id)
            .collect()
    }

    /// The batch's messages in (conversation, position) order, each conversation up to its
    /// last rated message, with the candidates (the rated assistant answers) given their
    /// feedback.
    ///
    /// The rows are ordered by a small key and then walked beside the batch's conversations,
    /// which come in the same order, so no row is moved more than once or hashed at all.
    fn arrange(mut self, rows: Vec<ExportMessage>) -> Vec<ExportMessage> {
        let mut order: Vec<(Uuid, i32, usize)> = rows
            .iter()
            .enumerate()
            .map(|(index, row)| (row.conversation_id, row.position, index))
            .collect();
        order.sort_unstable();
        let mut rows: Vec<Option<ExportMessage>> = rows.into_iter().map(Some).collect();

        let mut arranged = Vec::with_capacity(order.len());
        let mut wanted = self.conversations.iter_mut().peekable();
        let mut rated = [].iter_mut();
        let mut current: Option<Uuid> = None;
        for (conversation_id, position, index) in order {
            if current != Some(conversation_id) {
                // Conversations the rows skip (none, in one snapshot) are passed over.
                while wanted.next_if(|next| next.id < conversation_id).is_some() {}
                let Some(conversation) = wanted.next_if(|next| next.id == conversation_id) else {
                    continue;
                };
                current = Some(conversation_id);
                rated = conversation.rated.iter_mut();
            }
            let Some(next_rated) = rated.as_slice().first().map(|message| message.position) else {
                // Past the conversation's last rated message.
                continue;
            };
            let feedback = if position == next_rated {
                rated
                    .next()
                    .map(|message| std::mem::take(&mut message.feedback))
            } else {
                None
            };
            if let Some(mut message) = rows.get_mut(index).and_then(Option::take) {
                if message.role == MessageRole::Assistant {
                    message.feedback = feedback.unwrap_or_default();
                }
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
                messages::prompt_version_id,
            ))
            .load(&mut shared)
            .await?;
        Ok(batch.arrange(rows))
    })
}

/// A batch whose queries are on the wire.
struct BatchOnItsWay<'c> {
    messages: SentAhead<'c, Vec<ExportMessage>>,
    retrievals: Option<SentAhead<'c, RetrievalsByMessage>>,
}

impl BatchOnItsWay<'_> {
    async fn advance(&mut self) {
        self.messages.advance().await;
        if let Some(retrievals) = &mut self.retrievals {
            retrievals.advance().await;
        }
    }

    /// Waits for the answers, in the order the queries were sent, and gives each candidate its
    /// chunks.
    async fn arrived(self) -> QueryResult<Vec<ExportMessage>> {
        let mut messages = self.messages.result().await?;
        if let Some(retrievals) = self.retrievals {
            let mut retrievals = retrievals.result().await?;
            for message in messages.iter_mut().filter(|message| message.is_candidate()) {
                message.retrievals = retrievals.remove(&message.id).unwrap_or_default();
            }
        }
        Ok(messages)
    }
}

impl<'c> BatchOnItsWay<'c> {
    /// Sends the queries of `batch`: its messages and, when `format` wants them, the chunks
    /// retrieved for its rated messages.
    async fn send(connection: &'c AsyncPgConnection, format: ExportFormat, batch: Batch) -> Self {
        let retrieval_ids = format
            .includes_retrievals()
            .then(|| batch.rated_message_ids());

        let messages = SentAhead::send(load_batch(connection, batch)).await;
        let retrievals = match retrieval_ids {
            Some(ids) => Some(SentAhead::send(Box::pin(load_retrievals(connection, ids))).await),
            None => None,
        };
        Self {
            messages,
            retrievals,
        }
    }
}

/// A query on the wire whose answer the cursor has not taken in yet.
enum Ahead<'c> {
    Batch(BatchOnItsWay<'c>),
    Fetch(SentAhead<'c, Vec<ListedFeedback>>),
}

impl Ahead<'_> {
    async fn advance(&mut self) {
        match self {
            Self::Batch(batch) => batch.advance().await,
            Self::Fetch(fetch) => fetch.advance().await,
        }
    }
}

/// The export's cursor and batches: the batch being handed out, and the queries on their way.
///
/// Queries go through a shared reference to the connection, which diesel-async pipelines.
/// Responses come back in the order the queries were sent, and the connection stops reading
/// once a response that nobody reads fills its buffers, so this task must take the answers in
/// in the order it sent the queries: awaiting a later one first would wait forever. The next
/// fetch from the cursor is therefore sent behind a batch, well before its rows are needed,
/// and taken in in its turn.
pub(super) struct MessageCursor<'c> {
    connection: &'c AsyncPgConnection,
    format: ExportFormat,
    prompts: PromptLabels,
    /// Fetched from the cursor and not yet in a batch.
    listed: VecDeque<ListedFeedback>,
    listed_exhausted: bool,
    /// The messages of the batch that arrived last, not yet handed out.
    arrived: std::vec::IntoIter<ExportMessage>,
    /// Batches that arrived while the cursor waited for a fetch behind them.
    waiting: VecDeque<Vec<ExportMessage>>,
    ahead: VecDeque<Ahead<'c>>,
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
        .execute(&mut shared)
        .await?;
        let prompts = PromptLabels::load(connection).await?;
        Ok(Self {
            connection,
            format,
            prompts,
            listed: VecDeque::new(),
            listed_exhausted: false,
            arrived: Vec::new().into_iter(),
            waiting: VecDeque::new(),
            ahead: VecDeque::new(),
        })
    }

    /// The names of the prompt versions that candidates come from.
    pub(super) fn prompts(&self) -> &PromptLabels {
        &self.prompts
    }

    /// The next page of at most `page_size` candidates (at least one), with the messages before
    /// them that earlier pages did not hand out; `None` after the last page.
    pub(super) async fn next_page(&mut self, page_size: usize) -> QueryResult<Option<Page>> {
        self.advance_ahead().await;
        let mut page = Page::default();
        let mut candidates = 0;
        while candidates < page_size.max(1) {
            let Some(message) = self.next_message().await? else {
                break;
            };
            if message.is_candidate() {
                candidates += 1;
            }
            page.messages.push(message);
        }
        Ok((!page.messages.is_empty()).then_some(page))
    }

    async fn next_message(&mut self) -> QueryResult<Option<ExportMessage>> {
        loop {
            if let Some(message) = self.arrived.next() {
                return Ok(Some(message));
            }
            match self.next_batch().await? {
                Some(batch) => self.arrived = batch.into_iter(),
                None => return Ok(None),
            }
        }
    }

    /// The next batch in the cursor's order, once the ones after it are on their way; `None`
    /// once no batch is left.
    async fn next_batch(&mut self) -> QueryResult<Option<Vec<ExportMessage>>> {
        loop {
            if let Some(batch) = self.waiting.pop_front() {
                self.send_ahead().await?;
                return Ok(Some(batch));
            }
            match self.ahead.pop_front() {
                Some(Ahead::Batch(on_its_way)) => {
                    let batch = on_its_way.arrived().await?;
                    self.send_ahead().await?;
                    return Ok(Some(batch));
                }
                Some(Ahead::Fetch(fetch)) => self.take_in_fetch(fetch.result().await?),
                None => {
                    self.send_ahead().await?;
                    if self.ahead.is_empty() {
                        return Ok(None);
                    }
                }
            }
        }
    }

    /// Sends batches until [`BATCHES_AHEAD`] are on their way or none is left, each followed
    /// by the next fetch from the cursor when the rows fetched run low.
    async fn send_ahead(&mut self) -> QueryResult<()> {
        while self.batches_ahead() < BATCHES_AHEAD {
            let Some(batch) = self.plan_batch().await? else {
                break;
            };
            let batch = BatchOnItsWay::send(self.connection, self.format, batch).await;
            self.ahead.push_back(Ahead::Batch(batch));

            let fetch_ahead = self
                .ahead
                .iter()
                .any(|query| matches!(query, Ahead::Fetch(_)));
            if self.listed.len() < FETCH_RATED / 2 && !self.listed_exhausted && !fetch_ahead {
                let fetch = SentAhead::send(Box::pin(fetch_listed(self.connection))).await;
                self.ahead.push_back(Ahead::Fetch(fetch));
            }
        }
        self.advance_ahead().await;
        Ok(())
    }

    /// Advances every query on its way, oldest first, and then lets the connection's driver
    /// run, which writes the requests and reads what the server has sent. On a current-thread
    /// runtime the driver runs only while this task waits.
    async fn advance_ahead(&mut self) {
        for query in &mut self.ahead {
            query.advance().await;
        }
        tokio::task::yield_now().await;
    }

    fn batches_ahead(&self) -> usize {
        let on_their_way = self
            .ahead
            .iter()
            .filter(|query| matches!(query, Ahead::Batch(_)))
            .count();
        self.waiting.len() + on_their_way
    }

    /// The next run of whole conversations, about [`BATCH_MESSAGES`] messages long; `None`
    /// once the cursor has no rated message left.
    async fn plan_batch(&mut self) -> QueryResult<Option<Batch>> {
        let wanted = self.format.candidate_ratings();
        let mut batch = Batch::default();
        while batch.messages < BATCH_MESSAGES {
            let Some(conversation_length) = self.next_conversation_length().await? else {
                break;
            };
            let mut listed = self.listed.drain(..conversation_length).peekable();
            let Some(id) = listed.peek().map(|row| row.conversation_id) else {
                break;
            };
            batch.add(id, listed, wanted);
        }
        Ok((!batch.conversations.is_empty()).then_some(batch))
    }

    /// How many of the fetched feedback rows belong to the first conversation, once all of
    /// them are fetched; `None` when none is left.
    async fn next_conversation_length(&mut self) -> QueryResult<Option<usize>> {
        loop {
            if let Some(first) = self.listed.front() {
                let conversation = first.conversation_id;
                let next_conversation_starts = self
                    .listed
                    .iter()
                    .position(|row| row.conversation_id != conversation);
                if let Some(length) = next_conversation_starts {
                    return Ok(Some(length));
                }
                if self.listed_exhausted {
                    return Ok(Some(self.listed.len()));
                }
            } else if self.listed_exhausted {
                return Ok(None);
            }
            self.fetch_now().await?;
        }
    }

    /// Fetches from the cursor while planning: takes in every query on its way up to the
    /// fetch sent ahead, or, when none was, all of them before fetching.
    async fn fetch_now(&mut self) -> QueryResult<()> {
        while let Some(query) = self.ahead.pop_front() {
            match query {
                Ahead::Batch(on_its_way) => self.waiting.push_back(on_its_way.arrived().await?),
                Ahead::Fetch(fetch) => {
                    self.take_in_fetch(fetch.result().await?);
                    return Ok(());
                }
            }
        }
        let fetched = fetch_listed(self.connection).await?;
        self.take_in_fetch(fetched);
        Ok(())
    }

    fn take_in_fetch(&mut self, fetched: Vec<ListedFeedback>) {
        self.listed_exhausted = fetched.len() < FETCH_RATED;
        self.listed.extend(fetched);
    }
}

async fn fetch_listed(connection: &AsyncPgConnection) -> QueryResult<Vec<ListedFeedback>> {
    let mut shared = connection;
    FetchRated.load(&mut shared).await
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

async fn load_retrievals(
    connection: &AsyncPgConnection,
    candidate_ids: Vec<Uuid>,
) -> QueryResult<RetrievalsByMessage> {
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

    let mut by_message = RetrievalsByMessage::new();
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
            prompt_version_id: None,
            feedback: Vec::new(),
            retrievals: Vec::new(),
        }
    }

    /// Feedback of `rating` on the message at `position` of `conversation_id`, as the cursor
    /// lists it; one message id per place, as in the table.
    fn listed(conversation_id: Uuid, position: i32, rating: FeedbackRating) -> ListedFeedback {
        let message_id = Uuid::from_u64_pair(conversation_id.as_u64_pair().0, position as u64);
        ListedFeedback {
            conversation_id,
            position,
            feedback: Feedback {
                message_id,
                rating,
                comment: None,
                categories: Vec::new(),
                correction: None,
            },
        }
    }

    fn batch_of(conversations: &[(Uuid, &[i32])]) -> Batch {
        let mut batch = Batch::default();
        for &(conversation_id, positions) in conversations {
            let rows = positions
                .iter()
                .map(|&position| listed(conversation_id, position, FeedbackRating::ThumbsUp));
            batch.add(conversation_id, rows, &FeedbackRating::ALL);
        }
        batch
    }

    #[test]
    fn a_batch_keeps_the_messages_with_a_wanted_rating_and_all_of_their_feedback() {
        let mixed = Uuid::now_v7();
        let unwanted_only = Uuid::now_v7();
        let wanted = [FeedbackRating::ThumbsDown];
        let mut batch = Batch::default();
        batch.add(
            mixed,
            [
                listed(mixed, 2, FeedbackRating::ThumbsUp),
                listed(mixed, 2, FeedbackRating::ThumbsDown),
                listed(mixed, 2, FeedbackRating::Neutral),
                listed(mixed, 4, FeedbackRating::ThumbsUp),
            ],
            &wanted,
        );
        batch.add(
            unwanted_only,
            [listed(unwanted_only, 6, FeedbackRating::ThumbsUp)],
            &wanted,
        );

        let conversations: Vec<(Uuid, Vec<i32>)> = batch
            .conversations
            .iter()
            .map(|conversation| {
                let positions = conversation.rated.iter().map(|message| message.position);
                (conversation.id, positions.collect())
            })
            .collect();
        assert_eq!(conversations, [(mixed, vec![2])]);
        assert_eq!(batch.highest_position, 2);
        assert_eq!(batch.messages, 2);

        let rated_message = listed(mixed, 2, FeedbackRating::ThumbsUp)
            .feedback
            .message_id;
        let ratings: Vec<Vec<FeedbackRating>> = batch
            .conversations
            .iter()
            .flat_map(|conversation| &conversation.rated)
            .map(|message| message.feedback.iter().map(|row| row.rating).collect())
            .collect();
        assert_eq!(batch.rated_message_ids(), [rated_message]);
        assert_eq!(
            ratings,
            [vec![
                FeedbackRating::ThumbsUp,
                FeedbackRating::ThumbsDown,
                FeedbackRating::Neutral
            ]]
        );
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

        let (highest_position, messages) = (batch.highest_position, batch.messages);
        let arranged: Vec<(Uuid, String, bool)> = batch
            .arrange(rows)
            .into_iter()
            .map(|message| {
                let is_candidate = message.is_candidate();
                (message.conversation_id, message.content, is_candidate)
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
        assert_eq!(highest_position, 4);
        assert_eq!(messages, 7);
    }
}

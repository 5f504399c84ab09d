//! A small ledger builder for the export tests: plain diesel inserts, one row per call.

#![expect(
    clippy::unwrap_used,
    reason = "a fixture that cannot be inserted must fail the test that asked for it"
)]

use chatledger_query::export::{self, ExportFormat, ExportOptions, ExportSummary, NoProgress};
use chatledger_schema::schema::{
    conversations, embeddings, feedback, message_retrievals, messages, prompt_versions, users,
};
use chatledger_schema::{FeedbackRating, MessageRole};
use chatledger_tests::TestDatabase;
use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

/// A message to append; the database assigns its position.
#[derive(Debug, Clone)]
pub struct Message {
    role: MessageRole,
    content: String,
    tool_calls: Option<Value>,
    tool_call_id: Option<String>,
    prompt_version_id: Option<Uuid>,
    model_name: Option<String>,
}

impl Message {
    fn new(role: MessageRole, content: &str) -> Self {
        Self {
            role,
            content: content.to_owned(),
            tool_calls: None,
            tool_call_id: None,
            prompt_version_id: None,
            model_name: None,
        }
    }

    pub fn system(content: &str) -> Self {
        Self::new(MessageRole::System, content)
    }

    pub fn user(content: &str) -> Self {
        Self::new(MessageRole::User, content)
    }

    pub fn assistant(content: &str) -> Self {
        Self::new(MessageRole::Assistant, content)
    }

    pub fn tool(call_id: &str, content: &str) -> Self {
        Self {
            tool_call_id: Some(call_id.to_owned()),
            ..Self::new(MessageRole::Tool, content)
        }
    }

    /// Tool calls as the ledger stores them: `[{"id", "name", "arguments"}]`.
    pub fn calling(mut self, tool_calls: Value) -> Self {
        self.tool_calls = Some(tool_calls);
        self
    }

    pub fn produced_by(mut self, prompt_version_id: Uuid, model_name: &str) -> Self {
        self.prompt_version_id = Some(prompt_version_id);
        self.model_name = Some(model_name.to_owned());
        self
    }
}

/// One feedback row to give.
#[derive(Debug, Clone)]
pub struct Rating {
    rating: FeedbackRating,
    correction: Option<String>,
    comment: Option<String>,
    categories: Vec<String>,
}

impl Rating {
    fn new(rating: FeedbackRating) -> Self {
        Self {
            rating,
            correction: None,
            comment: None,
            categories: Vec::new(),
        }
    }

    pub fn up() -> Self {
        Self::new(FeedbackRating::ThumbsUp)
    }

    pub fn down() -> Self {
        Self::new(FeedbackRating::ThumbsDown)
    }

    pub fn neutral() -> Self {
        Self::new(FeedbackRating::Neutral)
    }

    pub fn correcting(mut self, correction: &str) -> Self {
        self.correction = Some(correction.to_owned());
        self
    }

    pub fn commenting(mut self, comment: &str) -> Self {
        self.comment = Some(comment.to_owned());
        self
    }

    pub fn labelled(mut self, categories: &[&str]) -> Self {
        self.categories = categories
            .iter()
            .map(|&category| category.to_owned())
            .collect();
        self
    }
}

/// A test database with one user, and inserts that read like the story they set up.
pub struct Ledger {
    pub database: TestDatabase,
    pub connection: AsyncPgConnection,
    user_id: Uuid,
    /// Feedback gets strictly increasing timestamps, so "newest" is unambiguous.
    next_feedback_at: DateTime<Utc>,
}

impl Ledger {
    pub async fn new() -> Self {
        let database = TestDatabase::new().await;
        let mut connection = database.connect().await;
        let user_id = diesel::insert_into(users::table)
            .values(users::external_id.eq("rater-1"))
            .returning(users::id)
            .get_result(&mut connection)
            .await
            .unwrap();
        let next_feedback_at = Utc::now() - Duration::days(1);
        Self {
            database,
            connection,
            user_id,
            next_feedback_at,
        }
    }

    pub async fn conversation(&mut self) -> Uuid {
        diesel::insert_into(conversations::table)
            .values(conversations::user_id.eq(self.user_id))
            .returning(conversations::id)
            .get_result(&mut self.connection)
            .await
            .unwrap()
    }

    pub async fn append(&mut self, conversation_id: Uuid, message: Message) -> Uuid {
        diesel::insert_into(messages::table)
            .values((
                messages::conversation_id.eq(conversation_id),
                messages::role.eq(message.role),
                messages::content.eq(message.content),
                messages::tool_calls.eq(message.tool_calls),
                messages::tool_call_id.eq(message.tool_call_id),
                messages::prompt_version_id.eq(message.prompt_version_id),
                messages::model_name.eq(message.model_name),
            ))
            .returning(messages::id)
            .get_result(&mut self.connection)
            .await
            .unwrap()
    }

    /// Appends each message in turn and returns their ids.
    pub async fn thread(&mut self, conversation_id: Uuid, thread: Vec<Message>) -> Vec<Uuid> {
        let mut ids = Vec::new();
        for message in thread {
            ids.push(self.append(conversation_id, message).await);
        }
        ids
    }

    pub async fn rate(&mut self, message_id: Uuid, rating: Rating) {
        self.next_feedback_at += Duration::seconds(1);
        diesel::insert_into(feedback::table)
            .values((
                feedback::message_id.eq(message_id),
                feedback::user_id.eq(self.user_id),
                feedback::rating.eq(rating.rating),
                feedback::correction.eq(rating.correction),
                feedback::comment.eq(rating.comment),
                feedback::categories.eq(rating.categories),
                feedback::created_at.eq(self.next_feedback_at),
            ))
            .execute(&mut self.connection)
            .await
            .unwrap();
    }

    pub async fn prompt_version(&mut self, name: &str, version: i32) -> Uuid {
        diesel::insert_into(prompt_versions::table)
            .values((
                prompt_versions::name.eq(name),
                prompt_versions::version.eq(version),
                prompt_versions::template.eq("Answer {{question}}"),
            ))
            .returning(prompt_versions::id)
            .get_result(&mut self.connection)
            .await
            .unwrap()
    }

    /// Records that `chunk_text` (a new chunk of `source_id`) was retrieved for `message_id`.
    pub async fn retrieved(
        &mut self,
        message_id: Uuid,
        rank: i32,
        score: f64,
        source_id: &str,
        chunk_text: &str,
    ) {
        let embedding_id: Uuid = diesel::insert_into(embeddings::table)
            .values((
                embeddings::source_type.eq("document"),
                embeddings::source_id.eq(source_id),
                embeddings::chunk_index.eq(rank - 1),
                embeddings::chunk_text.eq(chunk_text),
                embeddings::model_name.eq("embed-small"),
                embeddings::dimensions.eq(8),
            ))
            .returning(embeddings::id)
            .get_result(&mut self.connection)
            .await
            .unwrap();
        diesel::insert_into(message_retrievals::table)
            .values((
                message_retrievals::message_id.eq(message_id),
                message_retrievals::embedding_id.eq(embedding_id),
                message_retrievals::rank.eq(rank),
                message_retrievals::score.eq(score),
            ))
            .execute(&mut self.connection)
            .await
            .unwrap();
    }

    /// Exports with `options` into memory and returns the raw text and the summary.
    pub async fn export_text(&mut self, options: &ExportOptions) -> (String, ExportSummary) {
        let mut output = Vec::new();
        let summary = export::export(&mut self.connection, options, &mut output, &mut NoProgress)
            .await
            .unwrap();
        (String::from_utf8(output).unwrap(), summary)
    }

    /// Exports `format` with default options and returns one parsed value per line.
    pub async fn export(&mut self, format: ExportFormat) -> (Vec<Value>, ExportSummary) {
        let (text, summary) = self.export_text(&ExportOptions::new(format)).await;
        (lines(&text), summary)
    }
}

/// Each line of an export, parsed; also checks that the text is newline-terminated JSON Lines.
pub fn lines(text: &str) -> Vec<Value> {
    if text.is_empty() {
        return Vec::new();
    }
    assert!(text.ends_with('\n'), "an export ends with a newline");
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// Runs `sql`, statements that set data up, and fails the test if the database refuses them.
pub async fn run_sql(connection: &mut AsyncPgConnection, sql: &str) {
    diesel_async::SimpleAsyncConnection::batch_execute(connection, sql)
        .await
        .unwrap();
}

/// The id of the message at `position` in `conversation_id`.
pub async fn message_at(
    connection: &mut AsyncPgConnection,
    conversation_id: Uuid,
    position: i32,
) -> Uuid {
    messages::table
        .filter(messages::conversation_id.eq(conversation_id))
        .filter(messages::position.eq(position))
        .select(messages::id)
        .get_result(connection)
        .await
        .unwrap()
}

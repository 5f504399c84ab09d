//! Builders for the report datasets: plain inserts through the schema's tables, so that the
//! reports are checked against rows written without the domain crate.

use chatledger_schema::schema::{
    conversations, embeddings, feedback, message_retrievals, messages, prompt_versions, users,
};
use chatledger_schema::{FeedbackRating, MessageRole};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

/// Tolerance for floating-point results.
pub const TOLERANCE: f64 = 1e-4;

/// Asserts that `actual` is within [`TOLERANCE`] of `expected`.
#[track_caller]
pub fn assert_close(actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() < TOLERANCE,
        "{actual} is not within {TOLERANCE} of {expected}"
    );
}

/// Asserts that `actual` is present and within [`TOLERANCE`] of `expected`.
#[track_caller]
pub fn assert_some_close(actual: Option<f64>, expected: f64) {
    match actual {
        Some(actual) => assert_close(actual, expected),
        None => panic!("expected {expected}, got None"),
    }
}

/// An instant written in RFC 3339.
pub fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

/// The instant most dataset messages are written at.
pub fn noon_day_one() -> DateTime<Utc> {
    at("2026-12-01T12:00:00Z")
}

/// A window of two days, 2026-12-01 and 2026-12-02; the fixtures put "outside" messages on
/// 2026-11-30.
pub fn two_day_window() -> chatledger_query::filters::TimeWindow {
    chatledger_query::filters::TimeWindow {
        since: Some(at("2026-12-01T00:00:00Z")),
        until: Some(at("2026-12-03T00:00:00Z")),
    }
}

/// A user.
pub async fn user(connection: &mut AsyncPgConnection, external_id: &str) -> Uuid {
    diesel::insert_into(users::table)
        .values(users::external_id.eq(external_id))
        .returning(users::id)
        .get_result(connection)
        .await
        .unwrap()
}

/// A conversation of `user_id`.
pub async fn conversation(connection: &mut AsyncPgConnection, user_id: Uuid) -> Uuid {
    diesel::insert_into(conversations::table)
        .values(conversations::user_id.eq(user_id))
        .returning(conversations::id)
        .get_result(connection)
        .await
        .unwrap()
}

/// A conversation of a new user, for datasets that do not care who talks.
pub async fn any_conversation(connection: &mut AsyncPgConnection) -> Uuid {
    let user_id = user(connection, &format!("user-{}", Uuid::now_v7())).await;
    conversation(connection, user_id).await
}

/// Version `version` of prompt `name`.
pub async fn prompt_version(
    connection: &mut AsyncPgConnection,
    name: &str,
    version: i32,
    is_active: bool,
) -> Uuid {
    diesel::insert_into(prompt_versions::table)
        .values((
            prompt_versions::name.eq(name),
            prompt_versions::version.eq(version),
            prompt_versions::template.eq("Answer {{question}}"),
            prompt_versions::is_active.eq(is_active),
        ))
        .returning(prompt_versions::id)
        .get_result(connection)
        .await
        .unwrap()
}

/// The columns of a message that the reports read.
#[derive(Debug, Clone)]
pub struct MessageSpec {
    role: MessageRole,
    token_count: Option<i32>,
    prompt_version_id: Option<Uuid>,
    model_name: Option<String>,
    finish_reason: Option<String>,
    latency_ms: Option<i32>,
    created_at: DateTime<Utc>,
}

impl MessageSpec {
    /// A message of `role` at noon on 2026-12-01, with nothing else set.
    pub fn new(role: MessageRole) -> Self {
        Self {
            role,
            token_count: None,
            prompt_version_id: None,
            model_name: None,
            finish_reason: None,
            latency_ms: None,
            created_at: noon_day_one(),
        }
    }

    /// An assistant message of `model`.
    pub fn answer(model: &str) -> Self {
        Self::new(MessageRole::Assistant).model(model)
    }

    /// With a token count.
    pub fn tokens(mut self, token_count: i32) -> Self {
        self.token_count = Some(token_count);
        self
    }

    /// Produced by a prompt version.
    pub fn version(mut self, prompt_version_id: Uuid) -> Self {
        self.prompt_version_id = Some(prompt_version_id);
        self
    }

    /// Of a model.
    pub fn model(mut self, model_name: &str) -> Self {
        self.model_name = Some(model_name.to_owned());
        self
    }

    /// With a finish reason.
    pub fn finish(mut self, finish_reason: &str) -> Self {
        self.finish_reason = Some(finish_reason.to_owned());
        self
    }

    /// With a latency.
    pub fn latency(mut self, latency_ms: i32) -> Self {
        self.latency_ms = Some(latency_ms);
        self
    }

    /// Created at `created_at` (RFC 3339).
    pub fn at(mut self, created_at: &str) -> Self {
        self.created_at = at(created_at);
        self
    }

    /// Inserts the message into `conversation_id`.
    pub async fn insert(&self, connection: &mut AsyncPgConnection, conversation_id: Uuid) -> Uuid {
        let tool_call_id = (self.role == MessageRole::Tool).then(|| "call_1".to_owned());
        diesel::insert_into(messages::table)
            .values((
                messages::conversation_id.eq(conversation_id),
                messages::role.eq(self.role),
                messages::content.eq("text"),
                messages::token_count.eq(self.token_count),
                messages::prompt_version_id.eq(self.prompt_version_id),
                messages::model_name.eq(self.model_name.clone()),
                messages::finish_reason.eq(self.finish_reason.clone()),
                messages::latency_ms.eq(self.latency_ms),
                messages::tool_call_id.eq(tool_call_id),
                messages::created_at.eq(self.created_at),
            ))
            .returning(messages::id)
            .get_result(connection)
            .await
            .unwrap()
    }
}

/// A feedback record on `message_id`.
pub async fn rate(
    connection: &mut AsyncPgConnection,
    message_id: Uuid,
    rating: FeedbackRating,
    categories: &[&str],
) {
    let categories: Vec<String> = categories.iter().map(|&label| label.to_owned()).collect();
    diesel::insert_into(feedback::table)
        .values((
            feedback::message_id.eq(message_id),
            feedback::rating.eq(rating),
            feedback::categories.eq(categories),
        ))
        .execute(connection)
        .await
        .unwrap();
}

/// A chunk of a source embedded by `model_name` at `dimensions`.
pub async fn embedding(
    connection: &mut AsyncPgConnection,
    (source_type, source_id, chunk_index): (&str, &str, i32),
    model_name: &str,
    dimensions: i32,
) -> Uuid {
    diesel::insert_into(embeddings::table)
        .values((
            embeddings::source_type.eq(source_type),
            embeddings::source_id.eq(source_id),
            embeddings::chunk_index.eq(chunk_index),
            embeddings::chunk_text.eq("chunk"),
            embeddings::model_name.eq(model_name),
            embeddings::dimensions.eq(dimensions),
        ))
        .returning(embeddings::id)
        .get_result(connection)
        .await
        .unwrap()
}

/// Records that `embedding_ids` were retrieved, in that rank order, for `message_id`.
pub async fn retrieve(
    connection: &mut AsyncPgConnection,
    message_id: Uuid,
    embedding_ids: &[Uuid],
) {
    let rows: Vec<_> = embedding_ids
        .iter()
        .zip(1..)
        .map(|(&embedding_id, rank)| {
            (
                message_retrievals::message_id.eq(message_id),
                message_retrievals::embedding_id.eq(embedding_id),
                message_retrievals::rank.eq(rank),
                message_retrievals::score.eq(0.5),
            )
        })
        .collect();
    diesel::insert_into(message_retrievals::table)
        .values(rows)
        .execute(connection)
        .await
        .unwrap();
}

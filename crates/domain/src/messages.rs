//! Messages: the ledger itself, who said what in which conversation and at what cost.
//!
//! The database numbers each message (`position`) and adds its tokens to the conversation in
//! the same trigger that locks the conversation's row, so concurrent appends need nothing from
//! this module to stay consistent. Here we check what goes in: the tool-call rules of each role,
//! counts that cannot be negative, text that PostgreSQL can store, metadata without secrets.

mod batch;
mod tool_calls;

use chatledger_schema::MessageRole;
use chatledger_schema::schema::{conversations, messages};
use chrono::{DateTime, Utc};
use diesel::{ExpressionMethods, QueryDsl, SelectableHelper};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use self::batch::{BULK_INSERT_SQL, NewTurn, Turn, append_batch, append_turn};
pub use self::tool_calls::{ToolCall, ToolCalls};
use crate::error::{Error, InvalidReason};
use crate::guard;
use crate::page::{Page, PageRequest};
use crate::sql_text::SqlTextCache;

/// A message as stored.
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, diesel::Queryable, diesel::Selectable,
)]
#[diesel(table_name = messages, check_for_backend(diesel::pg::Pg))]
pub struct Message {
    /// Time-ordered (v7) id.
    pub id: Uuid,
    /// The conversation it belongs to.
    pub conversation_id: Uuid,
    /// Its place in the conversation, from 1, assigned by the database.
    pub position: i32,
    /// Who wrote it.
    pub role: MessageRole,
    /// The text; empty for an assistant message that only calls tools.
    pub content: String,
    /// Tokens as counted by the model's tokenizer, if known.
    pub token_count: Option<i32>,
    /// The prompt version that produced it, if any.
    pub prompt_version_id: Option<Uuid>,
    /// The model that generated it, if any.
    pub model_name: Option<String>,
    /// Why generation stopped, as the provider says.
    pub finish_reason: Option<String>,
    /// Time from request to full response, in milliseconds.
    pub latency_ms: Option<i32>,
    /// The tool calls an assistant message made.
    pub tool_calls: Option<ToolCalls>,
    /// For a tool message, the id of the call it answers.
    pub tool_call_id: Option<String>,
    /// Free-form JSON object, free of secrets.
    pub metadata: serde_json::Value,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}

/// A message to append. The database assigns its position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, diesel::Insertable)]
#[diesel(table_name = messages, check_for_backend(diesel::pg::Pg))]
// No column written here has a database default other than NULL, so None binds NULL;
// that keeps the INSERT one statement that diesel can prepare once and cache.
#[diesel(treat_none_as_default_value = false)]
pub struct NewMessage {
    /// The id to create it under; the constructors make a fresh v7 id.
    pub id: Uuid,
    /// The conversation, which must exist.
    pub conversation_id: Uuid,
    /// Who wrote it.
    pub role: MessageRole,
    /// The text.
    pub content: String,
    /// Tokens, if known; not negative.
    pub token_count: Option<i32>,
    /// The prompt version that produced it, if any.
    pub prompt_version_id: Option<Uuid>,
    /// The model that generated it, if any.
    pub model_name: Option<String>,
    /// Why generation stopped, if known.
    pub finish_reason: Option<String>,
    /// Time from request to full response, in milliseconds; not negative.
    pub latency_ms: Option<i32>,
    /// Tool calls; only an assistant message may carry them.
    pub tool_calls: Option<ToolCalls>,
    /// The call a tool message answers; required for a tool message and only there.
    pub tool_call_id: Option<String>,
    /// Free-form JSON object; secrets are refused.
    pub metadata: serde_json::Value,
}

impl NewMessage {
    /// A message of `role` with `content` and nothing else set.
    pub fn new(conversation_id: Uuid, role: MessageRole, content: impl Into<String>) -> Self {
        Self {
            id: Uuid::now_v7(),
            conversation_id,
            role,
            content: content.into(),
            token_count: None,
            prompt_version_id: None,
            model_name: None,
            finish_reason: None,
            latency_ms: None,
            tool_calls: None,
            tool_call_id: None,
            metadata: serde_json::json!({}),
        }
    }

    /// What the person typed.
    pub fn user(conversation_id: Uuid, content: impl Into<String>) -> Self {
        Self::new(conversation_id, MessageRole::User, content)
    }

    /// What the model answered.
    pub fn assistant(conversation_id: Uuid, content: impl Into<String>) -> Self {
        Self::new(conversation_id, MessageRole::Assistant, content)
    }

    /// The result of the tool call `tool_call_id`.
    pub fn tool(
        conversation_id: Uuid,
        tool_call_id: impl Into<String>,
        content: impl Into<String>,
    ) -> Self {
        let mut message = Self::new(conversation_id, MessageRole::Tool, content);
        message.tool_call_id = Some(tool_call_id.into());
        message
    }

    /// The same message with a token count.
    pub fn with_token_count(mut self, token_count: i32) -> Self {
        self.token_count = Some(token_count);
        self
    }

    /// The same message, produced by `prompt_version_id` on `model_name`.
    pub fn generated_by(mut self, prompt_version_id: Uuid, model_name: impl Into<String>) -> Self {
        self.prompt_version_id = Some(prompt_version_id);
        self.model_name = Some(model_name.into());
        self
    }

    /// The same message carrying `calls`.
    pub fn with_tool_calls(mut self, calls: Vec<ToolCall>) -> Self {
        self.tool_calls = Some(ToolCalls(calls));
        self
    }

    /// The same message with `metadata`.
    pub fn with_metadata(mut self, metadata: serde_json::Value) -> Self {
        self.metadata = metadata;
        self
    }

    /// Checks every rule; `field` prefixes the paths in errors (`messages[3]`, or empty).
    pub(crate) fn validate(&self, field: &str) -> Result<(), Error> {
        let at = |name: &str| {
            if field.is_empty() {
                name.to_owned()
            } else {
                format!("{field}.{name}")
            }
        };

        guard::text(&at("content"), &self.content)?;
        guard::count(&at("token_count"), self.token_count)?;
        guard::count(&at("latency_ms"), self.latency_ms)?;
        guard::optional_text(&at("model_name"), self.model_name.as_deref())?;
        guard::optional_text(&at("finish_reason"), self.finish_reason.as_deref())?;
        guard::metadata(&at("metadata"), &self.metadata)?;

        match (&self.tool_call_id, self.role) {
            (Some(call_id), MessageRole::Tool) => guard::name(&at("tool_call_id"), call_id)?,
            (None, MessageRole::Tool) => {
                let rule = InvalidReason::Rule("a tool message names the call it answers");
                return Err(Error::invalid(at("tool_call_id"), rule));
            }
            (Some(_), _) => {
                let rule = InvalidReason::Rule("only a tool message answers a tool call");
                return Err(Error::invalid(at("tool_call_id"), rule));
            }
            (None, _) => {}
        }

        if let Some(calls) = &self.tool_calls {
            if self.role != MessageRole::Assistant {
                let rule = InvalidReason::Rule("only an assistant message makes tool calls");
                return Err(Error::invalid(at("tool_calls"), rule));
            }
            for (index, call) in calls.iter().enumerate() {
                guard::name(&at(&format!("tool_calls[{index}].id")), &call.id)?;
                guard::name(&at(&format!("tool_calls[{index}].name")), &call.name)?;
                guard::json(
                    &at(&format!("tool_calls[{index}].arguments")),
                    &call.arguments,
                )?;
            }
        }
        Ok(())
    }
}

/// Where the next page of a history starts: the position of the last message returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryCursor {
    /// `position` of the last message returned.
    pub position: i32,
}

/// Appends one message and returns it with its position. A missing conversation is
/// [`Error::NotFound`].
#[tracing::instrument(
    name = "messages.append",
    skip_all,
    fields(conversation_id = %new.conversation_id, message_id = %new.id)
)]
pub async fn append(conn: &mut AsyncPgConnection, new: NewMessage) -> Result<Message, Error> {
    new.validate("")?;

    Ok(insert_one(conn, &new).await?)
}

/// The one-row `INSERT` that [`append`] and a turn's messages share; `message` is validated.
pub(crate) async fn insert_one(
    conn: &mut AsyncPgConnection,
    message: &NewMessage,
) -> diesel::QueryResult<Message> {
    diesel::insert_into(messages::table)
        .values(message)
        .returning(Message::as_returning())
        .with_cached_sql_text()
        .get_result(conn)
        .await
}

/// A page of a conversation's messages in the order they were written. A missing conversation
/// is [`Error::NotFound`].
#[tracing::instrument(
    name = "messages.history",
    skip_all,
    fields(conversation_id = %conversation_id)
)]
pub async fn history(
    conn: &mut AsyncPgConnection,
    conversation_id: Uuid,
    page: &PageRequest<HistoryCursor>,
) -> Result<Page<Message, HistoryCursor>, Error> {
    let fetch = page.fetch_limit()?;

    let after = page.after.map_or(0, |cursor| cursor.position);
    let rows: Vec<Message> = messages::table
        .filter(messages::conversation_id.eq(conversation_id))
        .filter(messages::position.gt(after))
        .order(messages::position.asc())
        .limit(fetch)
        .select(Message::as_select())
        .with_cached_sql_text()
        .load(conn)
        .await?;

    // An empty page is also what a missing conversation looks like; only then is it worth asking.
    if rows.is_empty() {
        let exists: i64 = conversations::table
            .find(conversation_id)
            .count()
            .get_result(conn)
            .await?;
        if exists == 0 {
            return Err(Error::not_found("conversation", conversation_id));
        }
    }

    Ok(Page::from_rows(rows, page.limit, |last: &Message| {
        HistoryCursor {
            position: last.position,
        }
    }))
}

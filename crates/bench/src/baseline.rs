//! The hand-written client that chatledger is measured against: tokio-postgres with prepared
//! statements, sending the statements the library sends (checked against the server's
//! `log_statement = all` output) and decoding every column the library decodes, so that the
//! difference between the two is the cost of the library's own layers.

use std::error::Error as StdError;

use anyhow::Context;
use bytes::BytesMut;
use chatledger_schema::MessageRole;
use chrono::{DateTime, Utc};
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};
use tokio_postgres::{Client, NoTls, Row, Statement};
use uuid::Uuid;

/// The library's single-row append: every column of `NewMessage`, the ones left `None` bound as
/// NULL, returning the whole row.
pub const APPEND_SQL: &str = "INSERT INTO \"messages\" (\"id\", \"conversation_id\", \"role\", \
    \"content\", \"token_count\", \"prompt_version_id\", \"model_name\", \"finish_reason\", \
    \"latency_ms\", \"tool_calls\", \"tool_call_id\", \"metadata\") \
    VALUES ($1, $2, $3::message_role, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING \
    \"messages\".\"id\", \"messages\".\"conversation_id\", \"messages\".\"position\", \
    \"messages\".\"role\", \"messages\".\"content\", \"messages\".\"token_count\", \
    \"messages\".\"prompt_version_id\", \"messages\".\"model_name\", \
    \"messages\".\"finish_reason\", \"messages\".\"latency_ms\", \"messages\".\"tool_calls\", \
    \"messages\".\"tool_call_id\", \"messages\".\"metadata\", \"messages\".\"created_at\"";

/// The library's `prompts::active`.
pub const ACTIVE_PROMPT_SQL: &str = "SELECT \"prompt_versions\".\"id\", \
    \"prompt_versions\".\"name\", \"prompt_versions\".\"version\", \
    \"prompt_versions\".\"template\", \"prompt_versions\".\"variables\", \
    \"prompt_versions\".\"model_name\", \"prompt_versions\".\"is_active\", \
    \"prompt_versions\".\"notes\", \"prompt_versions\".\"metadata\", \
    \"prompt_versions\".\"created_by\", \"prompt_versions\".\"created_at\" \
    FROM \"prompt_versions\" WHERE ((\"prompt_versions\".\"name\" = $1) AND \
    \"prompt_versions\".\"is_active\") LIMIT $2";

/// The library's `messages::history`.
pub const HISTORY_SQL: &str = "SELECT \"messages\".\"id\", \"messages\".\"conversation_id\", \
    \"messages\".\"position\", \"messages\".\"role\", \"messages\".\"content\", \
    \"messages\".\"token_count\", \"messages\".\"prompt_version_id\", \
    \"messages\".\"model_name\", \"messages\".\"finish_reason\", \"messages\".\"latency_ms\", \
    \"messages\".\"tool_calls\", \"messages\".\"tool_call_id\", \"messages\".\"metadata\", \
    \"messages\".\"created_at\" FROM \"messages\" WHERE ((\"messages\".\"conversation_id\" = $1) \
    AND (\"messages\".\"position\" > $2)) ORDER BY \"messages\".\"position\" ASC LIMIT $3";

/// Opens one connection, named `chatledger-bench-baseline` in `pg_stat_activity`; its driver
/// task ends when the client is dropped.
pub async fn connect(url: &str) -> anyhow::Result<Client> {
    let mut config: tokio_postgres::Config =
        url.parse().context("the database URL is not valid")?;
    config.application_name("chatledger-bench-baseline");
    let (client, connection) = config
        .connect(NoTls)
        .await
        .context("the baseline client could not connect")?;
    tokio::spawn(async move {
        // The connection ends with an error only when the server goes away, which the next
        // query on the client reports.
        let _ = connection.await;
    });
    Ok(client)
}

/// A message row decoded field by field, as the library's `Message` is.
#[derive(Debug)]
#[expect(
    dead_code,
    reason = "decoded to do the work the library does, and never read"
)]
pub struct MessageRow {
    /// The message id.
    pub id: Uuid,
    /// Its conversation.
    pub conversation_id: Uuid,
    /// Its position.
    pub position: i32,
    /// Who wrote it.
    pub role: MessageRole,
    /// The text.
    pub content: String,
    /// The token count.
    pub token_count: Option<i32>,
    /// The prompt version.
    pub prompt_version_id: Option<Uuid>,
    /// The model.
    pub model_name: Option<String>,
    /// Why generation stopped.
    pub finish_reason: Option<String>,
    /// Latency in milliseconds.
    pub latency_ms: Option<i32>,
    /// Tool calls.
    pub tool_calls: Option<serde_json::Value>,
    /// The tool call answered.
    pub tool_call_id: Option<String>,
    /// Metadata.
    pub metadata: serde_json::Value,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}

impl MessageRow {
    /// Decodes the columns of [`APPEND_SQL`]'s `RETURNING` and [`HISTORY_SQL`], in order.
    pub fn decode(row: &Row) -> Result<Self, tokio_postgres::Error> {
        Ok(Self {
            id: row.try_get(0)?,
            conversation_id: row.try_get(1)?,
            position: row.try_get(2)?,
            role: row.try_get::<_, Role>(3)?.0,
            content: row.try_get(4)?,
            token_count: row.try_get(5)?,
            prompt_version_id: row.try_get(6)?,
            model_name: row.try_get(7)?,
            finish_reason: row.try_get(8)?,
            latency_ms: row.try_get(9)?,
            tool_calls: row.try_get(10)?,
            tool_call_id: row.try_get(11)?,
            metadata: row.try_get(12)?,
            created_at: row.try_get(13)?,
        })
    }
}

/// A prompt version decoded as the library's `PromptVersion` is, `variables` as a list.
#[derive(Debug)]
#[expect(
    dead_code,
    reason = "decoded to do the work the library does, and never read"
)]
pub struct PromptVersionRow {
    /// Its id.
    pub id: Uuid,
    /// The prompt's name.
    pub name: String,
    /// Its number.
    pub version: i32,
    /// The template.
    pub template: String,
    /// The variable names.
    pub variables: Vec<String>,
    /// The model.
    pub model_name: Option<String>,
    /// Whether it is served.
    pub is_active: bool,
    /// Notes.
    pub notes: Option<String>,
    /// Metadata.
    pub metadata: serde_json::Value,
    /// Its publisher.
    pub created_by: Option<Uuid>,
    /// When it was published.
    pub created_at: DateTime<Utc>,
}

impl PromptVersionRow {
    /// Decodes the columns of [`ACTIVE_PROMPT_SQL`], in order.
    pub fn decode(row: &Row) -> anyhow::Result<Self> {
        let variables: serde_json::Value = row.try_get(4)?;
        Ok(Self {
            id: row.try_get(0)?,
            name: row.try_get(1)?,
            version: row.try_get(2)?,
            template: row.try_get(3)?,
            variables: serde_json::from_value(variables)?,
            model_name: row.try_get(5)?,
            is_active: row.try_get(6)?,
            notes: row.try_get(7)?,
            metadata: row.try_get(8)?,
            created_by: row.try_get(9)?,
            created_at: row.try_get(10)?,
        })
    }
}

/// The statements of the point operations, prepared once per connection.
#[derive(Debug)]
pub struct Prepared {
    /// [`APPEND_SQL`].
    pub append: Statement,
    /// [`ACTIVE_PROMPT_SQL`].
    pub active_prompt: Statement,
    /// [`HISTORY_SQL`].
    pub history: Statement,
}

impl Prepared {
    /// Prepares every statement on `client`.
    pub async fn on(client: &Client) -> anyhow::Result<Self> {
        Ok(Self {
            append: client.prepare(APPEND_SQL).await?,
            active_prompt: client.prepare(ACTIVE_PROMPT_SQL).await?,
            history: client.prepare(HISTORY_SQL).await?,
        })
    }
}

/// A `message_role` value, bound and read by its label as PostgreSQL sends enums.
#[derive(Debug, Clone, Copy)]
pub struct Role(pub MessageRole);

impl ToSql for Role {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        out.extend_from_slice(self.0.as_str().as_bytes());
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        ty.name() == "message_role"
    }

    to_sql_checked!();
}

impl<'a> FromSql<'a> for Role {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn StdError + Sync + Send>> {
        let role = match raw {
            b"system" => MessageRole::System,
            b"user" => MessageRole::User,
            b"assistant" => MessageRole::Assistant,
            b"tool" => MessageRole::Tool,
            _ => return Err("an unknown message_role label".into()),
        };
        Ok(Self(role))
    }

    fn accepts(ty: &Type) -> bool {
        ty.name() == "message_role"
    }
}

//! Conversations: the threads that messages belong to, one owner each.
//!
//! A conversation's `total_tokens` and `last_message_position` are kept by the database's
//! triggers on `messages`, so nothing here writes them; [`Conversation`] only reads them.

use chatledger_schema::schema::conversations;
use chrono::{DateTime, Utc};
use diesel::dsl::sql;
use diesel::sql_types::{Bool, Timestamptz};
use diesel::{ExpressionMethods, QueryDsl, SelectableHelper};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Error;
use crate::guard;
use crate::page::{Page, PageRequest};

/// A conversation as stored.
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, diesel::Queryable, diesel::Selectable,
)]
#[diesel(table_name = conversations, check_for_backend(diesel::pg::Pg))]
pub struct Conversation {
    /// Time-ordered (v7) id.
    pub id: Uuid,
    /// The owner.
    pub user_id: Uuid,
    /// A title, if any.
    pub title: Option<String>,
    /// Sum of the messages' token counts, kept by the database.
    pub total_tokens: i32,
    /// Position of the newest message, kept by the database; 0 before the first.
    pub last_message_position: i32,
    /// Free-form JSON object, free of secrets.
    pub metadata: serde_json::Value,
    /// When the conversation started.
    pub created_at: DateTime<Utc>,
    /// When it or its messages last changed.
    pub updated_at: DateTime<Utc>,
}

/// A conversation to start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, diesel::Insertable)]
#[diesel(table_name = conversations, check_for_backend(diesel::pg::Pg))]
// No column written here has a database default other than NULL, so None binds NULL;
// that keeps the INSERT one statement that diesel can prepare once and cache.
#[diesel(treat_none_as_default_value = false)]
pub struct NewConversation {
    /// The id to create it under; [`NewConversation::new`] makes a fresh v7 id.
    pub id: Uuid,
    /// The owner, who must exist.
    pub user_id: Uuid,
    /// A title, if any.
    pub title: Option<String>,
    /// Free-form JSON object; secrets are refused.
    pub metadata: serde_json::Value,
}

impl NewConversation {
    /// An untitled conversation of `user_id` with empty metadata.
    pub fn new(user_id: Uuid) -> Self {
        Self {
            id: Uuid::now_v7(),
            user_id,
            title: None,
            metadata: serde_json::json!({}),
        }
    }

    /// The same conversation with a title.
    pub fn titled(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }
}

/// Where the next page of a user's conversations starts: the last one returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationCursor {
    /// `created_at` of the last conversation returned.
    pub created_at: DateTime<Utc>,
    /// Its id, which breaks ties between equal timestamps.
    pub id: Uuid,
}

/// Starts a conversation. A missing owner is [`Error::NotFound`].
#[tracing::instrument(
    name = "conversations.start",
    skip_all,
    fields(conversation_id = %new.id, user_id = %new.user_id)
)]
pub async fn start(
    conn: &mut AsyncPgConnection,
    new: NewConversation,
) -> Result<Conversation, Error> {
    guard::optional_text("title", new.title.as_deref())?;
    guard::metadata("metadata", &new.metadata)?;

    let conversation = diesel::insert_into(conversations::table)
        .values(&new)
        .returning(Conversation::as_returning())
        .get_result(conn)
        .await?;
    Ok(conversation)
}

/// The conversation with this id, or [`Error::NotFound`].
#[tracing::instrument(name = "conversations.get", skip_all, fields(conversation_id = %id))]
pub async fn get(conn: &mut AsyncPgConnection, id: Uuid) -> Result<Conversation, Error> {
    conversations::table
        .find(id)
        .select(Conversation::as_select())
        .first(conn)
        .await
        .map_err(|error| Error::or_not_found(error, "conversation", id))
}

/// A page of a user's conversations, newest first.
#[tracing::instrument(name = "conversations.list_for_user", skip_all, fields(user_id = %user_id))]
pub async fn list_for_user(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    page: &PageRequest<ConversationCursor>,
) -> Result<Page<Conversation, ConversationCursor>, Error> {
    let fetch = page.fetch_limit()?;

    let mut query = conversations::table
        .filter(conversations::user_id.eq(user_id))
        .select(Conversation::as_select())
        .order((conversations::created_at.desc(), conversations::id.desc()))
        .limit(fetch)
        .into_boxed();
    if let Some(after) = page.after {
        // diesel has no row comparison; written as one, the bound is a single range of the
        // (user_id, created_at DESC, id DESC) index instead of an OR that PostgreSQL filters.
        query = query.filter(
            sql::<Bool>("(conversations.created_at, conversations.id) < (")
                .bind::<Timestamptz, _>(after.created_at)
                .sql(", ")
                .bind::<diesel::sql_types::Uuid, _>(after.id)
                .sql(")"),
        );
    }
    let rows = query.load(conn).await?;

    Ok(Page::from_rows(rows, page.limit, |last: &Conversation| {
        ConversationCursor {
            created_at: last.created_at,
            id: last.id,
        }
    }))
}

/// Sets or clears a conversation's title and returns it. A missing conversation is
/// [`Error::NotFound`].
#[tracing::instrument(name = "conversations.rename", skip_all, fields(conversation_id = %id))]
pub async fn rename(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    title: Option<&str>,
) -> Result<Conversation, Error> {
    guard::optional_text("title", title)?;

    diesel::update(conversations::table.find(id))
        .set((
            conversations::title.eq(title),
            conversations::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Conversation::as_returning())
        .get_result(conn)
        .await
        .map_err(|error| Error::or_not_found(error, "conversation", id))
}

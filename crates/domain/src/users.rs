//! The people who own conversations and give feedback, and their erasure on request (GDPR).
//!
//! chatledger keeps only the id the application's auth system knows a person by. Erasing a
//! user takes everything that is theirs: their conversations with every message, the retrievals
//! behind those messages and all feedback on them. Feedback they gave on other people's messages
//! stays, anonymous, because the ratings belong to the product's history rather than to the
//! rater.

use chatledger_schema::schema::{conversations, feedback, message_retrievals, messages};
use chatledger_schema::schema::{prompt_versions, users};
use chrono::{DateTime, Utc};
use diesel::{ExpressionMethods, OptionalExtension, QueryDsl, SelectableHelper};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Error;
use crate::guard;

/// A user as stored.
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, diesel::Queryable, diesel::Selectable,
)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub struct User {
    /// Time-ordered (v7) id.
    pub id: Uuid,
    /// The id in the application's auth system; unique.
    pub external_id: String,
    /// A name to show, if any.
    pub display_name: Option<String>,
    /// Free-form JSON object, free of secrets.
    pub metadata: serde_json::Value,
    /// When the user was created.
    pub created_at: DateTime<Utc>,
}

/// A user to create.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, diesel::Insertable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
// No column written here has a database default other than NULL, so None binds NULL;
// that keeps the INSERT one statement that diesel can prepare once and cache.
#[diesel(treat_none_as_default_value = false)]
pub struct NewUser {
    /// The id to create it under; [`NewUser::new`] makes a fresh v7 id.
    pub id: Uuid,
    /// The id in the application's auth system; must not be blank.
    pub external_id: String,
    /// A name to show, if any.
    pub display_name: Option<String>,
    /// Free-form JSON object; secrets are refused.
    pub metadata: serde_json::Value,
}

impl NewUser {
    /// A user known to the auth system as `external_id`, with no name and empty metadata.
    pub fn new(external_id: impl Into<String>) -> Self {
        Self {
            id: Uuid::now_v7(),
            external_id: external_id.into(),
            display_name: None,
            metadata: serde_json::json!({}),
        }
    }

    fn validate(&self) -> Result<(), Error> {
        guard::key("external_id", &self.external_id)?;
        guard::optional_text("display_name", self.display_name.as_deref())?;
        guard::metadata("metadata", &self.metadata)
    }
}

/// What [`erase`] removed, counted in the same transaction as the deletion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasureReceipt {
    /// The user's conversations.
    pub conversations: u64,
    /// The messages of those conversations.
    pub messages: u64,
    /// The retrievals recorded for those messages.
    pub retrievals: u64,
    /// Feedback on those messages, whoever gave it.
    pub feedback_removed: u64,
    /// Feedback the user gave on other users' messages, kept with its author removed.
    pub feedback_anonymised: u64,
    /// Prompt versions the user published, kept with `created_by` cleared.
    pub prompt_versions_unattributed: u64,
}

/// Creates a user. An `external_id` already taken is a [`Error::Conflict`].
#[tracing::instrument(name = "users.create", skip_all, fields(user_id = %new.id))]
pub async fn create(conn: &mut AsyncPgConnection, new: NewUser) -> Result<User, Error> {
    new.validate()?;

    let user = diesel::insert_into(users::table)
        .values(&new)
        .returning(User::as_returning())
        .get_result(conn)
        .await?;
    Ok(user)
}

/// The user with this id, if any.
#[tracing::instrument(name = "users.find", skip_all, fields(user_id = %id))]
pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> Result<Option<User>, Error> {
    let user = users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .await
        .optional()?;
    Ok(user)
}

/// The user the auth system knows as `external_id`, if any.
#[tracing::instrument(name = "users.find_by_external_id", skip_all)]
pub async fn find_by_external_id(
    conn: &mut AsyncPgConnection,
    external_id: &str,
) -> Result<Option<User>, Error> {
    guard::text("external_id", external_id)?;

    let user = users::table
        .filter(users::external_id.eq(external_id))
        .select(User::as_select())
        .first(conn)
        .await
        .optional()?;
    Ok(user)
}

/// Erases a user and everything that is theirs, in one transaction, and says what went.
///
/// The user row, their conversations and those conversations' messages are locked first, so
/// that no message, retrieval or feedback can be added between counting and deleting: the
/// receipt counts exactly what was removed. A missing user is [`Error::NotFound`].
#[tracing::instrument(name = "users.erase", skip_all, fields(user_id = %id))]
pub async fn erase(conn: &mut AsyncPgConnection, id: Uuid) -> Result<ErasureReceipt, Error> {
    let receipt = conn
        .transaction::<_, Error, _>(async move |conn| {
            let owned = lock_what_is_theirs(conn, id).await?;
            let receipt = count_what_goes(conn, id, &owned).await?;

            // The foreign keys do the rest: conversations, messages, retrievals and feedback
            // on them cascade; their feedback elsewhere and their prompt versions lose the link.
            diesel::delete(users::table.find(id)).execute(conn).await?;
            Ok(receipt)
        })
        .await?;

    tracing::info!(
        conversations = receipt.conversations,
        messages = receipt.messages,
        "user erased"
    );
    Ok(receipt)
}

/// The ids of a user's conversations and messages, locked until the transaction ends.
struct Owned {
    conversations: Vec<Uuid>,
    messages: Vec<Uuid>,
}

async fn lock_what_is_theirs(conn: &mut AsyncPgConnection, id: Uuid) -> Result<Owned, Error> {
    users::table
        .find(id)
        .select(users::id)
        .for_update()
        .first::<Uuid>(conn)
        .await
        .map_err(|error| Error::or_not_found(error, "user", id))?;

    let conversations: Vec<Uuid> = conversations::table
        .filter(conversations::user_id.eq(id))
        .select(conversations::id)
        .for_update()
        .load(conn)
        .await?;
    let messages: Vec<Uuid> = messages::table
        .filter(messages::conversation_id.eq_any(&conversations))
        .select(messages::id)
        .for_update()
        .load(conn)
        .await?;
    Ok(Owned {
        conversations,
        messages,
    })
}

async fn count_what_goes(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    owned: &Owned,
) -> Result<ErasureReceipt, Error> {
    let retrievals: i64 = message_retrievals::table
        .filter(message_retrievals::message_id.eq_any(&owned.messages))
        .count()
        .get_result(conn)
        .await?;
    let feedback_removed: i64 = feedback::table
        .filter(feedback::message_id.eq_any(&owned.messages))
        .count()
        .get_result(conn)
        .await?;
    let feedback_anonymised: i64 = feedback::table
        .filter(feedback::user_id.eq(id))
        .filter(feedback::message_id.ne_all(&owned.messages))
        .count()
        .get_result(conn)
        .await?;
    let prompt_versions_unattributed: i64 = prompt_versions::table
        .filter(prompt_versions::created_by.eq(id))
        .count()
        .get_result(conn)
        .await?;

    Ok(ErasureReceipt {
        conversations: as_count(owned.conversations.len()),
        messages: as_count(owned.messages.len()),
        retrievals: as_count(retrievals),
        feedback_removed: as_count(feedback_removed),
        feedback_anonymised: as_count(feedback_anonymised),
        prompt_versions_unattributed: as_count(prompt_versions_unattributed),
    })
}

/// A row count as the receipt's unsigned number.
fn as_count<N: TryInto<u64>>(count: N) -> u64 {
    count.try_into().unwrap_or_default()
}

//! Retrievals: which embedded chunks were put in front of the model before it wrote a message,
//! so that a bad answer can be traced back to the documents that fed it.

use chatledger_schema::schema::message_retrievals;
use chrono::{DateTime, Utc};
use diesel::{ExpressionMethods, QueryDsl, SelectableHelper};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, InvalidReason};
use crate::guard;

/// A retrieval as stored.
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, diesel::Queryable, diesel::Selectable,
)]
#[diesel(table_name = message_retrievals, check_for_backend(diesel::pg::Pg))]
pub struct Retrieval {
    /// The message whose generation used the chunk.
    pub message_id: Uuid,
    /// The chunk.
    pub embedding_id: Uuid,
    /// Place in the retrieval result, 1 for the best match.
    pub rank: i32,
    /// The retriever's similarity score.
    pub score: f64,
    /// Free-form JSON object, free of secrets.
    pub metadata: serde_json::Value,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
}

/// A retrieval to record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, diesel::Insertable)]
#[diesel(table_name = message_retrievals, check_for_backend(diesel::pg::Pg))]
// No column written here has a database default other than NULL, so None binds NULL;
// that keeps the INSERT one statement that diesel can prepare once and cache.
#[diesel(treat_none_as_default_value = false)]
pub struct NewRetrieval {
    /// The message, which must exist (or be written in the same turn).
    pub message_id: Uuid,
    /// The chunk, which must exist.
    pub embedding_id: Uuid,
    /// Place in the result, from 1; unique per message.
    pub rank: i32,
    /// The similarity score; finite.
    pub score: f64,
    /// Free-form JSON object; secrets are refused.
    pub metadata: serde_json::Value,
}

impl NewRetrieval {
    /// `embedding_id` retrieved for `message_id` at `rank` with `score`, with empty metadata.
    pub fn new(message_id: Uuid, embedding_id: Uuid, rank: i32, score: f64) -> Self {
        Self {
            message_id,
            embedding_id,
            rank,
            score,
            metadata: serde_json::json!({}),
        }
    }

    pub(crate) fn validate(&self, field: &str) -> Result<(), Error> {
        if self.rank < 1 {
            let range = InvalidReason::OutOfRange {
                min: 1,
                max: i64::from(i32::MAX),
            };
            return Err(Error::invalid(format!("{field}.rank"), range));
        }
        if !self.score.is_finite() {
            return Err(Error::invalid(
                format!("{field}.score"),
                InvalidReason::NotFinite,
            ));
        }
        guard::metadata(&format!("{field}.metadata"), &self.metadata)
    }
}

/// Checks every retrieval of a batch, naming each by its index.
pub(crate) fn validate_all(retrievals: &[NewRetrieval]) -> Result<(), Error> {
    for (index, retrieval) in retrievals.iter().enumerate() {
        retrieval.validate(&format!("retrievals[{index}]"))?;
    }
    Ok(())
}

/// Inserts retrievals without opening a transaction, for callers that already hold one.
pub(crate) async fn insert(
    conn: &mut AsyncPgConnection,
    retrievals: &[NewRetrieval],
) -> Result<Vec<Retrieval>, Error> {
    if retrievals.is_empty() {
        return Ok(Vec::new());
    }
    let mut rows: Vec<Retrieval> = diesel::insert_into(message_retrievals::table)
        .values(retrievals)
        .returning(Retrieval::as_returning())
        .get_results(conn)
        .await?;
    rows.sort_by_key(|row| (row.message_id, row.rank));
    Ok(rows)
}

/// Records retrievals, all or none. A rank or chunk used twice for one message is
/// [`Error::Conflict`]; a missing message or embedding is [`Error::NotFound`].
#[tracing::instrument(name = "retrievals.record", skip_all, fields(retrievals = retrievals.len()))]
pub async fn record(
    conn: &mut AsyncPgConnection,
    retrievals: Vec<NewRetrieval>,
) -> Result<Vec<Retrieval>, Error> {
    validate_all(&retrievals)?;

    conn.transaction::<_, Error, _>(async move |conn| insert(conn, &retrievals).await)
        .await
}

/// What was retrieved for a message, best rank first.
#[tracing::instrument(name = "retrievals.for_message", skip_all, fields(message_id = %message_id))]
pub async fn for_message(
    conn: &mut AsyncPgConnection,
    message_id: Uuid,
) -> Result<Vec<Retrieval>, Error> {
    let rows = message_retrievals::table
        .filter(message_retrievals::message_id.eq(message_id))
        .order(message_retrievals::rank.asc())
        .select(Retrieval::as_select())
        .load(conn)
        .await?;
    Ok(rows)
}

//! Embeddings: the audit record of each chunk put into the vector store.
//!
//! Ingestion is idempotent, because pipelines re-run: a chunk already recorded under the same
//! (source_type, source_id, chunk_index, model_name) is left as it is and counted as present.
//! A model embeds into one size, so a chunk whose `dimensions` differ from what is recorded for
//! its model is refused. Concurrent ingestions for one model take turns on an advisory lock, so
//! that the size check and the insert see the same rows.

use std::collections::BTreeMap;

use chatledger_schema::schema::embeddings;
use chrono::{DateTime, Utc};
use diesel::sql_types::Text;
use diesel::{ExpressionMethods, OptionalExtension, QueryDsl, SelectableHelper};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, InvalidReason};
use crate::guard;

/// Rows of [`NewEmbedding`] per multi-row `INSERT`: under 65 535 parameters of 10 columns.
const EMBEDDINGS_PER_INSERT: usize = 6_000;

/// An embedded chunk as stored.
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, diesel::Queryable, diesel::Selectable,
)]
#[diesel(table_name = embeddings, check_for_backend(diesel::pg::Pg))]
pub struct Embedding {
    /// Time-ordered (v7) id.
    pub id: Uuid,
    /// Kind of source, e.g. `document`.
    pub source_type: String,
    /// The source's id in the application.
    pub source_id: String,
    /// Place of the chunk in its source, from 0.
    pub chunk_index: i32,
    /// The text that was embedded.
    pub chunk_text: String,
    /// The embedding model.
    pub model_name: String,
    /// Length of the vector.
    pub dimensions: i32,
    /// The vector's id in the vector store, if any.
    pub vector_store_id: Option<String>,
    /// Tokens in the chunk, if known.
    pub token_count: Option<i32>,
    /// Free-form JSON object, free of secrets.
    pub metadata: serde_json::Value,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
}

/// A chunk to ingest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, diesel::Insertable)]
#[diesel(table_name = embeddings, check_for_backend(diesel::pg::Pg))]
// No column written here has a database default other than NULL, so None binds NULL;
// that keeps the INSERT one statement that diesel can prepare once and cache.
#[diesel(treat_none_as_default_value = false)]
pub struct NewEmbedding {
    /// The id to record it under; [`NewEmbedding::new`] makes a fresh v7 id.
    pub id: Uuid,
    /// Kind of source; not blank.
    pub source_type: String,
    /// The source's id; not blank.
    pub source_id: String,
    /// Place of the chunk in its source, from 0.
    pub chunk_index: i32,
    /// The text that was embedded.
    pub chunk_text: String,
    /// The embedding model; not blank.
    pub model_name: String,
    /// Length of the vector; positive, and the same for every chunk of the model.
    pub dimensions: i32,
    /// The vector's id in the vector store, if any.
    pub vector_store_id: Option<String>,
    /// Tokens in the chunk, if known; not negative.
    pub token_count: Option<i32>,
    /// Free-form JSON object; secrets are refused.
    pub metadata: serde_json::Value,
}

impl NewEmbedding {
    /// Chunk `chunk_index` of `source_type`/`source_id`, embedded by `model_name` into
    /// `dimensions`, with nothing else set.
    pub fn new(
        source_type: impl Into<String>,
        source_id: impl Into<String>,
        chunk_index: i32,
        chunk_text: impl Into<String>,
        model_name: impl Into<String>,
        dimensions: i32,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            source_type: source_type.into(),
            source_id: source_id.into(),
            chunk_index,
            chunk_text: chunk_text.into(),
            model_name: model_name.into(),
            dimensions,
            vector_store_id: None,
            token_count: None,
            metadata: serde_json::json!({}),
        }
    }

    fn validate(&self, field: &str) -> Result<(), Error> {
        guard::key(&format!("{field}.source_type"), &self.source_type)?;
        guard::key(&format!("{field}.source_id"), &self.source_id)?;
        guard::key(&format!("{field}.model_name"), &self.model_name)?;
        guard::count(&format!("{field}.chunk_index"), Some(self.chunk_index))?;
        guard::text(&format!("{field}.chunk_text"), &self.chunk_text)?;
        guard::optional_text(
            &format!("{field}.vector_store_id"),
            self.vector_store_id.as_deref(),
        )?;
        guard::count(&format!("{field}.token_count"), self.token_count)?;
        if self.dimensions < 1 {
            let range = InvalidReason::OutOfRange {
                min: 1,
                max: i64::from(i32::MAX),
            };
            return Err(Error::invalid(format!("{field}.dimensions"), range));
        }
        guard::metadata(&format!("{field}.metadata"), &self.metadata)
    }
}

/// What an ingestion did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct IngestReport {
    /// Chunks recorded by this call.
    pub inserted: u64,
    /// Chunks that were already recorded (or repeated within the batch) and left unchanged.
    pub already_present: u64,
}

/// Ingests one chunk; see [`ingest`].
pub async fn ingest_one(
    conn: &mut AsyncPgConnection,
    chunk: NewEmbedding,
) -> Result<IngestReport, Error> {
    ingest(conn, vec![chunk]).await
}

/// Ingests chunks in one transaction and reports how many were new. A chunk whose size differs
/// from its model's recorded size, or from another chunk of the same model in the batch, is
/// [`Error::DimensionMismatch`], and nothing is written.
#[tracing::instrument(name = "embeddings.ingest", skip_all, fields(chunks = chunks.len()))]
pub async fn ingest(
    conn: &mut AsyncPgConnection,
    chunks: Vec<NewEmbedding>,
) -> Result<IngestReport, Error> {
    for (index, chunk) in chunks.iter().enumerate() {
        chunk.validate(&format!("chunks[{index}]"))?;
    }
    let sizes = size_per_model(&chunks)?;
    if chunks.is_empty() {
        return Ok(IngestReport::default());
    }

    let report = conn
        .transaction::<_, Error, _>(async move |conn| {
            // BTreeMap order: every caller locks models in the same order, so none deadlock.
            for (model, &given) in &sizes {
                lock_model(conn, model).await?;
                let recorded = recorded_size(conn, model).await?;
                if let Some(recorded) = recorded.filter(|&recorded| recorded != given) {
                    return Err(Error::DimensionMismatch {
                        model: model.clone(),
                        recorded,
                        given,
                    });
                }
            }

            let mut inserted = 0_u64;
            for chunk in chunks.chunks(EMBEDDINGS_PER_INSERT) {
                let ids: Vec<Uuid> = diesel::insert_into(embeddings::table)
                    .values(chunk)
                    .on_conflict_do_nothing()
                    .returning(embeddings::id)
                    .get_results(conn)
                    .await?;
                inserted += u64::try_from(ids.len()).unwrap_or_default();
            }
            let total = u64::try_from(chunks.len()).unwrap_or_default();
            Ok(IngestReport {
                inserted,
                already_present: total - inserted,
            })
        })
        .await?;

    tracing::info!(
        inserted = report.inserted,
        already_present = report.already_present,
        "ingested"
    );
    Ok(report)
}

/// The one size per model in a batch, or the mismatch of the first chunk that differs.
fn size_per_model(chunks: &[NewEmbedding]) -> Result<BTreeMap<String, i32>, Error> {
    let mut sizes = BTreeMap::new();
    for chunk in chunks {
        let size = *sizes
            .entry(chunk.model_name.clone())
            .or_insert(chunk.dimensions);
        if size != chunk.dimensions {
            return Err(Error::DimensionMismatch {
                model: chunk.model_name.clone(),
                recorded: size,
                given: chunk.dimensions,
            });
        }
    }
    Ok(sizes)
}

async fn lock_model(conn: &mut AsyncPgConnection, model: &str) -> Result<(), Error> {
    diesel::sql_query(
        "SELECT pg_advisory_xact_lock(hashtextextended('chatledger.embedding:' || $1, 0))",
    )
    .bind::<Text, _>(model)
    .execute(conn)
    .await?;
    Ok(())
}

async fn recorded_size(conn: &mut AsyncPgConnection, model: &str) -> Result<Option<i32>, Error> {
    let size = embeddings::table
        .filter(embeddings::model_name.eq(model))
        .select(embeddings::dimensions)
        .first(conn)
        .await
        .optional()?;
    Ok(size)
}

/// The chunk with this id, or [`Error::NotFound`].
#[tracing::instrument(name = "embeddings.get", skip_all, fields(embedding_id = %id))]
pub async fn get(conn: &mut AsyncPgConnection, id: Uuid) -> Result<Embedding, Error> {
    embeddings::table
        .find(id)
        .select(Embedding::as_select())
        .first(conn)
        .await
        .map_err(|error| Error::or_not_found(error, "embedding", id))
}

/// The chunks of one source for one model, in chunk order.
#[tracing::instrument(name = "embeddings.for_source", skip_all)]
pub async fn for_source(
    conn: &mut AsyncPgConnection,
    source_type: &str,
    source_id: &str,
    model_name: &str,
) -> Result<Vec<Embedding>, Error> {
    let rows = embeddings::table
        .filter(embeddings::source_type.eq(source_type))
        .filter(embeddings::source_id.eq(source_id))
        .filter(embeddings::model_name.eq(model_name))
        .order(embeddings::chunk_index.asc())
        .select(Embedding::as_select())
        .load(conn)
        .await?;
    Ok(rows)
}

//! `embedding_audit`: whether the embeddings behind retrieval are consistent. A model whose
//! chunks have more than one vector size was re-configured without re-embedding (its vectors
//! cannot be compared), and a source embedded by several models is being searched twice or
//! half-migrated.
//!
//! The report returns both lists in one [`EmbeddingAudit`], so that a caller (the CLI exits
//! non-zero) can act on [`EmbeddingAudit::has_mixed_dimensions`] without a second call.

use diesel::sql_types::{Array, BigInt, Bool, Integer, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use super::ReportError;

/// The per-model query, in SQL because it counts distinct (source_type, source_id) pairs and
/// collects distinct values into an array, neither of which diesel's DSL can say.
const EMBEDDING_MODELS_SQL: &str = include_str!("embedding_models.sql");

/// The multi-model query, in SQL for its `array_agg(DISTINCT ...)`, which diesel lacks.
const MULTI_MODEL_SOURCES_SQL: &str = include_str!("multi_model_sources.sql");

/// The embeddings of one model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, diesel::QueryableByName)]
pub struct EmbeddingModelRow {
    /// The embedding model.
    #[diesel(sql_type = Text)]
    pub model_name: String,
    /// Its chunks.
    #[diesel(sql_type = BigInt)]
    pub chunks: i64,
    /// Distinct (source_type, source_id) pairs among them.
    #[diesel(sql_type = BigInt)]
    pub sources: i64,
    /// Every vector size seen, smallest first.
    #[diesel(sql_type = Array<Integer>)]
    pub dimensions: Vec<i32>,
    /// Whether more than one vector size is seen: the model's vectors are not comparable.
    #[diesel(sql_type = Bool)]
    pub mixed_dimensions: bool,
}

/// A source whose chunks were embedded by more than one model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, diesel::QueryableByName)]
pub struct MultiModelSourceRow {
    /// The kind of source.
    #[diesel(sql_type = Text)]
    pub source_type: String,
    /// The source's id in the application.
    #[diesel(sql_type = Text)]
    pub source_id: String,
    /// The models that embedded it, by name.
    #[diesel(sql_type = Array<Text>)]
    pub models: Vec<String>,
}

/// Both lists of the audit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EmbeddingAudit {
    /// One row per embedding model, by name.
    pub models: Vec<EmbeddingModelRow>,
    /// The sources embedded by more than one model, by source.
    pub multi_model_sources: Vec<MultiModelSourceRow>,
}

impl EmbeddingAudit {
    /// Whether any model's chunks have more than one vector size.
    pub fn has_mixed_dimensions(&self) -> bool {
        self.models.iter().any(|model| model.mixed_dimensions)
    }
}

/// Audits the embeddings of `model_name`, or of every model.
#[tracing::instrument(name = "report.embedding_audit", skip_all, fields(model_name = model_name))]
pub async fn embedding_audit(
    connection: &mut AsyncPgConnection,
    model_name: Option<&str>,
) -> Result<EmbeddingAudit, ReportError> {
    let models: Vec<EmbeddingModelRow> = diesel::sql_query(EMBEDDING_MODELS_SQL)
        .bind::<Nullable<Text>, _>(model_name)
        .load(connection)
        .await?;

    let multi_model_sources: Vec<MultiModelSourceRow> = diesel::sql_query(MULTI_MODEL_SOURCES_SQL)
        .bind::<Nullable<Text>, _>(model_name)
        .load(connection)
        .await?;

    let audit = EmbeddingAudit {
        models,
        multi_model_sources,
    };

    tracing::debug!(
        models = audit.models.len(),
        multi_model_sources = audit.multi_model_sources.len(),
        mixed_dimensions = audit.has_mixed_dimensions(),
        "report ready"
    );
    Ok(audit)
}

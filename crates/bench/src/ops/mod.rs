//! The operations of issue 5, one module each. Every operation gets the same [`Context`] and
//! returns the rows it adds to the table.

pub mod active_prompt;
pub mod append;
pub mod bulk_ingest;
pub mod export;
pub mod history;
pub mod key_order;
pub mod prompt_feedback;

use anyhow::Context as _;
use chatledger_domain::PgPool;
use clap::ValueEnum;
use uuid::Uuid;

use crate::baseline;
use crate::measure::Rounds;
use crate::scale::Scale;
use crate::table::Row;

/// An operation the runner can measure, by the name `--only` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Operation {
    /// 1. Append one message, with 1 and 8 concurrent tasks.
    Append,
    /// 2. The active prompt version of a name.
    ActivePrompt,
    /// 3. A history page of 50 messages.
    History,
    /// 5. The prompt-feedback report.
    PromptFeedback,
    /// 6. Export of the rated messages.
    Export,
    /// 4. Bulk ingest through the library's bulk path, against `psql \copy`.
    BulkIngest,
    /// 7. Inserting time-ordered against random keys.
    KeyOrder,
}

impl Operation {
    /// Every operation, in the order a full run measures them: the ones that add many rows last,
    /// so that they do not change what the others read.
    pub const ALL: [Self; 7] = [
        Self::Append,
        Self::ActivePrompt,
        Self::History,
        Self::PromptFeedback,
        Self::Export,
        Self::BulkIngest,
        Self::KeyOrder,
    ];

    /// Measures the operation and returns its rows.
    pub async fn run(self, context: &Context) -> anyhow::Result<Vec<Row>> {
        match self {
            Self::Append => append::run(context).await,
            Self::ActivePrompt => active_prompt::run(context).await,
            Self::History => history::run(context).await,
            Self::PromptFeedback => prompt_feedback::run(context).await,
            Self::Export => export::run(context).await,
            Self::BulkIngest => bulk_ingest::run(context).await,
            Self::KeyOrder => key_order::run(context).await,
        }
    }
}

/// What every operation needs: the scale, the database and the seeded rows it works on.
pub struct Context {
    /// The scale of the run.
    pub scale: Scale,
    /// The bench database.
    pub url: String,
    /// chatledger's pool on it.
    pub pool: PgPool,
    /// `--repeat`: measured rounds instead of the scale's default.
    pub repeat: Option<usize>,
    /// Seeded conversations from the middle of the table, for appends and history pages.
    pub conversations: Vec<Uuid>,
    /// The active version of [`PROMPT_NAME`], for the messages that appends write.
    pub prompt_version_id: Uuid,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The pool's connections are not `Debug`; its size says enough.
        formatter
            .debug_struct("Context")
            .field("scale", &self.scale)
            .field("pool_size", &self.pool.status().size)
            .field("repeat", &self.repeat)
            .field("conversations", &self.conversations)
            .field("prompt_version_id", &self.prompt_version_id)
            .finish_non_exhaustive()
    }
}

/// The prompt whose active version the lookups ask for.
pub const PROMPT_NAME: &str = "bench-prompt-3";

impl Context {
    /// Reads the seeded rows the operations work on.
    pub async fn load(
        scale: Scale,
        url: String,
        pool: PgPool,
        repeat: Option<usize>,
    ) -> anyhow::Result<Self> {
        let client = baseline::connect(&url).await?;
        let conversations = client
            .query(
                "SELECT id FROM conversations WHERE title LIKE 'Conversation %' ORDER BY id \
                 OFFSET (SELECT count(*) / 2 FROM conversations) LIMIT 8",
                &[],
            )
            .await?
            .iter()
            .map(|row| row.try_get(0))
            .collect::<Result<Vec<Uuid>, _>>()?;
        let prompt_version_id: Uuid = client
            .query_one(
                "SELECT id FROM prompt_versions WHERE name = $1 AND is_active",
                &[&PROMPT_NAME],
            )
            .await
            .context("the bench database has no active bench prompt")?
            .try_get(0)?;

        Ok(Self {
            scale,
            url,
            pool,
            repeat,
            conversations,
            prompt_version_id,
        })
    }

    /// The scale's rounds, with `--repeat` as the measured count when given.
    pub fn rounds(&self, default: Rounds) -> Rounds {
        Rounds {
            warm_up: default.warm_up,
            measured: self.repeat.unwrap_or(default.measured),
        }
    }

    /// The seeded conversation the history pages read.
    pub fn history_conversation(&self) -> anyhow::Result<Uuid> {
        self.conversations
            .first()
            .copied()
            .context("the bench database has no conversations")
    }
}

/// `EXPLAIN (ANALYZE, FORMAT JSON)` of a statement, for its "Execution Time".
pub async fn server_execution_time(
    client: &tokio_postgres::Client,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> anyhow::Result<std::time::Duration> {
    let explain = format!("EXPLAIN (ANALYZE, FORMAT JSON) {sql}");
    let row = client.query_one(&explain, params).await?;
    let plan: serde_json::Value = row.try_get(0)?;
    let milliseconds = plan
        .pointer("/0/Execution Time")
        .and_then(serde_json::Value::as_f64)
        .context("EXPLAIN ANALYZE returned no Execution Time")?;
    Ok(std::time::Duration::from_secs_f64(milliseconds / 1000.0))
}

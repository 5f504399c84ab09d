//! `chatledger report NAME [filters] [--format table|csv|json]`: runs one packaged report.
//!
//! The reports themselves live in `chatledger_query::reports`; this module only turns
//! arguments into their options and their rows into output. An embedding audit that finds a
//! model with more than one vector size prints its rows and then fails (exit 1).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use chatledger_query::filters::{ReportFilter, TimeWindow};
use chatledger_query::reports::{self, PromptRef};
use serde::Serialize;

use crate::UsageError;
use crate::database::{connect, require_url};
use crate::output::{Format, write_rows};

/// Arguments of `chatledger report`.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    #[command(subcommand)]
    report: Report,

    /// Output format; a table on a terminal, JSON otherwise.
    #[arg(long, global = true, value_enum)]
    format: Option<Format>,
}

/// The filters most reports take.
#[derive(Debug, Clone, clap::Args)]
struct Filters {
    /// Only messages created at or after this: RFC 3339, or relative such as 7d, 12h, 30m, 2w.
    #[arg(long)]
    since: Option<String>,
    /// Only messages created before this: RFC 3339, or relative such as 1d.
    #[arg(long)]
    until: Option<String>,
    /// Only messages produced by a version of this prompt.
    #[arg(long)]
    prompt: Option<String>,
    /// Only messages of this model.
    #[arg(long)]
    model: Option<String>,
}

impl Filters {
    fn window(&self) -> anyhow::Result<TimeWindow> {
        TimeWindow::parse(
            self.since.as_deref(),
            self.until.as_deref(),
            chrono::Utc::now(),
        )
        .map_err(|error| UsageError(format!("invalid time window: {error}")).into())
    }

    fn to_filter(&self) -> anyhow::Result<ReportFilter> {
        Ok(ReportFilter {
            window: self.window()?,
            prompt_name: self.prompt.clone(),
            model_name: self.model.clone(),
        })
    }
}

/// The packaged reports.
#[derive(Debug, clap::Subcommand)]
enum Report {
    /// Per prompt version: messages, feedback counts, thumbs-up rate and its 95% Wilson interval.
    PromptFeedback(Filters),
    /// Two prompt versions' thumbs-up rates side by side, with a two-proportion z-test.
    PromptCompare {
        /// The baseline, as NAME@VERSION.
        #[arg(long)]
        a: String,
        /// The candidate, as NAME@VERSION.
        #[arg(long)]
        b: String,
        /// Fewest up-or-down ratings per side before the difference is judged.
        #[arg(long, default_value_t = reports::DEFAULT_MIN_RATED)]
        min_rated: u64,
        #[command(flatten)]
        filters: Filters,
    },
    /// Tokens per UTC day and model (or per user), with costs from a price file.
    TokenUsage {
        /// Break the usage down per user as well.
        #[arg(long, value_enum)]
        by: Option<UsageBreakdown>,
        /// JSON file: {"MODEL": {"input_per_1k": 0.15, "output_per_1k": 0.6}, ...}.
        #[arg(long)]
        prices: Option<PathBuf>,
        #[command(flatten)]
        filters: Filters,
    },
    /// Latency percentiles (p50, p95, p99) and maximum per model.
    Latency(Filters),
    /// Finish reasons per model, flagging models that hit the length limit too often.
    FinishReasons {
        /// Flag a model whose share of `length` stops exceeds this (0 to 1).
        #[arg(long, default_value_t = reports::DEFAULT_MAX_LENGTH_SHARE)]
        max_length_share: f64,
        #[command(flatten)]
        filters: Filters,
    },
    /// Assistant messages far longer than the median of their prompt version (or model).
    TokenAnomalies {
        /// How many times the median counts as an anomaly.
        #[arg(long, short, default_value_t = reports::DEFAULT_ANOMALY_FACTOR)]
        k: f64,
        #[command(flatten)]
        filters: Filters,
    },
    /// Chunks, sources and vector sizes per embedding model; fails on a model with two sizes.
    EmbeddingAudit {
        /// Only this embedding model.
        #[arg(long)]
        model: Option<String>,
    },
    /// Feedback categories per prompt version.
    FeedbackCategories(Filters),
    /// Per retrieved source: how often it fed answers, and how those answers were rated.
    RetrievalFeedback(Filters),
}

/// What `--by` can break token usage down by, beyond day and model.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum UsageBreakdown {
    /// Per user.
    User,
}

pub async fn run(args: ReportArgs, database_url: Option<String>) -> anyhow::Result<ExitCode> {
    let url = require_url(database_url)?;
    let format = Format::or_default(args.format);
    let _span = tracing::info_span!("command.report", report = args.report.name()).entered();

    // Arguments are checked before the database is touched, so a typo costs no connection.
    let prepared = Prepared::from_args(args.report)?;
    let mut connection = connect(&url).await?;
    let mut stdout = std::io::stdout().lock();

    match prepared {
        Prepared::PromptFeedback(filter) => {
            let rows = reports::prompt_feedback(&mut connection, &filter).await?;
            write_rows(&mut stdout, format, &rows)?;
        }
        Prepared::PromptCompare { a, b, options } => {
            let comparison = reports::prompt_compare(&mut connection, &a, &b, &options).await?;
            write_comparison(&mut stdout, format, &comparison)?;
        }
        Prepared::TokenUsage(options) => {
            let rows = reports::token_usage(&mut connection, &options).await?;
            write_rows(&mut stdout, format, &rows)?;
        }
        Prepared::Latency(filter) => {
            let rows = reports::latency(&mut connection, &filter).await?;
            write_rows(&mut stdout, format, &rows)?;
        }
        Prepared::FinishReasons(options) => {
            let rows = reports::finish_reasons(&mut connection, &options).await?;
            write_rows(&mut stdout, format, &rows)?;
        }
        Prepared::TokenAnomalies(options) => {
            let rows = reports::token_anomalies(&mut connection, &options).await?;
            write_rows(&mut stdout, format, &rows)?;
        }
        Prepared::EmbeddingAudit(model) => {
            let audit = reports::embedding_audit(&mut connection, model.as_deref()).await?;
            write_audit(&mut stdout, format, &audit)?;
            if audit.has_mixed_dimensions() {
                let models: Vec<_> = audit
                    .models
                    .iter()
                    .filter(|row| row.mixed_dimensions)
                    .map(|row| row.model_name.as_str())
                    .collect();
                bail!(
                    "embedding models with more than one vector size: {}",
                    models.join(", ")
                );
            }
        }
        Prepared::FeedbackCategories(filter) => {
            let rows = reports::feedback_categories(&mut connection, &filter).await?;
            write_rows(&mut stdout, format, &rows)?;
        }
        Prepared::RetrievalFeedback(filter) => {
            let rows = reports::retrieval_feedback(&mut connection, &filter).await?;
            write_rows(&mut stdout, format, &rows)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

impl Report {
    fn name(&self) -> &'static str {
        match self {
            Self::PromptFeedback(_) => "prompt-feedback",
            Self::PromptCompare { .. } => "prompt-compare",
            Self::TokenUsage { .. } => "token-usage",
            Self::Latency(_) => "latency",
            Self::FinishReasons { .. } => "finish-reasons",
            Self::TokenAnomalies { .. } => "token-anomalies",
            Self::EmbeddingAudit { .. } => "embedding-audit",
            Self::FeedbackCategories(_) => "feedback-categories",
            Self::RetrievalFeedback(_) => "retrieval-feedback",
        }
    }
}

/// A report with its options parsed and checked.
enum Prepared {
    PromptFeedback(ReportFilter),
    PromptCompare {
        a: PromptRef,
        b: PromptRef,
        options: reports::CompareOptions,
    },
    TokenUsage(reports::TokenUsageOptions),
    Latency(ReportFilter),
    FinishReasons(reports::FinishReasonOptions),
    TokenAnomalies(reports::TokenAnomalyOptions),
    EmbeddingAudit(Option<String>),
    FeedbackCategories(ReportFilter),
    RetrievalFeedback(ReportFilter),
}

impl Prepared {
    fn from_args(report: Report) -> anyhow::Result<Self> {
        Ok(match report {
            Report::PromptFeedback(filters) => Self::PromptFeedback(filters.to_filter()?),
            Report::PromptCompare {
                a,
                b,
                min_rated,
                filters,
            } => Self::PromptCompare {
                a: a.parse()
                    .map_err(|error| UsageError(format!("invalid --a {a:?}: {error}")))?,
                b: b.parse()
                    .map_err(|error| UsageError(format!("invalid --b {b:?}: {error}")))?,
                options: reports::CompareOptions {
                    window: filters.window()?,
                    model_name: filters.model,
                    min_rated,
                },
            },
            Report::TokenUsage {
                by,
                prices,
                filters,
            } => {
                let prices = prices
                    .map(|path| reports::PriceTable::from_json_file(&path))
                    .transpose()
                    .context("invalid price file")?;
                Self::TokenUsage(reports::TokenUsageOptions {
                    filter: filters.to_filter()?,
                    per_user: matches!(by, Some(UsageBreakdown::User)),
                    prices,
                })
            }
            Report::Latency(filters) => Self::Latency(filters.to_filter()?),
            Report::FinishReasons {
                max_length_share,
                filters,
            } => Self::FinishReasons(reports::FinishReasonOptions {
                filter: filters.to_filter()?,
                max_length_share,
            }),
            Report::TokenAnomalies { k, filters } => {
                Self::TokenAnomalies(reports::TokenAnomalyOptions {
                    filter: filters.to_filter()?,
                    factor: k,
                })
            }
            Report::EmbeddingAudit { model } => Self::EmbeddingAudit(model),
            Report::FeedbackCategories(filters) => Self::FeedbackCategories(filters.to_filter()?),
            Report::RetrievalFeedback(filters) => Self::RetrievalFeedback(filters.to_filter()?),
        })
    }
}

/// One side of a comparison, flattened for a table or CSV.
#[derive(Serialize)]
struct ComparedSide<'a> {
    side: &'static str,
    #[serde(flatten)]
    row: &'a reports::PromptFeedbackRow,
}

fn write_comparison(
    out: &mut impl std::io::Write,
    format: Format,
    comparison: &reports::PromptComparison,
) -> anyhow::Result<()> {
    if format == Format::Json {
        return write_rows(out, format, std::slice::from_ref(comparison));
    }
    let sides = [
        ComparedSide {
            side: "a",
            row: &comparison.a,
        },
        ComparedSide {
            side: "b",
            row: &comparison.b,
        },
    ];
    write_rows(out, format, &sides)?;
    if format == Format::Table {
        writeln!(out, "{}", comparison.summary)?;
    }
    Ok(())
}

fn write_audit(
    out: &mut impl std::io::Write,
    format: Format,
    audit: &reports::EmbeddingAudit,
) -> anyhow::Result<()> {
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, audit)?;
            writeln!(out)?;
        }
        Format::Csv => write_rows(out, format, &audit.models)?,
        Format::Table => {
            write_rows(out, format, &audit.models)?;
            if !audit.multi_model_sources.is_empty() {
                writeln!(out, "Sources embedded by more than one model:")?;
                write_rows(out, format, &audit.multi_model_sources)?;
            }
        }
    }
    Ok(())
}

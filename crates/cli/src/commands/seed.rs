//! `chatledger seed --conversations N [--seed S]`: a synthetic dataset of any size, for
//! benchmarks and trials.
//!
//! The same seed gives the same dataset: the same users, prompts, texts, token counts,
//! latencies, ratings and retrievals, drawn from a ChaCha generator (whose output, unlike
//! `StdRng`'s, is fixed across releases). Only ids and timestamps come from the clock. Rows are
//! written in batches of a thousand conversations, each batch in one transaction, messages
//! through the library's bulk path.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, bail};
use chatledger_domain::FeedbackRating;
use chatledger_domain::conversations::NewConversation;
use chatledger_domain::embeddings::{self, NewEmbedding};
use chatledger_domain::feedback::NewFeedback;
use chatledger_domain::messages::{self, NewMessage};
use chatledger_domain::prompts::{self, NewPromptVersion, PromptVersion};
use chatledger_domain::retrievals::{self, NewRetrieval};
use chatledger_domain::users::NewUser;
use chatledger_schema::schema::{conversations, feedback, users};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

use crate::database::{connect, require_url};

/// Arguments of `chatledger seed`.
#[derive(Debug, clap::Args)]
pub struct SeedArgs {
    /// How many conversations to write (four messages each).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    conversations: u64,

    /// The generator's seed; the same seed writes the same dataset.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

const CONVERSATIONS_PER_BATCH: u64 = 1_000;
const CONVERSATIONS_PER_USER: u64 = 10;
const MODELS: [&str; 2] = ["gpt-4o", "gpt-4o-mini"];
const EMBEDDING_MODEL: &str = "text-embedding-3-small";
const DOCUMENTS: u64 = 50;
const CHUNKS_PER_DOCUMENT: i32 = 4;

pub async fn run(args: SeedArgs, database_url: Option<String>) -> anyhow::Result<ExitCode> {
    let url = require_url(database_url)?;
    let _span = tracing::info_span!(
        "command.seed",
        conversations = args.conversations,
        seed = args.seed
    )
    .entered();
    let mut connection = connect(&url).await?;
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let tag = format!("seed{}-{}", args.seed, Uuid::now_v7().simple());

    let prompts = publish_prompts(&mut connection).await?;
    let chunks = ingest_chunks(&mut connection).await?;

    let mut written = Totals::default();
    let mut next_conversation = 0;
    while next_conversation < args.conversations {
        let batch_size = CONVERSATIONS_PER_BATCH.min(args.conversations - next_conversation);
        let batch = Batch::generate(
            &mut rng,
            &tag,
            next_conversation,
            batch_size,
            &prompts,
            &chunks,
        );
        written.add(&batch.write(&mut connection).await?);
        next_conversation += batch_size;
    }

    // Fresh statistics, or the planner keeps the estimates of an empty database: an export
    // right after seeding a million messages ran over 15 minutes without this, 17 s with it.
    diesel_async::SimpleAsyncConnection::batch_execute(&mut *connection, "ANALYZE")
        .await
        .context("could not refresh the planner's statistics")?;

    writeln!(
        std::io::stdout().lock(),
        "Seeded {} users, {} conversations, {} messages, {} retrievals and {} feedback records.",
        written.users,
        written.conversations,
        written.messages,
        written.retrievals,
        written.feedback
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Two prompts of three versions each, the second version of each active. Publishing is
/// idempotent, so seeding twice reuses them.
async fn publish_prompts(connection: &mut AsyncPgConnection) -> anyhow::Result<Vec<PromptVersion>> {
    let mut published = Vec::new();
    for name in ["seed-answer", "seed-summary"] {
        for version in 1..=3 {
            let template = format!("Version {version} of {name}: answer {{{{question}}}} briefly.");
            let new = NewPromptVersion::new(name, template, &["question"]);
            published.push(prompts::publish(connection, new).await?);
        }
        prompts::activate(connection, name, 2).await?;
    }
    Ok(published)
}

async fn ingest_chunks(connection: &mut AsyncPgConnection) -> anyhow::Result<Vec<Uuid>> {
    let chunks: Vec<NewEmbedding> = (0..DOCUMENTS)
        .flat_map(|document| {
            (0..CHUNKS_PER_DOCUMENT).map(move |index| {
                let text = format!("Passage {index} of document {document}.");
                NewEmbedding::new(
                    "document",
                    format!("doc-{document}"),
                    index,
                    text,
                    EMBEDDING_MODEL,
                    1536,
                )
            })
        })
        .collect();
    embeddings::ingest(connection, chunks).await?;

    let mut ids = Vec::new();
    for document in 0..DOCUMENTS {
        let source = format!("doc-{document}");
        ids.extend(
            embeddings::for_source(connection, "document", &source, EMBEDDING_MODEL)
                .await?
                .iter()
                .map(|chunk| chunk.id),
        );
    }
    if ids.len() < 2 {
        bail!("the seed's chunks were not recorded");
    }
    Ok(ids)
}

#[derive(Debug, Default)]
struct Totals {
    users: usize,
    conversations: usize,
    messages: u64,
    retrievals: usize,
    feedback: usize,
}

impl Totals {
    fn add(&mut self, other: &Self) {
        self.users += other.users;
        self.conversations += other.conversations;
        self.messages += other.messages;
        self.retrievals += other.retrievals;
        self.feedback += other.feedback;
    }
}

/// The rows of one batch of conversations, generated before anything is written.
struct Batch {
    users: Vec<NewUser>,
    conversations: Vec<NewConversation>,
    messages: Vec<NewMessage>,
    retrievals: Vec<NewRetrieval>,
    feedback: Vec<NewFeedback>,
}

impl Batch {
    fn generate(
        rng: &mut ChaCha8Rng,
        tag: &str,
        first: u64,
        count: u64,
        prompts: &[PromptVersion],
        chunks: &[Uuid],
    ) -> Self {
        let mut batch = Self {
            users: Vec::new(),
            conversations: Vec::new(),
            messages: Vec::new(),
            retrievals: Vec::new(),
            feedback: Vec::new(),
        };
        let mut user_id = Uuid::nil();
        for number in first..first + count {
            if number % CONVERSATIONS_PER_USER == 0 || batch.users.is_empty() {
                let user = NewUser::new(format!("{tag}-user-{}", number / CONVERSATIONS_PER_USER));
                user_id = user.id;
                batch.users.push(user);
            }
            batch.add_conversation(rng, number, user_id, prompts, chunks);
        }
        batch
    }

    fn add_conversation(
        &mut self,
        rng: &mut ChaCha8Rng,
        number: u64,
        user_id: Uuid,
        prompts: &[PromptVersion],
        chunks: &[Uuid],
    ) {
        let conversation =
            NewConversation::new(user_id).titled(format!("Seeded conversation {number}"));
        let id = conversation.id;
        self.conversations.push(conversation);

        for exchange in 0..2 {
            let prompt = &prompts[rng.random_range(0..prompts.len())];
            let model = MODELS[rng.random_range(0..MODELS.len())];
            let mut question =
                NewMessage::user(id, format!("Question {exchange} of conversation {number}?"))
                    .with_token_count(rng.random_range(8..80));
            question.model_name = Some(model.to_owned());
            let mut answer =
                NewMessage::assistant(id, format!("Answer {exchange} of conversation {number}."))
                    .generated_by(prompt.id, model)
                    .with_token_count(rng.random_range(40..400));
            answer.latency_ms = Some(rng.random_range(150..2500));
            answer.finish_reason = Some(
                if rng.random_bool(0.03) {
                    "length"
                } else {
                    "stop"
                }
                .to_owned(),
            );

            // Two different chunks: the second is drawn from the ones after the first, wrapping.
            let first = rng.random_range(0..chunks.len());
            let second = (first + 1 + rng.random_range(0..chunks.len() - 1)) % chunks.len();
            for (rank, chunk) in [(1, chunks[first]), (2, chunks[second])] {
                self.retrievals.push(NewRetrieval::new(
                    answer.id,
                    chunk,
                    rank,
                    rng.random_range(0.5..0.99),
                ));
            }
            if rng.random_bool(0.3) {
                let rating = match rng.random_range(0..10) {
                    0..=5 => FeedbackRating::ThumbsUp,
                    6..=8 => FeedbackRating::ThumbsDown,
                    _ => FeedbackRating::Neutral,
                };
                let mut feedback = NewFeedback::new(answer.id, Some(user_id), rating);
                if rating == FeedbackRating::ThumbsDown && rng.random_bool(0.5) {
                    feedback = feedback.with_correction(format!(
                        "A better answer {exchange} for conversation {number}."
                    ));
                }
                self.feedback.push(feedback);
            }
            self.messages.push(question);
            self.messages.push(answer);
        }
    }

    /// Writes the batch in one transaction.
    async fn write(self, connection: &mut AsyncPgConnection) -> anyhow::Result<Totals> {
        let totals = Totals {
            users: self.users.len(),
            conversations: self.conversations.len(),
            messages: 0,
            retrievals: self.retrievals.len(),
            feedback: self.feedback.len(),
        };
        let messages = connection
            .transaction::<_, chatledger_domain::Error, _>(async move |connection| {
                diesel::insert_into(users::table)
                    .values(&self.users)
                    .execute(connection)
                    .await?;
                diesel::insert_into(conversations::table)
                    .values(&self.conversations)
                    .execute(connection)
                    .await?;
                let written = messages::append_batch(connection, self.messages).await?;
                retrievals::record(connection, self.retrievals).await?;
                diesel::insert_into(feedback::table)
                    .values(&self.feedback)
                    .execute(connection)
                    .await?;
                Ok(written)
            })
            .await?;
        Ok(Totals { messages, ..totals })
    }
}

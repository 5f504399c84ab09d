//! What the fault tests share: a ledger to write into, turns to append, the schema's
//! invariants as SQL, and latency figures.

use std::collections::BTreeMap;
use std::time::Duration;

use chatledger_domain::conversations::{self, NewConversation};
use chatledger_domain::embeddings::{self, NewEmbedding};
use chatledger_domain::messages::{NewMessage, NewTurn};
use chatledger_domain::prompts::{self, NewPromptVersion};
use chatledger_domain::retrievals::NewRetrieval;
use chatledger_domain::users::{self, NewUser};
use chatledger_domain::{Error, MessageRole};
use diesel::QueryableByName;
use diesel::sql_types::BigInt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

/// The prompt every generated answer claims to come from.
pub const PROMPT_NAME: &str = "fault-answer";

/// Users, one conversation per writer, chunks to retrieve and two versions of one prompt.
#[derive(Debug, Clone)]
pub struct Ledger {
    pub user: Uuid,
    pub conversations: Vec<Uuid>,
    pub embeddings: Vec<Uuid>,
    pub prompt_versions: Vec<Uuid>,
}

impl Ledger {
    /// Writes the ledger with `conversations` conversations and `embeddings` chunks.
    pub async fn create(
        conn: &mut AsyncPgConnection,
        conversations: usize,
        embeddings: usize,
    ) -> Self {
        let user = users::create(conn, NewUser::new(format!("auth|{}", Uuid::now_v7())))
            .await
            .unwrap();

        let mut conversation_ids = Vec::with_capacity(conversations);
        for _ in 0..conversations {
            let started = conversations::start(conn, NewConversation::new(user.id))
                .await
                .unwrap();
            conversation_ids.push(started.id);
        }

        let chunks: Vec<NewEmbedding> = (0..embeddings)
            .map(|index| {
                let index = i32::try_from(index).unwrap();
                NewEmbedding::new("doc", "faults", index, "a chunk of a document", "embed", 8)
            })
            .collect();
        let embedding_ids = chunks.iter().map(|chunk| chunk.id).collect();
        embeddings::ingest(conn, chunks).await.unwrap();

        let mut prompt_versions = Vec::new();
        for template in ["Answer: {{question}}", "Answer briefly: {{question}}"] {
            let new = NewPromptVersion::new(PROMPT_NAME, template, &["question"]);
            prompt_versions.push(prompts::publish(conn, new).await.unwrap().id);
        }
        prompts::activate(conn, PROMPT_NAME, 1).await.unwrap();

        Self {
            user: user.id,
            conversations: conversation_ids,
            embeddings: embedding_ids,
            prompt_versions,
        }
    }

    /// A question and its answer in `conversation`, with two retrievals for the answer. The
    /// token counts vary with `seed`, so that a lost or doubled turn shows in the totals.
    pub fn turn(&self, conversation: Uuid, seed: usize) -> NewTurn {
        let question_tokens = i32::try_from(seed % 17 + 3).unwrap();
        let answer_tokens = i32::try_from(seed % 29 + 11).unwrap();
        let prompt_version = self.prompt_versions[seed % self.prompt_versions.len()];

        let question = NewMessage::user(conversation, format!("question {seed}"))
            .with_token_count(question_tokens);
        let mut answer = NewMessage::assistant(conversation, format!("answer {seed}"))
            .with_token_count(answer_tokens)
            .generated_by(prompt_version, "model-a");
        answer.latency_ms = Some(i32::try_from(seed % 500).unwrap());
        answer.finish_reason = Some("stop".to_owned());

        let first = self.embeddings[seed % self.embeddings.len()];
        let second = self.embeddings[(seed + 1) % self.embeddings.len()];
        let retrievals = vec![
            NewRetrieval::new(answer.id, first, 1, 0.9),
            NewRetrieval::new(answer.id, second, 2, 0.7),
        ];
        NewTurn {
            messages: vec![question, answer],
            retrievals,
        }
    }
}

/// The tokens a turn adds to its conversation's total.
pub fn turn_tokens(turn: &NewTurn) -> i64 {
    turn.messages
        .iter()
        .map(|message| i64::from(message.token_count.unwrap_or(0)))
        .sum()
}

/// The answer of a turn, which feedback is given on.
pub fn answer_id(turn: &NewTurn) -> Uuid {
    turn.messages
        .iter()
        .find(|message| message.role == MessageRole::Assistant)
        .map(|message| message.id)
        .unwrap()
}

/// The variant of an error, to count failures by kind.
pub fn kind_of(error: &Error) -> &'static str {
    match error {
        Error::NotFound { .. } => "NotFound",
        Error::Conflict { .. } => "Conflict",
        Error::InvalidInput { .. } => "InvalidInput",
        Error::SecretRefused { .. } => "SecretRefused",
        Error::Template(_) => "Template",
        Error::DimensionMismatch { .. } => "DimensionMismatch",
        Error::ConnectionLost(_) => "ConnectionLost",
        Error::Database(_) => "Database",
        Error::Pool(_) => "Pool",
    }
}

/// Rows that break a rule of the schema; every count is zero in a healthy ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, QueryableByName)]
pub struct Violations {
    /// Conversations whose `total_tokens` is not the sum of their messages' tokens.
    #[diesel(sql_type = BigInt)]
    pub wrong_totals: i64,
    /// Conversations whose positions are not exactly 1..=last_message_position.
    #[diesel(sql_type = BigInt)]
    pub wrong_positions: i64,
    /// Prompt names with more than one active version.
    #[diesel(sql_type = BigInt)]
    pub names_with_several_active: i64,
    /// Messages, retrievals and feedback whose parent row is missing.
    #[diesel(sql_type = BigInt)]
    pub orphans: i64,
    /// Answers without their two retrievals, and questions not followed by their answer:
    /// half-written turns.
    #[diesel(sql_type = BigInt)]
    pub half_turns: i64,
}

impl Violations {
    pub const NONE: Self = Self {
        wrong_totals: 0,
        wrong_positions: 0,
        names_with_several_active: 0,
        orphans: 0,
        half_turns: 0,
    };
}

/// Checks every invariant of the schema with SQL, on the whole database.
pub async fn violations(conn: &mut AsyncPgConnection) -> Violations {
    diesel::sql_query(
        "WITH per_conversation AS (
             SELECT c.id, c.total_tokens, c.last_message_position,
                    coalesce(sum(coalesce(m.token_count, 0)), 0) AS tokens,
                    count(m.id) AS messages,
                    coalesce(max(m.position), 0) AS last_position,
                    count(DISTINCT m.position) AS distinct_positions
               FROM conversations c LEFT JOIN messages m ON m.conversation_id = c.id
              GROUP BY c.id)
         SELECT (SELECT count(*) FROM per_conversation WHERE total_tokens <> tokens)
                    AS wrong_totals,
                (SELECT count(*) FROM per_conversation
                  WHERE last_message_position <> last_position
                     OR messages <> last_position
                     OR distinct_positions <> messages) AS wrong_positions,
                (SELECT count(*) FROM (SELECT name FROM prompt_versions WHERE is_active
                                        GROUP BY name HAVING count(*) > 1) AS several)
                    AS names_with_several_active,
                (SELECT count(*) FROM messages m
                  WHERE NOT EXISTS (SELECT 1 FROM conversations c WHERE c.id = m.conversation_id))
                + (SELECT count(*) FROM message_retrievals r
                    WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = r.message_id)
                       OR NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.id = r.embedding_id))
                + (SELECT count(*) FROM feedback f
                    WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = f.message_id))
                    AS orphans,
                (SELECT count(*) FROM messages answer
                  WHERE answer.role = 'assistant'
                    AND (SELECT count(*) FROM message_retrievals r
                          WHERE r.message_id = answer.id) <> 2)
                + (SELECT count(*) FROM messages question
                    WHERE question.role = 'user'
                      AND NOT EXISTS (SELECT 1 FROM messages answer
                                       WHERE answer.conversation_id = question.conversation_id
                                         AND answer.position = question.position + 1
                                         AND answer.role = 'assistant'
                                         AND answer.content =
                                             'answer ' || substr(question.content, 10)))
                    AS half_turns",
    )
    .get_result(conn)
    .await
    .unwrap()
}

/// Sums that the callers' own accounts must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, QueryableByName)]
pub struct Totals {
    #[diesel(sql_type = BigInt)]
    pub total_tokens: i64,
    #[diesel(sql_type = BigInt)]
    pub messages: i64,
    #[diesel(sql_type = BigInt)]
    pub retrievals: i64,
    #[diesel(sql_type = BigInt)]
    pub feedback: i64,
}

pub async fn totals(conn: &mut AsyncPgConnection) -> Totals {
    diesel::sql_query(
        "SELECT (SELECT coalesce(sum(total_tokens), 0) FROM conversations)::bigint AS total_tokens,
                (SELECT count(*) FROM messages) AS messages,
                (SELECT count(*) FROM message_retrievals) AS retrievals,
                (SELECT count(*) FROM feedback) AS feedback",
    )
    .get_result(conn)
    .await
    .unwrap()
}

/// Latencies of one kind of operation.
#[derive(Debug, Default, Clone)]
pub struct Latencies(Vec<Duration>);

impl Latencies {
    pub fn record(&mut self, latency: Duration) {
        self.0.push(latency);
    }

    pub fn merge(&mut self, other: Self) {
        self.0.extend(other.0);
    }

    pub fn count(&self) -> usize {
        self.0.len()
    }

    /// The latency that `percent` of the operations stayed at or under (nearest rank).
    pub fn percentile(&self, percent: f64) -> Duration {
        let mut sorted = self.0.clone();
        sorted.sort_unstable();
        if sorted.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((percent / 100.0) * sorted.len() as f64).ceil() as usize;
        sorted[rank.clamp(1, sorted.len()) - 1]
    }

    pub fn max(&self) -> Duration {
        self.0.iter().copied().max().unwrap_or_default()
    }
}

/// Latencies by operation name, in name order for stable printing.
pub type LatencyTable = BTreeMap<&'static str, Latencies>;

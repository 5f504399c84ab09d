//! The demo dataset: a small support assistant's week, written through the library's own
//! operations so that the demo shows the real write path.
//!
//! Three versions of a `support-answer` prompt answer customers' questions from a knowledge base;
//! some answers call an order-lookup tool; customers rate the answers, and the unhappy ones often
//! write what the assistant should have said. The outcome of each answer follows a fixed pattern
//! per version, so every run tells the same story: version 2 is the one to keep.

use chatledger_domain::embeddings::{self, NewEmbedding};
use chatledger_domain::feedback::{self, NewFeedback};
use chatledger_domain::messages::{self, NewMessage, NewTurn, ToolCall};
use chatledger_domain::prompts::{self, NewPromptVersion, PromptVersion};
use chatledger_domain::retrievals::NewRetrieval;
use chatledger_domain::users::{self, NewUser};
use chatledger_domain::{Error, FeedbackRating, conversations};
use diesel_async::AsyncPgConnection;
use serde_json::json;
use uuid::Uuid;

/// What [`load`] wrote.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct DemoCounts {
    pub users: usize,
    pub prompt_versions: usize,
    pub chunks: usize,
    pub conversations: usize,
    pub messages: usize,
    pub retrievals: usize,
    pub feedback: usize,
}

const EMBEDDING_MODEL: &str = "text-embedding-3-small";
const EMBEDDING_DIMENSIONS: i32 = 1536;

/// The knowledge base: (document id, chunks).
const DOCUMENTS: [(&str, [&str; 2]); 3] = [
    (
        "refund-policy",
        [
            "Refunds are issued to the original payment method within 5 business days.",
            "Items bought on sale can be returned for store credit only.",
        ],
    ),
    (
        "shipping-faq",
        [
            "Standard shipping takes 3 to 5 business days; express takes 1 to 2.",
            "Orders placed before 2 pm ship the same day.",
        ],
    ),
    (
        "warranty",
        [
            "Electronics carry a two-year warranty against manufacturing defects.",
            "Accidental damage is not covered by the warranty.",
        ],
    ),
];

/// The customers' questions: (question, document index, a good answer).
const QUESTIONS: [(&str, usize, &str); 6] = [
    (
        "How long does a refund take?",
        0,
        "Refunds reach your original payment method within 5 business days.",
    ),
    (
        "Can I return something I bought on sale?",
        0,
        "Yes, sale items can be returned for store credit.",
    ),
    (
        "When will my order arrive?",
        1,
        "Standard shipping takes 3 to 5 business days, express 1 to 2.",
    ),
    (
        "If I order now, does it ship today?",
        1,
        "Orders placed before 2 pm ship the same day.",
    ),
    (
        "Is my broken headset covered?",
        2,
        "Manufacturing defects are covered for two years; accidental damage is not.",
    ),
    (
        "Does the warranty cover a cracked screen?",
        2,
        "No, accidental damage such as a cracked screen is not covered.",
    ),
];

/// One `support-answer` version: template, model, latency base in ms, and out of every ten
/// rated answers how many are thumbs up.
struct SupportVersion {
    template: &'static str,
    model: &'static str,
    latency_base_ms: i32,
    thumbs_up_per_ten: usize,
}

const SUPPORT_VERSIONS: [SupportVersion; 3] = [
    SupportVersion {
        template: "You are a support agent for {{company}}. Answer the question.",
        model: "gpt-4o-mini",
        latency_base_ms: 420,
        thumbs_up_per_ten: 4,
    },
    SupportVersion {
        template: "You are a support agent for {{company}}. Answer from these passages only, \
                   in at most two sentences, in a {{tone}} tone.",
        model: "gpt-4o",
        latency_base_ms: 910,
        thumbs_up_per_ten: 8,
    },
    SupportVersion {
        template: "You are {{company}}'s assistant. Be brief and {{tone}}; cite the passages.",
        model: "gpt-4o-mini",
        latency_base_ms: 380,
        thumbs_up_per_ten: 6,
    },
];

/// Conversations per support version.
const CONVERSATIONS_PER_VERSION: usize = 12;

/// Loads the dataset. `tag` makes the users' external ids unique, so that the demo can be loaded
/// into a database that already has it (`demo --force`).
pub async fn load(conn: &mut AsyncPgConnection, tag: &str) -> Result<DemoCounts, Error> {
    let mut counts = DemoCounts::default();

    let customers = create_customers(conn, tag, &mut counts).await?;
    let chunks = ingest_knowledge_base(conn, &mut counts).await?;
    let versions = publish_support_versions(conn, &mut counts).await?;

    for (version_index, version) in versions.iter().enumerate() {
        for conversation_index in 0..CONVERSATIONS_PER_VERSION {
            let customer = customers[conversation_index % customers.len()];
            let script = Script {
                version_index,
                conversation_index,
            };
            write_conversation(conn, &script, version, customer, &chunks, &mut counts).await?;
        }
    }

    Ok(counts)
}

async fn create_customers(
    conn: &mut AsyncPgConnection,
    tag: &str,
    counts: &mut DemoCounts,
) -> Result<Vec<Uuid>, Error> {
    let mut ids = Vec::new();
    for name in ["ada", "grace", "linus", "margaret"] {
        let user = users::create(conn, NewUser::new(format!("demo-{name}-{tag}"))).await?;
        ids.push(user.id);
        counts.users += 1;
    }
    Ok(ids)
}

/// Returns the chunk ids by document, in chunk order.
async fn ingest_knowledge_base(
    conn: &mut AsyncPgConnection,
    counts: &mut DemoCounts,
) -> Result<Vec<[Uuid; 2]>, Error> {
    let chunks: Vec<NewEmbedding> = DOCUMENTS
        .iter()
        .flat_map(|(document, texts)| {
            texts.iter().enumerate().map(move |(index, text)| {
                let mut chunk = NewEmbedding::new(
                    "document",
                    *document,
                    index as i32,
                    *text,
                    EMBEDDING_MODEL,
                    EMBEDDING_DIMENSIONS,
                );
                chunk.vector_store_id = Some(format!("kb/{document}/{index}"));
                chunk
            })
        })
        .collect();
    embeddings::ingest(conn, chunks).await?;

    let mut ids = Vec::new();
    for (document, _) in DOCUMENTS {
        let recorded = embeddings::for_source(conn, "document", document, EMBEDDING_MODEL).await?;
        counts.chunks += recorded.len();
        let id_of = |index: i32| {
            recorded
                .iter()
                .find(|chunk| chunk.chunk_index == index)
                .map(|chunk| chunk.id)
        };
        match (id_of(0), id_of(1)) {
            (Some(first), Some(second)) => ids.push([first, second]),
            _ => {
                return Err(Error::NotFound {
                    entity: "embedding",
                    key: document.to_owned(),
                });
            }
        }
    }
    Ok(ids)
}

async fn publish_support_versions(
    conn: &mut AsyncPgConnection,
    counts: &mut DemoCounts,
) -> Result<Vec<PromptVersion>, Error> {
    let mut published = Vec::new();
    for version in &SUPPORT_VERSIONS {
        let variables: Vec<&str> = ["company", "tone"]
            .into_iter()
            .filter(|name| version.template.contains(&format!("{{{{{name}}}}}")))
            .collect();
        let mut new = NewPromptVersion::new("support-answer", version.template, &variables);
        new.model_name = Some(version.model.to_owned());
        published.push(prompts::publish(conn, new).await?);
        counts.prompt_versions += 1;
    }
    prompts::activate(conn, "support-answer", 2).await?;
    Ok(published)
}

/// Which conversation of the dataset is being written.
struct Script {
    version_index: usize,
    conversation_index: usize,
}

impl Script {
    fn question(&self) -> (&'static str, usize, &'static str) {
        QUESTIONS[(self.conversation_index + self.version_index) % QUESTIONS.len()]
    }

    /// Every third conversation looks an order up before answering.
    fn uses_tool(&self) -> bool {
        self.conversation_index % 3 == 2
    }

    /// Ten of the twelve answers get rated; the pattern spreads thumbs-up through the list.
    fn rating(&self) -> Option<FeedbackRating> {
        let rated = self.conversation_index % 6 != 5;
        if !rated {
            return None;
        }
        let slot = (self.conversation_index * 7) % 10;
        let up = slot < SUPPORT_VERSIONS[self.version_index].thumbs_up_per_ten;
        Some(if up {
            FeedbackRating::ThumbsUp
        } else {
            FeedbackRating::ThumbsDown
        })
    }

    fn latency_ms(&self) -> i32 {
        let spread = ((self.conversation_index * 137 + self.version_index * 61) % 400) as i32;
        SUPPORT_VERSIONS[self.version_index].latency_base_ms + spread
    }

    /// The first version rambles now and then, and once runs into the length limit.
    fn answer_tokens(&self) -> (i32, &'static str) {
        if self.version_index == 0 && self.conversation_index == 7 {
            return (2048, "length");
        }
        (60 + ((self.conversation_index * 29) % 90) as i32, "stop")
    }
}

async fn write_conversation(
    conn: &mut AsyncPgConnection,
    script: &Script,
    version: &PromptVersion,
    customer: Uuid,
    chunks: &[[Uuid; 2]],
    counts: &mut DemoCounts,
) -> Result<(), Error> {
    let (question, document, good_answer) = script.question();
    let spec = &SUPPORT_VERSIONS[script.version_index];
    let title = format!("{question} ({})", script.conversation_index + 1);
    let conversation = conversations::start(
        conn,
        conversations::NewConversation::new(customer).titled(title),
    )
    .await?;
    let id = conversation.id;

    let system_prompt = version.render(
        [("company", "Northwind"), ("tone", "friendly")]
            .into_iter()
            .filter(|(name, _)| version.variables.iter().any(|declared| declared == name)),
    )?;
    // Input messages carry the model they were sent to, so token usage can price them.
    let sent_to_model = |mut message: NewMessage| {
        message.model_name = Some(spec.model.to_owned());
        message
    };
    let mut turn = vec![
        sent_to_model(
            NewMessage::new(id, chatledger_domain::MessageRole::System, system_prompt)
                .with_token_count(40),
        ),
        sent_to_model(
            NewMessage::user(id, question).with_token_count(12 + (question.len() / 4) as i32),
        ),
    ];

    if script.uses_tool() {
        let call_id = format!(
            "call_{}_{}",
            script.version_index, script.conversation_index
        );
        let order = format!("A-{}", 1000 + script.conversation_index);
        let mut lookup = NewMessage::assistant(id, "")
            .generated_by(version.id, spec.model)
            .with_token_count(18)
            .with_tool_calls(vec![ToolCall::new(
                &call_id,
                "lookup_order",
                json!({ "order_id": order }),
            )]);
        lookup.finish_reason = Some("tool_calls".to_owned());
        turn.push(lookup);
        turn.push(sent_to_model(
            NewMessage::tool(
                id,
                call_id,
                json!({ "order_id": order, "status": "shipped" }).to_string(),
            )
            .with_token_count(15),
        ));
    }

    let (tokens, finish_reason) = script.answer_tokens();
    let rating = script.rating();
    let answer_text = match rating {
        Some(FeedbackRating::ThumbsDown) => "I am not sure; please contact support.",
        _ => good_answer,
    };
    let mut answer = NewMessage::assistant(id, answer_text)
        .generated_by(version.id, spec.model)
        .with_token_count(tokens);
    answer.finish_reason = Some(finish_reason.to_owned());
    answer.latency_ms = Some(script.latency_ms());
    let answer_id = answer.id;
    turn.push(answer);

    let retrievals = chunks[document]
        .iter()
        .enumerate()
        .map(|(rank, chunk)| {
            NewRetrieval::new(
                answer_id,
                *chunk,
                rank as i32 + 1,
                0.91 - rank as f64 * 0.07,
            )
        })
        .collect();
    let written = messages::append_turn(
        conn,
        NewTurn {
            messages: turn,
            retrievals,
        },
    )
    .await?;
    counts.conversations += 1;
    counts.messages += written.messages.len();
    counts.retrievals += written.retrievals.len();

    if let Some(rating) = rating {
        let mut new = NewFeedback::new(answer_id, Some(customer), rating);
        if rating == FeedbackRating::ThumbsDown {
            new = new
                .with_categories(["unhelpful"])
                .with_comment("It did not answer my question.");
            if script.conversation_index.is_multiple_of(2) {
                new = new.with_correction(good_answer);
            }
        } else {
            new = new.with_categories(["helpful"]);
        }
        feedback::submit(conn, new).await?;
        counts.feedback += 1;
    }
    Ok(())
}

//! The exact record of each format for one conversation that has every kind of message: a
//! system prompt, a user turn, an assistant turn that calls a tool, the tool's result, and the
//! rated answer.

use chatledger_query::export::{ExportFormat, SkipReason};
use serde_json::{Value, json};

use crate::support::{Ledger, Message, Rating};

/// The ids a fixture's records mention.
struct Fixture {
    ledger: Ledger,
    conversation_id: uuid::Uuid,
    answer_id: uuid::Uuid,
}

/// The conversation of every test here; the answer at position 5 is rated thumbs-down with a
/// correction and was produced by `support-answer` version 2.
async fn support_conversation() -> Fixture {
    let mut ledger = Ledger::new().await;
    let prompt = ledger.prompt_version("support-answer", 2).await;
    let conversation_id = ledger.conversation().await;
    let ids = ledger
        .thread(
            conversation_id,
            vec![
                Message::system("You are a support agent."),
                Message::user("Where is order 1234?"),
                Message::assistant("").calling(json!([
                    {"id": "call_1", "name": "lookup_order", "arguments": {"order": "1234"}}
                ])),
                Message::tool("call_1", r#"{"status":"shipped"}"#),
                Message::assistant("It is lost.").produced_by(prompt, "gpt-test"),
            ],
        )
        .await;
    let answer_id = ids[4];
    ledger
        .rate(
            answer_id,
            Rating::down()
                .correcting("It shipped yesterday.")
                .commenting("wrong status")
                .labelled(&["inaccurate", "tone"]),
        )
        .await;
    ledger
        .rate(answer_id, Rating::neutral().labelled(&["inaccurate"]))
        .await;
    ledger
        .retrieved(answer_id, 2, 0.5, "faq-7", "Orders ship in 2 days.")
        .await;
    ledger
        .retrieved(
            answer_id,
            1,
            0.9,
            "doc-3",
            "Track orders on the status page.",
        )
        .await;
    Fixture {
        ledger,
        conversation_id,
        answer_id,
    }
}

/// The four messages before the answer, in the OpenAI chat shape.
fn expected_context() -> Value {
    json!([
        {"role": "system", "content": "You are a support agent."},
        {"role": "user", "content": "Where is order 1234?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{
                "id": "call_1",
                "type": "function",
                "function": {"name": "lookup_order", "arguments": "{\"order\":\"1234\"}"}
            }]
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "{\"status\":\"shipped\"}"}
    ])
}

#[tokio::test(flavor = "multi_thread")]
async fn openai_sft_ends_the_context_with_the_correction() {
    let Fixture { mut ledger, .. } = support_conversation().await;

    let (records, summary) = ledger.export(ExportFormat::OpenAiSft).await;

    let mut messages = expected_context().as_array().unwrap().clone();
    messages.push(json!({"role": "assistant", "content": "It shipped yesterday."}));
    assert_eq!(records, vec![json!({ "messages": messages })]);
    assert_eq!((summary.records_written, summary.skipped_total()), (1, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn openai_dpo_prefers_the_correction_over_the_original() {
    let Fixture { mut ledger, .. } = support_conversation().await;

    let (records, _) = ledger.export(ExportFormat::OpenAiDpo).await;

    assert_eq!(
        records,
        vec![json!({
            "input": {"messages": expected_context()},
            "preferred_output": [{"role": "assistant", "content": "It shipped yesterday."}],
            "non_preferred_output": [{"role": "assistant", "content": "It is lost."}]
        })]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn trl_writes_conversational_prompt_chosen_and_rejected() {
    let Fixture { mut ledger, .. } = support_conversation().await;

    let (records, _) = ledger.export(ExportFormat::Trl).await;

    assert_eq!(
        records,
        vec![json!({
            "prompt": expected_context(),
            "chosen": [{"role": "assistant", "content": "It shipped yesterday."}],
            "rejected": [{"role": "assistant", "content": "It is lost."}]
        })]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn kto_labels_the_original_answer() {
    let Fixture { mut ledger, .. } = support_conversation().await;

    let (records, _) = ledger.export(ExportFormat::Kto).await;

    assert_eq!(
        records,
        vec![json!({
            "prompt": expected_context(),
            "completion": [{"role": "assistant", "content": "It is lost."}],
            "label": false
        })]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn jsonl_carries_ids_prompt_version_feedback_and_chunks() {
    let Fixture {
        mut ledger,
        conversation_id,
        answer_id,
    } = support_conversation().await;

    let (records, _) = ledger.export(ExportFormat::Jsonl).await;

    assert_eq!(
        records,
        vec![json!({
            "message_id": answer_id,
            "conversation_id": conversation_id,
            "prompt_name": "support-answer",
            "prompt_version": 2,
            "model_name": "gpt-test",
            "context": expected_context(),
            "content": "It is lost.",
            "tool_calls": null,
            "ratings": {"thumbs_up": 0, "thumbs_down": 1, "neutral": 1},
            "categories": ["inaccurate", "tone"],
            "corrections": ["It shipped yesterday."],
            "comments": ["wrong status"],
            "retrieved_chunks": [
                {
                    "rank": 1,
                    "score": 0.9,
                    "source_type": "document",
                    "source_id": "doc-3",
                    "text": "Track orders on the status page."
                },
                {
                    "rank": 2,
                    "score": 0.5,
                    "source_type": "document",
                    "source_id": "faq-7",
                    "text": "Orders ship in 2 days."
                }
            ]
        })]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_answer_that_calls_tools_keeps_them_in_openai_shape() {
    let mut ledger = Ledger::new().await;
    let conversation = ledger.conversation().await;
    let ids = ledger
        .thread(
            conversation,
            vec![
                Message::user("Book a table"),
                Message::assistant("Booking now.").calling(json!([
                    {"id": "call_9", "name": "book_table", "arguments": "{\"people\": 2}"}
                ])),
            ],
        )
        .await;
    ledger
        .rate(ids[1], Rating::down().correcting("For how many people?"))
        .await;
    let original = json!({
        "role": "assistant",
        "content": "Booking now.",
        "tool_calls": [{
            "id": "call_9",
            "type": "function",
            "function": {"name": "book_table", "arguments": "{\"people\": 2}"}
        }]
    });

    let (dpo, _) = ledger.export(ExportFormat::OpenAiDpo).await;
    let (trl, _) = ledger.export(ExportFormat::Trl).await;
    let (kto, _) = ledger.export(ExportFormat::Kto).await;
    let (jsonl, _) = ledger.export(ExportFormat::Jsonl).await;

    assert_eq!(dpo[0]["non_preferred_output"], json!([original]));
    assert_eq!(trl[0]["rejected"], json!([original]));
    assert_eq!(kto[0]["completion"], json!([original]));
    assert_eq!(jsonl[0]["tool_calls"], original["tool_calls"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn tool_calls_that_are_not_the_documented_shape_skip_the_record() {
    let mut ledger = Ledger::new().await;
    let conversation = ledger.conversation().await;
    let ids = ledger
        .thread(
            conversation,
            vec![
                Message::user("Hi"),
                Message::assistant("").calling(json!([{"function": "greet"}])),
                Message::user("Hello?"),
                Message::assistant("Hello."),
            ],
        )
        .await;
    ledger.rate(ids[1], Rating::down()).await;
    ledger.rate(ids[3], Rating::down()).await;

    let (records, summary) = ledger.export(ExportFormat::Kto).await;

    assert!(
        records.is_empty(),
        "the answer after the malformed call has it in its context"
    );
    assert_eq!(
        summary.skipped.get(&SkipReason::MalformedToolCalls),
        Some(&2)
    );
}

//! Exports redact every kind of personal data in every text field unless told not to.

use chatledger_query::export::{ExportFormat, ExportOptions};
use serde_json::json;

use crate::support::{Ledger, Message, Rating};

const EMAIL: &str = "ann.lee@example.org";
const PHONE: &str = "+44 20 7946 0958";
const IP: &str = "203.0.113.42";
const CARD: &str = "4111 1111 1111 1111";
const SECRET: &str = "sk-live-4f9a8b7c6d5e4f3a2b1c";

/// Every kind of item once in each field an export writes: context, answer, tool-call
/// arguments, tool result, correction, comment, category and retrieved chunk.
async fn ledger_full_of_personal_data() -> Ledger {
    let mut ledger = Ledger::new().await;
    let conversation = ledger.conversation().await;
    let all = format!("{EMAIL} {PHONE} {IP} {CARD} {SECRET}");
    let ids = ledger
        .thread(
            conversation,
            vec![
                Message::system(&format!("Operator key {SECRET}")),
                Message::user(&format!("I am {EMAIL}, call {PHONE}, card {CARD}")),
                Message::assistant("").calling(json!([
                    {"id": "call_1", "name": "lookup", "arguments": {"email": EMAIL, "ip": IP}}
                ])),
                Message::tool("call_1", &format!("{{\"last_login_ip\":\"{IP}\"}}")),
                Message::assistant(&format!("Your card {CARD} from {IP} is fine.")).calling(json!([
                    {"id": "call_2", "name": "notify", "arguments": format!("{{\"to\":\"{EMAIL}\"}}")}
                ])),
            ],
        )
        .await;
    ledger
        .rate(
            ids[4],
            Rating::down()
                .correcting(&format!("I will email {EMAIL} and call {PHONE}."))
                .commenting(&format!("leaked {all}"))
                .labelled(&[EMAIL]),
        )
        .await;
    ledger
        .retrieved(ids[4], 1, 0.8, "crm-1", &format!("Customer record: {all}"))
        .await;
    ledger
}

#[tokio::test(flavor = "multi_thread")]
async fn every_format_redacts_every_kind_by_default() {
    let mut ledger = ledger_full_of_personal_data().await;

    for format in ExportFormat::ALL {
        let (text, summary) = ledger.export_text(&ExportOptions::new(format)).await;

        assert!(summary.redacted);
        assert_eq!(summary.records_written, 1, "{format}");
        for item in [EMAIL, PHONE, IP, CARD, SECRET] {
            assert!(!text.contains(item), "{format} leaked {item}: {text}");
        }
        for placeholder in ["[EMAIL]", "[PHONE]", "[CARD]", "[SECRET]"] {
            assert!(
                text.contains(placeholder),
                "{format} lacks {placeholder}: {text}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn redaction_reaches_every_field_of_the_audit_format() {
    let mut ledger = ledger_full_of_personal_data().await;

    let (records, _) = ledger.export(ExportFormat::Jsonl).await;

    let record = &records[0];
    assert_eq!(record["content"], "Your card [CARD] from [IP] is fine.");
    assert_eq!(
        record["tool_calls"][0]["function"]["arguments"],
        "{\"to\":\"[EMAIL]\"}"
    );
    // Arguments stored as a JSON object come back in jsonb's key order, so compare them parsed.
    let stored_as_object = &record["context"][2]["tool_calls"][0]["function"]["arguments"];
    let parsed: serde_json::Value =
        serde_json::from_str(stored_as_object.as_str().unwrap()).unwrap();
    assert_eq!(parsed, json!({"email": "[EMAIL]", "ip": "[IP]"}));
    assert_eq!(
        record["context"][3]["content"],
        "{\"last_login_ip\":\"[IP]\"}"
    );
    assert_eq!(
        record["corrections"],
        json!(["I will email [EMAIL] and call [PHONE]."])
    );
    let all_placeholders = "[EMAIL] [PHONE] [IP] [CARD] [SECRET]";
    assert_eq!(
        record["comments"],
        json!([format!("leaked {all_placeholders}")])
    );
    assert_eq!(record["categories"], json!(["[EMAIL]"]));
    assert_eq!(
        record["retrieved_chunks"][0]["text"],
        format!("Customer record: {all_placeholders}")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn no_redact_keeps_the_text_as_written() {
    let mut ledger = ledger_full_of_personal_data().await;
    let mut options = ExportOptions::new(ExportFormat::Jsonl);
    options.redact = false;

    let (text, summary) = ledger.export_text(&options).await;

    assert!(!summary.redacted);
    for item in [EMAIL, PHONE, IP, CARD, SECRET] {
        assert!(text.contains(item), "{item} missing: {text}");
    }
    assert!(!text.contains("[EMAIL]"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_data_redacts_the_same_way_every_time() {
    let mut ledger = ledger_full_of_personal_data().await;

    let (first, _) = ledger
        .export_text(&ExportOptions::new(ExportFormat::OpenAiDpo))
        .await;
    let (second, _) = ledger
        .export_text(&ExportOptions::new(ExportFormat::OpenAiDpo))
        .await;

    assert_eq!(first, second);
}

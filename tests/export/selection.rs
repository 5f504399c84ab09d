//! Which answers each format takes, how several feedback rows on one answer resolve, and the
//! reasons counted for the answers it leaves out.

use std::collections::BTreeMap;

use chatledger_query::export::{ExportFormat, SkipReason};
use serde_json::Value;

use crate::support::{Ledger, Message, Rating};

/// A conversation of `answers.len()` question and answer pairs; returns the answers' ids.
async fn answers(ledger: &mut Ledger, answers: &[&str]) -> Vec<uuid::Uuid> {
    let conversation = ledger.conversation().await;
    let mut ids = Vec::new();
    for answer in answers {
        ledger
            .append(
                conversation,
                Message::user(&format!("question for {answer}")),
            )
            .await;
        ids.push(
            ledger
                .append(conversation, Message::assistant(answer))
                .await,
        );
    }
    ids
}

#[expect(
    clippy::unwrap_used,
    reason = "an sft record without messages fails the test"
)]
fn last_turn_contents(records: &[Value]) -> Vec<&str> {
    records
        .iter()
        .map(|record| {
            let messages = record["messages"].as_array().unwrap();
            messages.last().unwrap()["content"].as_str().unwrap()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn corrections_come_from_the_newest_thumbs_down_that_has_one() {
    let mut ledger = Ledger::new().await;
    let ids = answers(&mut ledger, &["first", "second", "third", "fourth"]).await;
    // first: two corrections, then a thumbs-down without one: the newer correction wins.
    ledger
        .rate(ids[0], Rating::down().correcting("older fix"))
        .await;
    ledger
        .rate(ids[0], Rating::down().correcting("newer fix"))
        .await;
    ledger.rate(ids[0], Rating::down()).await;
    // second: a correction on a thumbs-up does not count.
    ledger.rate(ids[1], Rating::down()).await;
    ledger
        .rate(ids[1], Rating::up().correcting("not a thumbs-down"))
        .await;
    // third: a blank correction is none.
    ledger.rate(ids[2], Rating::down().correcting("  \n")).await;
    // fourth: only praised, so no candidate at all.
    ledger
        .rate(ids[3], Rating::up().correcting("ignored"))
        .await;

    let (records, summary) = ledger.export(ExportFormat::OpenAiSft).await;

    assert_eq!(last_turn_contents(&records), vec!["newer fix"]);
    assert_eq!(summary.candidates_examined, 3);
    assert_eq!(
        summary.skipped,
        BTreeMap::from([(SkipReason::MissingCorrection, 2)])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn kto_labels_by_majority_and_skips_ties() {
    let mut ledger = Ledger::new().await;
    let ids = answers(&mut ledger, &["liked", "disliked", "tied", "neutral only"]).await;
    for rating in [
        Rating::up(),
        Rating::up(),
        Rating::down(),
        Rating::neutral(),
    ] {
        ledger.rate(ids[0], rating).await;
    }
    for rating in [
        Rating::down(),
        Rating::down(),
        Rating::up(),
        Rating::neutral(),
    ] {
        ledger.rate(ids[1], rating).await;
    }
    for rating in [Rating::down(), Rating::up(), Rating::neutral()] {
        ledger.rate(ids[2], rating).await;
    }
    ledger.rate(ids[3], Rating::neutral()).await;

    let (records, summary) = ledger.export(ExportFormat::Kto).await;

    let labels: Vec<(&str, bool)> = records
        .iter()
        .map(|record| {
            let completion = record["completion"][0]["content"].as_str().unwrap();
            (completion, record["label"].as_bool().unwrap())
        })
        .collect();
    assert_eq!(labels, vec![("liked", true), ("disliked", false)]);
    assert_eq!(
        summary.skipped,
        BTreeMap::from([(SkipReason::TiedRatings, 1)])
    );
    assert_eq!(
        summary.candidates_examined, 3,
        "an answer rated only neutral is no candidate"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_answer_that_opens_its_conversation_has_no_prompt_and_is_skipped_for_training() {
    let mut ledger = Ledger::new().await;
    let conversation = ledger.conversation().await;
    let opening = ledger
        .append(conversation, Message::assistant("Hello, how can I help?"))
        .await;
    ledger
        .rate(opening, Rating::down().correcting("Hi! What do you need?"))
        .await;

    for format in [
        ExportFormat::OpenAiSft,
        ExportFormat::OpenAiDpo,
        ExportFormat::Trl,
        ExportFormat::Kto,
    ] {
        let (records, summary) = ledger.export(format).await;
        assert!(records.is_empty(), "{format}");
        assert_eq!(
            summary.skipped,
            BTreeMap::from([(SkipReason::NoEarlierContext, 1)]),
            "{format}"
        );
    }
    let (audit, _) = ledger.export(ExportFormat::Jsonl).await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0]["context"], serde_json::json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn only_assistant_messages_are_candidates() {
    let mut ledger = Ledger::new().await;
    let conversation = ledger.conversation().await;
    let ids = ledger
        .thread(
            conversation,
            vec![Message::user("rude question"), Message::assistant("answer")],
        )
        .await;
    ledger
        .rate(ids[0], Rating::down().correcting("polite question"))
        .await;
    ledger.rate(ids[0], Rating::up()).await;

    for format in ExportFormat::ALL {
        let (records, summary) = ledger.export(format).await;
        assert!(records.is_empty(), "{format}");
        assert_eq!(summary.candidates_examined, 0, "{format}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn jsonl_takes_every_rated_answer_with_all_its_feedback() {
    let mut ledger = Ledger::new().await;
    let ids = answers(&mut ledger, &["one", "two", "unrated"]).await;
    ledger
        .rate(
            ids[0],
            Rating::neutral().labelled(&["verbose"]).commenting("long"),
        )
        .await;
    ledger
        .rate(
            ids[1],
            Rating::down()
                .labelled(&["wrong", "rude"])
                .correcting("fix 1"),
        )
        .await;
    ledger
        .rate(
            ids[1],
            Rating::down().labelled(&["rude"]).correcting("fix 2"),
        )
        .await;
    ledger.rate(ids[1], Rating::up().commenting(" ")).await;

    let (records, summary) = ledger.export(ExportFormat::Jsonl).await;

    assert_eq!(summary.records_written, 2);
    let contents: Vec<&str> = records
        .iter()
        .map(|record| record["content"].as_str().unwrap())
        .collect();
    assert_eq!(contents, vec!["one", "two"]);
    assert_eq!(records[0]["comments"], serde_json::json!(["long"]));
    assert_eq!(
        records[1]["categories"],
        serde_json::json!(["rude", "wrong"])
    );
    assert_eq!(
        records[1]["corrections"],
        serde_json::json!(["fix 1", "fix 2"])
    );
    assert_eq!(records[1]["comments"], serde_json::json!([]));
    assert_eq!(
        records[1]["ratings"],
        serde_json::json!({"thumbs_up": 1, "thumbs_down": 2, "neutral": 0})
    );
    assert_eq!(records[1]["prompt_name"], Value::Null);
}

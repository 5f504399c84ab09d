//! The prompt context of an answer is its own conversation's earlier messages, in written order:
//! never the answer itself, never a later message, never another conversation's.

use chatledger_query::export::{ExportFormat, ExportOptions};
use serde_json::{Value, json};

use crate::support::{Ledger, Message, Rating, lines};

#[expect(
    clippy::unwrap_used,
    reason = "a record without message contents fails the test"
)]
fn contents(messages: &Value) -> Vec<&str> {
    messages
        .as_array()
        .unwrap()
        .iter()
        .map(|message| message["content"].as_str().unwrap())
        .collect()
}

/// Two conversations written in alternation, so that their messages' ids and timestamps
/// interleave; every answer is rated thumbs-up.
async fn interleaved_conversations() -> Ledger {
    let mut ledger = Ledger::new().await;
    let first = ledger.conversation().await;
    let second = ledger.conversation().await;
    for turn in 1..=3 {
        for (conversation, name) in [(first, "a"), (second, "b")] {
            ledger
                .append(
                    conversation,
                    Message::user(&format!("{name} question {turn}")),
                )
                .await;
            let answer = ledger
                .append(
                    conversation,
                    Message::assistant(&format!("{name} answer {turn}")),
                )
                .await;
            ledger.rate(answer, Rating::up()).await;
        }
    }
    ledger
}

#[tokio::test(flavor = "multi_thread")]
async fn each_answer_is_prompted_by_exactly_the_earlier_messages_of_its_conversation() {
    let mut ledger = interleaved_conversations().await;

    let (records, summary) = ledger.export(ExportFormat::Kto).await;

    assert_eq!(summary.records_written, 6);
    let mut seen: Vec<(Vec<&str>, &str)> = records
        .iter()
        .map(|record| {
            (
                contents(&record["prompt"]),
                contents(&record["completion"])[0],
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        vec![
            (vec!["a question 1"], "a answer 1"),
            (
                vec!["a question 1", "a answer 1", "a question 2"],
                "a answer 2"
            ),
            (
                vec![
                    "a question 1",
                    "a answer 1",
                    "a question 2",
                    "a answer 2",
                    "a question 3"
                ],
                "a answer 3"
            ),
            (vec!["b question 1"], "b answer 1"),
            (
                vec!["b question 1", "b answer 1", "b question 2"],
                "b answer 2"
            ),
            (
                vec![
                    "b question 1",
                    "b answer 1",
                    "b question 2",
                    "b answer 2",
                    "b question 3"
                ],
                "b answer 3"
            ),
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_answer_being_trained_on_is_never_part_of_its_own_prompt() {
    // Two rated answers in one conversation land on one page, so the first answer's own row is
    // among the messages loaded as context for the second.
    let mut ledger = Ledger::new().await;
    let conversation = ledger.conversation().await;
    let ids = ledger
        .thread(
            conversation,
            vec![
                Message::user("What is 2+2?"),
                Message::assistant("5"),
                Message::user("Sure?"),
                Message::assistant("Yes, 5."),
            ],
        )
        .await;
    ledger.rate(ids[1], Rating::down().correcting("4")).await;
    ledger
        .rate(ids[3], Rating::down().correcting("Sorry, it is 4."))
        .await;
    let first_prompt = json!([{"role": "user", "content": "What is 2+2?"}]);
    let second_prompt = json!([
        {"role": "user", "content": "What is 2+2?"},
        {"role": "assistant", "content": "5"},
        {"role": "user", "content": "Sure?"}
    ]);

    for format in [
        ExportFormat::OpenAiSft,
        ExportFormat::OpenAiDpo,
        ExportFormat::Trl,
    ] {
        let (records, _) = ledger.export(format).await;
        let prompts: Vec<Value> = records
            .iter()
            .map(|record| match format {
                ExportFormat::OpenAiSft => {
                    let messages = record["messages"].as_array().unwrap();
                    Value::Array(messages[..messages.len() - 1].to_vec())
                }
                ExportFormat::OpenAiDpo => record["input"]["messages"].clone(),
                _ => record["prompt"].clone(),
            })
            .collect();
        assert_eq!(
            prompts,
            vec![first_prompt.clone(), second_prompt.clone()],
            "{format}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_page_size_writes_the_same_records() {
    let mut ledger = interleaved_conversations().await;
    let mut whole = ExportOptions::new(ExportFormat::Jsonl);
    whole.page_size = 1000;
    let (expected, _) = ledger.export_text(&whole).await;

    for page_size in [1, 2, 4] {
        let mut paged = ExportOptions::new(ExportFormat::Jsonl);
        paged.page_size = page_size;
        let (text, summary) = ledger.export_text(&paged).await;
        assert_eq!(text, expected, "page size {page_size}");
        assert_eq!(summary.records_written, 6);
    }
    assert_eq!(lines(&expected).len(), 6);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_conversation_longer_than_one_fetch_keeps_its_whole_context() {
    let mut ledger = Ledger::new().await;
    let long = ledger.conversation().await;
    let short = ledger.conversation().await;

    // The export fetches its cursor 2 048 rows at a time; answers at positions 2, 2 050 and
    // 4 100 sit in the first, second and third fetch of one conversation.
    crate::support::run_sql(
        &mut ledger.connection,
        &format!(
            "INSERT INTO messages (conversation_id, role, content)
             SELECT '{long}', CASE WHEN n % 2 = 1 THEN 'user' ELSE 'assistant' END::message_role,
                    'message ' || n
               FROM generate_series(1, 4200) AS n"
        ),
    )
    .await;
    for position in [2, 2_050, 4_100] {
        let answer = crate::support::message_at(&mut ledger.connection, long, position).await;
        ledger.rate(answer, Rating::up()).await;
    }
    ledger.append(short, Message::user("short question")).await;
    let short_answer = ledger
        .append(short, Message::assistant("short answer"))
        .await;
    ledger.rate(short_answer, Rating::up()).await;

    let (records, summary) = ledger.export(ExportFormat::Jsonl).await;

    assert_eq!(summary.records_written, 4);
    let mut long_records: Vec<(usize, Vec<&str>, &str)> = records
        .iter()
        .filter(|record| record["conversation_id"] == json!(long))
        .map(|record| {
            (
                record["context"].as_array().map_or(0, Vec::len),
                contents(&record["context"]),
                record["content"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    long_records.sort_by_key(|(length, _, _)| *length);
    assert_eq!(long_records.len(), 3);
    for ((length, context, content), position) in long_records.iter().zip([2, 2_050, 4_100]) {
        let expected: Vec<String> = (1..position).map(|n| format!("message {n}")).collect();
        assert_eq!(*length, position - 1);
        assert_eq!(
            context, &expected,
            "the context of the answer at {position}"
        );
        assert_eq!(*content, format!("message {position}"));
    }
    let short_record = records
        .iter()
        .find(|record| record["conversation_id"] == json!(short))
        .unwrap();
    assert_eq!(contents(&short_record["context"]), vec!["short question"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_of_long_messages_read_ahead_does_not_stall_the_page_queries() {
    let mut ledger = Ledger::new().await;

    // 2 000 conversations of a question and a rated answer, 8 kB each: one batch read ahead is
    // 16 MB, more than the connection buffers, while a page of 16 answers uses 32 rows of it.
    // Should the page's feedback query wait behind that batch, the export would never finish.
    crate::support::run_sql(
        &mut ledger.connection,
        "INSERT INTO conversations (user_id, title)
         SELECT (SELECT id FROM users LIMIT 1), 'long ' || n FROM generate_series(1, 2000) AS n;
         INSERT INTO messages (conversation_id, role, content)
         SELECT c.id, turn.role::message_role, turn.role || ' ' || repeat('x', 8000)
           FROM conversations AS c
          CROSS JOIN (VALUES (1, 'user'), (2, 'assistant')) AS turn (place, role)
          ORDER BY c.id, turn.place;
         INSERT INTO feedback (message_id, rating)
         SELECT id, 'thumbs_up' FROM messages WHERE role = 'assistant';",
    )
    .await;
    let mut options = ExportOptions::new(ExportFormat::Kto);
    options.page_size = 16;

    let exported = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        ledger.export_text(&options),
    )
    .await;

    let (text, summary) = exported.expect("the export finishes");
    assert_eq!(summary.records_written, 2_000);
    for record in lines(&text) {
        assert_eq!(record["prompt"].as_array().map(Vec::len), Some(1));
    }
}

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
async fn a_conversation_longer_than_a_batch_keeps_its_whole_context_and_all_its_feedback() {
    let mut ledger = Ledger::new().await;
    let long = ledger.conversation().await;
    let short = ledger.conversation().await;

    // A batch asks for about 8 192 messages and the cursor fetches 16 384 feedback rows at a
    // time: the long conversation is a batch of its own, and its last rated answer has more
    // feedback than one fetch holds, so its rows arrive in two fetches.
    crate::support::run_sql(
        &mut ledger.connection,
        &format!(
            "INSERT INTO messages (conversation_id, role, content)
             SELECT '{long}', CASE WHEN n % 2 = 1 THEN 'user' ELSE 'assistant' END::message_role,
                    'message ' || n
               FROM generate_series(1, 9000) AS n"
        ),
    )
    .await;
    let rated_positions: [usize; 3] = [2, 4_100, 8_998];
    for position in [2, 4_100, 8_998] {
        let answer = crate::support::message_at(&mut ledger.connection, long, position).await;
        ledger.rate(answer, Rating::down()).await;
    }
    let much_rated = crate::support::message_at(&mut ledger.connection, long, 8_998).await;
    crate::support::run_sql(
        &mut ledger.connection,
        &format!(
            "INSERT INTO feedback (message_id, rating)
             SELECT '{much_rated}', 'thumbs_up' FROM generate_series(1, 17000)"
        ),
    )
    .await;
    ledger.append(short, Message::user("short question")).await;
    let short_answer = ledger
        .append(short, Message::assistant("short answer"))
        .await;
    ledger.rate(short_answer, Rating::up()).await;

    let (records, summary) = ledger.export(ExportFormat::Jsonl).await;

    assert_eq!(summary.records_written, 4);
    let mut long_records: Vec<(usize, Vec<&str>, &str, &Value)> = records
        .iter()
        .filter(|record| record["conversation_id"] == json!(long))
        .map(|record| {
            (
                record["context"].as_array().map_or(0, Vec::len),
                contents(&record["context"]),
                record["content"].as_str().unwrap_or_default(),
                &record["ratings"],
            )
        })
        .collect();
    long_records.sort_by_key(|(length, ..)| *length);
    assert_eq!(long_records.len(), 3);
    for ((length, context, content, _), position) in long_records.iter().zip(rated_positions) {
        let expected: Vec<String> = (1..position).map(|n| format!("message {n}")).collect();
        assert_eq!(*length, position - 1);
        assert_eq!(
            context, &expected,
            "the context of the answer at {position}"
        );
        assert_eq!(*content, format!("message {position}"));
    }
    let ratings: Vec<&Value> = long_records.iter().map(|(.., ratings)| *ratings).collect();
    let once_down = json!({"thumbs_up": 0, "thumbs_down": 1, "neutral": 0});
    let much_rated_ratings = json!({"thumbs_up": 17_000, "thumbs_down": 1, "neutral": 0});
    assert_eq!(ratings, [&once_down, &once_down, &much_rated_ratings]);
    let short_record = records
        .iter()
        .find(|record| record["conversation_id"] == json!(short))
        .unwrap();
    assert_eq!(contents(&short_record["context"]), vec!["short question"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn batches_larger_than_the_connection_buffers_do_not_stall_the_fetches_sent_behind_them() {
    let mut ledger = Ledger::new().await;

    // 6 000 conversations of a question and an answer of 4 kB each, every answer rated three
    // times: 18 000 feedback rows, more than the 16 384 of one fetch. The first batch takes
    // 4 096 conversations (8 192 messages, 32 MB) and leaves fewer rows than half a fetch, so
    // the second fetch is sent behind it; the second batch runs out of rows while the first is
    // still on its way. Should the fetch be awaited before the batch in front of it, the
    // export would never finish; should rows be lost or repeated between the fetches, the
    // records would show it.
    crate::support::run_sql(
        &mut ledger.connection,
        "INSERT INTO conversations (user_id, title)
         SELECT (SELECT id FROM users LIMIT 1), 'long ' || n FROM generate_series(1, 6000) AS n;
         INSERT INTO messages (conversation_id, role, content)
         SELECT c.id, turn.role::message_role, turn.role || ' of ' || c.title || ' '
                || repeat('x', 4000)
           FROM conversations AS c
          CROSS JOIN (VALUES (1, 'user'), (2, 'assistant')) AS turn (place, role)
          WHERE c.title LIKE 'long %'
          ORDER BY c.id, turn.place;
         INSERT INTO feedback (message_id, rating)
         SELECT m.id, 'thumbs_up'
           FROM messages AS m
          CROSS JOIN generate_series(1, 3)
          WHERE m.role = 'assistant';",
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
    assert_eq!(summary.records_written, 6_000);
    let mut answers = std::collections::BTreeSet::new();
    for record in lines(&text) {
        let question = contents(&record["prompt"]);
        let answer = contents(&record["completion"]);
        assert_eq!(question.len(), 1);
        assert_eq!(
            question[0].replacen("user", "assistant", 1),
            answer[0],
            "an answer is prompted by its own question"
        );
        assert_eq!(record["label"], json!(true));
        answers.insert(answer[0].to_owned());
    }
    assert_eq!(answers.len(), 6_000, "every answer is written once");
}

//! `prompt_feedback`: counts, rates and Wilson intervals per prompt version.

use chatledger_query::filters::{ReportFilter, TimeWindow};
use chatledger_query::reports::{PromptFeedbackRow, prompt_feedback};
use chatledger_schema::FeedbackRating::{Neutral, ThumbsDown, ThumbsUp};
use chatledger_schema::MessageRole;
use chatledger_tests::TestDatabase;
use diesel_async::AsyncPgConnection;

use crate::fixtures::{self, MessageSpec, assert_some_close};

/// support@1 (model-a): ten answers on 2026-12-01 and one on 2026-11-30.
///   answers 1–6: one thumbs-up each                      → 6 up
///   answer 7: two thumbs-up (two raters)                 → 2 up   (fan-out: 1 message, 2 records)
///   answer 8: thumbs-down and neutral                    → 1 down, 1 neutral
///   answer 9: thumbs-down                                → 1 down
///   answer 10: no feedback
///   the 2026-11-30 answer: thumbs-up                     → outside the two-day window
/// support@2 (model-a, active): three answers, one neutral record, no up or down.
/// support@3: no messages.
/// billing@1 (model-b): two answers, one thumbs-down.
/// A user message (no prompt version) with a thumbs-up, which no version may count.
async fn dataset(connection: &mut AsyncPgConnection) {
    let conversation = fixtures::any_conversation(connection).await;
    let support_1 = fixtures::prompt_version(connection, "support", 1, false).await;
    let support_2 = fixtures::prompt_version(connection, "support", 2, true).await;
    fixtures::prompt_version(connection, "support", 3, false).await;
    let billing_1 = fixtures::prompt_version(connection, "billing", 1, true).await;

    let support_answer = MessageSpec::answer("model-a").version(support_1);
    let mut answers = Vec::new();
    for _ in 0..10 {
        answers.push(support_answer.insert(connection, conversation).await);
    }
    for &answer in &answers[0..6] {
        fixtures::rate(connection, answer, ThumbsUp, &[]).await;
    }
    fixtures::rate(connection, answers[6], ThumbsUp, &[]).await;
    fixtures::rate(connection, answers[6], ThumbsUp, &[]).await;
    fixtures::rate(connection, answers[7], ThumbsDown, &[]).await;
    fixtures::rate(connection, answers[7], Neutral, &[]).await;
    fixtures::rate(connection, answers[8], ThumbsDown, &[]).await;
    let old_answer = support_answer
        .clone()
        .at("2026-11-30T12:00:00Z")
        .insert(connection, conversation)
        .await;
    fixtures::rate(connection, old_answer, ThumbsUp, &[]).await;

    let active_answer = MessageSpec::answer("model-a").version(support_2);
    let first_active = active_answer.insert(connection, conversation).await;
    active_answer.insert(connection, conversation).await;
    active_answer.insert(connection, conversation).await;
    fixtures::rate(connection, first_active, Neutral, &[]).await;

    let billing_answer = MessageSpec::answer("model-b").version(billing_1);
    let rated_billing = billing_answer.insert(connection, conversation).await;
    billing_answer.insert(connection, conversation).await;
    fixtures::rate(connection, rated_billing, ThumbsDown, &[]).await;

    let question = MessageSpec::new(MessageRole::User)
        .insert(connection, conversation)
        .await;
    fixtures::rate(connection, question, ThumbsUp, &[]).await;
}

fn row<'a>(rows: &'a [PromptFeedbackRow], name: &str, version: i32) -> &'a PromptFeedbackRow {
    rows.iter()
        .find(|row| row.prompt_name == name && row.version == version)
        .unwrap_or_else(|| panic!("no row for {name}@{version}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn counts_each_message_once_and_each_feedback_record_once() {
    let database = TestDatabase::new().await;
    let mut connection = database.connect().await;
    dataset(&mut connection).await;

    let filter = ReportFilter {
        window: fixtures::two_day_window(),
        ..ReportFilter::default()
    };
    let rows = prompt_feedback(&mut connection, &filter).await.unwrap();

    let order: Vec<_> = rows
        .iter()
        .map(|row| (row.prompt_name.as_str(), row.version))
        .collect();
    assert_eq!(
        order,
        [
            ("billing", 1),
            ("support", 1),
            ("support", 2),
            ("support", 3)
        ]
    );

    let support_1 = row(&rows, "support", 1);
    assert_eq!(
        (
            support_1.messages,
            support_1.thumbs_up,
            support_1.thumbs_down,
            support_1.neutral
        ),
        (10, 8, 2, 1)
    );
    assert!(!support_1.is_active);
    // 8 / (8 + 2) = 0.8; Wilson, n = 10, z = 1.959964: 0.490162 … 0.943318.
    assert_some_close(support_1.thumbs_up_rate, 0.8);
    assert_some_close(support_1.wilson_low, 0.490_162);
    assert_some_close(support_1.wilson_high, 0.943_318);

    let billing_1 = row(&rows, "billing", 1);
    assert_eq!(
        (
            billing_1.messages,
            billing_1.thumbs_up,
            billing_1.thumbs_down
        ),
        (2, 0, 1)
    );
    // 0 / 1 = 0; Wilson, n = 1: low 0, high = 2 · 1.920982 / 4.841459 = 0.793451.
    assert_some_close(billing_1.thumbs_up_rate, 0.0);
    assert_some_close(billing_1.wilson_low, 0.0);
    assert_some_close(billing_1.wilson_high, 0.793_451);
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_and_interval_are_null_without_up_or_down() {
    let database = TestDatabase::new().await;
    let mut connection = database.connect().await;
    dataset(&mut connection).await;

    let rows = prompt_feedback(&mut connection, &ReportFilter::default())
        .await
        .unwrap();

    let support_2 = row(&rows, "support", 2);
    assert!(support_2.is_active);
    assert_eq!((support_2.messages, support_2.neutral), (3, 1));
    assert_eq!(
        (
            support_2.thumbs_up_rate,
            support_2.wilson_low,
            support_2.wilson_high
        ),
        (None, None, None)
    );

    let support_3 = row(&rows, "support", 3);
    assert_eq!(
        (
            support_3.messages,
            support_3.thumbs_up,
            support_3.thumbs_down,
            support_3.neutral
        ),
        (0, 0, 0, 0)
    );
    assert_eq!(support_3.thumbs_up_rate, None);

    let json = serde_json::to_value(support_3).unwrap();
    assert_eq!(json["thumbs_up_rate"], serde_json::Value::Null);
    assert_eq!(json["wilson_low"], serde_json::Value::Null);
    assert_eq!(
        json["prompt_version_id"],
        support_3.prompt_version_id.to_string()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_window_leaves_out_older_messages() {
    let database = TestDatabase::new().await;
    let mut connection = database.connect().await;
    dataset(&mut connection).await;

    let all_time = prompt_feedback(&mut connection, &ReportFilter::default())
        .await
        .unwrap();
    let support_1 = row(&all_time, "support", 1);
    // With the 2026-11-30 answer: 11 messages, 9 up / 2 down = 0.818182;
    // Wilson, n = 11: 0.523019 … 0.948632.
    assert_eq!((support_1.messages, support_1.thumbs_up), (11, 9));
    assert_some_close(support_1.thumbs_up_rate, 9.0 / 11.0);
    assert_some_close(support_1.wilson_low, 0.523_019);
    assert_some_close(support_1.wilson_high, 0.948_632);

    let before_the_data = ReportFilter {
        window: TimeWindow {
            since: None,
            until: Some(fixtures::at("2026-11-01T00:00:00Z")),
        },
        ..ReportFilter::default()
    };
    let rows = prompt_feedback(&mut connection, &before_the_data)
        .await
        .unwrap();
    assert_eq!(rows.len(), 4);
    assert!(
        rows.iter()
            .all(|row| row.messages == 0 && row.thumbs_up == 0)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn prompt_and_model_filters() {
    let database = TestDatabase::new().await;
    let mut connection = database.connect().await;
    dataset(&mut connection).await;

    let only_support = ReportFilter {
        window: fixtures::two_day_window(),
        prompt_name: Some("support".to_owned()),
        model_name: None,
    };
    let rows = prompt_feedback(&mut connection, &only_support)
        .await
        .unwrap();
    assert_eq!(
        rows.iter().map(|row| row.version).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert!(rows.iter().all(|row| row.prompt_name == "support"));
    assert_eq!(row(&rows, "support", 1).messages, 10);

    let only_model_a = ReportFilter {
        window: fixtures::two_day_window(),
        prompt_name: None,
        model_name: Some("model-a".to_owned()),
    };
    let rows = prompt_feedback(&mut connection, &only_model_a)
        .await
        .unwrap();
    let billing_1 = row(&rows, "billing", 1);
    assert_eq!((billing_1.messages, billing_1.thumbs_down), (0, 0));
    assert_eq!(row(&rows, "support", 1).messages, 10);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_window_is_refused() {
    let database = TestDatabase::new().await;
    let mut connection = database.connect().await;

    let backwards = ReportFilter {
        window: TimeWindow {
            since: Some(fixtures::at("2026-12-02T00:00:00Z")),
            until: Some(fixtures::at("2026-12-01T00:00:00Z")),
        },
        ..ReportFilter::default()
    };
    let error = prompt_feedback(&mut connection, &backwards)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            chatledger_query::reports::ReportError::InvalidFilter { .. }
        ),
        "{error:?}"
    );
}

/// Without a window or a model name the report reads the counts the database keeps
/// (`prompt_version_stats`, `feedback.prompt_version_id`); with a window that holds every
/// message it reads the messages. Both must give the same rows, after deletes too.
#[tokio::test(flavor = "multi_thread")]
async fn the_kept_counts_answer_like_the_messages_do() {
    let database = TestDatabase::new().await;
    let mut connection = database.connect().await;
    dataset(&mut connection).await;
    let everything = ReportFilter {
        window: TimeWindow {
            since: Some(fixtures::at("2000-01-01T00:00:00Z")),
            until: None,
        },
        ..ReportFilter::default()
    };

    let counted = prompt_feedback(&mut connection, &ReportFilter::default())
        .await
        .unwrap();
    let scanned = prompt_feedback(&mut connection, &everything).await.unwrap();
    assert_eq!(counted, scanned);
    assert_eq!(row(&counted, "support", 1).messages, 11);

    diesel_async::SimpleAsyncConnection::batch_execute(
        &mut connection,
        "DELETE FROM messages WHERE id IN (SELECT id FROM messages WHERE prompt_version_id IS NOT NULL LIMIT 3)",
    )
    .await
    .unwrap();
    let counted = prompt_feedback(&mut connection, &ReportFilter::default())
        .await
        .unwrap();
    let scanned = prompt_feedback(&mut connection, &everything).await.unwrap();
    assert_eq!(counted, scanned, "the counts follow deletes");
    let total: i64 = counted.iter().map(|row| row.messages).sum();
    assert_eq!(total, 16 - 3);
}

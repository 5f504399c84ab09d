//! `prompt_compare`: the difference of two versions' rates, its p-value and the verdict.

use chatledger_query::reports::{CompareOptions, PromptRef, ReportError, Verdict, prompt_compare};
use chatledger_schema::FeedbackRating::{ThumbsDown, ThumbsUp};
use chatledger_tests::TestDatabase;
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::fixtures::{self, MessageSpec, assert_close, assert_some_close};

/// `up` answers rated thumbs-up and `down` rated thumbs-down, one record each.
async fn rated_answers(
    connection: &mut AsyncPgConnection,
    conversation: Uuid,
    version: Uuid,
    up: usize,
    down: usize,
) {
    let answer = MessageSpec::answer("model-a").version(version);
    for index in 0..up + down {
        let message = answer.insert(connection, conversation).await;
        let rating = if index < up { ThumbsUp } else { ThumbsDown };
        fixtures::rate(connection, message, rating, &[]).await;
    }
}

/// chat@1: 30 up / 20 down (0.6); chat@2: 40 up / 10 down (0.8); chat@3: 5 up / 1 down.
async fn dataset(connection: &mut AsyncPgConnection) {
    let conversation = fixtures::any_conversation(connection).await;
    let chat_1 = fixtures::prompt_version(connection, "chat", 1, false).await;
    let chat_2 = fixtures::prompt_version(connection, "chat", 2, true).await;
    let chat_3 = fixtures::prompt_version(connection, "chat", 3, false).await;
    rated_answers(connection, conversation, chat_1, 30, 20).await;
    rated_answers(connection, conversation, chat_2, 40, 10).await;
    rated_answers(connection, conversation, chat_3, 5, 1).await;
}

fn reference(text: &str) -> PromptRef {
    text.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clear_difference_is_significant_in_its_direction() {
    let database = TestDatabase::new().await;
    let mut connection = database.connect().await;
    dataset(&mut connection).await;
    let options = CompareOptions::default();

    let better = prompt_compare(
        &mut connection,
        &reference("chat@1"),
        &reference("chat@2"),
        &options,
    )
    .await
    .unwrap();
    assert_eq!((better.a.thumbs_up, better.a.thumbs_down), (30, 20));
    assert_eq!((better.b.thumbs_up, better.b.thumbs_down), (40, 10));
    // 0.8 − 0.6 = 0.2. Pooled p = 70/100 = 0.7, se = √(0.7 · 0.3 · (1/50 + 1/50)) = 0.091652,
    // z = 0.2 / 0.091652 = 2.182179, two-sided p = erfc(2.182179 / √2) = 0.029096.
    assert_some_close(better.rate_difference, 0.2);
    assert_some_close(better.p_value, 0.029_096);
    assert_eq!(better.verdict, Verdict::BIsBetter);
    assert!(
        better
            .summary
            .contains("chat@2 is rated better than chat@1"),
        "{}",
        better.summary
    );

    let worse = prompt_compare(
        &mut connection,
        &reference("chat@2"),
        &reference("chat@1"),
        &options,
    )
    .await
    .unwrap();
    assert_some_close(worse.rate_difference, -0.2);
    assert_some_close(worse.p_value, 0.029_096);
    assert_eq!(worse.verdict, Verdict::BIsWorse);

    let json = serde_json::to_value(&worse).unwrap();
    assert_eq!(json["verdict"], "b_is_worse");
    assert_eq!(json["a"]["prompt_name"], "chat");
}

#[tokio::test(flavor = "multi_thread")]
async fn too_few_ratings_give_no_verdict() {
    let database = TestDatabase::new().await;
    let mut connection = database.connect().await;
    dataset(&mut connection).await;

    let comparison = prompt_compare(
        &mut connection,
        &reference("chat@1"),
        &reference("chat@3"),
        &CompareOptions::default(),
    )
    .await
    .unwrap();

    // 5/6 − 30/50 = 0.233333; pooled 35/56 = 0.625, se = √(0.625 · 0.375 · (1/50 + 1/6))
    // = 0.209165, z = 1.115547, p = 0.264616. But chat@3 has 6 ratings, below 30.
    assert_some_close(comparison.rate_difference, 5.0 / 6.0 - 0.6);
    assert_some_close(comparison.p_value, 0.264_616);
    assert_eq!(comparison.verdict, Verdict::TooFewRatings);
    assert!(
        comparison.summary.contains("too few ratings"),
        "{}",
        comparison.summary
    );

    let same = prompt_compare(
        &mut connection,
        &reference("chat@1"),
        &reference("chat@1"),
        &CompareOptions::default(),
    )
    .await
    .unwrap();
    assert_some_close(same.rate_difference, 0.0);
    assert_close(same.p_value.unwrap(), 1.0);
    assert_eq!(same.verdict, Verdict::NoSignificantDifference);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_version_is_a_typed_error() {
    let database = TestDatabase::new().await;
    let mut connection = database.connect().await;
    dataset(&mut connection).await;

    let error = prompt_compare(
        &mut connection,
        &reference("chat@1"),
        &reference("chat@9"),
        &CompareOptions::default(),
    )
    .await
    .unwrap_err();

    match error {
        ReportError::UnknownPromptVersion { reference } => {
            assert_eq!(reference.to_string(), "chat@9");
        }
        other => panic!("expected UnknownPromptVersion, got {other:?}"),
    }
}

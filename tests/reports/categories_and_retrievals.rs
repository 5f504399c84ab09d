//! `feedback_categories` per version and label, and `retrieval_feedback` per source.

use chatledger_query::filters::ReportFilter;
use chatledger_query::reports::{
    FeedbackCategoryRow, RetrievalFeedbackRow, feedback_categories, retrieval_feedback,
};
use chatledger_schema::FeedbackRating::{Neutral, ThumbsDown, ThumbsUp};
use chatledger_tests::TestDatabase;

use crate::fixtures::{self, MessageSpec, assert_some_close};

#[tokio::test(flavor = "multi_thread")]
async fn categories_are_counted_per_version_once_per_record() {
    let database = TestDatabase::new().await;
    let mut connection = database.connect().await;
    let conversation = fixtures::any_conversation(&mut connection).await;
    let support_1 = fixtures::prompt_version(&mut connection, "support", 1, false).await;
    let support_2 = fixtures::prompt_version(&mut connection, "support", 2, true).await;

    let first = MessageSpec::answer("model-a").version(support_1);
    let answer = first.insert(&mut connection, conversation).await;
    let other_answer = first.insert(&mut connection, conversation).await;
    let old_answer = first
        .clone()
        .at("2026-11-30T12:00:00Z")
        .insert(&mut connection, conversation)
        .await;
    let second_answer = MessageSpec::answer("model-a")
        .version(support_2)
        .insert(&mut connection, conversation)
        .await;
    let unversioned = MessageSpec::answer("model-a")
        .insert(&mut connection, conversation)
        .await;

    fixtures::rate(
        &mut connection,
        answer,
        ThumbsDown,
        &["inaccurate", "too_long"],
    )
    .await;
    fixtures::rate(&mut connection, answer, ThumbsDown, &["inaccurate"]).await;
    fixtures::rate(&mut connection, other_answer, ThumbsUp, &["concise"]).await;
    fixtures::rate(
        &mut connection,
        other_answer,
        Neutral,
        &["inaccurate", "inaccurate"],
    )
    .await;
    fixtures::rate(&mut connection, other_answer, ThumbsUp, &[]).await;
    fixtures::rate(&mut connection, old_answer, ThumbsDown, &["inaccurate"]).await;
    fixtures::rate(&mut connection, second_answer, ThumbsDown, &["off_topic"]).await;
    fixtures::rate(&mut connection, unversioned, ThumbsDown, &["off_topic"]).await;

    let filter = ReportFilter {
        window: fixtures::two_day_window(),
        ..ReportFilter::default()
    };
    let rows = feedback_categories(&mut connection, &filter).await.unwrap();

    let summary: Vec<_> = rows
        .iter()
        .map(|row: &FeedbackCategoryRow| {
            (
                row.version,
                row.category.as_str(),
                row.feedback,
                row.thumbs_up,
                row.thumbs_down,
                row.neutral,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            // inaccurate: two thumbs-down records and one neutral record that names it twice;
            // the 2026-11-30 record is outside the window.
            (1, "inaccurate", 3, 0, 2, 1),
            (1, "concise", 1, 1, 0, 0),
            (1, "too_long", 1, 0, 1, 0),
            // The unversioned answer's off_topic is not counted.
            (2, "off_topic", 1, 0, 1, 0),
        ]
    );
    assert_eq!(rows[0].prompt_version_id, support_1);

    let all_time = feedback_categories(&mut connection, &ReportFilter::default())
        .await
        .unwrap();
    assert_eq!(
        (all_time[0].category.as_str(), all_time[0].feedback),
        ("inaccurate", 4)
    );
}

/// (source, retrievals, messages, up, down) of each row.
fn summary(rows: &[RetrievalFeedbackRow]) -> Vec<(String, i64, i64, i64, i64)> {
    rows.iter()
        .map(|row| {
            (
                format!("{}/{}", row.source_type, row.source_id),
                row.retrievals,
                row.messages,
                row.thumbs_up,
                row.thumbs_down,
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn sources_that_feed_bad_answers_come_first() {
    let database = TestDatabase::new().await;
    let mut connection = database.connect().await;
    let conversation = fixtures::any_conversation(&mut connection).await;
    let doc_a_0 = fixtures::embedding(&mut connection, ("doc", "a", 0), "emb", 8).await;
    let doc_a_1 = fixtures::embedding(&mut connection, ("doc", "a", 1), "emb", 8).await;
    let doc_b_0 = fixtures::embedding(&mut connection, ("doc", "b", 0), "emb", 8).await;
    let faq_1_0 = fixtures::embedding(&mut connection, ("faq", "1", 0), "emb", 8).await;

    let answer = MessageSpec::answer("model-a");
    // Fed by both chunks of doc/a and by doc/b; rated down by two people.
    let first = answer.insert(&mut connection, conversation).await;
    fixtures::retrieve(&mut connection, first, &[doc_a_0, doc_a_1, doc_b_0]).await;
    fixtures::rate(&mut connection, first, ThumbsDown, &[]).await;
    fixtures::rate(&mut connection, first, ThumbsDown, &[]).await;
    // Fed by doc/a; rated up.
    let second = answer.insert(&mut connection, conversation).await;
    fixtures::retrieve(&mut connection, second, &[doc_a_0]).await;
    fixtures::rate(&mut connection, second, ThumbsUp, &[]).await;
    // Fed by doc/b; rated up twice.
    let third = answer.insert(&mut connection, conversation).await;
    fixtures::retrieve(&mut connection, third, &[doc_b_0]).await;
    fixtures::rate(&mut connection, third, ThumbsUp, &[]).await;
    fixtures::rate(&mut connection, third, ThumbsUp, &[]).await;
    // Fed by faq/1; not rated.
    let fourth = answer.insert(&mut connection, conversation).await;
    fixtures::retrieve(&mut connection, fourth, &[faq_1_0]).await;
    // Outside the window: fed by doc/b, rated down.
    let old = answer
        .clone()
        .at("2026-11-30T12:00:00Z")
        .insert(&mut connection, conversation)
        .await;
    fixtures::retrieve(&mut connection, old, &[doc_b_0]).await;
    fixtures::rate(&mut connection, old, ThumbsDown, &[]).await;

    let filter = ReportFilter {
        window: fixtures::two_day_window(),
        ..ReportFilter::default()
    };
    let rows = retrieval_feedback(&mut connection, &filter).await.unwrap();

    // doc/a: 3 retrievals (2 for the first answer, 1 for the second), 2 answers, the first
    // answer's 2 downs counted once although two of its chunks fed it, 1 up → 2/3 down.
    // doc/b: 2 retrievals, 2 answers, 1 × 2 downs and 1 × 2 ups → 2/4 = 0.5 down.
    // faq/1: no ratings → no share, last.
    assert_eq!(
        summary(&rows),
        [
            ("doc/a".to_owned(), 3, 2, 1, 2),
            ("doc/b".to_owned(), 2, 2, 2, 2),
            ("faq/1".to_owned(), 1, 1, 0, 0),
        ]
    );
    assert_some_close(rows[0].thumbs_down_share, 2.0 / 3.0);
    assert_some_close(rows[1].thumbs_down_share, 0.5);
    assert_eq!(rows[2].thumbs_down_share, None);

    // With the old answer, doc/b has 3 downs of 5 = 0.6, still below doc/a's 0.667.
    let all_time = retrieval_feedback(&mut connection, &ReportFilter::default())
        .await
        .unwrap();
    assert_eq!(summary(&all_time)[1], ("doc/b".to_owned(), 3, 3, 2, 3));
    assert_some_close(all_time[1].thumbs_down_share, 0.6);
}

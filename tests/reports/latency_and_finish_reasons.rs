//! `latency` percentiles and `finish_reasons` shares per model.

use chatledger_query::filters::ReportFilter;
use chatledger_query::reports::{
    FinishReasonOptions, FinishReasonRow, ReportError, finish_reasons, latency,
};
use chatledger_schema::MessageRole;
use chatledger_tests::TestDatabase;

use crate::fixtures::{self, MessageSpec, assert_some_close};

#[tokio::test(flavor = "multi_thread")]
async fn latency_percentiles_interpolate_like_percentile_cont() {
    let database = TestDatabase::new().await;
    let mut connection = database.connect().await;
    let conversation = fixtures::any_conversation(&mut connection).await;

    for latency_ms in [400, 100, 1000, 300, 200] {
        MessageSpec::answer("model-a")
            .latency(latency_ms)
            .insert(&mut connection, conversation)
            .await;
    }
    // No latency: not counted.
    MessageSpec::answer("model-a")
        .insert(&mut connection, conversation)
        .await;
    // Outside the window.
    MessageSpec::answer("model-a")
        .latency(99_999)
        .at("2026-11-30T12:00:00Z")
        .insert(&mut connection, conversation)
        .await;
    let fast = fixtures::prompt_version(&mut connection, "fast", 1, true).await;
    MessageSpec::answer("model-b")
        .version(fast)
        .latency(250)
        .insert(&mut connection, conversation)
        .await;

    let filter = ReportFilter {
        window: fixtures::two_day_window(),
        ..ReportFilter::default()
    };
    let rows = latency(&mut connection, &filter).await.unwrap();

    assert_eq!(rows.len(), 2);
    let model_a = &rows[0];
    assert_eq!(model_a.model_name.as_deref(), Some("model-a"));
    assert_eq!(model_a.messages, 5);
    // Sorted 100 200 300 400 1000; percentile_cont(f) sits at index f · (n − 1):
    // p50 → 2.0 → 300; p95 → 3.8 → 400 + 0.8 · 600 = 880; p99 → 3.96 → 400 + 0.96 · 600 = 976.
    assert_some_close(model_a.p50_ms, 300.0);
    assert_some_close(model_a.p95_ms, 880.0);
    assert_some_close(model_a.p99_ms, 976.0);
    assert_eq!(model_a.max_ms, Some(1000));

    let model_b = &rows[1];
    assert_eq!(
        (model_b.model_name.as_deref(), model_b.messages),
        (Some("model-b"), 1)
    );
    assert_some_close(model_b.p99_ms, 250.0);

    let all_time = latency(&mut connection, &ReportFilter::default())
        .await
        .unwrap();
    assert_eq!(
        (all_time[0].messages, all_time[0].max_ms),
        (6, Some(99_999))
    );

    let only_b = ReportFilter {
        model_name: Some("model-b".to_owned()),
        ..ReportFilter::default()
    };
    let rows = latency(&mut connection, &only_b).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].model_name.as_deref(), Some("model-b"));

    // Only model-b's answer was produced by a version of "fast".
    let only_fast = ReportFilter {
        prompt_name: Some("fast".to_owned()),
        ..ReportFilter::default()
    };
    let rows = latency(&mut connection, &only_fast).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].model_name.as_deref(), rows[0].messages),
        (Some("model-b"), 1)
    );
}

/// (model, reason, messages, share, flagged) of each row.
fn summary(rows: &[FinishReasonRow]) -> Vec<(&str, Option<&str>, i64, f64, bool)> {
    rows.iter()
        .map(|row| {
            (
                row.model_name.as_deref().unwrap_or("-"),
                row.finish_reason.as_deref(),
                row.messages,
                (row.share * 1e6).round() / 1e6,
                row.flagged,
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn finish_reason_shares_and_the_length_flag() {
    let database = TestDatabase::new().await;
    let mut connection = database.connect().await;
    let conversation = fixtures::any_conversation(&mut connection).await;

    // model-a: 17 stop, 2 length, 1 tool_calls; model-b: 19 stop, 1 length.
    for (model, reason, count) in [
        ("model-a", "stop", 17),
        ("model-a", "length", 2),
        ("model-a", "tool_calls", 1),
        ("model-b", "stop", 19),
        ("model-b", "length", 1),
    ] {
        for _ in 0..count {
            MessageSpec::answer(model)
                .finish(reason)
                .insert(&mut connection, conversation)
                .await;
        }
    }
    // Not an answer: a user message is never counted, whatever it carries.
    MessageSpec::new(MessageRole::User)
        .model("model-a")
        .finish("length")
        .insert(&mut connection, conversation)
        .await;
    // Outside the window.
    MessageSpec::answer("model-b")
        .finish("length")
        .at("2026-11-30T12:00:00Z")
        .insert(&mut connection, conversation)
        .await;

    let options = FinishReasonOptions {
        filter: ReportFilter {
            window: fixtures::two_day_window(),
            ..ReportFilter::default()
        },
        ..FinishReasonOptions::default()
    };
    let rows = finish_reasons(&mut connection, &options).await.unwrap();

    // model-a: length 2/20 = 0.1 > 0.05, flagged; model-b: length 1/20 = 0.05, not above 0.05.
    assert_eq!(
        summary(&rows),
        [
            ("model-a", Some("stop"), 17, 0.85, true),
            ("model-a", Some("length"), 2, 0.1, true),
            ("model-a", Some("tool_calls"), 1, 0.05, true),
            ("model-b", Some("stop"), 19, 0.95, false),
            ("model-b", Some("length"), 1, 0.05, false),
        ]
    );

    let stricter = FinishReasonOptions {
        max_length_share: 0.04,
        ..options.clone()
    };
    let rows = finish_reasons(&mut connection, &stricter).await.unwrap();
    assert!(rows.iter().all(|row| row.flagged));

    let impossible = FinishReasonOptions {
        max_length_share: 1.5,
        ..options
    };
    let error = finish_reasons(&mut connection, &impossible)
        .await
        .unwrap_err();
    assert!(
        matches!(error, ReportError::InvalidFilter { .. }),
        "{error:?}"
    );
}

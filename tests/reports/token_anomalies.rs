//! `token_anomalies`: answers above k times the median of their version or model.

use chatledger_query::filters::ReportFilter;
use chatledger_query::reports::{ReportError, TokenAnomalyOptions, token_anomalies};
use chatledger_schema::MessageRole;
use chatledger_tests::TestDatabase;

use crate::fixtures::{self, MessageSpec, assert_close};

#[tokio::test(flavor = "multi_thread")]
async fn answers_far_above_their_median_newest_first() {
    let database = TestDatabase::new().await;
    let mut connection = database.connect().await;
    let conversation = fixtures::any_conversation(&mut connection).await;
    let odd = fixtures::prompt_version(&mut connection, "odd", 1, true).await;
    let even = fixtures::prompt_version(&mut connection, "even", 1, true).await;

    // odd@1: 100 110 120 480 900 → median 120, 4 · 120 = 480: 480 is not above, 900 is (7.5).
    let mut odd_ids = Vec::new();
    for (minute, tokens) in [(0, 100), (1, 110), (2, 120), (3, 480), (4, 900)] {
        let id = MessageSpec::answer("model-a")
            .version(odd)
            .tokens(tokens)
            .at(&format!("2026-12-01T10:0{minute}:00Z"))
            .insert(&mut connection, conversation)
            .await;
        odd_ids.push(id);
    }
    // even@1: 10 20 30 40 200 1000 → median (30 + 40) / 2 = 35, 4 · 35 = 140: 200 (5.714286)
    // and 1000 (28.571429); the 1000 is older.
    let mut even_ids = Vec::new();
    for (minute, tokens) in [(0, 10), (1, 20), (2, 30), (3, 40), (5, 200), (4, 1000)] {
        let id = MessageSpec::answer("model-a")
            .version(even)
            .tokens(tokens)
            .at(&format!("2026-12-01T11:0{minute}:00Z"))
            .insert(&mut connection, conversation)
            .await;
        even_ids.push(id);
    }
    // model-b, no version: 50 60 70 300 → median 65, 4 · 65 = 260: 300 (4.615385).
    let mut unversioned_ids = Vec::new();
    for (minute, tokens) in [(0, 50), (1, 60), (2, 70), (3, 300)] {
        let id = MessageSpec::answer("model-b")
            .tokens(tokens)
            .at(&format!("2026-12-01T09:0{minute}:00Z"))
            .insert(&mut connection, conversation)
            .await;
        unversioned_ids.push(id);
    }
    // A long user message is neither a candidate nor part of model-b's median.
    MessageSpec::new(MessageRole::User)
        .model("model-b")
        .tokens(5000)
        .insert(&mut connection, conversation)
        .await;

    let rows = token_anomalies(&mut connection, &TokenAnomalyOptions::default())
        .await
        .unwrap();

    let found: Vec<_> = rows
        .iter()
        .map(|row| (row.message_id, row.token_count))
        .collect();
    assert_eq!(
        found,
        [
            (even_ids[4], 200),
            (even_ids[5], 1000),
            (odd_ids[4], 900),
            (unversioned_ids[3], 300),
        ]
    );
    assert_close(rows[0].median, 35.0);
    assert_close(rows[0].ratio, 200.0 / 35.0);
    assert_close(rows[1].ratio, 1000.0 / 35.0);
    assert_close(rows[2].median, 120.0);
    assert_close(rows[2].ratio, 7.5);
    assert_eq!(rows[3].prompt_version_id, None);
    assert_eq!(rows[3].model_name.as_deref(), Some("model-b"));
    assert_close(rows[3].median, 65.0);
    assert_close(rows[3].ratio, 300.0 / 65.0);
    assert_eq!(rows[0].conversation_id, conversation);

    let tenfold = TokenAnomalyOptions {
        factor: 10.0,
        ..TokenAnomalyOptions::default()
    };
    let rows = token_anomalies(&mut connection, &tenfold).await.unwrap();
    assert_eq!(
        rows.iter().map(|row| row.message_id).collect::<Vec<_>>(),
        [even_ids[5]]
    );

    let only_odd = TokenAnomalyOptions {
        filter: ReportFilter {
            prompt_name: Some("odd".to_owned()),
            ..ReportFilter::default()
        },
        ..TokenAnomalyOptions::default()
    };
    let rows = token_anomalies(&mut connection, &only_odd).await.unwrap();
    assert_eq!(
        rows.iter().map(|row| row.message_id).collect::<Vec<_>>(),
        [odd_ids[4]]
    );

    let error = token_anomalies(
        &mut connection,
        &TokenAnomalyOptions {
            factor: 0.0,
            ..TokenAnomalyOptions::default()
        },
    )
    .await
    .unwrap_err();
    assert!(
        matches!(error, ReportError::InvalidFilter { .. }),
        "{error:?}"
    );
}

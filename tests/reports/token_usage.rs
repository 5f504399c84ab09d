//! `token_usage` per UTC day and model (and user), its costs, and the price file.

use std::io::Write;

use chatledger_query::filters::ReportFilter;
use chatledger_query::reports::{
    PriceTable, PriceTableError, TokenUsageOptions, TokenUsageRow, token_usage,
};
use chatledger_schema::MessageRole::{self, Assistant, System, Tool, User};
use chatledger_tests::TestDatabase;
use chrono::NaiveDate;
use diesel_async::{AsyncPgConnection, SimpleAsyncConnection};
use uuid::Uuid;

use crate::fixtures::{self, MessageSpec, assert_some_close};

const PRICES: &str = r#"{"model-a": {"input_per_1k": 0.5, "output_per_1k": 1.5}}"#;

/// Alice and Bob; times in UTC.
///   alice  user      100  model-a  12-01 10:00
///   alice  assistant 300  model-a  12-01 23:59:59   (last second of the UTC day)
///   alice  system     50  model-a  12-02 03:00      (still 12-01 in New York)
///   alice  assistant 200  model-a  12-02 03:00:01
///   alice  assistant 1000 model-a  11-30 12:00      (outside the window)
///   bob    user       40  model-b  12-01 11:00
///   bob    assistant  —   model-b  12-01 11:00:01   (no token count)
///   bob    tool       10  model-a  12-01 12:00
///   bob    assistant 500  model-a  12-01 12:00:01
///   bob    user        7  —        12-01 13:00      (no model)
async fn dataset(connection: &mut AsyncPgConnection) -> (Uuid, Uuid) {
    let alice = fixtures::user(connection, "alice").await;
    let bob = fixtures::user(connection, "bob").await;
    let alice_chat = fixtures::conversation(connection, alice).await;
    let bob_chat = fixtures::conversation(connection, bob).await;

    let message = |role: MessageRole, tokens: Option<i32>, model: Option<&str>, at: &str| {
        let mut spec = MessageSpec::new(role).at(at);
        if let Some(tokens) = tokens {
            spec = spec.tokens(tokens);
        }
        if let Some(model) = model {
            spec = spec.model(model);
        }
        spec
    };
    let a = Some("model-a");
    let b = Some("model-b");
    for spec in [
        message(User, Some(100), a, "2026-12-01T10:00:00Z"),
        message(Assistant, Some(300), a, "2026-12-01T23:59:59Z"),
        message(System, Some(50), a, "2026-12-02T03:00:00Z"),
        message(Assistant, Some(200), a, "2026-12-02T03:00:01Z"),
        message(Assistant, Some(1000), a, "2026-11-30T12:00:00Z"),
    ] {
        spec.insert(connection, alice_chat).await;
    }
    for spec in [
        message(User, Some(40), b, "2026-12-01T11:00:00Z"),
        message(Assistant, None, b, "2026-12-01T11:00:01Z"),
        message(Tool, Some(10), a, "2026-12-01T12:00:00Z"),
        message(Assistant, Some(500), a, "2026-12-01T12:00:01Z"),
        message(User, Some(7), None, "2026-12-01T13:00:00Z"),
    ] {
        spec.insert(connection, bob_chat).await;
    }

    (alice, bob)
}

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

/// (day, model, messages, tokens, input tokens, output tokens) of a row.
type UsageCounts<'a> = (NaiveDate, Option<&'a str>, i64, i64, i64, i64);

fn counts(rows: &[TokenUsageRow]) -> Vec<UsageCounts<'_>> {
    rows.iter()
        .map(|row| {
            (
                row.day,
                row.model_name.as_deref(),
                row.messages,
                row.tokens,
                row.input_tokens,
                row.output_tokens,
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn per_utc_day_and_model_with_costs() {
    let database = TestDatabase::new().await;
    let mut connection = database.connect().await;
    dataset(&mut connection).await;
    // A session in another zone must not move messages to other days.
    connection
        .batch_execute("SET TIME ZONE 'America/New_York'")
        .await
        .unwrap();

    let options = TokenUsageOptions {
        filter: ReportFilter {
            window: fixtures::two_day_window(),
            ..ReportFilter::default()
        },
        per_user: false,
        prices: Some(PriceTable::from_json_str(PRICES).unwrap()),
    };
    let rows = token_usage(&mut connection, &options).await.unwrap();

    assert_eq!(
        counts(&rows),
        [
            // 12-01 model-a: alice user 100 + assistant 300, bob tool 10 + assistant 500.
            (day("2026-12-01"), Some("model-a"), 4, 910, 110, 800),
            // 12-01 model-b: bob user 40 and an assistant message without a count.
            (day("2026-12-01"), Some("model-b"), 2, 40, 40, 0),
            (day("2026-12-01"), None, 1, 7, 7, 0),
            // 12-02 model-a: alice system 50 + assistant 200.
            (day("2026-12-02"), Some("model-a"), 2, 250, 50, 200),
        ]
    );
    // 110/1000 · 0.5 + 800/1000 · 1.5 = 0.055 + 1.2 = 1.255.
    assert_some_close(rows[0].cost, 1.255);
    // model-b has no price, nor has a message without a model.
    assert_eq!((rows[1].cost, rows[2].cost), (None, None));
    // 50/1000 · 0.5 + 200/1000 · 1.5 = 0.025 + 0.3 = 0.325.
    assert_some_close(rows[3].cost, 0.325);

    let json = serde_json::to_value(&rows[0]).unwrap();
    assert_eq!(json["day"], "2026-12-01");
    assert!(json.get("user_id").is_none(), "{json}");
}

#[tokio::test(flavor = "multi_thread")]
async fn per_user_and_unpriced() {
    let database = TestDatabase::new().await;
    let mut connection = database.connect().await;
    let (alice, bob) = dataset(&mut connection).await;

    let options = TokenUsageOptions {
        filter: ReportFilter {
            window: fixtures::two_day_window(),
            model_name: Some("model-a".to_owned()),
            ..ReportFilter::default()
        },
        per_user: true,
        prices: None,
    };
    let rows = token_usage(&mut connection, &options).await.unwrap();

    let usage_of = |user: Uuid, on: &str| {
        rows.iter()
            .find(|row| row.user_id == Some(user) && row.day == day(on))
            .map(|row| {
                (
                    row.messages,
                    row.tokens,
                    row.input_tokens,
                    row.output_tokens,
                )
            })
    };
    assert_eq!(rows.len(), 3);
    assert_eq!(usage_of(alice, "2026-12-01"), Some((2, 400, 100, 300)));
    assert_eq!(usage_of(bob, "2026-12-01"), Some((2, 510, 10, 500)));
    assert_eq!(usage_of(alice, "2026-12-02"), Some((2, 250, 50, 200)));
    assert!(rows.iter().all(|row| row.cost.is_none()));
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_window_older_days_appear() {
    let database = TestDatabase::new().await;
    let mut connection = database.connect().await;
    dataset(&mut connection).await;

    let rows = token_usage(&mut connection, &TokenUsageOptions::default())
        .await
        .unwrap();

    assert_eq!(
        counts(&rows[..1]),
        [(day("2026-11-30"), Some("model-a"), 1, 1000, 0, 1000)]
    );
    assert_eq!(rows.len(), 5);
}

fn price_file(contents: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(contents.as_bytes()).unwrap();
    file
}

#[test]
fn a_price_file_loads() {
    let file = price_file(PRICES);
    let table = PriceTable::from_json_file(file.path()).unwrap();

    let price = table.price("model-a").unwrap();
    assert_eq!((price.input_per_1k, price.output_per_1k), (0.5, 1.5));
    assert_eq!(table.price("model-b"), None);
    // 2000 input tokens · 0.5 / 1k + 1000 output · 1.5 / 1k = 1 + 1.5.
    assert_some_close(table.cost("model-a", 2000, 1000), 2.5);
}

#[test]
fn an_unreadable_price_file_names_the_path() {
    let directory = tempfile::tempdir().unwrap();
    let missing = directory.path().join("prices.json");

    let error = PriceTable::from_json_file(&missing).unwrap_err();
    assert!(matches!(&error, PriceTableError::Unreadable { path, .. } if *path == missing));
    assert!(error.to_string().contains("prices.json"), "{error}");
}

#[test]
fn a_malformed_price_file_is_refused() {
    for contents in [
        "not json",
        r#"{"model-a": {"input_per_1k": "cheap", "output_per_1k": 1}}"#,
        r#"{"model-a": {"input_per_1k": 0.5}}"#,
        r#"{"model-a": {"input_per_1k": 0.5, "output_per_1k": 1, "per_request": 2}}"#,
        r#"[0.5, 1.5]"#,
    ] {
        let file = price_file(contents);
        let error = PriceTable::from_json_file(file.path()).unwrap_err();
        assert!(
            matches!(&error, PriceTableError::Malformed { path, .. } if path == file.path()),
            "{contents}: {error:?}"
        );
    }
}

#[test]
fn a_negative_price_is_refused() {
    let error = PriceTable::from_json_str(
        r#"{"model-a": {"input_per_1k": 0.5, "output_per_1k": 1.5},
            "model-b": {"input_per_1k": 0.1, "output_per_1k": -0.2}}"#,
    )
    .unwrap_err();

    match error {
        PriceTableError::InvalidPrice {
            model,
            field,
            price,
        } => {
            assert_eq!(
                (model.as_str(), field, price),
                ("model-b", "output_per_1k", -0.2)
            );
        }
        other => panic!("expected InvalidPrice, got {other:?}"),
    }
}

//! `chatledger report`: every report through the binary, in every format, and its bad input.
//!
//! The demo dataset is built so its answers are known: `support-answer` versions 1, 2 and 3
//! get 5, 8 and 6 thumbs-up out of 10 rated answers, each version has 16 generated messages
//! (12 answers and 4 tool calls), and every answer retrieves both chunks of one document.

use serde_json::{Value, json};

use crate::fixture::{demo_database, json_rows};
use crate::process::{assert_one_line_failure, run};

fn report(database: &chatledger_tests::TestDatabase, args: &[&str]) -> crate::process::Run {
    let mut all = vec!["report"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json", "--database-url", database.url()]);
    run(all)
}

#[tokio::test(flavor = "multi_thread")]
async fn prompt_feedback_counts_the_demo_versions() {
    let database = demo_database().await;

    let output = report(&database, &["prompt-feedback"]);

    assert_eq!(output.code, Some(0), "{output:#?}");
    let rows = json_rows(&output.stdout);
    let summary: Vec<_> = rows
        .iter()
        .map(|row| {
            (
                row["version"].clone(),
                row["messages"].clone(),
                row["thumbs_up"].clone(),
                row["thumbs_down"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (json!(1), json!(16), json!(5), json!(5)),
            (json!(2), json!(16), json!(8), json!(2)),
            (json!(3), json!(16), json!(6), json!(4)),
        ]
    );
    assert_eq!(rows[1]["is_active"], json!(true));
    // Wilson 95% for 8 of 10: centre (0.8 + 1.9208/10) / 1.38415, margin 1.96 * sqrt(0.016 + 0.00096) / 1.38415.
    let low = rows[1]["wilson_low"].as_f64().unwrap();
    assert!((low - 0.4902).abs() < 1e-4, "{low}");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_report_prints_its_documented_fields() {
    let database = demo_database().await;
    let expected: [(&[&str], &[&str]); 8] = [
        (
            &["latency"],
            &[
                "model_name",
                "messages",
                "p50_ms",
                "p95_ms",
                "p99_ms",
                "max_ms",
            ],
        ),
        (
            &["token-usage"],
            &["day", "model_name", "messages", "tokens"],
        ),
        (
            &["finish-reasons"],
            &[
                "model_name",
                "finish_reason",
                "messages",
                "share",
                "flagged",
            ],
        ),
        (
            &["token-anomalies", "-k", "2"],
            &["message_id", "token_count", "median"],
        ),
        (
            &["feedback-categories"],
            &["prompt_name", "version", "category"],
        ),
        (
            &["retrieval-feedback"],
            &[
                "source_type",
                "source_id",
                "retrievals",
                "thumbs_up",
                "thumbs_down",
            ],
        ),
        (
            &["prompt-feedback", "--since", "1h"],
            &["prompt_name", "version", "thumbs_up_rate", "wilson_high"],
        ),
        (
            &["prompt-feedback", "--model", "gpt-4o"],
            &["prompt_name", "messages"],
        ),
    ];

    for (args, fields) in expected {
        let output = report(&database, args);
        assert_eq!(output.code, Some(0), "{args:?}: {output:#?}");
        let rows = json_rows(&output.stdout);
        assert!(!rows.is_empty(), "{args:?} finds rows in the demo dataset");
        for field in fields {
            assert!(
                rows[0].contains_key(*field),
                "{args:?} prints {field}: {:?}",
                rows[0]
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_length_limit_and_the_long_answer_are_caught() {
    let database = demo_database().await;

    let finish = json_rows(&report(&database, &["finish-reasons"]).stdout);
    let length = finish
        .iter()
        .find(|row| row["finish_reason"] == json!("length"))
        .expect("a length stop");
    // gpt-4o-mini wrote 32 assistant messages (versions 1 and 3: 12 answers and 4 tool calls
    // each); one stopped at the length limit: 1/32 = 0.03125, under the default 0.05.
    assert_eq!(length["model_name"], json!("gpt-4o-mini"));
    assert!((length["share"].as_f64().unwrap() - 1.0 / 32.0).abs() < 1e-9);
    assert_eq!(length["flagged"], json!(false));
    let strict =
        json_rows(&report(&database, &["finish-reasons", "--max-length-share", "0.03"]).stdout);
    assert!(
        strict
            .iter()
            .any(|row| row["model_name"] == json!("gpt-4o-mini") && row["flagged"] == json!(true))
    );

    let anomalies = json_rows(&report(&database, &["token-anomalies"]).stdout);
    assert_eq!(
        anomalies.len(),
        1,
        "only the 2048-token answer is over 4x its version's median"
    );
    assert_eq!(anomalies[0]["token_count"], json!(2048));
}

#[tokio::test(flavor = "multi_thread")]
async fn prompt_compare_says_ten_ratings_are_too_few() {
    let database = demo_database().await;

    let output = report(
        &database,
        &[
            "prompt-compare",
            "--a",
            "support-answer@1",
            "--b",
            "support-answer@2",
        ],
    );

    assert_eq!(output.code, Some(0), "{output:#?}");
    let comparison: Value = serde_json::from_str(&output.stdout).unwrap();
    assert_eq!(comparison[0]["verdict"], json!("too_few_ratings"));
    assert!((comparison[0]["rate_difference"].as_f64().unwrap() - 0.3).abs() < 1e-9);
}

#[tokio::test(flavor = "multi_thread")]
async fn embedding_audit_passes_on_one_size_and_fails_on_two() {
    let database = demo_database().await;
    let clean = run([
        "report",
        "embedding-audit",
        "--format",
        "json",
        "--database-url",
        database.url(),
    ]);
    assert_eq!(clean.code, Some(0), "{clean:#?}");

    let mut connection = database.connect().await;
    diesel_async::SimpleAsyncConnection::batch_execute(
        &mut connection,
        "INSERT INTO embeddings (source_type, source_id, chunk_index, chunk_text, model_name, dimensions)
         VALUES ('document', 'stray', 0, 'written around the library', 'text-embedding-3-small', 768)",
    )
    .await
    .unwrap();

    let mixed = run([
        "report",
        "embedding-audit",
        "--format",
        "json",
        "--database-url",
        database.url(),
    ]);
    assert_eq!(mixed.code, Some(1), "{mixed:#?}");
    assert!(
        mixed.stdout.contains("768"),
        "the rows are printed before failing: {mixed:#?}"
    );
    assert!(
        mixed.stderr.contains("text-embedding-3-small"),
        "{mixed:#?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn csv_and_table_carry_the_same_columns() {
    let database = demo_database().await;

    let csv = run([
        "report",
        "latency",
        "--format",
        "csv",
        "--database-url",
        database.url(),
    ]);
    let table = run([
        "report",
        "latency",
        "--format",
        "table",
        "--database-url",
        database.url(),
    ]);

    assert_eq!(
        csv.stdout.lines().next(),
        Some("model_name,messages,p50_ms,p95_ms,p99_ms,max_ms")
    );
    assert_eq!(
        csv.stdout.lines().count(),
        3,
        "a header and two models: {csv:#?}"
    );
    for column in ["model_name", "p99_ms", "gpt-4o-mini"] {
        assert!(table.stdout.contains(column), "{table:#?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn token_usage_prices_input_and_output() {
    let database = demo_database().await;
    let prices = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        prices.path(),
        r#"{"gpt-4o": {"input_per_1k": 2.5, "output_per_1k": 10.0}, "gpt-4o-mini": {"input_per_1k": 0.15, "output_per_1k": 0.6}}"#,
    )
    .unwrap();

    let output = report(
        &database,
        &["token-usage", "--prices", prices.path().to_str().unwrap()],
    );

    assert_eq!(output.code, Some(0), "{output:#?}");
    for row in json_rows(&output.stdout) {
        let price = if row["model_name"] == json!("gpt-4o") {
            (2.5, 10.0)
        } else {
            (0.15, 0.6)
        };
        let input = row["input_tokens"].as_f64().unwrap();
        let output_tokens = row["output_tokens"].as_f64().unwrap();
        let expected = input / 1000.0 * price.0 + output_tokens / 1000.0 * price.1;
        assert!(
            (row["cost"].as_f64().unwrap() - expected).abs() < 1e-9,
            "{row:?}"
        );
        assert!(
            input > 0.0,
            "input messages carry their model, so they are priced: {row:?}"
        );
    }
}

#[test]
fn an_unknown_report_is_a_usage_error() {
    let output = run([
        "report",
        "happiness",
        "--database-url",
        "postgres://127.0.0.1:1/none",
    ]);

    assert_one_line_failure(&output, 2);
}

#[test]
fn a_bad_date_is_a_usage_error_before_any_connection() {
    for since in ["yesterday", "7x", "2026-13-01T00:00:00Z"] {
        let output = run([
            "report",
            "latency",
            "--since",
            since,
            "--database-url",
            "postgres://127.0.0.1:1/none",
        ]);

        assert_one_line_failure(&output, 2);
        assert!(
            output.stderr.contains(since),
            "the error names the input: {output:#?}"
        );
    }
}

#[test]
fn a_malformed_price_file_is_one_line() {
    let prices = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        prices.path(),
        "{\"gpt-4o\": {\"input_per_1k\": -1, \"output_per_1k\": 1}}",
    )
    .unwrap();

    for path in [prices.path().to_str().unwrap(), "/nonexistent/prices.json"] {
        let output = run([
            "report",
            "token-usage",
            "--prices",
            path,
            "--database-url",
            "postgres://127.0.0.1:1/none",
        ]);

        assert_one_line_failure(&output, 1);
        assert_eq!(output.stderr.lines().count(), 1, "{output:#?}");
    }
}

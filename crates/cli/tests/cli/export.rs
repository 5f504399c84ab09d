//! `chatledger export`: every format through the binary, to a file or stdout, redacted unless
//! told otherwise.

use crate::fixture::demo_database;
use crate::process::{assert_one_line_failure, run};

#[tokio::test(flavor = "multi_thread")]
async fn every_format_writes_its_records_and_a_summary_line() {
    let database = demo_database().await;
    let directory = tempfile::tempdir().unwrap();

    // The demo has 30 rated answers: 19 up, 11 down, 6 of the downs with a correction.
    for (format, records) in [
        ("openai-sft", 6),
        ("openai-dpo", 6),
        ("trl", 6),
        ("kto", 30),
        ("jsonl", 30),
    ] {
        let path = directory.path().join(format!("{format}.jsonl"));
        let output = run([
            "export",
            "--format",
            format,
            "--out",
            path.to_str().unwrap(),
            "--database-url",
            database.url(),
        ]);

        assert_eq!(output.code, Some(0), "{format}: {output:#?}");
        let written = std::fs::read_to_string(&path).unwrap();
        assert_eq!(written.lines().count(), records, "{format}");
        for line in written.lines() {
            serde_json::from_str::<serde_json::Value>(line).unwrap();
        }
        assert!(
            output
                .stderr
                .contains(&format!("wrote {records} {format} records")),
            "{format}: {output:#?}"
        );
        assert!(output.stdout.is_empty(), "records go to the file only");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn stdout_export_is_redacted_unless_no_redact() {
    let database = demo_database().await;
    let mut connection = database.connect().await;
    diesel_async::SimpleAsyncConnection::batch_execute(
        &mut connection,
        "UPDATE feedback SET correction = 'Write to ada@example.com or call +1 415 555 0100.'
          WHERE correction IS NOT NULL",
    )
    .await
    .unwrap();

    let redacted = run([
        "export",
        "--format",
        "openai-sft",
        "--database-url",
        database.url(),
    ]);
    let raw = run([
        "export",
        "--format",
        "openai-sft",
        "--no-redact",
        "--database-url",
        database.url(),
    ]);

    assert_eq!(redacted.code, Some(0), "{redacted:#?}");
    assert!(
        redacted.stdout.contains("[EMAIL]") && redacted.stdout.contains("[PHONE]"),
        "{redacted:#?}"
    );
    assert!(!redacted.stdout.contains("ada@example.com"));
    assert!(raw.stdout.contains("ada@example.com"), "{raw:#?}");
    assert!(
        raw.stderr.contains("not redacted"),
        "the summary says so: {raw:#?}"
    );
}

#[test]
fn an_unknown_format_is_a_usage_error() {
    let output = run([
        "export",
        "--format",
        "csv",
        "--database-url",
        "postgres://127.0.0.1:1/none",
    ]);

    assert_one_line_failure(&output, 2);
}

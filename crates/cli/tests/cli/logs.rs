//! Nothing in logs: the demo at the most verbose level prints no message content, correction,
//! metadata or database password.

use chatledger_tests::TestDatabase;

use crate::process::chatledger;

#[tokio::test(flavor = "multi_thread")]
async fn trace_logs_hold_no_content_and_no_password() {
    let database = TestDatabase::new().await;
    // The servers the tests use trust local connections, so a password in the URL is accepted
    // and ignored: it can be checked for without being needed.
    let password = "pw-never-printed-7f3a";
    let mut url = url::Url::parse(database.url()).unwrap();
    url.set_password(Some(password)).unwrap();

    let output = chatledger()
        .args(["demo", "--database-url", url.as_str()])
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();

    assert_eq!(output.status.code(), Some(0));
    let logs = String::from_utf8_lossy(&output.stderr);
    for operation in [
        "command.demo",
        "messages.append_turn",
        "feedback.submit",
        "report.prompt_feedback",
    ] {
        assert!(
            logs.contains(operation),
            "the logs show {operation}: {logs}"
        );
    }
    assert!(logs.contains("conversation_id="), "spans carry ids: {logs}");
    for secret in [
        password,
        "How long does a refund take?",
        "Refunds reach your original payment method",
        "It did not answer my question.",
        "order_id",
        "Northwind",
    ] {
        assert!(!logs.contains(secret), "the logs contain {secret:?}");
        // tokio-postgres, at debug level, prints bound parameters as lists of byte values.
        let as_bytes = secret
            .bytes()
            .map(|byte| byte.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        assert!(
            !logs.contains(&as_bytes),
            "the logs contain {secret:?} as bytes"
        );
    }
}

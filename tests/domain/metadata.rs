//! Metadata through every write: secret-shaped keys and values, NUL bytes, deep nesting and
//! non-objects are refused by JSON path, and a refusal writes nothing.

use chatledger_domain::conversations::{self, NewConversation};
use chatledger_domain::embeddings::{self, NewEmbedding};
use chatledger_domain::feedback::{self, NewFeedback};
use chatledger_domain::messages::{self, NewMessage};
use chatledger_domain::prompts::{self, NewPromptVersion};
use chatledger_domain::retrievals::{self, NewRetrieval};
use chatledger_domain::users::{self, NewUser};
use chatledger_domain::{Error, FeedbackRating, InvalidReason};
use chatledger_tests::TestDatabase;
use diesel_async::AsyncPgConnection;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{Scene, row_counts, scene};

/// Sends `metadata` through the metadata of every write and returns each result.
async fn write_metadata_everywhere(
    conn: &mut AsyncPgConnection,
    at: &Scene,
    metadata: &Value,
) -> Vec<Result<(), Error>> {
    let mut results = Vec::new();

    let mut new = NewUser::new(format!("u-{}", Uuid::now_v7()));
    new.metadata = metadata.clone();
    results.push(users::create(conn, new).await.map(drop));

    let mut new = NewConversation::new(at.user);
    new.metadata = metadata.clone();
    results.push(conversations::start(conn, new).await.map(drop));

    let message = NewMessage::user(at.conversation, "m").with_metadata(metadata.clone());
    results.push(messages::append(conn, message.clone()).await.map(drop));
    let again = NewMessage {
        id: Uuid::now_v7(),
        ..message
    };
    results.push(messages::append_batch(conn, vec![again]).await.map(drop));

    let mut draft = NewPromptVersion::new(format!("p-{}", Uuid::now_v7()), "t", &[]);
    draft.metadata = metadata.clone();
    results.push(prompts::publish(conn, draft).await.map(drop));

    let mut chunk = NewEmbedding::new("doc", Uuid::now_v7().to_string(), 0, "t", "embed", 2);
    chunk.metadata = metadata.clone();
    results.push(embeddings::ingest_one(conn, chunk).await.map(drop));

    let mut retrieval = NewRetrieval::new(at.message, at.embedding, 1, 0.5);
    retrieval.metadata = metadata.clone();
    results.push(retrievals::record(conn, vec![retrieval]).await.map(drop));

    let mut given = NewFeedback::new(at.message, None, FeedbackRating::ThumbsUp);
    given.metadata = metadata.clone();
    results.push(feedback::submit(conn, given).await.map(drop));

    results
}

/// The path under `metadata` that each write's error names (retrievals are named by index).
fn metadata_path(write: usize, path: &str) -> String {
    match write {
        3 => format!("messages[0].{path}"),
        5 => format!("chunks[0].{path}"),
        6 => format!("retrievals[0].{path}"),
        _ => path.to_owned(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn secret_shaped_metadata_is_refused_by_path_without_echoing_the_value() {
    let database = TestDatabase::new().await;
    let mut conn = database.connect().await;
    let at = scene(&mut conn).await;
    let before = row_counts(&mut conn).await;

    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"api_key": "k-not-shaped"}),
            "metadata.api_key",
            "k-not-shaped",
        ),
        (
            json!({"auth": {"Authorization": "x"}}),
            "metadata.auth.Authorization",
            "\"x\"",
        ),
        (
            json!({"request": {"headers": [{"Cookie": "sid=1"}]}}),
            "metadata.request.headers[0].Cookie",
            "sid=1",
        ),
        (
            json!({"db": {"PASSWORD": "hunter2"}}),
            "metadata.db.PASSWORD",
            "hunter2",
        ),
        (
            json!({"clientSecret": "s"}),
            "metadata.clientSecret",
            "\"s\"",
        ),
        (json!({"x-api-key": "v"}), "metadata.x-api-key", "\"v\""),
        (
            json!({"refresh_token": "r"}),
            "metadata.refresh_token",
            "\"r\"",
        ),
        (
            json!({"note": "Bearer abcdef0123456789"}),
            "metadata.note",
            "abcdef0123456789",
        ),
        (
            json!({"cfg": ["key=sk-proj-ABCDEFGHIJKLMNOPQRSTUVWX"]}),
            "metadata.cfg[0]",
            "ABCDEFGHIJKLMNOP",
        ),
        (
            json!({"aws": {"id": "AKIAIOSFODNN7EXAMPLE"}}),
            "metadata.aws.id",
            "IOSFODNN7",
        ),
        (
            json!({"t": concat!(
                "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.",
                "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
            )}),
            "metadata.t",
            "dozjgNryP4J3",
        ),
        (
            json!({"pem": "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----"
            }),
            "metadata.pem",
            "MIIEow",
        ),
    ];
    for (metadata, path, fragment) in &cases {
        for (write, result) in write_metadata_everywhere(&mut conn, &at, metadata)
            .await
            .into_iter()
            .enumerate()
        {
            let expected = metadata_path(write, path);
            match result {
                Err(Error::SecretRefused { path }) if path == expected => {}
                other => panic!(
                    "write {write} of {metadata}: expected a refusal at {expected}, got {other:?}"
                ),
            }
            let shown = format!("{}", Error::SecretRefused { path: expected });
            assert!(!shown.contains(fragment));
        }
    }
    assert_eq!(row_counts(&mut conn).await, before);

    // Keys and values that only resemble credentials are kept.
    let harmless =
        json!({"token_count": 3, "tokens": {"prompt": 10}, "keyboard": "sk-short", "skip": "AKIA"});
    for result in write_metadata_everywhere(&mut conn, &at, &harmless).await {
        result.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn nul_bytes_deep_nesting_and_non_objects_are_refused_and_nothing_is_written() {
    let database = TestDatabase::new().await;
    let mut conn = database.connect().await;
    let at = scene(&mut conn).await;
    let before = row_counts(&mut conn).await;

    let mut deep = json!("bottom");
    for _ in 0..200 {
        deep = json!({"d": deep});
    }
    let cases: Vec<(Value, &str, InvalidReason)> = vec![
        (
            json!({"a": "x\u{0}y"}),
            "metadata.a",
            InvalidReason::NulByte,
        ),
        (
            json!({"a\u{0}": 1}),
            "metadata.a\u{0}",
            InvalidReason::NulByte,
        ),
        (
            json!(["not", "an", "object"]),
            "metadata",
            InvalidReason::NotAnObject,
        ),
        (json!("text"), "metadata", InvalidReason::NotAnObject),
        (
            json!({"wrap": deep}),
            "",
            InvalidReason::TooDeep {
                max: chatledger_domain::guard::MAX_JSON_DEPTH,
            },
        ),
    ];
    for (metadata, path, reason) in &cases {
        for (write, result) in write_metadata_everywhere(&mut conn, &at, metadata)
            .await
            .into_iter()
            .enumerate()
        {
            match result {
                Err(Error::InvalidInput { field, reason: got }) => {
                    assert_eq!(&got, reason, "write {write}");
                    if !path.is_empty() {
                        assert_eq!(field, metadata_path(write, path), "write {write}");
                    }
                }
                other => panic!("write {write}: expected {reason:?}, got {other:?}"),
            }
        }
    }
    assert_eq!(row_counts(&mut conn).await, before);

    // Nesting within the limit round-trips.
    let mut nested = json!("bottom");
    for _ in 0..60 {
        nested = json!({"d": nested});
    }
    let nested = json!({"n": nested});
    let mut new = NewConversation::new(at.user);
    new.metadata = nested.clone();
    let started = conversations::start(&mut conn, new).await.unwrap();
    assert_eq!(
        conversations::get(&mut conn, started.id)
            .await
            .unwrap()
            .metadata,
        nested
    );
}

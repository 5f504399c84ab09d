//! `chatledger seed`: the same seed writes the same dataset.

use chatledger_tests::TestDatabase;
use diesel::sql_types::{BigInt, Text};
use diesel_async::RunQueryDsl;

use crate::process::run;

#[derive(diesel::QueryableByName, Debug, PartialEq)]
struct Fingerprint {
    #[diesel(sql_type = BigInt)]
    messages: i64,
    #[diesel(sql_type = BigInt)]
    tokens: i64,
    #[diesel(sql_type = BigInt)]
    feedback: i64,
    #[diesel(sql_type = Text)]
    ratings: String,
}

async fn fingerprint(database: &TestDatabase) -> Fingerprint {
    let mut connection = database.connect().await;
    diesel::sql_query(
        "SELECT (SELECT count(*) FROM messages) AS messages,
                (SELECT coalesce(sum(token_count), 0) FROM messages)::bigint AS tokens,
                (SELECT count(*) FROM feedback) AS feedback,
                (SELECT string_agg(m.content || ':' || f.rating::text, ',' ORDER BY m.content, f.rating)
                   FROM feedback f JOIN messages m ON m.id = f.message_id) AS ratings",
    )
    .get_result(&mut connection)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_seed_writes_the_same_dataset_and_another_seed_does_not() {
    let (first, second, other) = tokio::join!(
        TestDatabase::new(),
        TestDatabase::new(),
        TestDatabase::new()
    );

    for (database, seed) in [(&first, "7"), (&second, "7"), (&other, "8")] {
        let output = run([
            "seed",
            "--conversations",
            "1500",
            "--seed",
            seed,
            "--database-url",
            database.url(),
        ]);
        assert_eq!(output.code, Some(0), "{output:#?}");
        assert!(
            output.stdout.contains("1500 conversations, 6000 messages"),
            "{output:#?}"
        );
    }

    let (a, b, c) = (
        fingerprint(&first).await,
        fingerprint(&second).await,
        fingerprint(&other).await,
    );
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert!(a.feedback > 0);
}

#[test]
fn zero_conversations_is_a_usage_error() {
    let output = run([
        "seed",
        "--conversations",
        "0",
        "--database-url",
        "postgres://127.0.0.1:1/none",
    ]);

    crate::process::assert_one_line_failure(&output, 2);
}

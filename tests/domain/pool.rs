//! The pool's per-connection setup really reaches the server's sessions.

use std::time::Duration;

use chatledger_domain::PoolConfig;
use chatledger_tests::TestDatabase;
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Text};
use diesel_async::RunQueryDsl;

#[derive(QueryableByName)]
struct Settings {
    #[diesel(sql_type = Text)]
    application_name: String,
    #[diesel(sql_type = Text)]
    statement_timeout: String,
}

#[tokio::test(flavor = "multi_thread")]
async fn pooled_connections_carry_application_name_and_statement_timeout() {
    let database = TestDatabase::new().await;
    let mut config = PoolConfig::new(database.url());
    config.max_size = 3;
    config.application_name = "ledger-under-test".to_owned();
    config.statement_timeout = Some(Duration::from_millis(1500));
    let pool = config.build().unwrap();

    // Three connections at once, so three sessions went through the setup.
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(pool.get().await.unwrap());
    }
    for conn in &mut held {
        let settings: Settings = diesel::sql_query(
            "SELECT current_setting('application_name') AS application_name,
                    current_setting('statement_timeout') AS statement_timeout",
        )
        .get_result(&mut **conn)
        .await
        .unwrap();
        assert_eq!(settings.application_name, "ledger-under-test");
        assert_eq!(settings.statement_timeout, "1500ms");
    }

    // The server sees them under that name too.
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        sessions: i64,
    }
    let mut observer = database.connect().await;
    let seen: Count = diesel::sql_query(
        "SELECT count(*) AS sessions FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = 'ledger-under-test'",
    )
    .get_result(&mut observer)
    .await
    .unwrap();
    assert_eq!(seen.sessions, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_statement_timeout_cancels_a_long_statement_and_survives_recycling() {
    let database = TestDatabase::new().await;
    let mut config = PoolConfig::new(database.url());
    config.max_size = 1;
    config.statement_timeout = Some(Duration::from_millis(200));
    let pool = config.build().unwrap();

    let mut conn = pool.get().await.unwrap();
    let cancelled = diesel::sql_query("SELECT pg_sleep(5)")
        .execute(&mut *conn)
        .await;
    let message = cancelled.unwrap_err().to_string();
    assert!(message.contains("statement timeout"), "{message}");
    drop(conn);

    // The single connection goes back to the pool and comes out with the setting intact.
    let mut again = pool.get().await.unwrap();
    let settings: Settings = diesel::sql_query(
        "SELECT current_setting('application_name') AS application_name,
                current_setting('statement_timeout') AS statement_timeout",
    )
    .get_result(&mut *again)
    .await
    .unwrap();
    assert_eq!(settings.statement_timeout, "200ms");
    assert_eq!(settings.application_name, "chatledger");
}

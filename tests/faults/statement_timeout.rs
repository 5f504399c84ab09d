//! A pool's `statement_timeout` cancels a report that would otherwise wait forever.
//!
//! The report is made slow for certain: another session holds an exclusive lock on `messages`,
//! and lock waits count towards the timeout. The same report on a pool without a timeout is
//! still waiting when the test gives up on it, which shows that the timeout is what ended it.

use std::time::{Duration, Instant};

use chatledger_domain::messages::{self, HistoryCursor};
use chatledger_domain::{Error, PageRequest, PoolConfig};
use chatledger_query::reports::{self, ReportError, TokenUsageOptions};
use chatledger_tests::TestDatabase;
use diesel::pg::sql_state;
use diesel_async::SimpleAsyncConnection;

use crate::support::Ledger;

const TIMEOUT: Duration = Duration::from_millis(300);

#[tokio::test(flavor = "multi_thread")]
async fn a_statement_timeout_cancels_a_report_stuck_behind_a_lock() {
    let database = TestDatabase::new().await;
    let mut setup = database.connect().await;
    let ledger = Ledger::create(&mut setup, 1, 2).await;
    let mut locker = database.connect().await;
    locker
        .batch_execute("BEGIN; LOCK TABLE messages IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();

    let mut timed = PoolConfig::new(database.url());
    timed.statement_timeout = Some(TIMEOUT);
    let timed = timed.build().unwrap();
    let mut conn = timed.get().await.unwrap();
    let options = TokenUsageOptions::default();

    let started = Instant::now();
    let report = tokio::time::timeout(
        Duration::from_secs(10),
        reports::token_usage(&mut conn, &options),
    )
    .await
    .expect("the report returned instead of hanging");
    let cancelled_after = started.elapsed();
    match report {
        Err(ReportError::Database(diesel::result::Error::DatabaseError(_, info))) => {
            assert_eq!(
                info.sqlstate(),
                Some(sql_state::QUERY_CANCELED),
                "{}",
                info.message()
            );
        }
        other => panic!("expected a cancelled statement, got {other:?}"),
    }
    assert!(
        cancelled_after >= TIMEOUT && cancelled_after < Duration::from_secs(5),
        "cancelled after {cancelled_after:?}"
    );

    // A library call cancelled the same way is a database error that a retry will not cure.
    let history = messages::history(
        &mut conn,
        ledger.conversations[0],
        &PageRequest::<HistoryCursor>::first(10),
    )
    .await;
    match history {
        Err(error @ Error::Database(_)) => assert!(!error.is_retryable()),
        other => panic!("expected a cancelled statement, got {other:?}"),
    }

    let untimed = PoolConfig::new(database.url()).build().unwrap();
    let mut untimed_conn = untimed.get().await.unwrap();
    let waiting = tokio::time::timeout(
        Duration::from_secs(1),
        reports::token_usage(&mut untimed_conn, &options),
    )
    .await;
    assert!(
        waiting.is_err(),
        "without a timeout the report should still wait"
    );
    drop(untimed_conn);
    drop(untimed);

    locker.batch_execute("ROLLBACK").await.unwrap();
    let rows = reports::token_usage(&mut conn, &options).await.unwrap();
    assert!(
        rows.is_empty(),
        "the same connection serves the report once the lock is gone"
    );
    eprintln!(
        "statement timeout: {TIMEOUT:?} configured, report cancelled after {cancelled_after:?}"
    );
}

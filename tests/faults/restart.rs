//! The server stopped and started again under a running application, on a throwaway cluster of
//! this test's own.
//!
//! One caller appends a message every few milliseconds through a pool that outlives the
//! restart. While the server is down every call must fail with an error that says it may be
//! retried; once it is back, calls must succeed again on the same pool with no step by anyone.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use chatledger_domain::conversations::{self, NewConversation};
use chatledger_domain::messages::{self, NewMessage};
use chatledger_domain::users::{self, NewUser};
use chatledger_domain::{Error, PgPool, PoolConfig};
use chatledger_tempdb::ThrowawayPostgres;
use diesel::sql_types::{Array, BigInt, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::support;

const UP: u8 = 0;
const STOPPING: u8 = 1;
const DOWN: u8 = 2;
const RESUMING: u8 = 3;
const BACK: u8 = 4;

/// The caller's pace: one call per tick, so that a refused connect does not spin.
const CALL_EVERY: Duration = Duration::from_millis(20);
/// Longest wait for any step of the test.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// One call and the server's state when it started and when it returned.
#[derive(Debug)]
struct Call {
    started_in: u8,
    ended_in: u8,
    message_id: Uuid,
    outcome: Result<(), Error>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_fail_retryably_while_the_server_is_down_and_recover_after() {
    let server = Arc::new(
        tokio::task::spawn_blocking(ThrowawayPostgres::start)
            .await
            .unwrap()
            .unwrap(),
    );
    let url = server.url("postgres");
    chatledger_domain::migrations::run_pending(&url)
        .await
        .unwrap();
    let conversation = conversation(&url).await;
    let pool = pool(&url);

    let phase = Arc::new(AtomicU8::new(UP));
    let (calls_sender, mut calls) = mpsc::unbounded_channel();
    let caller = tokio::spawn(call_repeatedly(
        pool.clone(),
        conversation,
        Arc::clone(&phase),
        calls_sender,
    ));
    let mut seen = Vec::new();
    receive_until(&mut calls, &mut seen, |call| call.outcome.is_ok()).await;

    phase.store(STOPPING, Ordering::SeqCst);
    let stopped_at = Instant::now();
    stop(&server).await;
    phase.store(DOWN, Ordering::SeqCst);
    receive_until(&mut calls, &mut seen, |call| {
        call.started_in == DOWN && call.outcome.is_err()
    })
    .await;
    let failures_while_down = seen
        .iter()
        .filter(|call| call.started_in == DOWN && call.outcome.is_err())
        .count();
    assert!(failures_while_down > 0);

    phase.store(RESUMING, Ordering::SeqCst);
    resume(&server).await;
    let down_for = stopped_at.elapsed();
    phase.store(BACK, Ordering::SeqCst);
    let resumed_at = Instant::now();
    receive_until(&mut calls, &mut seen, |call| {
        call.started_in == BACK && call.outcome.is_ok()
    })
    .await;
    let recovered_after = resumed_at.elapsed();
    caller.abort();

    let mut failures: BTreeMap<(&'static str, bool), usize> = BTreeMap::new();
    for call in &seen {
        if let Err(error) = &call.outcome {
            *failures
                .entry((support::kind_of(error), error.is_retryable()))
                .or_default() += 1;
            assert!(
                error.is_retryable(),
                "a call during the restart failed with a non-retryable error: {error:?}"
            );
        }
    }
    let during_down: Vec<&Call> = seen
        .iter()
        .filter(|call| call.started_in == DOWN && call.ended_in == DOWN)
        .collect();
    assert!(
        during_down.iter().all(|call| call.outcome.is_err()),
        "a call succeeded while the server was stopped"
    );
    eprintln!(
        "restart: server down for {down_for:?} (stop to resume returning); {} calls, {} of them \
         failed, by (kind, retryable): {failures:?}; first success {recovered_after:?} after \
         resume",
        seen.len(),
        seen.iter().filter(|call| call.outcome.is_err()).count(),
    );

    // Every call the caller was told succeeded is in the database after the restart.
    let committed: Vec<Uuid> = seen
        .iter()
        .filter(|call| call.outcome.is_ok())
        .map(|call| call.message_id)
        .collect();
    let mut conn = AsyncPgConnection::establish(&url).await.unwrap();
    assert_eq!(count_present(&mut conn, &committed).await, committed.len());
}

fn pool(url: &str) -> PgPool {
    let mut config = PoolConfig::new(url);
    config.max_size = 4;
    config.wait_timeout = Some(Duration::from_secs(1));
    config.create_timeout = Some(Duration::from_secs(1));
    config.recycle_timeout = Some(Duration::from_secs(1));
    config.build().unwrap()
}

async fn conversation(url: &str) -> Uuid {
    let mut conn = AsyncPgConnection::establish(url).await.unwrap();
    let user = users::create(&mut conn, NewUser::new("auth|restart"))
        .await
        .unwrap();
    conversations::start(&mut conn, NewConversation::new(user.id))
        .await
        .unwrap()
        .id
}

async fn call_repeatedly(
    pool: PgPool,
    conversation: Uuid,
    phase: Arc<AtomicU8>,
    calls: mpsc::UnboundedSender<Call>,
) {
    let mut pace = tokio::time::interval(CALL_EVERY);
    loop {
        pace.tick().await;
        let message = NewMessage::user(conversation, "still there?").with_token_count(3);
        let message_id = message.id;
        let started_in = phase.load(Ordering::SeqCst);
        let outcome = async {
            let mut conn = pool.get().await?;
            messages::append(&mut conn, message).await.map(drop)
        }
        .await;
        let ended_in = phase.load(Ordering::SeqCst);
        let call = Call {
            started_in,
            ended_in,
            message_id,
            outcome,
        };
        if calls.send(call).is_err() {
            return;
        }
    }
}

/// Collects calls until one satisfies `wanted`, within [`STEP_TIMEOUT`].
async fn receive_until(
    calls: &mut mpsc::UnboundedReceiver<Call>,
    seen: &mut Vec<Call>,
    wanted: impl Fn(&Call) -> bool,
) {
    let found = tokio::time::timeout(STEP_TIMEOUT, async {
        while let Some(call) = calls.recv().await {
            let done = wanted(&call);
            seen.push(call);
            if done {
                return;
            }
        }
        panic!("the caller stopped");
    })
    .await;
    assert!(
        found.is_ok(),
        "no such call within {STEP_TIMEOUT:?}: {seen:#?}"
    );
}

async fn stop(server: &Arc<ThrowawayPostgres>) {
    let server = Arc::clone(server);
    tokio::task::spawn_blocking(move || server.stop())
        .await
        .unwrap()
        .unwrap();
}

async fn resume(server: &Arc<ThrowawayPostgres>) {
    let server = Arc::clone(server);
    tokio::task::spawn_blocking(move || server.resume())
        .await
        .unwrap()
        .unwrap();
}

async fn count_present(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> usize {
    #[derive(diesel::QueryableByName)]
    struct Present {
        #[diesel(sql_type = BigInt)]
        present: i64,
    }

    let present: Present =
        diesel::sql_query("SELECT count(*) AS present FROM messages WHERE id = ANY($1)")
            .bind::<Array<SqlUuid>, _>(ids)
            .get_result(conn)
            .await
            .unwrap();
    usize::try_from(present.present).unwrap()
}

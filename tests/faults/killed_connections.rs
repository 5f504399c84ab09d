//! Backends terminated with `pg_terminate_backend` while 32 tasks append turns through one pool.
//!
//! A turn is two messages and two retrievals in one transaction. Each task retries a failed turn
//! as it is (same ids) until it is settled; a retry that meets its own ids already written
//! learns that the earlier attempt committed. The test then checks that the pool heals without
//! being rebuilt, that no turn is half-written, and that the database's totals equal the sum of
//! what the callers were told committed.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chatledger_domain::messages::{self, NewTurn};
use chatledger_domain::{Error, PgPool, PoolConfig};
use chatledger_tests::TestDatabase;
use diesel::sql_types::{Array, BigInt, Integer, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use tokio::task::JoinSet;

use crate::support::{self, Ledger, Violations};

const TASKS: usize = 32;
const TURNS_PER_TASK: usize = 30;
const POOL_SIZE: usize = 8;
/// One of the pool's backends is terminated each time this many more turns have committed, so
/// that the faults keep pace with the work however fast the machine is.
const KILL_AFTER_COMMITS: usize = 3;
/// How often the killer looks at the progress.
const KILLER_POLL: Duration = Duration::from_millis(2);
/// A turn that still fails after this many attempts means the pool did not heal.
const MAX_ATTEMPTS: usize = 25;

/// How one turn ended, from its caller's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Settled {
    /// An attempt returned the written turn.
    Committed,
    /// An attempt failed while the commit was in flight, and the retry found the ids taken.
    CommittedByEarlierAttempt,
}

#[derive(Debug, Default)]
struct TaskReport {
    committed_tokens: i64,
    committed_turns: usize,
    resolved_by_conflict: usize,
    failed_attempts: BTreeMap<&'static str, usize>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn appends_stay_whole_and_the_pool_heals_when_backends_are_killed() {
    let database = TestDatabase::new().await;
    let mut admin = database.connect().await;
    let ledger = Arc::new(Ledger::create(&mut admin, TASKS, 8).await);
    let application_name = format!("faults-killed-{}", uuid::Uuid::now_v7().simple());
    let pool = pool(database.url(), &application_name);

    let stop = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(AtomicUsize::new(0));
    let killer = tokio::spawn(kill_backends(
        database.url().to_owned(),
        application_name.clone(),
        Arc::clone(&progress),
        Arc::clone(&stop),
    ));
    let started = Instant::now();
    let mut writers = JoinSet::new();
    for task in 0..TASKS {
        let progress = Arc::clone(&progress);
        writers.spawn(write_turns(
            pool.clone(),
            Arc::clone(&ledger),
            task,
            progress,
        ));
    }
    let reports = writers.join_all().await;
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let killed_pids = killer.await.unwrap();
    wait_until_gone(&mut admin, &killed_pids).await;

    let mut failed_attempts: BTreeMap<&'static str, usize> = BTreeMap::new();
    for report in &reports {
        for (kind, count) in &report.failed_attempts {
            *failed_attempts.entry(kind).or_default() += count;
        }
    }
    let failed_total: usize = failed_attempts.values().sum();
    let resolved_by_conflict: usize = reports.iter().map(|r| r.resolved_by_conflict).sum();
    let committed_turns: usize = reports.iter().map(|r| r.committed_turns).sum();
    let committed_tokens: i64 = reports.iter().map(|r| r.committed_tokens).sum();
    eprintln!(
        "killed connections: {} backends terminated in {elapsed:?}; {failed_total} attempts \
         failed ({failed_attempts:?}); {resolved_by_conflict} turns committed by an attempt \
         whose caller saw an error; {committed_turns} turns, {committed_tokens} tokens committed",
        killed_pids.len()
    );
    assert!(
        failed_total > 0,
        "no append was hit by a kill, so this run proves nothing"
    );

    // Every connection now idle in the pool is killed too; the same pool must still serve every
    // caller on the first attempt, finding the dead connections out instead of handing them out.
    // The last kills of the load may have left the pool with no open connection at all, so it is
    // filled first: otherwise there would be nothing idle to kill, and the check would prove nothing.
    fill(&pool).await;
    let idle_killed = terminate_all(&mut admin, &application_name).await;
    wait_until_gone(&mut admin, &idle_killed).await;
    assert!(!idle_killed.is_empty());
    let mut after = JoinSet::new();
    for task in 0..TASKS {
        let pool = pool.clone();
        let turn = ledger.turn(ledger.conversations[task], TURNS_PER_TASK + task);
        after.spawn(async move {
            let tokens = support::turn_tokens(&turn);
            let mut conn = pool.get().await.map_err(Error::from)?;
            messages::append_turn(&mut conn, turn).await.map(|_| tokens)
        });
    }
    let mut tokens_after = 0;
    for outcome in after.join_all().await {
        tokens_after += outcome.unwrap_or_else(|error| {
            panic!("the pool handed out a dead connection after the kills stopped: {error:?}")
        });
    }

    let totals = support::totals(&mut admin).await;
    let turns = i64::try_from(committed_turns + TASKS).unwrap();
    assert_eq!(totals.total_tokens, committed_tokens + tokens_after);
    assert_eq!(totals.messages, 2 * turns);
    assert_eq!(totals.retrievals, 2 * turns);
    assert_eq!(support::violations(&mut admin).await, Violations::NONE);
}

/// Opens every connection the pool may hold (all checked out at once, then returned).
async fn fill(pool: &PgPool) {
    let mut held = Vec::new();
    for _ in 0..POOL_SIZE {
        held.push(pool.get().await.unwrap());
    }
}

fn pool(url: &str, application_name: &str) -> PgPool {
    let mut config = PoolConfig::new(url);
    config.max_size = POOL_SIZE;
    config.application_name = application_name.to_owned();
    config.wait_timeout = Some(Duration::from_secs(10));
    config.build().unwrap()
}

/// Appends this task's turns, retrying each until it is settled.
async fn write_turns(
    pool: PgPool,
    ledger: Arc<Ledger>,
    task: usize,
    progress: Arc<AtomicUsize>,
) -> TaskReport {
    let conversation = ledger.conversations[task];
    let mut report = TaskReport::default();
    for index in 0..TURNS_PER_TASK {
        let turn = ledger.turn(conversation, task * TURNS_PER_TASK + index);
        let tokens = support::turn_tokens(&turn);
        match settle(&pool, &turn, &mut report).await {
            Settled::Committed => {}
            Settled::CommittedByEarlierAttempt => report.resolved_by_conflict += 1,
        }
        report.committed_turns += 1;
        report.committed_tokens += tokens;
        progress.fetch_add(1, Ordering::Relaxed);
    }
    report
}

async fn settle(pool: &PgPool, turn: &NewTurn, report: &mut TaskReport) -> Settled {
    let mut failures = 0;
    loop {
        let attempt = async {
            let mut conn = pool.get().await?;
            messages::append_turn(&mut conn, turn.clone()).await
        };
        match attempt.await {
            Ok(written) => {
                assert_eq!(written.messages.len(), 2);
                assert_eq!(written.retrievals.len(), 2);
                return Settled::Committed;
            }
            Err(Error::Conflict {
                entity: "message", ..
            }) if failures > 0 => return Settled::CommittedByEarlierAttempt,
            Err(error) if error.is_retryable() => {
                *report
                    .failed_attempts
                    .entry(support::kind_of(&error))
                    .or_default() += 1;
                failures += 1;
                assert!(
                    failures < MAX_ATTEMPTS,
                    "a turn failed {failures} times in a row; the last error: {error:?}"
                );
            }
            Err(error) => panic!("a killed connection gave a non-retryable error: {error:?}"),
        }
    }
}

/// Terminates one backend of the pool (found by `application_name`) after every
/// [`KILL_AFTER_COMMITS`] committed turns until told to stop, and returns the pids it
/// terminated.
async fn kill_backends(
    url: String,
    application_name: String,
    progress: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
) -> Vec<i32> {
    #[derive(diesel::QueryableByName)]
    struct Terminated {
        #[diesel(sql_type = Integer)]
        pid: i32,
    }

    let mut killer = AsyncPgConnection::establish(&url).await.unwrap();
    let mut poll = tokio::time::interval(KILLER_POLL);
    let mut killed = Vec::new();
    let mut next_kill_at = KILL_AFTER_COMMITS;
    while !stop.load(Ordering::Relaxed) {
        poll.tick().await;
        if progress.load(Ordering::Relaxed) < next_kill_at {
            continue;
        }
        next_kill_at += KILL_AFTER_COMMITS;
        let terminated: Vec<Terminated> = diesel::sql_query(
            "SELECT pid FROM pg_stat_activity
              WHERE application_name = $1 AND pid <> pg_backend_pid()
              ORDER BY random() LIMIT 1",
        )
        .bind::<Text, _>(&application_name)
        .load(&mut killer)
        .await
        .unwrap();
        for victim in terminated {
            diesel::sql_query("SELECT pg_terminate_backend($1)")
                .bind::<Integer, _>(victim.pid)
                .execute(&mut killer)
                .await
                .unwrap();
            killed.push(victim.pid);
        }
    }
    killed
}

/// Terminates every backend named `application_name` and returns their pids.
async fn terminate_all(admin: &mut AsyncPgConnection, application_name: &str) -> Vec<i32> {
    #[derive(diesel::QueryableByName)]
    struct Terminated {
        #[diesel(sql_type = Integer)]
        pid: i32,
    }

    let terminated: Vec<Terminated> = diesel::sql_query(
        // Materialised first, so that no other backend is ever passed to pg_terminate_backend.
        "WITH victims AS MATERIALIZED (
             SELECT pid FROM pg_stat_activity
              WHERE application_name = $1 AND pid <> pg_backend_pid())
         SELECT pid FROM victims WHERE pg_terminate_backend(pid)",
    )
    .bind::<Text, _>(application_name)
    .load(admin)
    .await
    .unwrap();
    terminated.into_iter().map(|row| row.pid).collect()
}

/// Waits (bounded) until every terminated backend has exited, so that none dies after the
/// killing is over.
async fn wait_until_gone(admin: &mut AsyncPgConnection, pids: &[i32]) {
    #[derive(diesel::QueryableByName)]
    struct Alive {
        #[diesel(sql_type = BigInt)]
        alive: i64,
    }

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let alive: Alive =
            diesel::sql_query("SELECT count(*) AS alive FROM pg_stat_activity WHERE pid = ANY($1)")
                .bind::<Array<Integer>, _>(pids)
                .get_result(admin)
                .await
                .unwrap();
        if alive.alive == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "terminated backends still alive");
        tokio::task::yield_now().await;
    }
}

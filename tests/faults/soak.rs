//! Mixed traffic from 64 concurrent tasks through one pool: appends, history reads, prompt
//! lookups and activations, feedback and reports, for a fixed number of operations.
//!
//! By default each task runs a few dozen operations, so that the suite stays quick; set
//! `CHATLEDGER_SOAK_OPS` to the operations per task for the full run, e.g.
//! `CHATLEDGER_SOAK_OPS=1000 cargo test --release -p chatledger-tests --test faults soak -- --nocapture`.
//! The figures (throughput, p50 and p99 per operation) are printed to stderr.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chatledger_domain::feedback::{self, NewFeedback};
use chatledger_domain::messages::{self, HistoryCursor};
use chatledger_domain::prompts;
use chatledger_domain::{Error, FeedbackRating, PageRequest, PgPool, PoolConfig};
use chatledger_query::reports::{self, TokenUsageOptions};
use chatledger_tests::TestDatabase;
use tokio::task::JoinSet;

use crate::support::{self, Latencies, LatencyTable, Ledger, PROMPT_NAME, Violations};

const TASKS: usize = 64;
const DEFAULT_OPS_PER_TASK: usize = 30;
const POOL_SIZE: usize = 16;
const POOL_WAIT: Duration = Duration::from_secs(5);
/// A prompt name with no active version, looked up on purpose: its `NotFound` is the one
/// error the soak expects.
const MISSING_PROMPT: &str = "no-such-prompt";

#[derive(Debug, Default)]
struct TaskReport {
    latencies: LatencyTable,
    longest_pool_wait: Duration,
    committed_tokens: i64,
    turns: usize,
    feedback: usize,
    expected_not_found: usize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mixed_traffic_keeps_every_invariant() {
    let ops_per_task = std::env::var("CHATLEDGER_SOAK_OPS")
        .ok()
        .and_then(|ops| ops.parse().ok())
        .unwrap_or(DEFAULT_OPS_PER_TASK);
    let database = TestDatabase::new().await;
    let mut admin = database.connect().await;
    let ledger = Arc::new(Ledger::create(&mut admin, TASKS, 16).await);
    let mut config = PoolConfig::new(database.url());
    config.max_size = POOL_SIZE;
    config.wait_timeout = Some(POOL_WAIT);
    let pool = config.build().unwrap();

    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for task in 0..TASKS {
        tasks.spawn(run_task(
            pool.clone(),
            Arc::clone(&ledger),
            task,
            ops_per_task,
        ));
    }
    let reports = tasks.join_all().await;
    let elapsed = started.elapsed();

    let mut latencies = LatencyTable::new();
    for report in &reports {
        for (operation, recorded) in &report.latencies {
            latencies
                .entry(operation)
                .or_default()
                .merge(recorded.clone());
        }
    }
    let operations: usize = latencies.values().map(Latencies::count).sum();
    assert_eq!(operations, TASKS * ops_per_task);
    print_figures(&latencies, elapsed, ops_per_task);

    let longest_pool_wait = reports.iter().map(|r| r.longest_pool_wait).max().unwrap();
    eprintln!("soak: longest wait for a pooled connection {longest_pool_wait:?}");
    assert!(longest_pool_wait < POOL_WAIT);
    assert!(reports.iter().map(|r| r.expected_not_found).sum::<usize>() > 0);

    let totals = support::totals(&mut admin).await;
    let turns: usize = reports.iter().map(|r| r.turns).sum();
    let turns = i64::try_from(turns).unwrap();
    assert_eq!(
        totals.total_tokens,
        reports.iter().map(|r| r.committed_tokens).sum::<i64>()
    );
    assert_eq!(totals.messages, 2 * turns);
    assert_eq!(totals.retrievals, 2 * turns);
    assert_eq!(
        totals.feedback,
        i64::try_from(reports.iter().map(|r| r.feedback).sum::<usize>()).unwrap()
    );
    assert_eq!(support::violations(&mut admin).await, Violations::NONE);
}

/// One task's share of the traffic. The mix is fixed by the task and operation numbers, so a
/// failing run can be repeated: four appends, two history reads, one prompt lookup, one piece
/// of feedback, one report and one activation in every ten operations.
async fn run_task(pool: PgPool, ledger: Arc<Ledger>, task: usize, ops: usize) -> TaskReport {
    let conversation = ledger.conversations[task];
    let mut report = TaskReport::default();
    let mut answers = Vec::new();

    for index in 0..ops {
        let slot = (task + index) % 10;
        let started = Instant::now();
        let mut conn = pool
            .get()
            .await
            .unwrap_or_else(|error| panic!("the pool was exhausted beyond its wait: {error:?}"));
        report.longest_pool_wait = report.longest_pool_wait.max(started.elapsed());

        let operation = match slot {
            0..=3 => {
                let turn = ledger.turn(conversation, task * ops + index);
                let tokens = support::turn_tokens(&turn);
                let answer = support::answer_id(&turn);
                messages::append_turn(&mut conn, turn).await.unwrap();
                report.committed_tokens += tokens;
                report.turns += 1;
                answers.push(answer);
                "append_turn"
            }
            4 | 5 => {
                let page = PageRequest::<HistoryCursor>::first(50);
                messages::history(&mut conn, conversation, &page)
                    .await
                    .unwrap();
                "history"
            }
            6 => {
                let name = if index % 4 == 0 {
                    MISSING_PROMPT
                } else {
                    PROMPT_NAME
                };
                match prompts::active(&mut conn, name).await {
                    Ok(active) => assert!(active.is_active),
                    Err(Error::NotFound { .. }) if name == MISSING_PROMPT => {
                        report.expected_not_found += 1;
                    }
                    Err(error) => panic!("prompt lookup failed: {error:?}"),
                }
                "prompt_active"
            }
            7 => {
                if answers.is_empty() {
                    // Nothing of this task's to rate yet: append a turn first (timed as
                    // feedback, counted as a turn).
                    let turn = ledger.turn(conversation, task * ops + index);
                    report.committed_tokens += support::turn_tokens(&turn);
                    answers.push(support::answer_id(&turn));
                    messages::append_turn(&mut conn, turn).await.unwrap();
                    report.turns += 1;
                }
                let message = *answers.last().unwrap();
                let rating = if index % 2 == 0 {
                    FeedbackRating::ThumbsUp
                } else {
                    FeedbackRating::ThumbsDown
                };
                let new = NewFeedback::new(message, Some(ledger.user), rating);
                feedback::submit(&mut conn, new).await.unwrap();
                report.feedback += 1;
                "feedback"
            }
            8 => {
                reports::token_usage(&mut conn, &TokenUsageOptions::default())
                    .await
                    .unwrap();
                "report_token_usage"
            }
            _ => {
                let version = i32::try_from(index % 2 + 1).unwrap();
                let active = prompts::activate(&mut conn, PROMPT_NAME, version)
                    .await
                    .unwrap();
                assert_eq!(active.version, version);
                "prompt_activate"
            }
        };
        drop(conn);
        report
            .latencies
            .entry(operation)
            .or_default()
            .record(started.elapsed());
    }
    report
}

fn print_figures(latencies: &BTreeMap<&'static str, Latencies>, elapsed: Duration, ops: usize) {
    let operations: usize = latencies.values().map(Latencies::count).sum();
    eprintln!(
        "soak: {TASKS} tasks x {ops} operations = {operations} in {elapsed:?}, {:.0} ops/s, \
         pool of {POOL_SIZE}",
        operations as f64 / elapsed.as_secs_f64()
    );
    for (operation, recorded) in latencies {
        eprintln!(
            "soak: {operation:<20} {:>6} ops {:>8.0} ops/s  p50 {:>9.2?}  p99 {:>9.2?}  max {:>9.2?}",
            recorded.count(),
            recorded.count() as f64 / elapsed.as_secs_f64(),
            recorded.percentile(50.0),
            recorded.percentile(99.0),
            recorded.max(),
        );
    }
}

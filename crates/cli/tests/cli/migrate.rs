//! `chatledger migrate`: applies everything once, also when many processes race to do it.

use std::process::Stdio;

use chatledger_tests::TestDatabase;
use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl;

use crate::process::{Run, chatledger, run};

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

async fn recorded_migrations(database: &TestDatabase) -> i64 {
    let mut connection = database.connect().await;
    diesel::sql_query("SELECT count(*) AS count FROM __diesel_schema_migrations")
        .get_result::<Count>(&mut connection)
        .await
        .unwrap()
        .count
}

/// The migration directories of the repository, which the binary embeds.
fn embedded_migrations() -> usize {
    chatledger_tests::migration_directories()
}

#[tokio::test(flavor = "multi_thread")]
async fn migrate_applies_everything_and_status_lists_it() {
    let database = TestDatabase::empty().await;

    let migrate = run(["migrate", "--database-url", database.url()]);
    assert_eq!(migrate.code, Some(0), "{migrate:#?}");
    assert_eq!(
        migrate.stdout.matches("applied  ").count(),
        embedded_migrations()
    );

    let status = run(["migrate", "--status", "--database-url", database.url()]);
    assert_eq!(status.code, Some(0), "{status:#?}");
    assert_eq!(
        status
            .stdout
            .lines()
            .filter(|line| line.starts_with("applied"))
            .count(),
        embedded_migrations()
    );
    assert!(!status.stdout.contains("pending"), "{status:#?}");
}

async fn race(processes: usize) {
    let database = TestDatabase::empty().await;

    let children: Vec<_> = (0..processes)
        .map(|_| {
            chatledger()
                .args(["migrate", "--database-url", database.url()])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let runs: Vec<Run> = children
        .into_iter()
        .map(|child| child.wait_with_output().unwrap().into())
        .collect();

    for run in &runs {
        assert_eq!(run.code, Some(0), "every racing process succeeds: {run:#?}");
    }
    let applied_lines: usize = runs
        .iter()
        .map(|run| run.stdout.matches("applied  ").count())
        .sum();
    assert_eq!(
        applied_lines,
        embedded_migrations(),
        "each migration is applied by exactly one process"
    );
    assert_eq!(
        recorded_migrations(&database).await,
        embedded_migrations() as i64
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_processes_migrating_at_once_both_succeed() {
    race(2).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn eight_processes_migrating_at_once_all_succeed() {
    race(8).await;
}

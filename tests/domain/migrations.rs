//! Application instances that start together and all run pending migrations.

use chatledger_domain::migrations::{self, MIGRATIONS};
use chatledger_tests::TestDatabase;
use diesel::QueryableByName;
use diesel::migration::MigrationSource;
use diesel::pg::Pg;
use diesel::sql_types::{BigInt, Text};
use diesel_async::RunQueryDsl;

#[derive(QueryableByName)]
struct Applied {
    #[diesel(sql_type = Text)]
    version: String,
    #[diesel(sql_type = BigInt)]
    times: i64,
}

async fn concurrent_instances_apply_each_migration_once(instances: usize) {
    let database = TestDatabase::empty().await;
    let embedded = MigrationSource::<Pg>::migrations(&MIGRATIONS).unwrap();
    let mut expected: Vec<String> = embedded
        .iter()
        .map(|migration| migration.name().version().to_string())
        .collect();
    expected.sort();

    let runs = (0..instances).map(|_| {
        let url = database.url().to_owned();
        tokio::spawn(async move { migrations::run_pending(&url).await })
    });
    let results = futures_util::future::join_all(runs).await;

    let mut applied_by_callers: Vec<String> = Vec::new();
    for result in results {
        applied_by_callers.extend(result.unwrap().unwrap());
    }
    applied_by_callers.sort();
    assert_eq!(
        applied_by_callers, expected,
        "each migration applied by exactly one caller"
    );

    let mut conn = database.connect().await;
    let recorded: Vec<Applied> = diesel::sql_query(
        "SELECT version, count(*) AS times FROM __diesel_schema_migrations
          GROUP BY version ORDER BY version",
    )
    .load(&mut conn)
    .await
    .unwrap();
    assert_eq!(
        recorded
            .iter()
            .map(|row| row.version.clone())
            .collect::<Vec<_>>(),
        expected
    );
    assert!(recorded.iter().all(|row| row.times == 1));

    let status = migrations::status(database.url()).await.unwrap();
    assert!(status.iter().all(|migration| migration.applied));
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_migrating_at_once_both_succeed() {
    concurrent_instances_apply_each_migration_once(2).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn eight_instances_migrating_at_once_all_succeed() {
    concurrent_instances_apply_each_migration_once(8).await;
}

//! The harness itself: each test's database is its own, fully migrated, and gone afterwards.

use chatledger_tests::TestDatabase;
use diesel::sql_types::Text;
use diesel_async::RunQueryDsl;

use crate::support::{Number, number};

#[tokio::test(flavor = "multi_thread")]
async fn parallel_tests_do_not_see_each_others_rows() {
    let (first, second) = tokio::join!(TestDatabase::new(), TestDatabase::new());
    assert_ne!(first.name(), second.name());

    let mut first_connection = first.connect().await;
    let mut second_connection = second.connect().await;
    diesel::sql_query("INSERT INTO users (external_id) VALUES ('only-in-first')")
        .execute(&mut first_connection)
        .await
        .unwrap();

    assert_eq!(
        number(&mut first_connection, "SELECT count(*) AS value FROM users").await,
        1
    );
    assert_eq!(
        number(
            &mut second_connection,
            "SELECT count(*) AS value FROM users"
        )
        .await,
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_test_database_starts_fully_migrated() {
    let database = TestDatabase::new().await;
    let mut connection = database.connect().await;

    let applied = number(
        &mut connection,
        "SELECT count(*) AS value FROM __diesel_schema_migrations",
    )
    .await;
    let embedded = chatledger_domain::migrations::status(database.url())
        .await
        .unwrap();
    assert_eq!(applied as usize, embedded.len());
    assert!(embedded.iter().all(|migration| migration.applied));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dropped_test_database_is_removed_from_the_server() {
    let database = TestDatabase::new().await;
    let name = database.name().to_owned();
    let observer = TestDatabase::new().await;
    let mut connection = observer.connect().await;
    let exists = |name: String| {
        diesel::sql_query("SELECT count(*) AS value FROM pg_database WHERE datname = $1")
            .bind::<Text, _>(name)
    };

    assert_eq!(
        exists(name.clone())
            .get_result::<Number>(&mut connection)
            .await
            .unwrap()
            .value,
        1
    );
    drop(database);
    assert_eq!(
        exists(name)
            .get_result::<Number>(&mut connection)
            .await
            .unwrap()
            .value,
        0
    );
}

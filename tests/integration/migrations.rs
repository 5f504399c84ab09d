//! The migrations apply to an empty database, undo completely, and apply again to the same
//! schema: each `down.sql` truly undoes its `up.sql`.

use chatledger_domain::migrations::{self, MIGRATIONS};
use chatledger_tests::TestDatabase;
use diesel::sql_types::BigInt;
use diesel::{Connection, PgConnection, RunQueryDsl};
use diesel_migrations::MigrationHarness;

/// The schema as `pg_dump` prints it, without the lines that differ between any two dumps
/// (`\restrict` keys are random per run).
fn schema_dump(database: &TestDatabase) -> String {
    let dump = database.run_client_tool(
        "pg_dump",
        &["--schema-only", "--no-owner", "--no-privileges"],
    );
    dump.lines()
        .filter(|line| !line.starts_with("\\restrict") && !line.starts_with("\\unrestrict"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// Objects of ours left in the public schema: tables (other than diesel's bookkeeping),
/// types, and functions.
fn leftover_objects(connection: &mut PgConnection) -> i64 {
    diesel::sql_query(
        "SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE n.nspname = 'public' AND c.relname NOT LIKE '__diesel_schema_migrations%')
              + (SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                  WHERE n.nspname = 'public' AND t.typtype = 'e')
              + (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                  WHERE n.nspname = 'public') AS count",
    )
    .get_result::<Count>(connection)
    .unwrap()
    .count
}

#[tokio::test(flavor = "multi_thread")]
async fn all_up_all_down_all_up_gives_the_same_schema() {
    let database = TestDatabase::empty().await;

    let applied = migrations::run_pending(database.url()).await.unwrap();
    let embedded = migrations::status(database.url()).await.unwrap();
    assert_eq!(
        applied.len(),
        embedded.len(),
        "every migration applies to an empty database"
    );
    let before = schema_dump(&database);
    assert!(
        before.contains("CREATE TABLE public.messages"),
        "the dump shows the schema"
    );

    let url = database.url().to_owned();
    let leftovers = tokio::task::spawn_blocking(move || {
        let mut connection = PgConnection::establish(&url).unwrap();
        connection.revert_all_migrations(MIGRATIONS).unwrap();
        leftover_objects(&mut connection)
    })
    .await
    .unwrap();
    assert_eq!(
        leftovers, 0,
        "the down migrations leave no table, type or function behind"
    );

    let reapplied = migrations::run_pending(database.url()).await.unwrap();
    assert_eq!(reapplied.len(), embedded.len());
    assert_eq!(
        schema_dump(&database),
        before,
        "the round trip leaves the schema as it was"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_library_embeds_every_migration_directory() {
    let directories = chatledger_tests::migration_directories();

    let embedded = migrations::status(TestDatabase::new().await.url())
        .await
        .unwrap();

    assert_eq!(
        embedded.len(),
        directories,
        "the embedded migrations are not stale"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn running_migrations_again_applies_nothing() {
    let database = TestDatabase::new().await;

    let applied = migrations::run_pending(database.url()).await.unwrap();

    assert!(
        applied.is_empty(),
        "an up-to-date database has nothing pending: {applied:?}"
    );
}

//! `chatledger erase-user`: erases with --yes, refuses to guess without it.

use chatledger_schema::schema::{conversations, users};
use diesel::{ExpressionMethods, QueryDsl};
use diesel_async::RunQueryDsl;

use crate::fixture::demo_database;
use crate::process::{assert_one_line_failure, run};

#[tokio::test(flavor = "multi_thread")]
async fn erase_user_needs_yes_without_a_terminal_and_then_erases() {
    let database = demo_database().await;
    let mut connection = database.connect().await;
    let (user_id, external_id): (uuid::Uuid, String) = users::table
        .select((users::id, users::external_id))
        .order(users::external_id)
        .first(&mut connection)
        .await
        .unwrap();
    let owned: i64 = conversations::table
        .filter(conversations::user_id.eq(user_id))
        .count()
        .get_result(&mut connection)
        .await
        .unwrap();
    assert!(owned > 0);

    let refused = run(["erase-user", &external_id, "--database-url", database.url()]);
    assert_one_line_failure(&refused, 1);
    assert!(refused.stderr.contains("--yes"), "{refused:#?}");

    let erased = run([
        "erase-user",
        &external_id,
        "--yes",
        "--database-url",
        database.url(),
    ]);
    assert_eq!(erased.code, Some(0), "{erased:#?}");
    assert!(
        erased.stdout.contains(&format!("{owned} conversations")),
        "{erased:#?}"
    );
    let left: i64 = users::table
        .filter(users::id.eq(user_id))
        .count()
        .get_result(&mut connection)
        .await
        .unwrap();
    assert_eq!(left, 0);

    let again = run([
        "erase-user",
        &user_id.to_string(),
        "--yes",
        "--database-url",
        database.url(),
    ]);
    assert_one_line_failure(&again, 1);
}

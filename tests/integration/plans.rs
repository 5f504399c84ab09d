//! The hot paths use the indexes meant for them and never scan the messages table: the
//! history page reads a range of the (conversation_id, position) index, and the
//! prompt-feedback dashboard does not read messages at all, and the export's cursor reads
//! feedback in order from its index instead of sorting it; planned by PostgreSQL on 20,000
//! analysed messages, where a sequential scan would be its own choice. (The active prompt
//! lookup's plan is asserted in `invariants.rs`.)

use chatledger_tests::TestDatabase;
use diesel::sql_types::Text;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::support::run_sql;

/// The export's cursor, as the query crate ships it.
const EXPORT_RATED_SQL: &str = include_str!("../../crates/query/src/export/export_rated.sql");

/// The report's query without filters, as the query crate ships it.
const PROMPT_FEEDBACK_COUNTED_SQL: &str =
    include_str!("../../crates/query/src/reports/prompt_feedback_counted.sql");

#[derive(diesel::QueryableByName)]
struct PlanLine {
    #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
    line: String,
}

async fn plan(connection: &mut AsyncPgConnection, statement: &str) -> String {
    let lines: Vec<PlanLine> = diesel::sql_query(format!("EXPLAIN {statement}"))
        .load(connection)
        .await
        .unwrap();
    lines
        .into_iter()
        .map(|row| row.line)
        .collect::<Vec<_>>()
        .join("\n")
}

/// 200 conversations of 100 messages, half of them answers of one of 10 prompt versions, with
/// feedback on every tenth message; analysed.
async fn ledger() -> (TestDatabase, AsyncPgConnection) {
    let database = TestDatabase::new().await;
    let mut connection = database.connect().await;
    run_sql(
        &mut connection,
        "INSERT INTO users (id, external_id) VALUES ('00000000-0000-7000-8000-000000000001', 'u');
         INSERT INTO prompt_versions (name, version, template)
             SELECT 'prompt', n, 'v' || n FROM generate_series(1, 10) AS n;
         INSERT INTO conversations (user_id)
             SELECT '00000000-0000-7000-8000-000000000001' FROM generate_series(1, 200);
         INSERT INTO messages (conversation_id, role, content, prompt_version_id)
             SELECT c.id, CASE WHEN p % 2 = 0 THEN 'assistant' ELSE 'user' END::message_role,
                    'message ' || p,
                    CASE WHEN p % 2 = 0 THEN (SELECT id FROM prompt_versions
                                               WHERE version = 1 + p % 10) END
               FROM conversations AS c CROSS JOIN generate_series(1, 100) AS p;
         INSERT INTO feedback (message_id, rating)
             SELECT id, 'thumbs_up' FROM messages WHERE position % 10 = 0;
         ANALYZE;",
    )
    .await
    .unwrap();
    (database, connection)
}

/// Whether any plan node reads the messages table or one of its indexes ("… on messages",
/// not "… on messages_per_version").
fn reads_messages(plan: &str) -> bool {
    plan.lines()
        .any(|line| line.contains(" on messages ") || line.trim_end().ends_with(" on messages"))
}

/// Whether the plan scans the messages table sequentially.
fn reads_messages_table_by_scan(plan: &str) -> bool {
    plan.lines()
        .any(|line| line.contains("Seq Scan on messages"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_history_page_is_one_range_of_the_position_index() {
    let (_database, mut connection) = ledger().await;
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = Text)]
        id: String,
    }
    let conversation: Id = diesel::sql_query("SELECT id::text FROM conversations LIMIT 1")
        .get_result(&mut connection)
        .await
        .unwrap();

    // The shape of the statement `messages::history` sends (its full text is the bench
    // baseline's `HISTORY_SQL`), with the binds inlined.
    let plan = plan(
        &mut connection,
        &format!(
            "SELECT * FROM messages WHERE conversation_id = '{}' AND position > 40
              ORDER BY position ASC LIMIT 50",
            conversation.id
        ),
    )
    .await;

    assert!(
        plan.contains("on messages_conversation_position_key"),
        "{plan}"
    );
    assert!(!reads_messages_table_by_scan(&plan), "{plan}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_report_never_reads_messages_even_with_a_generic_plan() {
    let (_database, mut connection) = ledger().await;
    let custom = PROMPT_FEEDBACK_COUNTED_SQL
        .replace("$1::text", "NULL::text")
        .replace("$1", "NULL::text")
        .replace("$2::uuid[]", "NULL::uuid[]")
        .replace("$2", "NULL::uuid[]");

    let custom_plan = plan(&mut connection, &custom).await;
    run_sql(
        &mut connection,
        &format!(
            "SET plan_cache_mode = force_generic_plan;
             PREPARE dashboard (text, uuid[]) AS {PROMPT_FEEDBACK_COUNTED_SQL};"
        ),
    )
    .await
    .unwrap();
    let generic_plan = plan(&mut connection, "EXECUTE dashboard (NULL, NULL)").await;

    for plan in [custom_plan, generic_plan] {
        assert!(
            !reads_messages(&plan),
            "the report reads the kept counts only: {plan}"
        );
        assert!(plan.contains("prompt_version_stats"), "{plan}");
        assert!(plan.contains("feedback"), "{plan}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_export_reads_feedback_in_order_from_the_place_index_without_a_sort() {
    let (_database, mut connection) = ledger().await;
    // On a few thousand rows a sort in memory is cheaper, and PostgreSQL rightly sorts; the
    // index is for the sizes where the sort went to disk. 100,000 feedback rows, planned as the
    // export declares its cursor: every row is read, so the plan is for all of them.
    run_sql(
        &mut connection,
        "INSERT INTO feedback (message_id, rating)
             SELECT m.id, 'thumbs_down' FROM messages AS m CROSS JOIN generate_series(1, 49)
              WHERE m.position % 10 = 0;
         ANALYZE feedback;
         SET cursor_tuple_fraction = 1;",
    )
    .await
    .unwrap();

    let plan = plan(&mut connection, EXPORT_RATED_SQL).await;

    assert!(plan.contains("using feedback_place_idx"), "{plan}");
    assert!(!plan.contains("Sort"), "{plan}");
    assert!(!reads_messages(&plan), "{plan}");
}

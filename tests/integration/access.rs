//! Least privilege: the application role writes rows but cannot change the schema; the analyst
//! role reads everything, runs the reports and the export, and can write nothing.

use chatledger_tests::TestDatabase;
use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::support::run_sql;

/// A login role, member of `group`, dropped again when the test ends.
struct LoginRole<'a> {
    name: String,
    database: &'a TestDatabase,
}

impl<'a> LoginRole<'a> {
    fn create(database: &'a TestDatabase, group: &str) -> Self {
        let name = format!("{group}_{}", &database.name()[database.name().len() - 12..]);
        database.run_on_server(&format!("CREATE ROLE {name} LOGIN IN ROLE {group}"));
        Self { name, database }
    }

    async fn connect(&self) -> AsyncPgConnection {
        AsyncPgConnection::establish(&self.database.url_as(&self.name))
            .await
            .unwrap()
    }
}

impl Drop for LoginRole<'_> {
    fn drop(&mut self) {
        // The role holds no privileges of its own, so it can go while the database still exists.
        self.database
            .run_on_server(&format!("DROP ROLE IF EXISTS {}", self.name));
    }
}

const SETUP: &str = "
    INSERT INTO users (id, external_id) VALUES ('00000000-0000-7000-8000-000000000001', 'alice');
    INSERT INTO conversations (id, user_id)
        VALUES ('00000000-0000-7000-8000-0000000000c1', '00000000-0000-7000-8000-000000000001');";

#[tokio::test(flavor = "multi_thread")]
async fn the_application_role_writes_rows_but_cannot_change_the_schema() {
    let database = TestDatabase::new().await;
    let role = LoginRole::create(&database, "chatledger_app");
    let mut app = role.connect().await;

    run_sql(&mut app, SETUP).await.unwrap();
    run_sql(
        &mut app,
        "INSERT INTO prompt_versions (id, name, version, template)
             VALUES ('00000000-0000-7000-8000-0000000000f1', 'answer', 1, 'a');
         INSERT INTO messages (conversation_id, role, content, token_count, prompt_version_id)
             VALUES ('00000000-0000-7000-8000-0000000000c1', 'assistant', 'hello', 3,
                     '00000000-0000-7000-8000-0000000000f1');
         INSERT INTO feedback (message_id, rating) SELECT id, 'thumbs_up' FROM messages;
         UPDATE messages SET token_count = 4;
         UPDATE conversations SET title = 'greeting';
         DELETE FROM messages;",
    )
    .await
    .expect(
        "the application role inserts, updates and deletes rows, the counting triggers included",
    );

    for statement in [
        "ALTER TABLE messages ADD COLUMN sneaky text",
        "DROP TABLE feedback",
        "CREATE TABLE shadow (id int)",
        "DROP TRIGGER messages_append_to_conversation ON messages",
        "TRUNCATE messages",
        "DELETE FROM __diesel_schema_migrations",
        "INSERT INTO __diesel_schema_migrations (version) VALUES ('99990101000000')",
    ] {
        assert_insufficient_privilege(&mut app, statement).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_analyst_role_reads_everything_and_writes_nothing() {
    let database = TestDatabase::new().await;
    let mut owner = database.connect().await;
    run_sql(&mut owner, SETUP).await.unwrap();
    let role = LoginRole::create(&database, "chatledger_analyst");
    let mut analyst = role.connect().await;

    for table in [
        "users",
        "conversations",
        "messages",
        "prompt_versions",
        "embeddings",
        "message_retrievals",
        "feedback",
        "prompt_version_stats",
        "__diesel_schema_migrations",
    ] {
        run_sql(&mut analyst, &format!("SELECT * FROM {table} LIMIT 1"))
            .await
            .unwrap_or_else(|error| panic!("the analyst reads {table}: {error}"));
    }

    // The packaged report and the export (a cursor in a read-only transaction) run as the
    // analyst too, and see the owner's rated answer.
    run_sql(
        &mut owner,
        "INSERT INTO messages (conversation_id, role, content)
             VALUES ('00000000-0000-7000-8000-0000000000c1', 'user', 'hi'),
                    ('00000000-0000-7000-8000-0000000000c1', 'assistant', 'hello');
         INSERT INTO feedback (message_id, rating)
             SELECT id, 'thumbs_up' FROM messages WHERE role = 'assistant';",
    )
    .await
    .unwrap();
    let report = chatledger_query::reports::prompt_feedback(
        &mut analyst,
        &chatledger_query::filters::ReportFilter::default(),
    )
    .await;
    assert!(report.is_ok(), "the analyst runs a report: {report:?}");
    let mut exported = Vec::new();
    let summary = chatledger_query::export::export(
        &mut analyst,
        &chatledger_query::export::ExportOptions::new(chatledger_query::export::ExportFormat::Kto),
        &mut exported,
        &mut chatledger_query::export::NoProgress,
    )
    .await
    .unwrap_or_else(|error| panic!("the analyst exports: {error}"));
    assert_eq!(summary.records_written, 1);

    for statement in [
        "INSERT INTO users (external_id) VALUES ('mallory')",
        "UPDATE conversations SET title = 'defaced'",
        "DELETE FROM users",
        "ALTER TABLE users ADD COLUMN sneaky text",
        "CREATE TABLE shadow (id int)",
    ] {
        assert_insufficient_privilege(&mut analyst, statement).await;
    }
}

/// Asserts that `statement` fails with SQLSTATE 42501, insufficient_privilege (which is also
/// what "must be owner" raises for DDL). The statement runs inside a DO block that turns that one
/// error into success and anything else, including success, into a failure.
async fn assert_insufficient_privilege(connection: &mut AsyncPgConnection, statement: &str) {
    let sql = format!(
        "DO $$ BEGIN EXECUTE {}; RAISE EXCEPTION 'allowed'; \
         EXCEPTION WHEN insufficient_privilege THEN NULL; END $$",
        quote_literal(statement)
    );
    run_sql(connection, &sql).await.unwrap_or_else(|error| {
        panic!("`{statement}` should be refused for lack of privilege: {error}")
    });
}

fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

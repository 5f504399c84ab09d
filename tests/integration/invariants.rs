//! The invariants the database guarantees for every writer, tried with plain SQL.
//!
//! Each test writes the way an application bypassing the library would, and asserts that
//! PostgreSQL itself refuses what would break the data, naming the constraint that did.

use chatledger_tests::TestDatabase;
use diesel::result::DatabaseErrorKind;
use diesel::sql_types::{Integer, Text, Timestamptz};
use diesel_async::{AnsiTransactionManager, AsyncPgConnection, RunQueryDsl, TransactionManager};

use crate::support::{assert_error_kind, assert_refused_by, number, run_sql};

const USER: &str = "00000000-0000-7000-8000-000000000001";
const OTHER_USER: &str = "00000000-0000-7000-8000-000000000002";
const CONVERSATION: &str = "00000000-0000-7000-8000-0000000000c1";
const OTHER_CONVERSATION: &str = "00000000-0000-7000-8000-0000000000c2";

/// Two users with a conversation each.
async fn seeded() -> (TestDatabase, AsyncPgConnection) {
    let database = TestDatabase::new().await;
    let mut connection = database.connect().await;
    run_sql(
        &mut connection,
        &format!(
            "INSERT INTO users (id, external_id) VALUES ('{USER}', 'alice'), ('{OTHER_USER}', 'bob');
             INSERT INTO conversations (id, user_id) VALUES
                 ('{CONVERSATION}', '{USER}'), ('{OTHER_CONVERSATION}', '{OTHER_USER}');"
        ),
    )
    .await
    .unwrap();
    (database, connection)
}

async fn total_tokens(connection: &mut AsyncPgConnection, conversation: &str) -> i64 {
    number(
        connection,
        &format!(
            "SELECT total_tokens::bigint AS value FROM conversations WHERE id = '{conversation}'"
        ),
    )
    .await
}

async fn sum_of_messages(connection: &mut AsyncPgConnection, conversation: &str) -> i64 {
    number(
        connection,
        &format!(
            "SELECT coalesce(sum(token_count), 0)::bigint AS value FROM messages
              WHERE conversation_id = '{conversation}'"
        ),
    )
    .await
}

// 1. At most one active version per prompt name, also under concurrent writers.

#[tokio::test(flavor = "multi_thread")]
async fn a_second_active_version_of_a_name_is_refused() {
    let (_database, mut connection) = seeded().await;
    run_sql(
        &mut connection,
        "INSERT INTO prompt_versions (name, version, template, is_active) VALUES
             ('answer', 1, 'v1', true), ('answer', 2, 'v2', false), ('other', 1, 'o1', true)",
    )
    .await
    .unwrap();

    let result = run_sql(
        &mut connection,
        "UPDATE prompt_versions SET is_active = true WHERE version = 2",
    )
    .await;

    assert_refused_by(result, "prompt_versions_one_active_per_name");
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_writers_cannot_both_activate_a_name() {
    let (database, mut first) = seeded().await;
    let mut second = database.connect().await;

    // The first writer's active version is inserted but not committed when the second writes
    // its own; whichever order the server sees them in, exactly one may commit.
    AnsiTransactionManager::begin_transaction(&mut first)
        .await
        .unwrap();
    run_sql(&mut first, "INSERT INTO prompt_versions (name, version, template, is_active) VALUES ('answer', 1, 'a', true)")
        .await
        .unwrap();
    let second_writer = tokio::spawn(async move {
        let result = run_sql(
            &mut second,
            "INSERT INTO prompt_versions (name, version, template, is_active) VALUES ('answer', 2, 'b', true)",
        )
        .await;
        (result, second)
    });
    AnsiTransactionManager::commit_transaction(&mut first)
        .await
        .unwrap();

    let (result, _) = second_writer.await.unwrap();
    assert_refused_by(result, "prompt_versions_one_active_per_name");
    let active = number(
        &mut first,
        "SELECT count(*) AS value FROM prompt_versions WHERE is_active",
    )
    .await;
    assert_eq!(active, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_active_version_is_found_by_one_probe_of_the_partial_index() {
    let (_database, mut connection) = seeded().await;
    run_sql(
        &mut connection,
        "INSERT INTO prompt_versions (name, version, template, is_active)
         SELECT 'prompt-' || (n % 200), n / 200 + 1, 'text', n < 200 FROM generate_series(0, 3999) AS n;
         ANALYZE prompt_versions;",
    )
    .await
    .unwrap();

    #[derive(diesel::QueryableByName)]
    struct Plan {
        #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
        line: String,
    }
    let plan: Vec<Plan> = diesel::sql_query(
        "EXPLAIN SELECT * FROM prompt_versions WHERE name = 'prompt-7' AND is_active",
    )
    .load(&mut connection)
    .await
    .unwrap();
    let plan: Vec<_> = plan.into_iter().map(|row| row.line).collect();

    assert!(
        plan[0].contains("Index Scan using prompt_versions_one_active_per_name"),
        "the lookup probes the partial unique index: {plan:#?}"
    );
    assert_eq!(
        plan.len(),
        2,
        "one index scan and its condition, nothing else: {plan:#?}"
    );
}

// 2. A prompt version's content never changes once written.

#[tokio::test(flavor = "multi_thread")]
async fn a_prompt_versions_content_cannot_change_but_its_state_can() {
    let (_database, mut connection) = seeded().await;
    run_sql(
        &mut connection,
        "INSERT INTO prompt_versions (name, version, template, variables, model_name)
         VALUES ('answer', 1, 'Hello {{name}}', '[\"name\"]', 'gpt-4o')",
    )
    .await
    .unwrap();

    for change in [
        "name = 'renamed'",
        "version = 2",
        "template = 'Goodbye'",
        "variables = '[]'",
        "model_name = 'other-model'",
        "model_name = NULL",
    ] {
        let result = run_sql(
            &mut connection,
            &format!("UPDATE prompt_versions SET {change}"),
        )
        .await;
        let message = assert_refused_by(result, "prompt_versions_content_immutable");
        assert!(
            message.contains("immutable"),
            "the refusal says why: {message}"
        );
    }

    run_sql(
        &mut connection,
        "UPDATE prompt_versions SET is_active = true, notes = 'ship it', metadata = '{\"owner\": \"search\"}'",
    )
    .await
    .unwrap();
}

// 3. total_tokens is the sum of the messages' token counts, after every kind of change.

#[tokio::test(flavor = "multi_thread")]
async fn total_tokens_follows_inserts_updates_and_deletes() {
    let (_database, mut connection) = seeded().await;

    run_sql(
        &mut connection,
        &format!(
            "INSERT INTO messages (conversation_id, role, content, token_count) VALUES
                 ('{CONVERSATION}', 'user', 'hi', 5),
                 ('{CONVERSATION}', 'assistant', 'hello', 7),
                 ('{CONVERSATION}', 'user', 'unknown cost', NULL),
                 ('{OTHER_CONVERSATION}', 'user', 'elsewhere', 100)"
        ),
    )
    .await
    .unwrap();
    assert_eq!(total_tokens(&mut connection, CONVERSATION).await, 12);

    run_sql(
        &mut connection,
        "UPDATE messages SET token_count = 10 WHERE content = 'hi'",
    )
    .await
    .unwrap();
    run_sql(
        &mut connection,
        "UPDATE messages SET token_count = 3 WHERE token_count IS NULL",
    )
    .await
    .unwrap();
    run_sql(
        &mut connection,
        "UPDATE messages SET token_count = NULL WHERE content = 'hello'",
    )
    .await
    .unwrap();
    assert_eq!(total_tokens(&mut connection, CONVERSATION).await, 13);

    run_sql(&mut connection, "DELETE FROM messages WHERE content = 'hi'")
        .await
        .unwrap();
    assert_eq!(total_tokens(&mut connection, CONVERSATION).await, 3);

    for conversation in [CONVERSATION, OTHER_CONVERSATION] {
        assert_eq!(
            total_tokens(&mut connection, conversation).await,
            sum_of_messages(&mut connection, conversation).await
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn total_tokens_holds_under_concurrent_plain_sql_writers() {
    let (database, mut connection) = seeded().await;
    let writers = 8;
    let inserts_per_writer = 25;

    let tasks: Vec<_> = (0..writers)
        .map(|writer| {
            let url = database.url().to_owned();
            tokio::spawn(async move {
                let mut connection =
                    <AsyncPgConnection as diesel_async::AsyncConnection>::establish(&url)
                        .await
                        .unwrap();
                for insert in 0..inserts_per_writer {
                    let conversation = if insert % 2 == 0 {
                        CONVERSATION
                    } else {
                        OTHER_CONVERSATION
                    };
                    run_sql(
                        &mut connection,
                        &format!(
                            "INSERT INTO messages (conversation_id, role, content, token_count)
                             VALUES ('{conversation}', 'user', 'w{writer} i{insert}', {})",
                            writer + insert
                        ),
                    )
                    .await
                    .unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }

    for conversation in [CONVERSATION, OTHER_CONVERSATION] {
        assert_eq!(
            total_tokens(&mut connection, conversation).await,
            sum_of_messages(&mut connection, conversation).await
        );
    }
    let positions = number(
        &mut connection,
        &format!(
            "SELECT count(DISTINCT position) AS value FROM messages WHERE conversation_id = '{CONVERSATION}'"
        ),
    )
    .await;
    assert_eq!(
        positions,
        writers * inserts_per_writer / 2 + writers / 2,
        "no two messages share a position"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_counters_cannot_be_written_directly() {
    let (_database, mut connection) = seeded().await;

    let update = run_sql(
        &mut connection,
        "UPDATE conversations SET total_tokens = 999",
    )
    .await;
    assert_refused_by(update, "conversations_counters_maintained");

    let update = run_sql(
        &mut connection,
        "UPDATE conversations SET last_message_position = 5",
    )
    .await;
    assert_refused_by(update, "conversations_counters_maintained");

    let insert = run_sql(
        &mut connection,
        &format!("INSERT INTO conversations (user_id, total_tokens) VALUES ('{USER}', 40)"),
    )
    .await;
    assert_refused_by(insert, "conversations_counters_maintained");

    run_sql(
        &mut connection,
        "UPDATE conversations SET title = 'renamed'",
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn updated_at_advances_when_a_message_is_added() {
    let (_database, mut connection) = seeded().await;

    #[derive(diesel::QueryableByName)]
    struct Stamp {
        #[diesel(sql_type = Timestamptz)]
        updated_at: chrono::DateTime<chrono::Utc>,
    }
    let read = || {
        diesel::sql_query(format!(
            "SELECT updated_at FROM conversations WHERE id = '{CONVERSATION}'"
        ))
    };
    let before = read()
        .get_result::<Stamp>(&mut connection)
        .await
        .unwrap()
        .updated_at;

    run_sql(
        &mut connection,
        &format!("INSERT INTO messages (conversation_id, role, content) VALUES ('{CONVERSATION}', 'user', 'hi')"),
    )
    .await
    .unwrap();

    let after = read()
        .get_result::<Stamp>(&mut connection)
        .await
        .unwrap()
        .updated_at;
    assert!(after > before, "{after} is later than {before}");
}

// 4. No negative counts; dimensions and versions are positive.

#[tokio::test(flavor = "multi_thread")]
async fn negative_and_zero_counts_are_refused() {
    let (_database, mut connection) = seeded().await;
    let refusals = [
        (
            format!("INSERT INTO messages (conversation_id, role, content, token_count) VALUES ('{CONVERSATION}', 'user', 'x', -1)"),
            "messages_token_count_not_negative",
        ),
        (
            format!("INSERT INTO messages (conversation_id, role, content, latency_ms) VALUES ('{CONVERSATION}', 'assistant', 'x', -5)"),
            "messages_latency_ms_not_negative",
        ),
        (
            "INSERT INTO embeddings (source_type, source_id, chunk_index, chunk_text, model_name, dimensions)
             VALUES ('doc', 'd1', -1, 'text', 'embed-1', 3)"
                .to_owned(),
            "embeddings_chunk_index_not_negative",
        ),
        (
            "INSERT INTO embeddings (source_type, source_id, chunk_index, chunk_text, model_name, dimensions)
             VALUES ('doc', 'd1', 0, 'text', 'embed-1', 0)"
                .to_owned(),
            "embeddings_dimensions_positive",
        ),
        (
            "INSERT INTO prompt_versions (name, version, template) VALUES ('answer', 0, 'x')".to_owned(),
            "prompt_versions_version_positive",
        ),
    ];

    for (sql, constraint) in refusals {
        assert_refused_by(run_sql(&mut connection, &sql).await, constraint);
    }
    assert_eq!(
        number(&mut connection, "SELECT count(*) AS value FROM messages").await,
        0
    );
    assert_eq!(
        total_tokens(&mut connection, CONVERSATION).await,
        0,
        "a refused insert adds no tokens"
    );
}

// 5. Deleting a user removes what is theirs and anonymises what they said about others.

#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_user_cascades_and_anonymises_their_feedback_elsewhere() {
    let (_database, mut connection) = seeded().await;
    run_sql(
        &mut connection,
        &format!(
            "INSERT INTO embeddings (id, source_type, source_id, chunk_index, chunk_text, model_name, dimensions)
                 VALUES ('00000000-0000-7000-8000-0000000000e1', 'doc', 'd1', 0, 'chunk', 'embed-1', 3);
             INSERT INTO messages (id, conversation_id, role, content) VALUES
                 ('00000000-0000-7000-8000-0000000000a1', '{CONVERSATION}', 'assistant', 'alice''s answer'),
                 ('00000000-0000-7000-8000-0000000000b1', '{OTHER_CONVERSATION}', 'assistant', 'bob''s answer');
             INSERT INTO message_retrievals (message_id, embedding_id, rank, score)
                 VALUES ('00000000-0000-7000-8000-0000000000a1', '00000000-0000-7000-8000-0000000000e1', 1, 0.9);
             INSERT INTO feedback (message_id, user_id, rating) VALUES
                 ('00000000-0000-7000-8000-0000000000a1', '{USER}', 'thumbs_up'),
                 ('00000000-0000-7000-8000-0000000000a1', '{OTHER_USER}', 'thumbs_down'),
                 ('00000000-0000-7000-8000-0000000000b1', '{USER}', 'neutral');"
        ),
    )
    .await
    .unwrap();

    run_sql(
        &mut connection,
        &format!("DELETE FROM users WHERE id = '{USER}'"),
    )
    .await
    .unwrap();

    let remaining = |table: &str, condition: &str| {
        format!("SELECT count(*) AS value FROM {table} WHERE {condition}")
    };
    assert_eq!(
        number(
            &mut connection,
            &remaining("conversations", &format!("user_id = '{USER}'"))
        )
        .await,
        0
    );
    assert_eq!(
        number(
            &mut connection,
            &remaining("messages", &format!("conversation_id = '{CONVERSATION}'"))
        )
        .await,
        0
    );
    assert_eq!(
        number(&mut connection, &remaining("message_retrievals", "true")).await,
        0
    );
    assert_eq!(
        number(
            &mut connection,
            &remaining(
                "feedback",
                "message_id = '00000000-0000-7000-8000-0000000000a1'"
            )
        )
        .await,
        0,
        "feedback on the user's messages goes, whoever wrote it"
    );
    assert_eq!(
        number(
            &mut connection,
            &remaining("feedback", &format!("user_id = '{USER}'"))
        )
        .await,
        0
    );
    assert_eq!(
        number(
            &mut connection,
            &remaining(
                "feedback",
                "message_id = '00000000-0000-7000-8000-0000000000b1' AND user_id IS NULL"
            )
        )
        .await,
        1,
        "feedback the user gave on someone else's message stays, anonymous"
    );
    assert_eq!(
        number(&mut connection, &remaining("messages", "true")).await,
        1,
        "bob's message stays"
    );
    assert_eq!(
        number(&mut connection, &remaining("embeddings", "true")).await,
        1,
        "shared chunks stay"
    );
}

// 6. Messages read back in the order they were written, also within one transaction.

#[tokio::test(flavor = "multi_thread")]
async fn messages_of_one_transaction_keep_their_written_order() {
    let (_database, mut connection) = seeded().await;
    let contents: Vec<String> = (1..=20).map(|n| format!("message {n}")).collect();

    let inserts: String = contents
        .iter()
        .map(|content| {
            format!("INSERT INTO messages (conversation_id, role, content) VALUES ('{CONVERSATION}', 'user', '{content}');")
        })
        .collect();
    run_sql(&mut connection, &format!("BEGIN; {inserts} COMMIT;"))
        .await
        .unwrap();

    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        content: String,
        #[diesel(sql_type = Integer)]
        position: i32,
    }
    let rows: Vec<Row> = diesel::sql_query(format!(
        "SELECT content, position FROM messages WHERE conversation_id = '{CONVERSATION}' ORDER BY position"
    ))
    .load(&mut connection)
    .await
    .unwrap();

    let read_back: Vec<_> = rows.iter().map(|row| row.content.clone()).collect();
    assert_eq!(read_back, contents);
    let positions: Vec<_> = rows.iter().map(|row| row.position).collect();
    assert_eq!(positions, (1..=20).collect::<Vec<_>>());
    let distinct_times = number(
        &mut connection,
        "SELECT count(DISTINCT created_at) AS value FROM messages",
    )
    .await;
    assert_eq!(
        distinct_times, 1,
        "all share one now(), so time alone could not order them"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_cannot_move_and_its_position_is_the_databases() {
    let (_database, mut connection) = seeded().await;
    run_sql(
        &mut connection,
        &format!(
            "INSERT INTO messages (conversation_id, role, content, position) VALUES ('{CONVERSATION}', 'user', 'first', 42)"
        ),
    )
    .await
    .unwrap();
    let position = number(
        &mut connection,
        "SELECT position::bigint AS value FROM messages",
    )
    .await;
    assert_eq!(
        position, 1,
        "a position given by the writer is replaced by the next one"
    );

    let moved = run_sql(
        &mut connection,
        &format!("UPDATE messages SET conversation_id = '{OTHER_CONVERSATION}'"),
    )
    .await;
    assert_refused_by(moved, "messages_place_immutable");
    let repositioned = run_sql(&mut connection, "UPDATE messages SET position = 7").await;
    assert_refused_by(repositioned, "messages_place_immutable");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_for_a_missing_conversation_is_a_foreign_key_error() {
    let (_database, mut connection) = seeded().await;

    let result = run_sql(
        &mut connection,
        "INSERT INTO messages (conversation_id, role, content)
         VALUES ('00000000-0000-7000-8000-00000000dead', 'user', 'orphan')",
    )
    .await;

    assert_error_kind(result, DatabaseErrorKind::ForeignKeyViolation);
}

#[tokio::test(flavor = "multi_thread")]
async fn tool_calls_belong_to_assistants_and_tool_results_name_their_call() {
    let (_database, mut connection) = seeded().await;
    let insert = |role: &str, tool_calls: &str, tool_call_id: &str| {
        format!(
            "INSERT INTO messages (conversation_id, role, content, tool_calls, tool_call_id)
             VALUES ('{CONVERSATION}', '{role}', '', {tool_calls}, {tool_call_id})"
        )
    };
    let calls = "'[{\"id\": \"call_1\", \"name\": \"lookup\", \"arguments\": {}}]'";

    run_sql(&mut connection, &insert("assistant", calls, "NULL"))
        .await
        .unwrap();
    run_sql(&mut connection, &insert("tool", "NULL", "'call_1'"))
        .await
        .unwrap();

    assert_refused_by(
        run_sql(&mut connection, &insert("user", calls, "NULL")).await,
        "messages_tool_calls_only_from_assistant",
    );
    assert_refused_by(
        run_sql(&mut connection, &insert("tool", "NULL", "NULL")).await,
        "messages_tool_call_id_only_on_tool",
    );
    assert_refused_by(
        run_sql(&mut connection, &insert("assistant", "'{}'", "NULL")).await,
        "messages_tool_calls_only_from_assistant",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn feedback_categories_cannot_hold_null() {
    let (_database, mut connection) = seeded().await;
    run_sql(
        &mut connection,
        &format!(
            "INSERT INTO messages (id, conversation_id, role, content)
             VALUES ('00000000-0000-7000-8000-0000000000a1', '{CONVERSATION}', 'assistant', 'answer')"
        ),
    )
    .await
    .unwrap();

    let result = run_sql(
        &mut connection,
        "INSERT INTO feedback (message_id, rating, categories)
         VALUES ('00000000-0000-7000-8000-0000000000a1', 'neutral', ARRAY['ok', NULL])",
    )
    .await;

    assert_refused_by(result, "feedback_categories_no_nulls");
}

// The counts kept for the prompt-feedback report: messages per version in a sharded rollup,
// and each feedback row's copy of its message's prompt version.

#[tokio::test(flavor = "multi_thread")]
async fn the_prompt_version_counts_follow_every_writer() {
    let (database, mut connection) = seeded().await;
    run_sql(
        &mut connection,
        "INSERT INTO prompt_versions (id, name, version, template) VALUES
             ('00000000-0000-7000-8000-0000000000f1', 'answer', 1, 'a'),
             ('00000000-0000-7000-8000-0000000000f2', 'answer', 2, 'b')",
    )
    .await
    .unwrap();

    let tasks: Vec<_> = (0..8)
        .map(|writer| {
            let url = database.url().to_owned();
            tokio::spawn(async move {
                let mut connection =
                    <AsyncPgConnection as diesel_async::AsyncConnection>::establish(&url).await.unwrap();
                for insert in 0..10 {
                    let version = if (writer + insert) % 3 == 0 { "f1" } else { "f2" };
                    let conversation = if insert % 2 == 0 { CONVERSATION } else { OTHER_CONVERSATION };
                    run_sql(
                        &mut connection,
                        &format!(
                            "INSERT INTO messages (conversation_id, role, content, prompt_version_id)
                             SELECT '{conversation}', 'assistant', 'a' || n,
                                    '00000000-0000-7000-8000-0000000000{version}'
                               FROM generate_series(1, {}) AS n",
                            insert % 4 + 1
                        ),
                    )
                    .await
                    .unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    run_sql(
        &mut connection,
        "DELETE FROM messages WHERE content = 'a1' AND position % 2 = 0",
    )
    .await
    .unwrap();
    run_sql(
        &mut connection,
        &format!("DELETE FROM conversations WHERE id = '{OTHER_CONVERSATION}'"),
    )
    .await
    .unwrap();

    let disagreeing = number(
        &mut connection,
        "SELECT count(*) AS value FROM prompt_versions AS pv
          WHERE (SELECT coalesce(sum(messages), 0) FROM prompt_version_stats WHERE prompt_version_id = pv.id)
             <> (SELECT count(*) FROM messages WHERE prompt_version_id = pv.id)",
    )
    .await;
    assert_eq!(
        disagreeing, 0,
        "the rollup equals the messages of each version"
    );
    assert!(number(&mut connection, "SELECT count(*) AS value FROM messages").await > 0);

    let changed = run_sql(
        &mut connection,
        "UPDATE messages SET prompt_version_id = NULL",
    )
    .await;
    assert_refused_by(changed, "messages_prompt_version_immutable");
}

#[tokio::test(flavor = "multi_thread")]
async fn feedback_carries_its_messages_prompt_version_and_place_whatever_the_writer_says() {
    let (_database, mut connection) = seeded().await;
    run_sql(
        &mut connection,
        &format!(
            "INSERT INTO prompt_versions (id, name, version, template) VALUES
                 ('00000000-0000-7000-8000-0000000000f1', 'answer', 1, 'a'),
                 ('00000000-0000-7000-8000-0000000000f2', 'answer', 2, 'b');
             INSERT INTO messages (id, conversation_id, role, content, prompt_version_id) VALUES
                 ('00000000-0000-7000-8000-0000000000a1', '{CONVERSATION}', 'assistant', 'x',
                  '00000000-0000-7000-8000-0000000000f1'),
                 ('00000000-0000-7000-8000-0000000000a2', '{CONVERSATION}', 'user', 'y', NULL);
             INSERT INTO feedback (message_id, rating, prompt_version_id, conversation_id,
                                   message_position) VALUES
                 ('00000000-0000-7000-8000-0000000000a1', 'thumbs_up',
                  '00000000-0000-7000-8000-0000000000f2', gen_random_uuid(), 1000),
                 ('00000000-0000-7000-8000-0000000000a2', 'thumbs_up',
                  '00000000-0000-7000-8000-0000000000f2', NULL, NULL);"
        ),
    )
    .await
    .unwrap();
    let wrong =
        "SELECT count(*) AS value FROM feedback AS f JOIN messages AS m ON m.id = f.message_id
                  WHERE f.prompt_version_id IS DISTINCT FROM m.prompt_version_id
                     OR f.conversation_id IS DISTINCT FROM m.conversation_id
                     OR f.message_position IS DISTINCT FROM m.position";
    assert_eq!(
        number(&mut connection, wrong).await,
        0,
        "a forged version or place is replaced on insert"
    );

    for forgery in [
        "prompt_version_id = '00000000-0000-7000-8000-0000000000f2'",
        "conversation_id = gen_random_uuid()",
        "message_position = message_position + 1",
    ] {
        run_sql(&mut connection, &format!("UPDATE feedback SET {forgery}"))
            .await
            .unwrap();
        assert_eq!(
            number(&mut connection, wrong).await,
            0,
            "and on update: {forgery}"
        );
    }
}

//! Appending messages: totals under concurrency, atomic turns, the bulk path, history pages
//! and tool calls.

use std::collections::HashMap;

use chatledger_domain::embeddings::{self, NewEmbedding};
use chatledger_domain::messages::{self, HistoryCursor, NewMessage, NewTurn, ToolCall};
use chatledger_domain::retrievals::{self, NewRetrieval};
use chatledger_domain::{Error, MessageRole, PageRequest, conversations};
use chatledger_tests::TestDatabase;
use serde_json::json;

use crate::support::{conversation, row_counts, user};

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_concurrent_appends_keep_every_total_equal_to_the_sum() {
    let database = TestDatabase::new().await;
    let pool = database.pool(16);
    let mut conn = pool.get().await.unwrap();
    let owner = user(&mut conn).await;
    let mut ids = Vec::new();
    for _ in 0..10 {
        ids.push(conversation(&mut conn, &owner).await.id);
    }
    drop(conn);

    let appends = (0..1000_i32).map(|n| {
        let pool = pool.clone();
        let conversation_id = ids[usize::try_from(n).unwrap() % 10];
        tokio::spawn(async move {
            let mut conn = pool.get().await.unwrap();
            let message =
                NewMessage::user(conversation_id, format!("message {n}")).with_token_count(n % 37);
            messages::append(&mut conn, message).await.unwrap()
        })
    });
    let written = futures_util::future::join_all(appends).await;

    let mut expected: HashMap<uuid::Uuid, (i32, usize)> = HashMap::new();
    for message in written {
        let message = message.unwrap();
        let entry = expected.entry(message.conversation_id).or_default();
        entry.0 += message.token_count.unwrap();
        entry.1 += 1;
    }
    let mut conn = pool.get().await.unwrap();
    for id in ids {
        let stored = conversations::get(&mut conn, id).await.unwrap();
        let (tokens, count) = expected[&id];
        assert_eq!(stored.total_tokens, tokens);
        assert_eq!(stored.last_message_position, i32::try_from(count).unwrap());

        let page = messages::history(&mut conn, id, &PageRequest::first(500))
            .await
            .unwrap();
        let positions: Vec<i32> = page.items.iter().map(|message| message.position).collect();
        assert_eq!(
            positions,
            (1..=i32::try_from(count).unwrap()).collect::<Vec<_>>()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_turn_is_written_whole_or_not_at_all() {
    let database = TestDatabase::new().await;
    let mut conn = database.connect().await;
    let owner = user(&mut conn).await;
    let thread = conversation(&mut conn, &owner).await;
    let chunk = NewEmbedding::new("doc", "handbook", 0, "Vacation is 25 days.", "embed", 3);
    let chunk_id = chunk.id;
    embeddings::ingest_one(&mut conn, chunk).await.unwrap();

    let question = NewMessage::user(thread.id, "How much vacation?").with_token_count(5);
    let answer = NewMessage::assistant(thread.id, "25 days.").with_token_count(3);
    let turn = NewTurn {
        retrievals: vec![NewRetrieval::new(answer.id, chunk_id, 1, 0.9)],
        messages: vec![question, answer],
    };
    let written = messages::append_turn(&mut conn, turn).await.unwrap();
    assert_eq!(
        written
            .messages
            .iter()
            .map(|m| m.position)
            .collect::<Vec<_>>(),
        [1, 2]
    );
    assert_eq!(written.retrievals.len(), 1);
    let read_back = retrievals::for_message(&mut conn, written.messages[1].id)
        .await
        .unwrap();
    assert_eq!(read_back, written.retrievals);

    // The second retrieval names an embedding that does not exist: the whole turn is undone.
    let before = row_counts(&mut conn).await;
    let question = NewMessage::user(thread.id, "And sick leave?").with_token_count(4);
    let answer = NewMessage::assistant(thread.id, "Unlimited.").with_token_count(2);
    let ghost = uuid::Uuid::now_v7();
    let turn = NewTurn {
        retrievals: vec![
            NewRetrieval::new(answer.id, chunk_id, 1, 0.5),
            NewRetrieval::new(answer.id, ghost, 2, 0.4),
        ],
        messages: vec![question, answer],
    };
    let error = messages::append_turn(&mut conn, turn).await.unwrap_err();
    assert!(
        matches!(&error, Error::NotFound { entity: "embedding", key } if key == &ghost.to_string()),
        "{error:?}"
    );
    assert_eq!(row_counts(&mut conn).await, before);
    let after = conversations::get(&mut conn, thread.id).await.unwrap();
    assert_eq!((after.total_tokens, after.last_message_position), (8, 2));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_bulk_path_spans_several_inserts_in_one_transaction() {
    let database = TestDatabase::new().await;
    let mut conn = database.connect().await;
    let owner = user(&mut conn).await;
    let first = conversation(&mut conn, &owner).await;
    let second = conversation(&mut conn, &owner).await;

    // 12 000 rows take two statements of at most 10 000 rows.
    let batch: Vec<NewMessage> = (0..12_000)
        .map(|n| {
            let target = if n % 3 == 0 { second.id } else { first.id };
            NewMessage::assistant(target, format!("row {n}")).with_token_count(2)
        })
        .collect();
    let written = messages::append_batch(&mut conn, batch).await.unwrap();
    assert_eq!(written, 12_000);

    let first = conversations::get(&mut conn, first.id).await.unwrap();
    let second = conversations::get(&mut conn, second.id).await.unwrap();
    assert_eq!(
        (first.last_message_position, first.total_tokens),
        (8_000, 16_000)
    );
    assert_eq!(
        (second.last_message_position, second.total_tokens),
        (4_000, 8_000)
    );

    // Rows of one conversation take positions in the order given.
    let page = messages::history(&mut conn, second.id, &PageRequest::first(3))
        .await
        .unwrap();
    let contents: Vec<&str> = page.items.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(contents, ["row 0", "row 3", "row 6"]);

    // One bad row anywhere refuses the whole batch before anything is written.
    let before = row_counts(&mut conn).await;
    let mut batch: Vec<NewMessage> = (0..100)
        .map(|n| NewMessage::user(first.id, format!("more {n}")))
        .collect();
    batch[41].token_count = Some(-1);
    let error = messages::append_batch(&mut conn, batch).await.unwrap_err();
    assert!(
        matches!(&error, Error::InvalidInput { field, .. } if field == "messages[41].token_count"),
        "{error:?}"
    );
    assert_eq!(row_counts(&mut conn).await, before);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_bulk_path_writes_every_field_as_the_single_append_does() {
    let database = TestDatabase::new().await;
    let mut conn = database.connect().await;
    let owner = user(&mut conn).await;
    let thread = conversation(&mut conn, &owner).await;
    let prompt = chatledger_domain::prompts::publish(
        &mut conn,
        chatledger_domain::prompts::NewPromptVersion::new("bulk", "Answer {{q}}", &["q"]),
    )
    .await
    .unwrap();

    // Every nullable column set once and left empty once, a tool call and its answer, and
    // metadata: the arrays of the bulk statement must carry each of them to its column.
    let call = ToolCall {
        id: "call_1".to_owned(),
        name: "lookup".to_owned(),
        arguments: json!({"order": 7}),
    };
    let mut answer = NewMessage::assistant(thread.id, "calling")
        .with_token_count(9)
        .generated_by(prompt.id, "model-a")
        .with_tool_calls(vec![call])
        .with_metadata(json!({"trace": "t-1"}));
    answer.finish_reason = Some("tool_calls".to_owned());
    answer.latency_ms = Some(321);
    let given = vec![
        NewMessage::user(thread.id, "question"),
        answer,
        NewMessage::tool(thread.id, "call_1", "{\"status\": \"sent\"}"),
    ];
    messages::append_batch(&mut conn, given.clone())
        .await
        .unwrap();

    let page = messages::history(&mut conn, thread.id, &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(page.items.len(), given.len());
    for ((stored, sent), position) in page.items.iter().zip(&given).zip(1..) {
        let written = NewMessage {
            id: stored.id,
            conversation_id: stored.conversation_id,
            role: stored.role,
            content: stored.content.clone(),
            token_count: stored.token_count,
            prompt_version_id: stored.prompt_version_id,
            model_name: stored.model_name.clone(),
            finish_reason: stored.finish_reason.clone(),
            latency_ms: stored.latency_ms,
            tool_calls: stored.tool_calls.clone(),
            tool_call_id: stored.tool_call_id.clone(),
            metadata: stored.metadata.clone(),
        };
        assert_eq!(&written, sent);
        assert_eq!(stored.position, position);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn history_pages_follow_the_written_order_without_gaps() {
    let database = TestDatabase::new().await;
    let mut conn = database.connect().await;
    let owner = user(&mut conn).await;
    let thread = conversation(&mut conn, &owner).await;
    for n in 0..23 {
        messages::append(&mut conn, NewMessage::user(thread.id, format!("m{n}")))
            .await
            .unwrap();
    }

    let mut seen = Vec::new();
    let mut page = messages::history(&mut conn, thread.id, &PageRequest::first(10))
        .await
        .unwrap();
    loop {
        seen.extend(page.items.iter().map(|m| m.content.clone()));
        let Some(next) = page.next else { break };
        page = messages::history(&mut conn, thread.id, &PageRequest::after(10, next))
            .await
            .unwrap();
    }
    assert_eq!(seen, (0..23).map(|n| format!("m{n}")).collect::<Vec<_>>());

    let past_the_end = PageRequest::after(10, HistoryCursor { position: 23 });
    assert!(
        messages::history(&mut conn, thread.id, &past_the_end)
            .await
            .unwrap()
            .items
            .is_empty()
    );

    for limit in [0, 501] {
        let error = messages::history(&mut conn, thread.id, &PageRequest::first(limit))
            .await
            .unwrap_err();
        assert!(
            matches!(&error, Error::InvalidInput { field, .. } if field == "limit"),
            "{error:?}"
        );
    }
    let missing = messages::history(&mut conn, uuid::Uuid::now_v7(), &PageRequest::first(10)).await;
    assert!(matches!(
        missing,
        Err(Error::NotFound {
            entity: "conversation",
            ..
        })
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn tool_calls_round_trip_and_their_rules_are_typed_errors() {
    let database = TestDatabase::new().await;
    let mut conn = database.connect().await;
    let owner = user(&mut conn).await;
    let thread = conversation(&mut conn, &owner).await;

    let calls = vec![
        ToolCall::new(
            "call_1",
            "get_weather",
            json!({"city": "Zürich", "unit": "c"}),
        ),
        ToolCall::new("call_2", "lookup", json!("{\"raw\": \"string arguments\"}")),
    ];
    let asking = NewMessage::assistant(thread.id, "").with_tool_calls(calls.clone());
    let asked = messages::append(&mut conn, asking).await.unwrap();
    let answering = NewMessage::tool(thread.id, "call_1", "14°C");
    let answered = messages::append(&mut conn, answering).await.unwrap();

    let page = messages::history(&mut conn, thread.id, &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(page.items, [asked, answered]);
    assert_eq!(page.items[0].tool_calls.as_deref(), Some(calls.as_slice()));
    assert_eq!(page.items[1].tool_call_id.as_deref(), Some("call_1"));
    assert_eq!(page.items[1].role, MessageRole::Tool);
    let json = serde_json::to_value(&page.items[0]).unwrap();
    assert_eq!(json["tool_calls"][0]["name"], "get_weather");

    let before = row_counts(&mut conn).await;
    let from_user = NewMessage::user(thread.id, "hi").with_tool_calls(calls);
    let mut unanswered = NewMessage::tool(thread.id, "x", "result");
    unanswered.tool_call_id = None;
    let mut misplaced = NewMessage::user(thread.id, "hi");
    misplaced.tool_call_id = Some("call_1".to_owned());
    for (message, expected_field) in [
        (from_user, "tool_calls"),
        (unanswered, "tool_call_id"),
        (misplaced, "tool_call_id"),
    ] {
        let error = messages::append(&mut conn, message).await.unwrap_err();
        assert!(
            matches!(&error, Error::InvalidInput { field, .. } if field == expected_field),
            "{error:?}"
        );
    }
    let missing = messages::append(&mut conn, NewMessage::user(uuid::Uuid::now_v7(), "hi")).await;
    assert!(
        matches!(
            missing,
            Err(Error::NotFound {
                entity: "conversation",
                ..
            })
        ),
        "{missing:?}"
    );
    let ghost_prompt = uuid::Uuid::now_v7();
    let unproduced = NewMessage::assistant(thread.id, "a").generated_by(ghost_prompt, "m");
    let missing = messages::append(&mut conn, unproduced).await.unwrap_err();
    assert!(
        matches!(&missing, Error::NotFound { entity: "prompt version", key }
            if key == &ghost_prompt.to_string()),
        "{missing:?}"
    );
    assert_eq!(row_counts(&mut conn).await, before);
}

//! A corpus of hostile input through every write: each value either comes back byte for byte
//! or is refused with the expected typed error, and a refusal writes nothing.

use chatledger_domain::conversations::{self, NewConversation};
use chatledger_domain::embeddings::{self, NewEmbedding};
use chatledger_domain::feedback::{self, NewFeedback};
use chatledger_domain::guard::MAX_KEY_BYTES;
use chatledger_domain::messages::{self, NewMessage, ToolCall};
use chatledger_domain::prompts::{self, NewPromptVersion};
use chatledger_domain::retrievals::{self, NewRetrieval};
use chatledger_domain::users::{self, NewUser};
use chatledger_domain::{Error, FeedbackRating, InvalidReason, PageRequest};
use chatledger_tests::TestDatabase;
use serde_json::json;

use crate::support::{row_counts, scene};

/// Text PostgreSQL stores as it is; each must come back unchanged.
fn storable_corpus() -> Vec<String> {
    let mut corpus: Vec<String> = [
        "Robert'); DROP TABLE users;--",
        "' OR '1'='1",
        "$1 $$ $tag$ \\x00 %s %n {{}}",
        "\"double\" 'single' `back`",
        "C:\\path\\to\\file \\\\ \\n \\",
        "emoji 🎉 family 👩‍👩‍👧 flag 🇨🇭",
        "combining e\u{301} Z\u{351}\u{361}\u{35c}",
        "\u{202e}right-to-left\u{202c} zero\u{200b}width",
        "tabs\tand\nnewlines\r\n",
        "",
    ]
    .map(str::to_owned)
    .to_vec();
    let mut megabyte = "ünïcödé 🎉 ".repeat(1 << 16);
    let mut end = 1 << 20;
    while !megabyte.is_char_boundary(end) {
        end -= 1;
    }
    megabyte.truncate(end);
    corpus.push(megabyte);
    corpus
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_text_round_trips_byte_for_byte_through_every_write() {
    let database = TestDatabase::new().await;
    let mut conn = database.connect().await;
    let at = scene(&mut conn).await;

    for (index, text) in storable_corpus().into_iter().enumerate() {
        let metadata = json!({"note": text, "nested": [{"k": text}], text.clone(): 1});
        // Indexed columns take the text when it fits an index entry, and refuse it otherwise.
        let key = if text.len() + 8 <= MAX_KEY_BYTES {
            text.clone()
        } else {
            assert_too_long(
                &users::create(&mut conn, NewUser::new(text.clone()))
                    .await
                    .map(drop),
            );
            let draft = NewPromptVersion::new(text.clone(), "t", &[]);
            assert_too_long(&prompts::publish(&mut conn, draft).await.map(drop));
            let chunk = NewEmbedding::new("doc", text.clone(), 0, "t", "embed", 2);
            assert_too_long(&embeddings::ingest_one(&mut conn, chunk).await.map(drop));
            index.to_string()
        };

        let mut new = NewUser::new(format!("{index}:{key}"));
        new.display_name = Some(text.clone());
        new.metadata = metadata.clone();
        let created = users::create(&mut conn, new.clone()).await.unwrap();
        let found = users::find(&mut conn, created.id).await.unwrap().unwrap();
        assert_eq!(
            (found.external_id, found.display_name),
            (new.external_id.clone(), Some(text.clone()))
        );
        assert_eq!(found.metadata, metadata);
        assert_eq!(
            users::find_by_external_id(&mut conn, &new.external_id)
                .await
                .unwrap()
                .unwrap()
                .id,
            created.id
        );

        let mut new = NewConversation::new(at.user).titled(text.clone());
        new.metadata = metadata.clone();
        let started = conversations::start(&mut conn, new).await.unwrap();
        let got = conversations::get(&mut conn, started.id).await.unwrap();
        assert_eq!(
            (got.title.as_deref(), &got.metadata),
            (Some(text.as_str()), &metadata)
        );
        let renamed = conversations::rename(&mut conn, started.id, Some(&text))
            .await
            .unwrap();
        assert_eq!(renamed.title.as_deref(), Some(text.as_str()));

        let call = ToolCall::new(
            format!("call-{index}{text}"),
            format!("f{text}"),
            json!({"q": text}),
        );
        let mut asked = NewMessage::assistant(started.id, text.clone()).with_tool_calls(vec![call]);
        asked.model_name = Some(text.clone());
        asked.finish_reason = Some(text.clone());
        asked.metadata = metadata.clone();
        let answered = NewMessage::tool(started.id, format!("call-{index}{text}"), text.clone());
        messages::append(&mut conn, asked.clone()).await.unwrap();
        messages::append_batch(&mut conn, vec![answered.clone()])
            .await
            .unwrap();
        let history = messages::history(&mut conn, started.id, &PageRequest::first(10))
            .await
            .unwrap();
        assert_eq!(history.items[0].content, text);
        assert_eq!(history.items[0].tool_calls, asked.tool_calls);
        assert_eq!(history.items[0].model_name, asked.model_name);
        assert_eq!(history.items[0].finish_reason, asked.finish_reason);
        assert_eq!(history.items[0].metadata, metadata);
        assert_eq!(history.items[1].tool_call_id, answered.tool_call_id);

        let mut draft =
            NewPromptVersion::new(format!("{index}{key}"), format!("{text}{{{{v}}}}"), &["v"]);
        draft.notes = Some(text.clone());
        draft.model_name = Some(text.clone());
        draft.metadata = metadata.clone();
        let published = prompts::publish(&mut conn, draft.clone()).await;
        if text.contains("{{") {
            // A template with a malformed slot is refused rather than stored.
            assert!(
                matches!(published, Err(Error::Template(_))),
                "{published:?}"
            );
        } else {
            let version = published.unwrap().version;
            let got = prompts::get(&mut conn, &draft.name, version).await.unwrap();
            assert_eq!(
                (&got.name, &got.template, &got.notes),
                (&draft.name, &draft.template, &draft.notes)
            );
            assert_eq!(
                got.render([("v", text.as_str())]).unwrap(),
                format!("{text}{text}")
            );
        }

        let mut chunk = NewEmbedding::new(
            key.clone() + "t",
            key.clone() + "s",
            0,
            text.clone(),
            "embed",
            2,
        );
        chunk.vector_store_id = Some(text.clone());
        chunk.metadata = metadata.clone();
        embeddings::ingest_one(&mut conn, chunk.clone())
            .await
            .unwrap();
        let stored = embeddings::get(&mut conn, chunk.id).await.unwrap();
        assert_eq!(
            (stored.chunk_text, stored.vector_store_id),
            (text.clone(), Some(text.clone()))
        );
        assert_eq!(stored.metadata, metadata);

        let mut retrieval =
            NewRetrieval::new(at.message, chunk.id, i32::try_from(index).unwrap() + 1, 0.5);
        retrieval.metadata = metadata.clone();
        retrievals::record(&mut conn, vec![retrieval])
            .await
            .unwrap();

        let given = NewFeedback::new(at.message, None, FeedbackRating::Neutral)
            .with_comment(text.clone())
            .with_correction(text.clone())
            .with_categories([format!("c{text}")]);
        let submitted = feedback::submit(&mut conn, given.clone()).await.unwrap();
        assert_eq!(
            (submitted.comment, submitted.correction),
            (given.comment, given.correction)
        );
        assert_eq!(submitted.categories, given.categories);
    }
    let stored_retrievals = retrievals::for_message(&mut conn, at.message)
        .await
        .unwrap();
    assert_eq!(stored_retrievals.len(), storable_corpus().len());
    assert_eq!(stored_retrievals[0].metadata["note"], storable_corpus()[0]);
}

#[track_caller]
fn assert_too_long(result: &Result<(), Error>) {
    let expected = InvalidReason::TooLong {
        max_bytes: MAX_KEY_BYTES,
    };
    assert!(
        matches!(result, Err(Error::InvalidInput { reason, .. }) if reason == &expected),
        "{result:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn nul_bytes_and_negative_counts_in_columns_are_typed_errors() {
    let database = TestDatabase::new().await;
    let mut conn = database.connect().await;
    let at = scene(&mut conn).await;
    let before = row_counts(&mut conn).await;
    let nul = "before\u{0}after";

    let mut results: Vec<(Result<(), Error>, &str, InvalidReason)> = Vec::new();
    let mut add = |result: Result<(), Error>, field, reason| results.push((result, field, reason));

    add(
        users::create(&mut conn, NewUser::new(nul)).await.map(drop),
        "external_id",
        InvalidReason::NulByte,
    );
    add(
        users::create(&mut conn, NewUser::new(" ")).await.map(drop),
        "external_id",
        InvalidReason::Blank,
    );
    let titled = NewConversation::new(at.user).titled(nul);
    add(
        conversations::start(&mut conn, titled).await.map(drop),
        "title",
        InvalidReason::NulByte,
    );
    add(
        conversations::rename(&mut conn, at.conversation, Some(nul))
            .await
            .map(drop),
        "title",
        InvalidReason::NulByte,
    );
    let content = NewMessage::user(at.conversation, nul);
    add(
        messages::append(&mut conn, content).await.map(drop),
        "content",
        InvalidReason::NulByte,
    );
    let negative = NewMessage::user(at.conversation, "m").with_token_count(-1);
    add(
        messages::append(&mut conn, negative).await.map(drop),
        "token_count",
        InvalidReason::Negative,
    );
    let mut slow = NewMessage::user(at.conversation, "m");
    slow.latency_ms = Some(-5);
    add(
        messages::append(&mut conn, slow).await.map(drop),
        "latency_ms",
        InvalidReason::Negative,
    );
    let call = ToolCall::new("c", "f", json!({"q": nul}));
    let arguments = NewMessage::assistant(at.conversation, "").with_tool_calls(vec![call]);
    add(
        messages::append(&mut conn, arguments).await.map(drop),
        "tool_calls[0].arguments.q",
        InvalidReason::NulByte,
    );
    let blank_name = NewPromptVersion::new("", "t", &[]);
    add(
        prompts::publish(&mut conn, blank_name).await.map(drop),
        "name",
        InvalidReason::Blank,
    );
    let template = NewPromptVersion::new("p", nul, &[]);
    add(
        prompts::publish(&mut conn, template).await.map(drop),
        "template",
        InvalidReason::NulByte,
    );
    let chunk = NewEmbedding::new("doc", "d", -1, "t", "embed", 2);
    add(
        embeddings::ingest_one(&mut conn, chunk).await.map(drop),
        "chunks[0].chunk_index",
        InvalidReason::Negative,
    );
    let mut counted = NewEmbedding::new("doc", "d", 0, "t", "embed", 2);
    counted.token_count = Some(-3);
    add(
        embeddings::ingest_one(&mut conn, counted).await.map(drop),
        "chunks[0].token_count",
        InvalidReason::Negative,
    );
    let text = NewEmbedding::new("doc", "d", 0, nul, "embed", 2);
    add(
        embeddings::ingest_one(&mut conn, text).await.map(drop),
        "chunks[0].chunk_text",
        InvalidReason::NulByte,
    );
    let commented =
        NewFeedback::new(at.message, None, FeedbackRating::Neutral).with_correction(nul);
    add(
        feedback::submit(&mut conn, commented).await.map(drop),
        "correction",
        InvalidReason::NulByte,
    );
    let labelled =
        NewFeedback::new(at.message, None, FeedbackRating::Neutral).with_categories([nul]);
    add(
        feedback::submit(&mut conn, labelled).await.map(drop),
        "categories[0]",
        InvalidReason::NulByte,
    );

    for (result, expected_field, expected_reason) in results {
        match result {
            Err(Error::InvalidInput { field, reason }) => {
                assert_eq!((field.as_str(), reason), (expected_field, expected_reason));
            }
            other => panic!("{expected_field}: expected {expected_reason:?}, got {other:?}"),
        }
    }
    assert_eq!(row_counts(&mut conn).await, before);
}

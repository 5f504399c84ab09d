//! Users, their conversations, and erasure.

use chatledger_domain::conversations::{self, ConversationCursor, NewConversation};
use chatledger_domain::embeddings::{self, NewEmbedding};
use chatledger_domain::feedback::{self, NewFeedback};
use chatledger_domain::messages::{self, NewMessage, NewTurn};
use chatledger_domain::prompts::{self, NewPromptVersion};
use chatledger_domain::retrievals::NewRetrieval;
use chatledger_domain::users::{self, ErasureReceipt, NewUser};
use chatledger_domain::{Error, FeedbackRating, PageRequest};
use chatledger_tests::TestDatabase;
use diesel::QueryableByName;
use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl;

use crate::support::{conversation, row_counts, user};

#[tokio::test(flavor = "multi_thread")]
async fn users_are_found_by_id_and_external_id_and_external_ids_are_unique() {
    let database = TestDatabase::new().await;
    let mut conn = database.connect().await;
    let mut new = NewUser::new("auth0|ada");
    new.display_name = Some("Ada".to_owned());
    let created = users::create(&mut conn, new).await.unwrap();

    assert_eq!(
        users::find(&mut conn, created.id).await.unwrap(),
        Some(created.clone())
    );
    assert_eq!(
        users::find_by_external_id(&mut conn, "auth0|ada")
            .await
            .unwrap(),
        Some(created)
    );
    assert_eq!(
        users::find(&mut conn, uuid::Uuid::now_v7()).await.unwrap(),
        None
    );

    let taken = users::create(&mut conn, NewUser::new("auth0|ada"))
        .await
        .unwrap_err();
    assert!(
        matches!(taken, Error::Conflict { entity: "user", .. }),
        "{taken:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_users_conversations_page_newest_first_and_can_be_renamed() {
    let database = TestDatabase::new().await;
    let mut conn = database.connect().await;
    let owner = user(&mut conn).await;
    let stranger = user(&mut conn).await;
    conversation(&mut conn, &stranger).await;
    let mut started = Vec::new();
    for n in 0..12 {
        let new = NewConversation::new(owner.id).titled(format!("t{n}"));
        started.push(conversations::start(&mut conn, new).await.unwrap().id);
    }

    let mut listed = Vec::new();
    let mut request: PageRequest<ConversationCursor> = PageRequest::first(5);
    loop {
        let page = conversations::list_for_user(&mut conn, owner.id, &request)
            .await
            .unwrap();
        assert!(page.items.len() <= 5);
        listed.extend(page.items.iter().map(|c| c.id));
        let Some(next) = page.next else { break };
        request = PageRequest::after(5, next);
    }
    started.reverse();
    assert_eq!(listed, started, "newest first, every conversation once");

    let renamed = conversations::rename(&mut conn, started[0], Some("Refunds"))
        .await
        .unwrap();
    assert_eq!(renamed.title.as_deref(), Some("Refunds"));
    assert_eq!(
        conversations::get(&mut conn, started[0])
            .await
            .unwrap()
            .title
            .as_deref(),
        Some("Refunds")
    );
    let cleared = conversations::rename(&mut conn, started[0], None)
        .await
        .unwrap();
    assert_eq!(cleared.title, None);
    let missing = conversations::rename(&mut conn, uuid::Uuid::now_v7(), Some("x")).await;
    assert!(matches!(
        missing,
        Err(Error::NotFound {
            entity: "conversation",
            ..
        })
    ));
    let orphan = conversations::start(&mut conn, NewConversation::new(uuid::Uuid::now_v7())).await;
    assert!(
        matches!(orphan, Err(Error::NotFound { entity: "user", .. })),
        "{orphan:?}"
    );
}

#[derive(QueryableByName)]
struct Remaining {
    #[diesel(sql_type = BigInt)]
    rows: i64,
}

#[tokio::test(flavor = "multi_thread")]
async fn erasure_counts_what_it_removes_and_leaves_nothing_of_the_user() {
    let database = TestDatabase::new().await;
    let mut conn = database.connect().await;
    let erased = user(&mut conn).await;
    let other = user(&mut conn).await;
    let chunk = NewEmbedding::new("doc", "d", 0, "text", "embed", 4);
    let chunk_id = chunk.id;
    embeddings::ingest_one(&mut conn, chunk).await.unwrap();
    let mut draft = NewPromptVersion::new("by-erased", "Hi", &[]);
    draft.created_by = Some(erased.id);
    let prompt = prompts::publish(&mut conn, draft).await.unwrap();

    // The erased user's two conversations: 2 + 3 messages, 2 retrievals, 3 feedback on them
    // (one by the other user).
    let mut their_messages = Vec::new();
    for size in [2, 3] {
        let thread = conversation(&mut conn, &erased).await;
        let batch: Vec<NewMessage> = (0..size)
            .map(|n| NewMessage::assistant(thread.id, format!("a{n}")))
            .collect();
        let rows = messages::append_turn(
            &mut conn,
            NewTurn {
                retrievals: vec![],
                messages: batch,
            },
        )
        .await
        .unwrap();
        their_messages.extend(rows.messages.into_iter().map(|m| m.id));
    }
    for (message_id, rank) in [(their_messages[0], 1), (their_messages[4], 1)] {
        let retrieval = NewRetrieval::new(message_id, chunk_id, rank, 0.5);
        chatledger_domain::retrievals::record(&mut conn, vec![retrieval])
            .await
            .unwrap();
    }
    for (message_id, rater) in [
        (their_messages[0], Some(erased.id)),
        (their_messages[1], Some(other.id)),
        (their_messages[2], None),
    ] {
        feedback::submit(
            &mut conn,
            NewFeedback::new(message_id, rater, FeedbackRating::Neutral),
        )
        .await
        .unwrap();
    }

    // The other user's conversation, rated twice by the erased user and once by its owner.
    let kept = conversation(&mut conn, &other).await;
    let kept_message = messages::append(&mut conn, NewMessage::assistant(kept.id, "kept"))
        .await
        .unwrap();
    for rater in [erased.id, erased.id, other.id] {
        let given = NewFeedback::new(kept_message.id, Some(rater), FeedbackRating::ThumbsUp);
        feedback::submit(&mut conn, given).await.unwrap();
    }
    let before = row_counts(&mut conn).await;

    let receipt = users::erase(&mut conn, erased.id).await.unwrap();
    assert_eq!(
        receipt,
        ErasureReceipt {
            conversations: 2,
            messages: 5,
            retrievals: 2,
            feedback_removed: 3,
            feedback_anonymised: 2,
            prompt_versions_unattributed: 1,
        }
    );

    let after = row_counts(&mut conn).await;
    assert_eq!(after.users, before.users - 1);
    assert_eq!(after.conversations, before.conversations - 2);
    assert_eq!(after.messages, before.messages - 5);
    assert_eq!(after.message_retrievals, before.message_retrievals - 2);
    assert_eq!(after.feedback, before.feedback - 3);
    assert_eq!(after.prompt_versions, before.prompt_versions);

    let remaining: Remaining = diesel::sql_query(
        "SELECT (SELECT count(*) FROM users WHERE id = $1)
              + (SELECT count(*) FROM conversations WHERE user_id = $1)
              + (SELECT count(*) FROM messages WHERE id = ANY($2))
              + (SELECT count(*) FROM message_retrievals WHERE message_id = ANY($2))
              + (SELECT count(*) FROM feedback WHERE user_id = $1 OR message_id = ANY($2))
              + (SELECT count(*) FROM prompt_versions WHERE created_by = $1) AS rows",
    )
    .bind::<diesel::sql_types::Uuid, _>(erased.id)
    .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(&their_messages)
    .get_result(&mut conn)
    .await
    .unwrap();
    assert_eq!(remaining.rows, 0);

    let anonymous = feedback::for_message(&mut conn, kept_message.id)
        .await
        .unwrap();
    let raters: Vec<Option<uuid::Uuid>> = anonymous.iter().map(|f| f.user_id).collect();
    assert_eq!(raters, [None, None, Some(other.id)]);
    assert_eq!(
        prompts::get(&mut conn, "by-erased", prompt.version)
            .await
            .unwrap()
            .created_by,
        None
    );

    let again = users::erase(&mut conn, erased.id).await.unwrap_err();
    assert!(matches!(again, Error::NotFound { entity: "user", .. }));
}

#[tokio::test(flavor = "multi_thread")]
async fn writes_racing_an_erasure_are_either_counted_or_refused() {
    let database = TestDatabase::new().await;
    let pool = database.pool(8);
    let mut conn = pool.get().await.unwrap();
    let erased = user(&mut conn).await;
    let other = user(&mut conn).await;
    let theirs = conversation(&mut conn, &erased).await;
    messages::append(&mut conn, NewMessage::user(theirs.id, "first"))
        .await
        .unwrap();
    let elsewhere = conversation(&mut conn, &other).await;
    let rated = messages::append(&mut conn, NewMessage::assistant(elsewhere.id, "x"))
        .await
        .unwrap();
    drop(conn);

    // Appends to their conversation and feedback they give elsewhere, racing the erasure.
    let writers: Vec<_> = (0..40)
        .map(|n| {
            let pool = pool.clone();
            tokio::spawn(async move {
                let mut conn = pool.get().await.unwrap();
                if n % 2 == 0 {
                    let said = NewMessage::user(theirs.id, format!("m{n}"));
                    (true, messages::append(&mut conn, said).await.map(drop))
                } else {
                    let given =
                        NewFeedback::new(rated.id, Some(erased.id), FeedbackRating::Neutral);
                    (false, feedback::submit(&mut conn, given).await.map(drop))
                }
            })
        })
        .collect();
    let eraser = {
        let pool = pool.clone();
        tokio::spawn(async move {
            let mut conn = pool.get().await.unwrap();
            users::erase(&mut conn, erased.id).await.unwrap()
        })
    };
    let receipt = eraser.await.unwrap();

    let (mut appended, mut rated_by_them) = (0, 0);
    for writer in writers {
        match writer.await.unwrap() {
            (true, Ok(())) => appended += 1,
            (false, Ok(())) => rated_by_them += 1,
            (_, Err(Error::NotFound { .. })) => {}
            (_, Err(other)) => panic!("a racing write failed with {other:?}"),
        }
    }
    assert_eq!(receipt.messages, 1 + appended);
    assert_eq!(receipt.feedback_anonymised, rated_by_them);

    let mut conn = pool.get().await.unwrap();
    let after = row_counts(&mut conn).await;
    assert_eq!(
        (after.users, after.conversations, after.messages),
        (1, 1, 1)
    );
    assert_eq!(after.feedback, i64::try_from(rated_by_them).unwrap());
}

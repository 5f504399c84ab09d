//! Retrievals and feedback, and the translation of constraint violations into typed errors.

use chatledger_domain::embeddings::{self, NewEmbedding};
use chatledger_domain::feedback::{self, NewFeedback};
use chatledger_domain::messages::{self, NewMessage};
use chatledger_domain::prompts::{self, NewPromptVersion};
use chatledger_domain::retrievals::{self, NewRetrieval};
use chatledger_domain::{Error, FeedbackRating, InvalidReason, guard};
use chatledger_schema::schema::prompt_versions;
use chatledger_tests::TestDatabase;
use diesel::ExpressionMethods;
use diesel_async::RunQueryDsl;
use serde_json::json;

use crate::support::{conversation, row_counts, user};

#[tokio::test(flavor = "multi_thread")]
async fn retrievals_read_back_by_rank_and_reused_ranks_are_conflicts() {
    let database = TestDatabase::new().await;
    let mut conn = database.connect().await;
    let owner = user(&mut conn).await;
    let thread = conversation(&mut conn, &owner).await;
    let answer = messages::append(&mut conn, NewMessage::assistant(thread.id, "a"))
        .await
        .unwrap();
    let batch: Vec<NewEmbedding> = (0..3)
        .map(|i| NewEmbedding::new("doc", "d", i, format!("c{i}"), "embed", 2))
        .collect();
    let ids: Vec<uuid::Uuid> = batch.iter().map(|chunk| chunk.id).collect();
    embeddings::ingest(&mut conn, batch).await.unwrap();

    let recorded = retrievals::record(
        &mut conn,
        vec![
            NewRetrieval::new(answer.id, ids[2], 2, 0.5),
            NewRetrieval::new(answer.id, ids[0], 1, 0.75),
        ],
    )
    .await
    .unwrap();
    let read_back = retrievals::for_message(&mut conn, answer.id).await.unwrap();
    assert_eq!(read_back, recorded);
    assert_eq!(
        read_back
            .iter()
            .map(|r| (r.rank, r.score))
            .collect::<Vec<_>>(),
        [(1, 0.75), (2, 0.5)]
    );

    let before = row_counts(&mut conn).await;
    let rank_taken = retrievals::record(
        &mut conn,
        vec![
            NewRetrieval::new(answer.id, ids[1], 3, 0.1),
            NewRetrieval::new(answer.id, ids[1], 1, 0.2),
        ],
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            rank_taken,
            Error::Conflict {
                entity: "retrieval",
                ..
            }
        ),
        "{rank_taken:?}"
    );

    let zero_rank = retrievals::record(
        &mut conn,
        vec![NewRetrieval::new(answer.id, ids[1], 0, 0.1)],
    )
    .await;
    assert!(
        matches!(zero_rank, Err(Error::InvalidInput { ref field, .. })
            if field == "retrievals[0].rank")
    );
    let nan = retrievals::record(
        &mut conn,
        vec![NewRetrieval::new(answer.id, ids[1], 4, f64::NAN)],
    )
    .await;
    assert!(matches!(
        nan,
        Err(Error::InvalidInput {
            reason: InvalidReason::NotFinite,
            ..
        })
    ));
    let orphan = NewRetrieval::new(uuid::Uuid::now_v7(), ids[1], 1, 0.1);
    let orphan = retrievals::record(&mut conn, vec![orphan]).await;
    assert!(
        matches!(
            orphan,
            Err(Error::NotFound {
                entity: "message",
                ..
            })
        ),
        "{orphan:?}"
    );
    assert_eq!(row_counts(&mut conn).await, before);
}

#[tokio::test(flavor = "multi_thread")]
async fn feedback_keeps_its_comment_categories_and_correction() {
    let database = TestDatabase::new().await;
    let mut conn = database.connect().await;
    let owner = user(&mut conn).await;
    let thread = conversation(&mut conn, &owner).await;
    let answer = messages::append(&mut conn, NewMessage::assistant(thread.id, "42"))
        .await
        .unwrap();

    let given = NewFeedback::new(answer.id, Some(owner.id), FeedbackRating::ThumbsDown)
        .with_comment("wrong")
        .with_categories(["inaccurate", "too_short"])
        .with_correction("It is 43.");
    let submitted = feedback::submit(&mut conn, given.clone()).await.unwrap();
    assert_eq!(
        (
            submitted.id,
            submitted.rating,
            submitted.categories.clone(),
            submitted.correction.clone()
        ),
        (
            given.id,
            FeedbackRating::ThumbsDown,
            given.categories,
            given.correction
        )
    );
    let anonymous = feedback::submit(
        &mut conn,
        NewFeedback::new(answer.id, None, FeedbackRating::ThumbsUp),
    )
    .await
    .unwrap();
    assert_eq!(
        feedback::for_message(&mut conn, answer.id).await.unwrap(),
        [submitted, anonymous]
    );

    let before = row_counts(&mut conn).await;
    let blank_category =
        NewFeedback::new(answer.id, None, FeedbackRating::Neutral).with_categories(["ok", " "]);
    let error = feedback::submit(&mut conn, blank_category)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::InvalidInput { field, .. } if field == "categories[1]"),
        "{error:?}"
    );
    let no_message = NewFeedback::new(uuid::Uuid::now_v7(), None, FeedbackRating::Neutral);
    let error = feedback::submit(&mut conn, no_message).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::NotFound {
                entity: "message",
                ..
            }
        ),
        "{error:?}"
    );
    let no_user = NewFeedback::new(
        answer.id,
        Some(uuid::Uuid::now_v7()),
        FeedbackRating::Neutral,
    );
    let error = feedback::submit(&mut conn, no_user).await.unwrap_err();
    assert!(
        matches!(error, Error::NotFound { entity: "user", .. }),
        "{error:?}"
    );
    assert_eq!(row_counts(&mut conn).await, before);
}

#[test]
fn unknown_labels_in_deserialised_input_are_invalid_input() {
    let valid = NewFeedback::new(uuid::Uuid::now_v7(), None, FeedbackRating::Neutral);
    let mut input = serde_json::to_value(&valid).unwrap();
    input["rating"] = json!("five_stars");
    let error = guard::decode::<NewFeedback>("feedback", &input.to_string()).unwrap_err();
    assert!(
        matches!(&error, Error::InvalidInput { field, reason: InvalidReason::Unreadable(_) }
            if field == "feedback"),
        "{error:?}"
    );
    assert!(
        !error.to_string().contains("five_stars"),
        "the input is not repeated: {error}"
    );

    let mut message = serde_json::to_value(NewMessage::user(uuid::Uuid::now_v7(), "x")).unwrap();
    message["role"] = json!("developer");
    let error = guard::decode::<NewMessage>("message", &message.to_string()).unwrap_err();
    assert!(
        matches!(&error, Error::InvalidInput { field, .. } if field == "message"),
        "{error:?}"
    );

    let mut counted = serde_json::to_value(NewMessage::user(uuid::Uuid::now_v7(), "x")).unwrap();
    counted["token_count"] = json!(1_u64 << 40);
    assert!(guard::decode::<NewMessage>("message", &counted.to_string()).is_err());

    let decoded: NewFeedback =
        guard::decode("feedback", &serde_json::to_string(&valid).unwrap()).unwrap();
    assert_eq!(decoded, valid);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_active_version_written_behind_the_librarys_back_is_a_conflict() {
    let database = TestDatabase::new().await;
    let mut conn = database.connect().await;
    for marker in 0..2 {
        let draft = NewPromptVersion::new("backstop", format!("v{marker}"), &[]);
        prompts::publish(&mut conn, draft).await.unwrap();
    }
    prompts::activate(&mut conn, "backstop", 1).await.unwrap();

    let raw = diesel::update(prompt_versions::table)
        .filter(prompt_versions::name.eq("backstop"))
        .filter(prompt_versions::version.eq(2))
        .set(prompt_versions::is_active.eq(true))
        .execute(&mut conn)
        .await
        .unwrap_err();
    let error = Error::from(raw);
    assert!(
        matches!(
            error,
            Error::Conflict {
                entity: "prompt version",
                ..
            }
        ),
        "{error:?}"
    );
}

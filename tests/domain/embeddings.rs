//! Ingesting chunks: idempotent under concurrency, one size per model.

use chatledger_domain::Error;
use chatledger_domain::embeddings::{self, IngestReport, NewEmbedding};
use chatledger_tests::TestDatabase;

use crate::support::row_counts;

fn chunks(count: i32, model: &str, dimensions: i32) -> Vec<NewEmbedding> {
    (0..count)
        .map(|index| {
            let source = format!("doc-{}", index / 10);
            NewEmbedding::new(
                "document",
                source,
                index % 10,
                format!("chunk {index}"),
                model,
                dimensions,
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_concurrent_ingestions_of_the_same_chunks_record_each_once() {
    let database = TestDatabase::new().await;
    let pool = database.pool(2);
    let batch = chunks(1000, "embed-large", 1536);

    let ingestions = (0..2).map(|_| {
        let pool = pool.clone();
        // Same keys, fresh ids: what a re-run of a pipeline sends.
        let batch: Vec<NewEmbedding> = batch
            .iter()
            .cloned()
            .map(|mut chunk| {
                chunk.id = uuid::Uuid::now_v7();
                chunk
            })
            .collect();
        tokio::spawn(async move {
            let mut conn = pool.get().await.unwrap();
            embeddings::ingest(&mut conn, batch).await.unwrap()
        })
    });
    let reports: Vec<IngestReport> = futures_util::future::join_all(ingestions)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();

    assert_eq!(reports.iter().map(|r| r.inserted).sum::<u64>(), 1000);
    assert_eq!(reports.iter().map(|r| r.already_present).sum::<u64>(), 1000);
    assert!(
        reports
            .iter()
            .all(|r| r.inserted + r.already_present == 1000)
    );
    let mut conn = pool.get().await.unwrap();
    assert_eq!(row_counts(&mut conn).await.embeddings, 1000);
}

#[tokio::test(flavor = "multi_thread")]
async fn ingesting_again_changes_nothing_and_reports_what_was_present() {
    let database = TestDatabase::new().await;
    let mut conn = database.connect().await;
    let first = embeddings::ingest(&mut conn, chunks(20, "m", 8))
        .await
        .unwrap();
    assert_eq!(
        first,
        IngestReport {
            inserted: 20,
            already_present: 0
        }
    );

    let stored_before = embeddings::for_source(&mut conn, "document", "doc-1", "m")
        .await
        .unwrap();
    let mut rerun = chunks(25, "m", 8);
    rerun[12].chunk_text = "edited text".to_owned();
    let second = embeddings::ingest(&mut conn, rerun).await.unwrap();
    assert_eq!(
        second,
        IngestReport {
            inserted: 5,
            already_present: 20
        }
    );
    let stored_after = embeddings::for_source(&mut conn, "document", "doc-1", "m")
        .await
        .unwrap();
    assert_eq!(
        stored_after, stored_before,
        "present chunks are left as they were"
    );

    // The same key twice within one batch: recorded once.
    let once = NewEmbedding::new("faq", "fresh", 0, "text", "m", 8);
    let twice = NewEmbedding {
        id: uuid::Uuid::now_v7(),
        ..once.clone()
    };
    let report = embeddings::ingest(&mut conn, vec![once, twice])
        .await
        .unwrap();
    assert_eq!(
        report,
        IngestReport {
            inserted: 1,
            already_present: 1
        }
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_size_other_than_the_models_is_refused_and_nothing_is_written() {
    let database = TestDatabase::new().await;
    let mut conn = database.connect().await;
    embeddings::ingest(&mut conn, chunks(3, "small", 384))
        .await
        .unwrap();
    let before = row_counts(&mut conn).await;

    // Recorded size 384, offered 768, in a batch that is otherwise fine.
    let mut batch = chunks(3, "other", 16);
    batch.push(NewEmbedding::new("faq", "q1", 0, "text", "small", 768));
    let error = embeddings::ingest(&mut conn, batch).await.unwrap_err();
    assert!(
        matches!(&error, Error::DimensionMismatch { model, recorded: 384, given: 768 }
            if model == "small"),
        "{error:?}"
    );

    // A batch that mixes sizes for a new model.
    let mut mixed = chunks(2, "fresh", 100);
    mixed[1].dimensions = 101;
    let error = embeddings::ingest(&mut conn, mixed).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::DimensionMismatch {
                recorded: 100,
                given: 101,
                ..
            }
        ),
        "{error:?}"
    );

    let mut zero = chunks(1, "fresh", 0);
    let error = embeddings::ingest(&mut conn, std::mem::take(&mut zero))
        .await
        .unwrap_err();
    assert!(matches!(&error, Error::InvalidInput { field, .. } if field == "chunks[0].dimensions"));
    assert_eq!(row_counts(&mut conn).await, before);
}

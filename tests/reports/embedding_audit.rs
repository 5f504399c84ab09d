//! `embedding_audit`: chunks, sources and vector sizes per model, and multi-model sources.

use chatledger_query::reports::{EmbeddingModelRow, MultiModelSourceRow, embedding_audit};
use chatledger_tests::TestDatabase;
use diesel_async::AsyncPgConnection;

use crate::fixtures;

/// emb-small: doc/a #0 #1, doc/b #0, faq/1 #0, all 1536 → 4 chunks, 3 sources, [1536].
/// emb-large: doc/a #0 at 3072, doc/c #0 at 3072 and doc/c #1 at 1024 → 3 chunks, 2 sources,
/// [1024, 3072]: mixed. doc/a is embedded by both models.
async fn dataset(connection: &mut AsyncPgConnection) {
    for (chunk, model, dimensions) in [
        (("doc", "a", 0), "emb-small", 1536),
        (("doc", "a", 1), "emb-small", 1536),
        (("doc", "b", 0), "emb-small", 1536),
        (("faq", "1", 0), "emb-small", 1536),
        (("doc", "a", 0), "emb-large", 3072),
        (("doc", "c", 0), "emb-large", 3072),
        (("doc", "c", 1), "emb-large", 1024),
    ] {
        fixtures::embedding(connection, chunk, model, dimensions).await;
    }
}

fn doc_a_in_both() -> MultiModelSourceRow {
    MultiModelSourceRow {
        source_type: "doc".to_owned(),
        source_id: "a".to_owned(),
        models: vec!["emb-large".to_owned(), "emb-small".to_owned()],
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_model_with_two_vector_sizes_is_flagged() {
    let database = TestDatabase::new().await;
    let mut connection = database.connect().await;
    dataset(&mut connection).await;

    let audit = embedding_audit(&mut connection, None).await.unwrap();

    assert_eq!(
        audit.models,
        [
            EmbeddingModelRow {
                model_name: "emb-large".to_owned(),
                chunks: 3,
                sources: 2,
                dimensions: vec![1024, 3072],
                mixed_dimensions: true,
            },
            EmbeddingModelRow {
                model_name: "emb-small".to_owned(),
                chunks: 4,
                sources: 3,
                dimensions: vec![1536],
                mixed_dimensions: false,
            },
        ]
    );
    assert_eq!(audit.multi_model_sources, [doc_a_in_both()]);
    assert!(audit.has_mixed_dimensions());

    let json = serde_json::to_value(&audit).unwrap();
    assert_eq!(
        json["models"][0]["dimensions"],
        serde_json::json!([1024, 3072])
    );
    assert_eq!(json["multi_model_sources"][0]["source_id"], "a");
}

#[tokio::test(flavor = "multi_thread")]
async fn one_model_with_one_size_is_clean() {
    let database = TestDatabase::new().await;
    let mut connection = database.connect().await;
    dataset(&mut connection).await;

    let audit = embedding_audit(&mut connection, Some("emb-small"))
        .await
        .unwrap();

    assert_eq!(audit.models.len(), 1);
    assert_eq!(audit.models[0].model_name, "emb-small");
    assert!(!audit.has_mixed_dimensions());
    // doc/a is still listed: emb-small is one of its two models.
    assert_eq!(audit.multi_model_sources, [doc_a_in_both()]);

    let unknown = embedding_audit(&mut connection, Some("emb-none"))
        .await
        .unwrap();
    assert!(unknown.models.is_empty() && unknown.multi_model_sources.is_empty());
}

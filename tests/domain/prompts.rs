//! Prompt versions: race-free numbering, one active version per name, templates that agree
//! with their declared variables.

use chatledger_domain::Error;
use chatledger_domain::prompts::{self, NewPromptVersion};
use chatledger_domain::template::TemplateError;
use chatledger_schema::schema::prompt_versions;
use chatledger_tests::TestDatabase;
use diesel::{ExpressionMethods, QueryDsl};
use diesel_async::RunQueryDsl;

use crate::support::row_counts;

fn draft(name: &str, marker: usize) -> NewPromptVersion {
    NewPromptVersion::new(
        name,
        format!("Draft {marker}: answer {{{{question}}}}"),
        &["question"],
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn twenty_concurrent_publishes_number_the_versions_one_to_twenty() {
    let database = TestDatabase::new().await;
    let pool = database.pool(20);

    let publishes = (0..20).map(|marker| {
        let pool = pool.clone();
        tokio::spawn(async move {
            let mut conn = pool.get().await.unwrap();
            prompts::publish(&mut conn, draft("support-answer", marker)).await
        })
    });
    let results = futures_util::future::join_all(publishes).await;

    let mut numbers: Vec<i32> = results
        .into_iter()
        .map(|result| result.unwrap().unwrap().version)
        .collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=20).collect::<Vec<_>>());

    let mut conn = pool.get().await.unwrap();
    let stored: Vec<i32> = prompts::versions(&mut conn, "support-answer")
        .await
        .unwrap()
        .iter()
        .map(|v| v.version)
        .collect();
    assert_eq!(stored, (1..=20).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_concurrent_activations_leave_exactly_one_active() {
    let database = TestDatabase::new().await;
    let pool = database.pool(25);
    {
        let mut conn = pool.get().await.unwrap();
        for marker in 0..50 {
            prompts::publish(&mut conn, draft("triage", marker))
                .await
                .unwrap();
        }
    }

    let activations = (1..=50).map(|version| {
        let pool = pool.clone();
        tokio::spawn(async move {
            let mut conn = pool.get().await.unwrap();
            prompts::activate(&mut conn, "triage", version).await
        })
    });
    for result in futures_util::future::join_all(activations).await {
        match result.unwrap() {
            Ok(activated) => assert!(activated.is_active),
            Err(Error::Conflict { .. }) => {}
            Err(other) => panic!("an activation failed with {other:?}"),
        }
    }

    let mut conn = pool.get().await.unwrap();
    let active_count: i64 = prompt_versions::table
        .filter(prompt_versions::name.eq("triage"))
        .filter(prompt_versions::is_active.eq(true))
        .count()
        .get_result(&mut *conn)
        .await
        .unwrap();
    assert_eq!(active_count, 1);
    let served = prompts::active(&mut conn, "triage").await.unwrap();
    assert!(served.is_active);
}

#[tokio::test(flavor = "multi_thread")]
async fn activation_moves_the_active_flag_and_active_reads_it() {
    let database = TestDatabase::new().await;
    let mut conn = database.connect().await;
    let first = prompts::publish(&mut conn, draft("greeting", 1))
        .await
        .unwrap();
    let second = prompts::publish(&mut conn, draft("greeting", 2))
        .await
        .unwrap();

    assert!(matches!(
        prompts::active(&mut conn, "greeting").await,
        Err(Error::NotFound { .. })
    ));
    prompts::activate(&mut conn, "greeting", 1).await.unwrap();
    assert_eq!(
        prompts::active(&mut conn, "greeting").await.unwrap().id,
        first.id
    );
    prompts::activate(&mut conn, "greeting", 2).await.unwrap();
    assert_eq!(
        prompts::active(&mut conn, "greeting").await.unwrap().id,
        second.id
    );
    assert!(
        !prompts::get(&mut conn, "greeting", 1)
            .await
            .unwrap()
            .is_active
    );

    let missing = prompts::activate(&mut conn, "greeting", 3)
        .await
        .unwrap_err();
    assert!(
        matches!(
            missing,
            Error::NotFound {
                entity: "prompt version",
                ..
            }
        ),
        "{missing:?}"
    );
    assert_eq!(
        prompts::active(&mut conn, "greeting").await.unwrap().id,
        second.id
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn publishing_identical_content_returns_the_existing_version() {
    let database = TestDatabase::new().await;
    let mut conn = database.connect().await;

    let first = prompts::publish(&mut conn, draft("faq", 1)).await.unwrap();
    let other = prompts::publish(&mut conn, draft("faq", 2)).await.unwrap();
    let again = prompts::publish(&mut conn, draft("faq", 1)).await.unwrap();
    assert_eq!(again.id, first.id);
    assert_eq!(again.version, 1);
    assert_eq!(other.version, 2);

    let mut for_another_model = draft("faq", 1);
    for_another_model.model_name = Some("bigger-model".to_owned());
    assert_eq!(
        prompts::publish(&mut conn, for_another_model)
            .await
            .unwrap()
            .version,
        3
    );
    assert_eq!(prompts::versions(&mut conn, "faq").await.unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn templates_must_agree_with_their_variables_and_nothing_is_written_otherwise() {
    let database = TestDatabase::new().await;
    let mut conn = database.connect().await;
    let before = row_counts(&mut conn).await;

    let undeclared = NewPromptVersion::new("p", "Hi {{name}}, about {{topic}}", &["name"]);
    let error = prompts::publish(&mut conn, undeclared).await.unwrap_err();
    assert!(
        matches!(&error, Error::Template(TemplateError::SlotsDisagree { undeclared, unused })
            if undeclared == &["topic"] && unused.is_empty()),
        "{error:?}"
    );
    assert!(error.to_string().contains("topic"));

    let unused = NewPromptVersion::new("p", "Hi {{name}}", &["name", "mood"]);
    let error = prompts::publish(&mut conn, unused).await.unwrap_err();
    assert!(
        matches!(&error, Error::Template(TemplateError::SlotsDisagree { unused, .. })
            if unused == &["mood"]),
        "{error:?}"
    );

    let malformed = NewPromptVersion::new("p", "Hi {{first name}}", &[]);
    let error = prompts::publish(&mut conn, malformed).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::Template(TemplateError::MalformedSlot { offset: 3, .. })
        ),
        "{error:?}"
    );

    let blank = NewPromptVersion::new("  ", "Hi", &[]);
    let error = prompts::publish(&mut conn, blank).await.unwrap_err();
    assert!(
        matches!(&error, Error::InvalidInput { field, .. } if field == "name"),
        "{error:?}"
    );

    assert_eq!(row_counts(&mut conn).await, before);
}

#[tokio::test(flavor = "multi_thread")]
async fn rendering_names_the_missing_or_undeclared_variable() {
    let database = TestDatabase::new().await;
    let mut conn = database.connect().await;
    let template = "Dear {{ name }}, re {{topic}}: {{name}}";
    let version = prompts::publish(
        &mut conn,
        NewPromptVersion::new("letter", template, &["name", "topic"]),
    )
    .await
    .unwrap();

    let rendered = version
        .render([("name", "Ada"), ("topic", "{{name}}")])
        .unwrap();
    assert_eq!(rendered, "Dear Ada, re {{name}}: Ada");

    let missing = version.render([("name", "Ada")]).unwrap_err();
    assert_eq!(
        missing,
        TemplateError::MissingVariable {
            name: "topic".to_owned()
        }
    );
    assert!(missing.to_string().contains("topic"));

    let extra = version
        .render([("name", "Ada"), ("topic", "t"), ("mood", "m")])
        .unwrap_err();
    assert_eq!(
        extra,
        TemplateError::UndeclaredVariable {
            name: "mood".to_owned()
        }
    );
}

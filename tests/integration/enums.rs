//! The Rust enums and the Postgres enum types agree label for label, both ways.

use chatledger_schema::schema::sql_types;
use chatledger_schema::{FeedbackRating, MessageRole};
use chatledger_tests::TestDatabase;
use diesel::IntoSql;
use diesel::sql_types::Text;
use diesel_async::RunQueryDsl;

#[tokio::test(flavor = "multi_thread")]
async fn every_variant_round_trips_through_postgres() {
    let database = TestDatabase::new().await;
    let mut connection = database.connect().await;

    for role in MessageRole::ALL {
        let back: MessageRole = diesel::select(role.into_sql::<sql_types::MessageRole>())
            .get_result(&mut connection)
            .await
            .unwrap();
        assert_eq!(back, role);
        let label: String = diesel::select(diesel::dsl::sql::<Text>(&format!(
            "'{}'::message_role::text",
            role.as_str()
        )))
        .get_result(&mut connection)
        .await
        .unwrap();
        assert_eq!(label, role.as_str());
    }
    for rating in FeedbackRating::ALL {
        let back: FeedbackRating = diesel::select(rating.into_sql::<sql_types::FeedbackRating>())
            .get_result(&mut connection)
            .await
            .unwrap();
        assert_eq!(back, rating);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_postgres_types_hold_exactly_the_rust_variants() {
    let database = TestDatabase::new().await;
    let mut connection = database.connect().await;
    let labels = |type_name: &str| {
        diesel::select(diesel::dsl::sql::<diesel::sql_types::Array<Text>>(
            &format!("enum_range(NULL::{type_name})::text[]"),
        ))
    };

    let roles: Vec<String> = labels("message_role")
        .get_result(&mut connection)
        .await
        .unwrap();
    let ratings: Vec<String> = labels("feedback_rating")
        .get_result(&mut connection)
        .await
        .unwrap();

    assert_eq!(roles, MessageRole::ALL.map(|role| role.as_str().to_owned()));
    assert_eq!(
        ratings,
        FeedbackRating::ALL.map(|rating| rating.as_str().to_owned())
    );
}

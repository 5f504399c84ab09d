//! The Rust enums and the Postgres enum types agree label for label, both ways, whether one value
//! is bound (cast to its type by name) or an array of them (carrying the type's OID).

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

#[tokio::test(flavor = "multi_thread")]
async fn a_bound_role_filters_by_its_postgres_type_and_an_array_still_carries_its_oid() {
    use chatledger_domain::conversations::{self, NewConversation};
    use chatledger_domain::messages::{self, NewMessage};
    use chatledger_domain::users::{self, NewUser};
    use chatledger_schema::schema::messages as columns;
    use diesel::{ExpressionMethods, QueryDsl};

    let database = TestDatabase::new().await;
    let mut connection = database.connect().await;
    let owner = users::create(&mut connection, NewUser::new("auth|enum-binds"))
        .await
        .unwrap();
    let thread = conversations::start(&mut connection, NewConversation::new(owner.id))
        .await
        .unwrap();
    for role in MessageRole::ALL {
        let mut message = NewMessage::new(thread.id, role, role.as_str());
        if role == MessageRole::Tool {
            message.tool_call_id = Some("call_1".to_owned());
        }
        messages::append(&mut connection, message).await.unwrap();
    }
    for role in MessageRole::ALL {
        // A single role goes out as `$1::message_role`, with no OID of its own.
        let content: String = columns::table
            .filter(columns::role.eq(role))
            .select(columns::content)
            .get_result(&mut connection)
            .await
            .unwrap();
        assert_eq!(content, role.as_str());
    }
    let not_tool: i64 = columns::table
        .filter(columns::role.ne(MessageRole::Tool))
        .count()
        .get_result(&mut connection)
        .await
        .unwrap();
    assert_eq!(not_tool, 3);

    // An array's binary form holds its element type's OID, so an array still carries it.
    let spoken = [MessageRole::User, MessageRole::Assistant];
    let either: i64 = columns::table
        .filter(columns::role.eq_any(spoken))
        .count()
        .get_result(&mut connection)
        .await
        .unwrap();
    assert_eq!(either, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_bound_roles_compare_in_the_order_of_the_postgres_type_and_not_as_text() {
    use diesel::ExpressionMethods;

    let database = TestDatabase::new().await;
    let mut connection = database.connect().await;

    // Nothing but the cast in the SQL text types these two parameters; as text, "user" sorts
    // after "assistant", and a CASE of two of them would not compare with a role column.
    let user = MessageRole::User.into_sql::<sql_types::MessageRole>();
    let user_first: bool = diesel::select(user.lt(MessageRole::Assistant))
        .get_result(&mut connection)
        .await
        .unwrap();

    assert!(user_first);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_label_from_the_database_is_an_error_and_not_a_panic() {
    let database = TestDatabase::new().await;
    let mut connection = database.connect().await;

    let role = diesel::select(diesel::dsl::sql::<sql_types::MessageRole>("'developer'"))
        .get_result::<MessageRole>(&mut connection)
        .await;
    let rating = diesel::select(diesel::dsl::sql::<sql_types::FeedbackRating>("'meh'"))
        .get_result::<FeedbackRating>(&mut connection)
        .await;

    // The field error names the column; the label is in its source, which Debug shows.
    let role = format!("{:?}", role.unwrap_err());
    assert!(
        role.contains("`developer` is not a message_role label"),
        "{role}"
    );
    let rating = format!("{:?}", rating.unwrap_err());
    assert!(
        rating.contains("`meh` is not a feedback_rating label"),
        "{rating}"
    );
}

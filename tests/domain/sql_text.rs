//! A query that writes its SQL text from the per-process copy says exactly what diesel would
//! have written, and a query whose text depends on its values is never given another's.

use chatledger_domain::MessageRole;
use chatledger_domain::messages::Message;
use chatledger_domain::sql_text::SqlTextCache;
use chatledger_schema::schema::messages;
use chatledger_tests::TestDatabase;
use diesel::QueryResult;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::{ExpressionMethods, QueryDsl, SelectableHelper};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::support::scene;

/// The history page's query, as `messages::history` builds it.
fn history_page(conversation_id: Uuid, after: i32) -> impl QueryFragment<Pg> + QueryId {
    messages::table
        .filter(messages::conversation_id.eq(conversation_id))
        .filter(messages::position.gt(after))
        .order(messages::position.asc())
        .limit(50)
        .select(Message::as_select())
}

/// What diesel sends for `query`, binds included.
fn text(query: &(impl QueryFragment<Pg> + QueryId)) -> String {
    diesel::debug_query::<Pg, _>(query).to_string()
}

#[test]
fn a_query_with_a_static_id_gets_the_text_diesel_writes_on_every_call() {
    for after in [0, 7, 41] {
        let conversation_id = Uuid::now_v7();

        let written = text(&history_page(conversation_id, after));
        let cached = text(&history_page(conversation_id, after).with_cached_sql_text());

        // The values change from call to call; the text diesel writes for them must not.
        assert_eq!(cached, written);
    }
}

#[test]
fn a_boxed_query_writes_its_own_text_even_when_another_of_its_type_came_first() {
    let every_message = messages::table.select(messages::id).into_boxed::<Pg>();
    let answers = messages::table
        .select(messages::id)
        .filter(messages::role.eq(MessageRole::Assistant))
        .into_boxed::<Pg>();
    let answers_text = text(&answers);

    let first = text(&every_message.with_cached_sql_text());
    let second = text(&answers.with_cached_sql_text());

    assert!(!first.contains("WHERE"), "{first}");
    assert_eq!(second, answers_text);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cached_text_query_reads_the_rows_the_plain_one_reads() {
    let database = TestDatabase::new().await;
    let mut conn = database.connect().await;
    let place = scene(&mut conn).await;

    let plain: Vec<Message> = messages::table
        .filter(messages::conversation_id.eq(place.conversation))
        .select(Message::as_select())
        .load(&mut conn)
        .await
        .unwrap();
    let cached: Vec<Message> = messages::table
        .filter(messages::conversation_id.eq(place.conversation))
        .select(Message::as_select())
        .with_cached_sql_text()
        .load(&mut conn)
        .await
        .unwrap();

    assert_eq!(plain.len(), 1);
    assert_eq!(cached, plain);
}

/// A query of a type with a static `QueryId` that refuses to be prepared once. diesel 2.4 gives
/// each of its own such fragments a type without a static id, so this one is written here, as a
/// third-party fragment would be.
#[derive(Debug, QueryId)]
struct NeverPreparedOnce;

impl QueryFragment<Pg> for NeverPreparedOnce {
    fn walk_ast<'b>(&'b self, mut pass: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        pass.unsafe_to_cache_prepared();
        pass.push_sql("SELECT 1");
        Ok(())
    }
}

#[test]
fn a_query_type_that_is_not_prepared_once_stays_so_after_its_first_call() {
    for _call in 0..2 {
        let cached = NeverPreparedOnce.with_cached_sql_text();

        // Were it said to be safe, diesel-async would prepare it once and reuse the statement.
        assert!(!cached.is_safe_to_cache_prepared(&Pg).unwrap());
        assert_eq!(text(&cached), text(&NeverPreparedOnce));
    }
}

#[test]
fn a_query_with_a_kept_text_is_still_prepared_once() {
    let conversation_id = Uuid::now_v7();

    let first = history_page(conversation_id, 0).with_cached_sql_text();
    let later = history_page(conversation_id, 50).with_cached_sql_text();

    // diesel-async prepares a statement once per connection only when the query says so.
    assert!(first.is_safe_to_cache_prepared(&Pg).unwrap());
    assert!(later.is_safe_to_cache_prepared(&Pg).unwrap());
}

//! Fixtures and row counts shared by the domain tests.

use chatledger_domain::conversations::{self, Conversation, NewConversation};
use chatledger_domain::embeddings::{self, NewEmbedding};
use chatledger_domain::messages::{self, NewMessage};
use chatledger_domain::users::{self, NewUser, User};
use diesel::QueryableByName;
use diesel::sql_types::BigInt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

/// A user with a unique external id.
pub async fn user(conn: &mut AsyncPgConnection) -> User {
    let external_id = format!("auth|{}", Uuid::now_v7());
    users::create(conn, NewUser::new(external_id))
        .await
        .unwrap()
}

/// A conversation of `user`.
pub async fn conversation(conn: &mut AsyncPgConnection, user: &User) -> Conversation {
    conversations::start(conn, NewConversation::new(user.id))
        .await
        .unwrap()
}

/// What a test needs in place: a user, a conversation, a message and an embedding.
pub struct Scene {
    pub user: Uuid,
    pub conversation: Uuid,
    pub message: Uuid,
    pub embedding: Uuid,
}

pub async fn scene(conn: &mut AsyncPgConnection) -> Scene {
    let owner = user(conn).await;
    let thread = conversation(conn, &owner).await;
    let message = messages::append(conn, NewMessage::assistant(thread.id, "a"))
        .await
        .unwrap();
    let chunk = NewEmbedding::new("doc", "scene", 0, "text", "embed", 2);
    let embedding = chunk.id;
    embeddings::ingest_one(conn, chunk).await.unwrap();
    Scene {
        user: owner.id,
        conversation: thread.id,
        message: message.id,
        embedding,
    }
}

/// The number of rows of every table, to show that a refused write left nothing behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, QueryableByName)]
pub struct RowCounts {
    #[diesel(sql_type = BigInt)]
    pub users: i64,
    #[diesel(sql_type = BigInt)]
    pub conversations: i64,
    #[diesel(sql_type = BigInt)]
    pub messages: i64,
    #[diesel(sql_type = BigInt)]
    pub prompt_versions: i64,
    #[diesel(sql_type = BigInt)]
    pub embeddings: i64,
    #[diesel(sql_type = BigInt)]
    pub message_retrievals: i64,
    #[diesel(sql_type = BigInt)]
    pub feedback: i64,
}

pub async fn row_counts(conn: &mut AsyncPgConnection) -> RowCounts {
    diesel::sql_query(
        "SELECT (SELECT count(*) FROM users) AS users,
                (SELECT count(*) FROM conversations) AS conversations,
                (SELECT count(*) FROM messages) AS messages,
                (SELECT count(*) FROM prompt_versions) AS prompt_versions,
                (SELECT count(*) FROM embeddings) AS embeddings,
                (SELECT count(*) FROM message_retrievals) AS message_retrievals,
                (SELECT count(*) FROM feedback) AS feedback",
    )
    .get_result(conn)
    .await
    .unwrap()
}

//! Small helpers shared by the integration tests.

use diesel::result::{DatabaseErrorKind, Error};
use diesel_async::{AsyncPgConnection, SimpleAsyncConnection};

/// One `bigint` column named `value`, for queries that compute a single number.
#[derive(diesel::QueryableByName, Debug, PartialEq)]
pub struct Number {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub value: i64,
}

/// Runs `sql`, which selects one `bigint` as `value`, and returns it.
pub async fn number(connection: &mut AsyncPgConnection, sql: &str) -> i64 {
    diesel_async::RunQueryDsl::get_result::<Number>(diesel::sql_query(sql), connection)
        .await
        .unwrap()
        .value
}

/// Runs `sql` (one or more statements) and returns diesel's error, if any.
pub async fn run_sql(connection: &mut AsyncPgConnection, sql: &str) -> Result<(), Error> {
    connection.batch_execute(sql).await
}

/// Asserts that `result` is a database error raised by the constraint (or trigger-raised
/// constraint name) `constraint`, and returns its message.
#[track_caller]
pub fn assert_refused_by<T: std::fmt::Debug>(result: Result<T, Error>, constraint: &str) -> String {
    match result {
        Err(Error::DatabaseError(kind, info)) => {
            assert_eq!(
                info.constraint_name(),
                Some(constraint),
                "refused, but by {kind:?} {:?}: {}",
                info.constraint_name(),
                info.message()
            );
            info.message().to_owned()
        }
        other => panic!("expected a refusal by {constraint}, got {other:?}"),
    }
}

/// Asserts that `result` failed with the database error kind `expected`.
#[track_caller]
pub fn assert_error_kind<T: std::fmt::Debug>(
    result: Result<T, Error>,
    expected: DatabaseErrorKind,
) {
    match result {
        Err(Error::DatabaseError(kind, info)) => assert_eq!(
            std::mem::discriminant(&kind),
            std::mem::discriminant(&expected),
            "{kind:?}: {}",
            info.message()
        ),
        other => panic!("expected a database error {expected:?}, got {other:?}"),
    }
}

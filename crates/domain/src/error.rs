//! The one error type of every operation, so that a caller can match on what went wrong instead
//! of reading PostgreSQL's messages.
//!
//! Which variant goes where:
//!
//! - [`Error::InvalidInput`]: the input broke a rule that is checked before anything is sent
//!   (a NUL byte, a negative count, a blank or overlong name, a page size out of range, a tool
//!   call on a user message). Nothing was written.
//! - [`Error::SecretRefused`]: a metadata document held a key or a value that looks like a
//!   credential. The error carries the JSON path, never the value. Nothing was written.
//! - [`Error::Template`]: a prompt template and its declared variables disagree, a slot is
//!   malformed, or rendering was given too few or too many variables.
//! - [`Error::DimensionMismatch`]: an embedding's size differs from the one already recorded for
//!   its model, or a batch mixes sizes for one model.
//! - [`Error::NotFound`]: the row asked for does not exist, including a foreign key that points
//!   at nothing (a message for a missing conversation, a retrieval of a missing embedding).
//! - [`Error::Conflict`]: a unique rule of the schema would be broken (a second user with the same
//!   external id, a rank used twice for one message, a second active prompt version).
//! - [`Error::ConnectionLost`]: the connection broke under a running operation, or the server
//!   ended the session (terminated backend, shutdown, restart).
//! - [`Error::Database`]: anything else PostgreSQL or the connection reported.
//! - [`Error::Pool`]: no connection could be taken from the pool, including because the server
//!   cannot be reached.
//!
//! Constraint violations that input can still cause are translated by [`Error::from`], so a raw
//! unique or foreign-key violation does not reach the caller for the cases listed above.
//!
//! [`Error::is_retryable`] tells the failures that may pass on a second try (a lost connection,
//! an unreachable server, a serialization failure, a deadlock) from those that will fail the same
//! way again.

use std::fmt;

use diesel::pg::sql_state;
use diesel::result::{
    ConnectionError, DatabaseErrorInformation, DatabaseErrorKind, SqlState, SqlStateClass,
};
use diesel_async::pooled_connection::PoolError as ManagerError;

use crate::pool::PoolError;

use crate::template::TemplateError;

/// What went wrong in a chatledger operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The row does not exist.
    #[error("{entity} {key} not found")]
    NotFound {
        /// What was looked for, e.g. `conversation`.
        entity: &'static str,
        /// The id or name it was looked for by.
        key: String,
    },
    /// Writing would break a unique rule of the schema.
    #[error("{entity} conflicts with an existing one: {reason}")]
    Conflict {
        /// What was being written, e.g. `user`.
        entity: &'static str,
        /// Which rule, in words.
        reason: &'static str,
    },
    /// The input broke a rule; nothing was written.
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// The field, as a path when it is nested (`messages[2].content`).
        field: String,
        /// What is wrong with it.
        reason: InvalidReason,
    },
    /// A metadata document holds something shaped like a credential; nothing was written.
    #[error("{path} looks like a secret and was refused")]
    SecretRefused {
        /// Where it is, e.g. `metadata.auth.api_key`. The value is never repeated.
        path: String,
    },
    /// A prompt template is malformed or was rendered with the wrong variables.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// An embedding's size differs from the one recorded for its model.
    #[error("model {model} embeds into {recorded} dimensions, not {given}")]
    DimensionMismatch {
        /// The embedding model.
        model: String,
        /// The size already recorded (or, within one batch, the first one seen).
        recorded: i32,
        /// The size that was refused.
        given: i32,
    },
    /// The connection broke during the operation, or the server ended the session (a
    /// terminated backend, a shutdown or restart). A transaction that was not committed was
    /// rolled back by the server; when the connection broke during the commit itself, the outcome
    /// is unknown to the client (see [`Error::is_retryable`]).
    #[error("the database connection was lost: {0}")]
    ConnectionLost(diesel::result::Error),
    /// PostgreSQL or the connection failed in a way input does not explain.
    #[error("database error: {0}")]
    Database(diesel::result::Error),
    /// No connection could be taken from the pool: every one was busy for the whole wait, or a
    /// new one could not be opened (the server is down, refuses logins, or the URL is wrong).
    #[error("no database connection available: {0}")]
    Pool(#[from] PoolError),
}

/// Why an input was refused, for [`Error::InvalidInput`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvalidReason {
    /// Text holds a NUL byte, which PostgreSQL cannot store.
    NulByte,
    /// A count or duration is below zero.
    Negative,
    /// A name is empty or only whitespace.
    Blank,
    /// Text is longer than an indexed column allows.
    TooLong {
        /// The most bytes allowed.
        max_bytes: usize,
    },
    /// A number is outside the range allowed.
    OutOfRange {
        /// The smallest value allowed.
        min: i64,
        /// The largest value allowed.
        max: i64,
    },
    /// A floating-point value is NaN or infinite.
    NotFinite,
    /// A metadata document is not a JSON object.
    NotAnObject,
    /// A JSON document nests deeper than allowed.
    TooDeep {
        /// The deepest nesting allowed.
        max: usize,
    },
    /// Deserialised input could not be read, e.g. an unknown enum label.
    Unreadable(String),
    /// A rule of the schema, in words.
    Rule(&'static str),
}

impl fmt::Display for InvalidReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NulByte => f.write_str("contains a NUL byte"),
            Self::Negative => f.write_str("must not be negative"),
            Self::Blank => f.write_str("must not be blank"),
            Self::TooLong { max_bytes } => write!(f, "must be at most {max_bytes} bytes long"),
            Self::OutOfRange { min, max } => write!(f, "must be between {min} and {max}"),
            Self::NotFinite => f.write_str("must be a finite number"),
            Self::NotAnObject => f.write_str("must be a JSON object"),
            Self::TooDeep { max } => write!(f, "nests deeper than {max} levels"),
            Self::Unreadable(why) => write!(f, "cannot be read: {why}"),
            Self::Rule(rule) => f.write_str(rule),
        }
    }
}

impl Error {
    /// Whether the same call, made again as it is, may succeed: the failure came from the
    /// connection, the server's state or a race with another transaction, not from the input.
    ///
    /// True for a pool wait or connect that timed out, a server that cannot be reached or is
    /// starting up or shutting down, a connection that was closed or broken, a session the server
    /// ended (`pg_terminate_backend`, shutdown), a serialization failure and a deadlock. False for
    /// everything that input or the data explains: invalid input, refused secrets, template
    /// errors, conflicts, missing rows, other database errors (a cancelled statement included: it
    /// would time out again), a closed pool, and refused logins.
    ///
    /// Retrying a write as it is stays safe when the connection broke during the commit, the one
    /// case where the client cannot know whether the transaction committed: rows carry ids that
    /// the caller chose, so a retry of a write that did commit fails with [`Error::Conflict`]
    /// (`the id is taken`) instead of writing twice.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::ConnectionLost(_) => true,
            Self::Database(error) => is_transient_conflict(error),
            Self::Pool(error) => is_transient_pool_failure(error),
            Self::NotFound { .. }
            | Self::Conflict { .. }
            | Self::InvalidInput { .. }
            | Self::SecretRefused { .. }
            | Self::Template(_)
            | Self::DimensionMismatch { .. } => false,
        }
    }

    /// An [`Error::InvalidInput`] for `field`.
    pub(crate) fn invalid(field: impl Into<String>, reason: InvalidReason) -> Self {
        Self::InvalidInput {
            field: field.into(),
            reason,
        }
    }

    /// An [`Error::NotFound`] for `entity` looked up by `key`.
    pub(crate) fn not_found(entity: &'static str, key: impl fmt::Display) -> Self {
        Self::NotFound {
            entity,
            key: key.to_string(),
        }
    }

    /// Turns diesel's "no row" into [`Error::NotFound`] and passes every other error through.
    pub(crate) fn or_not_found(
        error: diesel::result::Error,
        entity: &'static str,
        key: impl fmt::Display,
    ) -> Self {
        match error {
            diesel::result::Error::NotFound => Self::not_found(entity, key),
            other => Self::from(other),
        }
    }
}

impl From<diesel::result::Error> for Error {
    fn from(error: diesel::result::Error) -> Self {
        if is_lost_connection(&error) {
            return Self::ConnectionLost(error);
        }
        match error {
            diesel::result::Error::DatabaseError(kind, info) => translate(kind, info),
            other => Self::Database(other),
        }
    }
}

/// Whether `error` says the session is gone: the client could not talk to the server, or the
/// server ended the session. A failed commit counts when its own error does.
fn is_lost_connection(error: &diesel::result::Error) -> bool {
    use diesel::result::Error as Diesel;

    match error {
        Diesel::DatabaseError(
            DatabaseErrorKind::UnableToSendCommand | DatabaseErrorKind::ClosedConnection,
            _,
        )
        | Diesel::BrokenTransactionManager => true,
        Diesel::DatabaseError(_, info) => info.sqlstate().is_some_and(ends_the_session),
        Diesel::RollbackErrorOnCommit { commit_error, .. } => is_lost_connection(commit_error),
        _ => false,
    }
}

/// The SQLSTATEs with which the server ends a session, or refuses one while it is not ready.
fn ends_the_session(code: SqlState) -> bool {
    code.class() == SqlStateClass::CONNECTION_EXCEPTION
        || matches!(
            code,
            sql_state::ADMIN_SHUTDOWN
                | sql_state::CRASH_SHUTDOWN
                | sql_state::CANNOT_CONNECT_NOW
                | sql_state::IDLE_SESSION_TIMEOUT
                | sql_state::TOO_MANY_CONNECTIONS
        )
}

/// A transaction lost a race with another one and may pass when run again.
fn is_transient_conflict(error: &diesel::result::Error) -> bool {
    match error {
        diesel::result::Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => true,
        diesel::result::Error::DatabaseError(_, info) => info.sqlstate().is_some_and(|code| {
            matches!(
                code,
                sql_state::T_R_SERIALIZATION_FAILURE | sql_state::T_R_DEADLOCK_DETECTED
            )
        }),
        diesel::result::Error::RollbackErrorOnCommit { commit_error, .. } => {
            is_transient_conflict(commit_error)
        }
        _ => false,
    }
}

/// A pool failure that waiting or reconnecting can cure, as opposed to a closed pool or a
/// server that refuses these credentials.
fn is_transient_pool_failure(error: &PoolError) -> bool {
    match error {
        PoolError::Timeout(_) => true,
        PoolError::Backend(ManagerError::QueryError(_)) => true,
        PoolError::Backend(ManagerError::ConnectionError(
            ConnectionError::CouldntSetupConfiguration(cause),
        )) => is_lost_connection(cause),
        PoolError::Backend(ManagerError::ConnectionError(_))
        | PoolError::Closed
        | PoolError::NoRuntimeSpecified
        | PoolError::PostCreateHook(_) => false,
    }
}

/// Maps the violations that input can cause to typed errors, by constraint name.
fn translate(
    kind: DatabaseErrorKind,
    info: Box<dyn DatabaseErrorInformation + Send + Sync>,
) -> Error {
    let constraint = info.constraint_name().unwrap_or_default();
    match kind {
        DatabaseErrorKind::UniqueViolation => {
            if let Some((entity, reason)) = unique_rule(constraint) {
                return Error::Conflict { entity, reason };
            }
        }
        DatabaseErrorKind::ForeignKeyViolation => {
            if let Some(entity) = referenced_entity(constraint) {
                let key = uuid_in(info.details()).or_else(|| uuid_in(Some(info.message())));
                return Error::NotFound {
                    entity,
                    key: key.unwrap_or_default(),
                };
            }
        }
        _ => {}
    }
    Error::Database(diesel::result::Error::DatabaseError(kind, info))
}

fn unique_rule(constraint: &str) -> Option<(&'static str, &'static str)> {
    Some(match constraint {
        "users_external_id_key" => ("user", "external_id is taken"),
        "prompt_versions_one_active_per_name" => {
            ("prompt version", "another version of this name is active")
        }
        "prompt_versions_name_version_key" => ("prompt version", "this version number exists"),
        "message_retrievals_pkey" => (
            "retrieval",
            "the embedding is already recorded for the message",
        ),
        "message_retrievals_message_rank_key" => ("retrieval", "the rank is taken for the message"),
        "messages_pkey" => ("message", "the id is taken"),
        "users_pkey" => ("user", "the id is taken"),
        "conversations_pkey" => ("conversation", "the id is taken"),
        "prompt_versions_pkey" => ("prompt version", "the id is taken"),
        "feedback_pkey" => ("feedback", "the id is taken"),
        _ => return None,
    })
}

fn referenced_entity(constraint: &str) -> Option<&'static str> {
    Some(match constraint {
        "messages_conversation_id_fkey" => "conversation",
        "conversations_user_id_fkey"
        | "feedback_user_id_fkey"
        | "prompt_versions_created_by_fkey" => "user",
        "message_retrievals_message_id_fkey" | "feedback_message_id_fkey" => "message",
        "message_retrievals_embedding_id_fkey" => "embedding",
        "messages_prompt_version_id_fkey" => "prompt version",
        _ => return None,
    })
}

/// The first UUID in a server message such as `Key (message_id)=(…) is not present …`.
fn uuid_in(text: Option<&str>) -> Option<String> {
    text?
        .split(|c: char| !(c.is_ascii_hexdigit() || c == '-'))
        .find_map(|word| uuid::Uuid::parse_str(word).ok())
        .map(|id| id.to_string())
}

#[cfg(test)]
mod tests {
    use deadpool::managed::TimeoutType;

    use super::*;

    /// A server error that carries only a SQLSTATE, as PostgreSQL reports one.
    struct ServerError(SqlState);

    impl DatabaseErrorInformation for ServerError {
        fn message(&self) -> &str {
            "the server refused"
        }
        fn details(&self) -> Option<&str> {
            None
        }
        fn hint(&self) -> Option<&str> {
            None
        }
        fn table_name(&self) -> Option<&str> {
            None
        }
        fn column_name(&self) -> Option<&str> {
            None
        }
        fn constraint_name(&self) -> Option<&str> {
            None
        }
        fn statement_position(&self) -> Option<i32> {
            None
        }
        fn sqlstate(&self) -> Option<SqlState> {
            Some(self.0)
        }
    }

    fn server(kind: DatabaseErrorKind, code: SqlState) -> diesel::result::Error {
        diesel::result::Error::DatabaseError(kind, Box::new(ServerError(code)))
    }

    fn driver(kind: DatabaseErrorKind) -> diesel::result::Error {
        diesel::result::Error::DatabaseError(kind, Box::new("connection closed".to_owned()))
    }

    #[test]
    fn a_session_the_server_ended_is_a_lost_connection_and_retryable() {
        for error in [
            server(DatabaseErrorKind::Unknown, sql_state::ADMIN_SHUTDOWN),
            server(DatabaseErrorKind::Unknown, sql_state::CANNOT_CONNECT_NOW),
            server(DatabaseErrorKind::Unknown, sql_state::CONNECTION_FAILURE),
            driver(DatabaseErrorKind::UnableToSendCommand),
            driver(DatabaseErrorKind::ClosedConnection),
            diesel::result::Error::BrokenTransactionManager,
        ] {
            let error = Error::from(error);
            assert!(matches!(error, Error::ConnectionLost(_)), "{error:?}");
            assert!(error.is_retryable(), "{error:?}");
        }
    }

    #[test]
    fn races_between_transactions_are_retryable_database_errors() {
        for error in [
            server(
                DatabaseErrorKind::SerializationFailure,
                sql_state::T_R_SERIALIZATION_FAILURE,
            ),
            server(DatabaseErrorKind::Unknown, sql_state::T_R_DEADLOCK_DETECTED),
        ] {
            let error = Error::from(error);
            assert!(matches!(error, Error::Database(_)), "{error:?}");
            assert!(error.is_retryable(), "{error:?}");
        }
    }

    #[test]
    fn what_input_or_data_explains_is_not_retryable() {
        for error in [
            server(DatabaseErrorKind::Unknown, sql_state::QUERY_CANCELED),
            server(
                DatabaseErrorKind::CheckViolation,
                sql_state::CHECK_VIOLATION,
            ),
            server(
                DatabaseErrorKind::UniqueViolation,
                sql_state::UNIQUE_VIOLATION,
            ),
            diesel::result::Error::NotFound,
        ] {
            assert!(!Error::from(error).is_retryable());
        }
        assert!(!Error::not_found("user", "u").is_retryable());
        assert!(!Error::invalid("name", InvalidReason::Blank).is_retryable());
    }

    #[test]
    fn an_unreachable_server_is_retryable_and_a_refused_login_is_not() {
        let setup_failed = |cause| PoolError::Backend(ManagerError::ConnectionError(cause));
        let refused = setup_failed(ConnectionError::CouldntSetupConfiguration(driver(
            DatabaseErrorKind::UnableToSendCommand,
        )));
        let bad_password = setup_failed(ConnectionError::CouldntSetupConfiguration(server(
            DatabaseErrorKind::Unknown,
            sql_state::INVALID_PASSWORD,
        )));
        let bad_url = setup_failed(ConnectionError::InvalidConnectionUrl("x".to_owned()));

        assert!(Error::from(refused).is_retryable());
        assert!(Error::from(PoolError::Timeout(TimeoutType::Wait)).is_retryable());
        assert!(!Error::from(bad_password).is_retryable());
        assert!(!Error::from(bad_url).is_retryable());
        assert!(!Error::from(PoolError::Closed).is_retryable());
    }
}

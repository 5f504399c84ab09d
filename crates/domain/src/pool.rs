//! The connection pool every operation runs on: deadpool over diesel-async connections.
//!
//! Each new connection passes through one setup step before the pool hands it out: it names
//! itself (`application_name`, so that `pg_stat_activity` shows who is connected) and, when
//! configured, sets a `statement_timeout`, so that a runaway report is cancelled by the server
//! instead of holding a connection forever.
//!
//! The setup hook is [`PoolConfig::application_name`] and [`PoolConfig::statement_timeout`]:
//! both are sent with `set_config(name, value, false)`, as bound parameters, once per physical
//! connection, so they hold for the session and survive recycling. Operations take
//! `&mut AsyncPgConnection`; a pooled connection gives one with `&mut *pooled`.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//!
//! let mut config = chatledger_domain::PoolConfig::new("postgres://app@db/chatledger");
//! config.max_size = 20;
//! config.application_name = "support-bot".to_owned();
//! config.statement_timeout = Some(Duration::from_secs(30));
//! let pool = config.build()?;
//!
//! let mut pooled = pool.get().await?;
//! let user = chatledger_domain::users::find(&mut pooled, uuid::Uuid::nil()).await?;
//! # drop(user);
//! # Ok(())
//! # }
//! ```

use std::time::Duration;

use diesel::ConnectionResult;
use diesel::sql_types::Text;
pub use diesel_async::pooled_connection::deadpool::PoolError;
use diesel_async::pooled_connection::deadpool::{BuildError, Object, Pool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;

/// The pool of connections that every chatledger operation takes one from.
pub type PgPool = Pool<AsyncPgConnection>;

/// A connection borrowed from a [`PgPool`]; it goes back when dropped.
pub type PooledConnection = Object<AsyncPgConnection>;

/// How to build a [`PgPool`]. Start from [`PoolConfig::new`] and change what you need.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// A `postgres://` URL. It may hold a password; chatledger never logs it.
    pub database_url: String,
    /// Most connections open at once.
    pub max_size: usize,
    /// How long a caller waits for a free connection before [`deadpool`] gives up.
    pub wait_timeout: Option<Duration>,
    /// How long opening a new connection (including its setup) may take.
    pub create_timeout: Option<Duration>,
    /// How long the health check of a returned connection may take.
    pub recycle_timeout: Option<Duration>,
    /// Shown as `application_name` in `pg_stat_activity`.
    pub application_name: String,
    /// The server cancels any statement that runs longer; `None` leaves the server's default.
    pub statement_timeout: Option<Duration>,
}

impl PoolConfig {
    /// Ten connections, five-second waits, named `chatledger`, no statement timeout.
    pub fn new(database_url: impl Into<String>) -> Self {
        Self {
            database_url: database_url.into(),
            max_size: 10,
            wait_timeout: Some(Duration::from_secs(5)),
            create_timeout: Some(Duration::from_secs(5)),
            recycle_timeout: Some(Duration::from_secs(5)),
            application_name: "chatledger".to_owned(),
            statement_timeout: None,
        }
    }

    /// Builds the pool. No connection is opened until the first one is asked for.
    pub fn build(&self) -> Result<PgPool, BuildError> {
        let setup = ConnectionSetup {
            application_name: self.application_name.clone(),
            statement_timeout: self.statement_timeout,
        };
        let mut manager_config = ManagerConfig::default();
        manager_config.recycling_method = RecyclingMethod::Verified;
        manager_config.custom_setup = Box::new(move |url| setup.clone().connect(url));
        let manager = AsyncDieselConnectionManager::new_with_config(
            self.database_url.clone(),
            manager_config,
        );

        Pool::builder(manager)
            .max_size(self.max_size)
            .wait_timeout(self.wait_timeout)
            .create_timeout(self.create_timeout)
            .recycle_timeout(self.recycle_timeout)
            .runtime(deadpool::Runtime::Tokio1)
            .build()
    }
}

/// What every new connection runs before the pool hands it out.
#[derive(Debug, Clone)]
struct ConnectionSetup {
    application_name: String,
    statement_timeout: Option<Duration>,
}

impl ConnectionSetup {
    fn connect(self, url: &str) -> BoxFuture<'_, ConnectionResult<AsyncPgConnection>> {
        async move {
            let mut connection = AsyncPgConnection::establish(url).await?;
            // Keeping the typed error (not its text) lets `Error::is_retryable` tell a server
            // that went away during setup from one that refused the settings.
            self.apply(&mut connection)
                .await
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
            Ok(connection)
        }
        .boxed()
    }

    /// Sets the session parameters with bound values, so that no name can inject SQL.
    async fn apply(&self, connection: &mut AsyncPgConnection) -> diesel::QueryResult<()> {
        set_session_parameter(connection, "application_name", &self.application_name).await?;
        if let Some(timeout) = self.statement_timeout {
            let milliseconds = timeout.as_millis().to_string();
            set_session_parameter(connection, "statement_timeout", &milliseconds).await?;
        }
        Ok(())
    }
}

async fn set_session_parameter(
    connection: &mut AsyncPgConnection,
    name: &str,
    value: &str,
) -> diesel::QueryResult<()> {
    diesel::sql_query("SELECT set_config($1, $2, false)")
        .bind::<Text, _>(name)
        .bind::<Text, _>(value)
        .execute(connection)
        .await
        .map(drop)
}

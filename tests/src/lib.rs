//! The test harness: every test gets a database of its own, on a real PostgreSQL server.
//!
//! `DATABASE_URL` names a server where tests may create databases. Without it, one throwaway
//! server is started per test process from the machine's binaries ([`chatledger_tempdb`]).
//!
//! The migrations run once, into a template database named after a hash of `migrations/`, under
//! an advisory lock, so that concurrent test processes build it once and a changed migration
//! gets a new template. Each test then clones it (`CREATE DATABASE … TEMPLATE`, a file copy) and
//! drops its clone when the [`TestDatabase`] is dropped, panics included. Tests therefore commit
//! for real, run in parallel, and never see each other's rows.

#![expect(
    clippy::expect_used,
    clippy::panic,
    reason = "a harness that cannot set up must fail the test"
)]

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;
use std::sync::OnceLock;

use chatledger_domain::{PgPool, PoolConfig};
use chatledger_tempdb::ThrowawayPostgres;
use diesel::sql_types::BigInt;
use diesel::{Connection, PgConnection, RunQueryDsl};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use url::Url;

/// The folder of the migrations, relative to this crate.
const MIGRATIONS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations");

/// Serialises template creation across test processes.
const TEMPLATE_LOCK_KEY: i64 = 0x7465_6d70_6c61_7465;

/// The server the tests of this process use.
#[derive(Debug)]
struct Server {
    /// A URL of the server's `postgres` database (or whichever `DATABASE_URL` names).
    admin_url: Url,
    /// The migrated template that test databases are cloned from.
    template: String,
    /// Keeps a throwaway server alive for the life of the process.
    _throwaway: Option<ThrowawayPostgres>,
}

static SERVER: OnceLock<Server> = OnceLock::new();

fn server() -> &'static Server {
    SERVER.get_or_init(|| {
        let (admin_url, throwaway) = match std::env::var("DATABASE_URL") {
            Ok(url) if !url.is_empty() => (url, None),
            _ => {
                let server = ThrowawayPostgres::start()
                    .unwrap_or_else(|error| panic!("DATABASE_URL is unset and {error}"));
                (server.url("postgres"), Some(server))
            }
        };
        let admin_url = Url::parse(&admin_url).expect("DATABASE_URL is a postgres:// URL");
        let template = ensure_template(&admin_url);
        Server {
            admin_url,
            template,
            _throwaway: throwaway,
        }
    })
}

/// The name of the template for the current migrations, created if no process has yet.
fn ensure_template(admin_url: &Url) -> String {
    let template = format!("chatledger_template_{:016x}", migrations_hash());
    let mut admin = PgConnection::establish(admin_url.as_str())
        .unwrap_or_else(|error| panic!("cannot reach the test server: {error}"));

    lock(&mut admin, "pg_advisory_lock");
    if !database_exists(&mut admin, &template) {
        // Build under a scratch name and rename, so a half-built template is never used.
        let building = format!("{template}_building");
        execute(&mut admin, &format!("DROP DATABASE IF EXISTS {building}"));
        execute(&mut admin, &format!("CREATE DATABASE {building}"));
        chatledger_domain::migrations::run_pending_blocking(
            with_database(admin_url, &building).as_str(),
        )
        .expect("the migrations apply to an empty database");
        execute(
            &mut admin,
            &format!("ALTER DATABASE {building} RENAME TO {template}"),
        );
        execute(
            &mut admin,
            &format!("ALTER DATABASE {template} WITH ALLOW_CONNECTIONS false IS_TEMPLATE true"),
        );
    }
    lock(&mut admin, "pg_advisory_unlock");
    template
}

/// How many migrations the repository holds (directories of `migrations/` with an `up.sql`),
/// which the library must embed, every one.
pub fn migration_directories() -> usize {
    std::fs::read_dir(MIGRATIONS_DIR)
        .expect("the migrations folder is readable")
        .flatten()
        .filter(|entry| entry.path().join("up.sql").is_file())
        .count()
}

fn migrations_hash() -> u64 {
    let mut paths: Vec<_> = walk(Path::new(MIGRATIONS_DIR));
    paths.sort();
    let mut hasher = DefaultHasher::new();
    for path in paths {
        path.strip_prefix(MIGRATIONS_DIR)
            .unwrap_or(&path)
            .hash(&mut hasher);
        std::fs::read(&path)
            .expect("migration files are readable")
            .hash(&mut hasher);
    }
    hasher.finish()
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let entries = std::fs::read_dir(dir).expect("the migrations folder is readable");
    entries
        .flatten()
        .flat_map(|entry| {
            let path = entry.path();
            if path.is_dir() {
                walk(&path)
            } else {
                vec![path]
            }
        })
        .collect()
}

/// A database of a test's own, cloned from the migrated template and dropped with this value.
#[derive(Debug)]
pub struct TestDatabase {
    name: String,
    url: Url,
}

impl TestDatabase {
    /// A fresh, fully migrated database.
    pub async fn new() -> Self {
        tokio::task::spawn_blocking(|| Self::create(true))
            .await
            .expect("database creation ran")
    }

    /// A fresh database with no migrations applied, for the migration tests.
    pub async fn empty() -> Self {
        tokio::task::spawn_blocking(|| Self::create(false))
            .await
            .expect("database creation ran")
    }

    fn create(migrated: bool) -> Self {
        let server = server();
        let name = format!("chatledger_test_{}", uuid::Uuid::now_v7().simple());
        let mut admin = PgConnection::establish(server.admin_url.as_str())
            .unwrap_or_else(|error| panic!("cannot reach the test server: {error}"));
        let template = if migrated {
            server.template.as_str()
        } else {
            "template0"
        };
        execute(
            &mut admin,
            &format!("CREATE DATABASE {name} TEMPLATE {template}"),
        );
        Self {
            url: with_database(&server.admin_url, &name),
            name,
        }
    }

    /// The database's connection URL.
    pub fn url(&self) -> &str {
        self.url.as_str()
    }

    /// The database's URL with another user name, for connecting as a least-privilege role.
    pub fn url_as(&self, user: &str) -> String {
        let mut url = self.url.clone();
        url.set_username(user)
            .expect("a postgres:// URL takes a user name");
        url.set_password(None)
            .expect("a postgres:// URL takes a password");
        url.to_string()
    }

    /// Runs `sql` on the server's admin database, for server-wide objects such as roles.
    pub fn run_on_server(&self, sql: &str) {
        let mut admin = PgConnection::establish(server().admin_url.as_str())
            .unwrap_or_else(|error| panic!("cannot reach the test server: {error}"));
        execute(&mut admin, sql);
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A new connection of its own.
    pub async fn connect(&self) -> AsyncPgConnection {
        AsyncPgConnection::establish(self.url.as_str())
            .await
            .expect("the test database accepts connections")
    }

    /// A chatledger pool of at most `max_size` connections.
    pub fn pool(&self, max_size: usize) -> PgPool {
        let mut config = PoolConfig::new(self.url.as_str());
        config.max_size = max_size;
        config.application_name = format!("chatledger-test-{}", self.name);
        config.build().expect("the pool builds")
    }

    /// Runs `command` (a program from the server's bin folder or `PATH`) with `PG*` variables
    /// pointing at this database, and returns its standard output.
    pub fn run_client_tool(&self, program: &str, args: &[&str]) -> String {
        let output = std::process::Command::new(program)
            .args(args)
            .env("PGHOST", self.url.host_str().unwrap_or("127.0.0.1"))
            .env("PGPORT", self.url.port().unwrap_or(5432).to_string())
            .env("PGUSER", self.url.username())
            .env("PGPASSWORD", self.url.password().unwrap_or(""))
            .env("PGDATABASE", &self.name)
            .output()
            .unwrap_or_else(|error| panic!("cannot run {program}: {error}"));
        assert!(
            output.status.success(),
            "{program} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("client tools print UTF-8")
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some(server) = SERVER.get() else { return };
        match PgConnection::establish(server.admin_url.as_str()) {
            Ok(mut admin) => {
                let drop_sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
                if let Err(error) = diesel::sql_query(drop_sql).execute(&mut admin) {
                    eprintln!("could not drop test database {}: {error}", self.name);
                }
            }
            Err(error) => eprintln!("could not drop test database {}: {error}", self.name),
        }
    }
}

fn with_database(url: &Url, database: &str) -> Url {
    let mut url = url.clone();
    url.set_path(database);
    url
}

fn database_exists(admin: &mut PgConnection, name: &str) -> bool {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        count: i64,
    }
    let found: Count =
        diesel::sql_query("SELECT count(*) AS count FROM pg_database WHERE datname = $1")
            .bind::<diesel::sql_types::Text, _>(name)
            .get_result(admin)
            .expect("pg_database is readable");
    found.count > 0
}

fn lock(admin: &mut PgConnection, function: &str) {
    diesel::sql_query(format!("SELECT {function}($1)"))
        .bind::<BigInt, _>(TEMPLATE_LOCK_KEY)
        .execute(admin)
        .unwrap_or_else(|error| panic!("{function} failed: {error}"));
}

fn execute(admin: &mut PgConnection, sql: &str) {
    diesel::sql_query(sql)
        .execute(admin)
        .unwrap_or_else(|error| panic!("{sql}: {error}"));
}

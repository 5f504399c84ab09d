//! A throwaway PostgreSQL server for the test harness and for `chatledger demo`.
//!
//! It runs the machine's own `initdb` and `pg_ctl` (Debian keeps them off `PATH`, in the folder
//! that `pg_config --bindir` names) on a fresh data directory and a free loopback port. PostgreSQL
//! refuses to run as root, so under root the server runs as the `postgres` user through
//! `runuser`, which every Debian system has; `sudo` is not needed.
//!
//! The server goes away when [`ThrowawayPostgres`] is dropped, and also when the process that
//! started it dies without dropping it (a panic in a static, a kill): a small watcher process
//! holds the read end of a pipe whose write end only this process holds, and stops the server and
//! removes its directory as soon as that pipe closes.

use std::io;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};

use tempfile::TempDir;

/// Why a throwaway server could not be started, stopped or started again.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// No PostgreSQL server binaries were found.
    #[error(
        "no PostgreSQL server binaries found (looked for initdb via pg_config --bindir and in \
         /usr/lib/postgresql/*/bin); install postgresql or set CHATLEDGER_PG_BINDIR"
    )]
    BinariesNotFound,
    /// Running as root, but there is no `postgres` user to run the server as.
    #[error("running as root, and PostgreSQL will not: no `postgres` user exists to run it as")]
    NoPostgresUser,
    /// A step failed at the operating-system level.
    #[error("could not {step}: {source}")]
    Io {
        /// What was being done.
        step: &'static str,
        /// The underlying error.
        source: io::Error,
    },
    /// `initdb` or `pg_ctl` exited with an error.
    #[error("{program} failed: {output}")]
    ServerTool {
        /// The program that failed.
        program: &'static str,
        /// What it printed (PostgreSQL's own messages, which hold no secrets here).
        output: String,
    },
}

/// A running throwaway PostgreSQL server, reachable with trust authentication as `postgres`.
#[derive(Debug)]
pub struct ThrowawayPostgres {
    port: u16,
    pg_ctl: PathBuf,
    run_as: RunAs,
    directory_path: PathBuf,
    server_options: String,
    /// Closing this pipe tells the watcher to stop the server and remove its directory.
    watcher_stdin: Option<ChildStdin>,
    watcher: Child,
    /// Kept so the directory outlives the server; the watcher deletes it, this is the fallback.
    _directory: TempDir,
}

impl ThrowawayPostgres {
    /// Creates a cluster in a new temporary directory and starts it on a free port of
    /// 127.0.0.1, waiting until it accepts connections.
    pub fn start() -> Result<Self, ServerError> {
        let bindir = find_bindir()?;
        let run_as = RunAs::detect()?;
        let directory = tempfile::Builder::new()
            .prefix("chatledger-pg-")
            .tempdir()
            .map_err(|source| ServerError::Io {
                step: "create a temporary directory",
                source,
            })?;
        run_as.give_ownership(directory.path())?;
        let data = directory.path().join("data");

        let _span =
            tracing::info_span!("throwaway_postgres.start", bindir = %bindir.display()).entered();

        let initdb = run_as
            .command(&bindir.join("initdb"))
            .arg("--pgdata")
            .arg(&data)
            .args([
                "--username=postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
            ])
            .args(["--no-sync", "--no-instructions"])
            .output()
            .map_err(|source| ServerError::Io {
                step: "run initdb",
                source,
            })?;
        check_success("initdb", &initdb)?;

        let port = free_port()?;
        let server_options = format!(
            "-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories='{}' \
             -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
            directory.path().display()
        );
        let mut server = Self {
            port,
            pg_ctl: bindir.join("pg_ctl"),
            run_as,
            directory_path: directory.path().to_owned(),
            server_options,
            watcher_stdin: None,
            watcher: spawn_watcher(directory.path())?,
            _directory: directory,
        };
        server.watcher_stdin = server.watcher.stdin.take();
        server.resume()?;
        tracing::info!(port, "throwaway PostgreSQL started");

        Ok(server)
    }

    /// Stops the server (fast shutdown: open sessions are ended) and waits until it is down.
    /// The data stays; [`ThrowawayPostgres::resume`] starts it again on the same port.
    pub fn stop(&self) -> Result<(), ServerError> {
        let output = self
            .run_as
            .command(&self.pg_ctl)
            .args(["stop", "--wait", "--mode=fast", "--pgdata"])
            .arg(self.directory_path.join("data"))
            .stdin(Stdio::null())
            .output()
            .map_err(|source| ServerError::Io {
                step: "run pg_ctl stop",
                source,
            })?;
        check_success("pg_ctl stop", &output)
    }

    /// Starts the server on its data and port, waiting until it accepts connections.
    pub fn resume(&self) -> Result<(), ServerError> {
        let log = self.directory_path.join("server.log");
        let output = self
            .run_as
            .command(&self.pg_ctl)
            .args(["start", "--wait", "--pgdata"])
            .arg(self.directory_path.join("data"))
            .arg("--log")
            .arg(&log)
            .arg("--options")
            .arg(&self.server_options)
            .stdin(Stdio::null())
            .output()
            .map_err(|source| ServerError::Io {
                step: "run pg_ctl start",
                source,
            })?;
        check_success("pg_ctl start", &output).map_err(|error| match error {
            ServerError::ServerTool { program, output } => {
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                ServerError::ServerTool {
                    program,
                    output: format!("{output} {}", one_line(&log)),
                }
            }
            other => other,
        })
    }
    /// The port the server listens on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A connection URL for database `database` as the superuser `postgres`.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }
}

impl Drop for ThrowawayPostgres {
    fn drop(&mut self) {
        // Closing the pipe is the one shutdown path, shared with a process that dies.
        drop(self.watcher_stdin.take());
        if let Err(error) = self.watcher.wait() {
            tracing::warn!(%error, "could not wait for the throwaway PostgreSQL to stop");
        }
    }
}

/// Waits for its standard input to close, then stops the server (SIGQUIT: immediate shutdown,
/// nothing in it is worth keeping) and removes the directory once the server has gone.
const WATCHER_SCRIPT: &str = r#"
cat >/dev/null
pid=$(head -n 1 "$1/data/postmaster.pid" 2>/dev/null)
if [ -n "$pid" ]; then
    kill -QUIT "$pid" 2>/dev/null
    tries=0
    while kill -0 "$pid" 2>/dev/null && [ "$tries" -lt 300 ]; do
        sleep 0.1
        tries=$((tries + 1))
    done
fi
rm -rf "$1"
"#;

fn spawn_watcher(directory: &Path) -> Result<Child, ServerError> {
    Command::new("sh")
        .arg("-c")
        .arg(WATCHER_SCRIPT)
        .arg("chatledger-pg-watcher")
        .arg(directory)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|source| ServerError::Io {
            step: "start the server's watcher",
            source,
        })
}

/// Whether server commands run as the current user or, under root, as `postgres`.
#[derive(Debug)]
enum RunAs {
    CurrentUser,
    Postgres { uid: u32, gid: u32 },
}

impl RunAs {
    fn detect() -> Result<Self, ServerError> {
        let current_uid = id_of("-u", None)?;
        if current_uid != Some(0) {
            return Ok(Self::CurrentUser);
        }
        match (
            id_of("-u", Some("postgres"))?,
            id_of("-g", Some("postgres"))?,
        ) {
            (Some(uid), Some(gid)) => Ok(Self::Postgres { uid, gid }),
            _ => Err(ServerError::NoPostgresUser),
        }
    }

    fn command(&self, program: &Path) -> Command {
        match self {
            Self::CurrentUser => Command::new(program),
            Self::Postgres { .. } => {
                let mut command = Command::new("runuser");
                command.args(["-u", "postgres", "--"]).arg(program);
                command
            }
        }
    }

    fn give_ownership(&self, directory: &Path) -> Result<(), ServerError> {
        match self {
            Self::CurrentUser => Ok(()),
            Self::Postgres { uid, gid } => {
                std::os::unix::fs::chown(directory, Some(*uid), Some(*gid)).map_err(|source| {
                    ServerError::Io {
                        step: "hand the directory to postgres",
                        source,
                    }
                })
            }
        }
    }
}

/// `id -u` / `id -g`, of the current user or of `user`; `None` when the user does not exist.
fn id_of(flag: &str, user: Option<&str>) -> Result<Option<u32>, ServerError> {
    let output = Command::new("id")
        .arg(flag)
        .args(user)
        .stderr(Stdio::null())
        .output()
        .map_err(|source| ServerError::Io {
            step: "run id",
            source,
        })?;
    if !output.status.success() {
        return Ok(None);
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().parse().ok())
}

/// `CHATLEDGER_PG_BINDIR`, else `pg_config --bindir`, else the newest /usr/lib/postgresql/*/bin.
fn find_bindir() -> Result<PathBuf, ServerError> {
    let has_initdb = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();

    if let Some(dir) = std::env::var_os("CHATLEDGER_PG_BINDIR").map(PathBuf::from) {
        return if has_initdb(&dir) {
            Ok(dir)
        } else {
            Err(ServerError::BinariesNotFound)
        };
    }

    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()));
    if let Some(dir) = from_pg_config.filter(|dir| has_initdb(dir)) {
        return Ok(dir);
    }

    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, dir)| has_initdb(dir))
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, dir)| dir)
        .ok_or(ServerError::BinariesNotFound)
}

fn free_port() -> Result<u16, ServerError> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|source| ServerError::Io {
            step: "find a free port",
            source,
        })
}

fn check_success(program: &'static str, output: &Output) -> Result<(), ServerError> {
    if output.status.success() {
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&output.stderr).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stdout));
    Err(ServerError::ServerTool {
        program,
        output: one_line(&text),
    })
}

/// PostgreSQL's tools print several lines; errors here are one.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

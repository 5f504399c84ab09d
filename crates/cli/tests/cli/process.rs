//! Running the built `chatledger` binary and reading what it did.

use std::ffi::OsStr;
use std::process::{Command, Output};

/// What one run of the binary produced.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Self {
        Self {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// The binary with a clean environment: no DATABASE_URL, no RUST_LOG, no .env in reach.
pub fn chatledger() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_chatledger"));
    command
        .env_remove("DATABASE_URL")
        .env_remove("RUST_LOG")
        .current_dir(std::env::temp_dir());
    command
}

/// Runs the binary with `args` and waits for it.
pub fn run<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    chatledger()
        .args(args)
        .output()
        .expect("the binary runs")
        .into()
}

/// Asserts a failed run: exit `code`, nothing on stdout, one line on stderr starting `error:`,
/// and no panic or backtrace.
#[track_caller]
pub fn assert_one_line_failure(run: &Run, code: i32) {
    assert_eq!(run.code, Some(code), "{run:#?}");
    assert!(
        !run.stderr.contains("panicked") && !run.stderr.contains("backtrace"),
        "{run:#?}"
    );
    let first_line = run.stderr.lines().next().unwrap_or_default();
    assert!(first_line.starts_with("error:"), "{run:#?}");
}

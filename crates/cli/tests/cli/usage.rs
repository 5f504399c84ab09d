//! Bad invocations: a usage error exits 2, any other failure 1, with one clear line.

use std::os::unix::ffi::OsStrExt;

use crate::process::{Run, assert_one_line_failure, chatledger, run};

#[test]
fn an_unknown_subcommand_is_a_usage_error() {
    let run = run(["frobnicate"]);

    assert_one_line_failure(&run, 2);
}

#[test]
fn invalid_utf8_in_an_argument_is_a_usage_error() {
    let output = chatledger()
        .arg("migrate")
        .arg("--database-url")
        .arg(std::ffi::OsStr::from_bytes(b"postgres://\xff\xfe/db"))
        .output()
        .unwrap();

    assert_one_line_failure(&output.into(), 2);
}

#[test]
fn a_missing_database_says_how_to_give_one() {
    let run = run(["migrate"]);

    assert_one_line_failure(&run, 1);
    assert!(run.stderr.contains("DATABASE_URL"), "{run:#?}");
    assert_eq!(run.stderr.lines().count(), 1, "{run:#?}");
}

#[test]
fn an_unreachable_database_is_one_line_without_the_password() {
    let run = run([
        "migrate",
        "--database-url",
        "postgres://someone:hunter2@127.0.0.1:1/nowhere",
    ]);

    assert_one_line_failure(&run, 1);
    assert_eq!(run.stderr.lines().count(), 1, "{run:#?}");
    assert!(
        !run.stderr.contains("hunter2"),
        "the password is never printed: {run:#?}"
    );
}

#[test]
fn a_malformed_database_url_is_one_line() {
    let run = run(["migrate", "--database-url", "not a url at all"]);

    assert_one_line_failure(&run, 1);
    assert_eq!(run.stderr.lines().count(), 1, "{run:#?}");
}

#[test]
fn a_malformed_environment_is_one_line() {
    let directory = tempfile::tempdir().unwrap();
    std::fs::write(
        directory.path().join(".env"),
        "this line is not KEY=value\n\"unterminated",
    )
    .unwrap();

    let from_dotenv = chatledger()
        .arg("migrate")
        .current_dir(directory.path())
        .output()
        .unwrap();
    let from_variable = chatledger()
        .arg("migrate")
        .env("DATABASE_URL", "postgres://[not a host")
        .output()
        .unwrap();

    let from_dotenv: Run = from_dotenv.into();
    assert!(
        from_dotenv.stderr.contains(".env"),
        "the error names the file: {from_dotenv:#?}"
    );
    for run in [from_dotenv, from_variable.into()] {
        assert_one_line_failure(&run, 1);
        assert_eq!(run.stderr.lines().count(), 1, "{run:#?}");
    }
}

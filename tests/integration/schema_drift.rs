//! `crates/schema/src/schema.rs` is what the diesel CLI writes from the migrations with the
//! committed `diesel.toml`, and the CLI's own `migration run` and `migration redo` work with it.
//!
//! These tests need the diesel CLI on `PATH`, which a fresh machine lacks, so they are ignored by
//! the plain `cargo test`; `.ci/run` installs the CLI and runs them with `--ignored`.

use std::path::Path;
use std::process::Command;

use chatledger_tests::TestDatabase;

const WORKSPACE_ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn diesel(database: &TestDatabase, args: &[&str]) -> String {
    let output = Command::new("diesel")
        .args(args)
        .arg("--database-url")
        .arg(database.url())
        .current_dir(WORKSPACE_ROOT)
        .output()
        .expect("the diesel CLI is installed (cargo install diesel_cli --no-default-features --features postgres)");
    assert!(
        output.status.success(),
        "diesel {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("diesel prints UTF-8")
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the diesel CLI; .ci/run runs it"]
async fn committed_schema_matches_what_the_diesel_cli_prints() {
    let database = TestDatabase::empty().await;

    // --locked-schema makes the CLI fail instead of rewriting a schema.rs that differs.
    diesel(&database, &["migration", "run", "--locked-schema"]);
    let printed = diesel(&database, &["print-schema"]);

    let committed =
        std::fs::read_to_string(Path::new(WORKSPACE_ROOT).join("crates/schema/src/schema.rs"))
            .unwrap();
    assert!(
        printed == committed,
        "schema.rs drifted from the migrations; regenerate it with `diesel migration run`"
    );
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the diesel CLI; .ci/run runs it"]
async fn diesel_cli_redoes_every_migration() {
    let database = TestDatabase::empty().await;
    diesel(&database, &["migration", "run", "--locked-schema"]);

    let redo = diesel(
        &database,
        &["migration", "redo", "--all", "--locked-schema"],
    );

    let migrations = chatledger_domain::migrations::status(database.url())
        .await
        .unwrap();
    assert_eq!(
        redo.matches("Rolling back migration").count(),
        migrations.len()
    );
    assert_eq!(redo.matches("Running migration").count(), migrations.len());
    assert!(migrations.iter().all(|migration| migration.applied));
}

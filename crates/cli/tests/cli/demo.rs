//! `chatledger demo`: on a given database it refuses to mix its data into data that is there;
//! without one it brings its own server.

use chatledger_tests::TestDatabase;

use crate::process::{assert_one_line_failure, run};

#[tokio::test(flavor = "multi_thread")]
async fn demo_refuses_a_database_with_data_unless_forced() {
    let database = TestDatabase::new().await;

    let first = run(["demo", "--database-url", database.url()]);
    assert_eq!(first.code, Some(0), "{first:#?}");
    assert!(first.stdout.contains("support-answer"), "{first:#?}");

    let second = run(["demo", "--database-url", database.url()]);
    assert_one_line_failure(&second, 1);
    assert!(second.stderr.contains("--force"), "{second:#?}");

    let forced = run(["demo", "--force", "--database-url", database.url()]);
    assert_eq!(forced.code, Some(0), "{forced:#?}");
    assert!(forced.stdout.contains("Loaded 4 users"), "{forced:#?}");
}

#[test]
fn demo_without_a_database_starts_and_removes_its_own() {
    let output = run(["demo"]);

    assert_eq!(output.code, Some(0), "{output:#?}");
    assert!(
        output.stdout.contains("Started a throwaway PostgreSQL"),
        "{output:#?}"
    );
    assert!(
        output
            .stdout
            .contains("Which prompt version drives the best thumbs-up rate?")
    );
    assert!(output.stdout.contains("p99_ms"));
}

//! A test database holding the demo dataset, loaded by the binary itself.

use chatledger_tests::TestDatabase;

use crate::process::run;

/// A fresh database into which `chatledger demo` has loaded its dataset.
pub async fn demo_database() -> TestDatabase {
    let database = TestDatabase::new().await;
    let demo = run(["demo", "--database-url", database.url()]);
    assert_eq!(demo.code, Some(0), "{demo:#?}");
    database
}

/// Parses stdout as the JSON array a report prints.
#[track_caller]
pub fn json_rows(stdout: &str) -> Vec<serde_json::Map<String, serde_json::Value>> {
    let value: serde_json::Value = serde_json::from_str(stdout).expect("the report prints JSON");
    value
        .as_array()
        .expect("a JSON array")
        .iter()
        .map(|row| row.as_object().expect("of objects").clone())
        .collect()
}

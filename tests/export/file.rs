//! Writing an export to a file: the file appears under its name only when complete.

#![expect(
    clippy::unwrap_used,
    reason = "the helpers here fail the test when the file system or the server misbehaves"
)]

use std::path::Path;

use chatledger_query::export::{
    self, ExportError, ExportFormat, ExportOptions, ExportProgress, NoProgress,
};
use diesel::{Connection, PgConnection};
use diesel_async::RunQueryDsl;

use crate::support::{Ledger, Message, Rating};

diesel::define_sql_function! {
    /// The process id of the server backend serving this connection.
    fn pg_backend_pid() -> diesel::sql_types::Integer;
}

diesel::define_sql_function! {
    /// Ends another backend's session, as an administrator or a crash would.
    fn pg_terminate_backend(pid: diesel::sql_types::Integer) -> diesel::sql_types::Bool;
}

/// A ledger with three rated answers, so that a page size of one gives three pages.
async fn three_rated_answers() -> Ledger {
    let mut ledger = Ledger::new().await;
    let conversation = ledger.conversation().await;
    for turn in 1..=3 {
        ledger
            .append(conversation, Message::user(&format!("question {turn}")))
            .await;
        let answer = ledger
            .append(conversation, Message::assistant(&format!("answer {turn}")))
            .await;
        ledger.rate(answer, Rating::up()).await;
    }
    ledger
}

fn files_in(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Kills the export's database session once the first page is written.
struct KillSessionAfterFirstPage {
    database_url: String,
    backend_pid: i32,
    pages: u32,
}

impl ExportProgress for KillSessionAfterFirstPage {
    fn advanced(&mut self, _candidates_examined: u64, _records_written: u64) {
        self.pages += 1;
        if self.pages == 1 {
            let mut admin = PgConnection::establish(&self.database_url).unwrap();
            let terminate = diesel::select(pg_terminate_backend(self.backend_pid));
            let ended: bool = diesel::RunQueryDsl::get_result(terminate, &mut admin).unwrap();
            assert!(ended);
        }
    }
}

async fn export_killed_half_way(ledger: &mut Ledger, path: &Path) -> Result<(), ExportError> {
    let backend_pid: i32 = diesel::select(pg_backend_pid())
        .get_result(&mut ledger.connection)
        .await
        .unwrap();
    let mut progress = KillSessionAfterFirstPage {
        database_url: ledger.database.url().to_owned(),
        backend_pid,
        pages: 0,
    };
    let mut options = ExportOptions::new(ExportFormat::Kto);
    options.page_size = 1;
    export::export_to_path(&mut ledger.connection, &options, path, &mut progress)
        .await
        .map(drop)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_complete_export_is_renamed_into_place() {
    let mut ledger = three_rated_answers().await;
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("kto.jsonl");
    let options = ExportOptions::new(ExportFormat::Kto);
    let (in_memory, _) = ledger.export_text(&options).await;

    let summary = export::export_to_path(&mut ledger.connection, &options, &path, &mut NoProgress)
        .await
        .unwrap();

    assert_eq!(summary.records_written, 3);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), in_memory);
    assert_eq!(files_in(folder.path()), vec!["kto.jsonl"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_export_that_fails_half_way_leaves_no_file_under_the_final_name() {
    let mut ledger = three_rated_answers().await;
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("kto.jsonl");

    let result = export_killed_half_way(&mut ledger, &path).await;

    assert!(
        matches!(result, Err(ExportError::Database(_))),
        "{result:?}"
    );
    assert!(
        files_in(folder.path()).is_empty(),
        "{:?}",
        files_in(folder.path())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_export_that_fails_half_way_keeps_the_previous_file() {
    let mut ledger = three_rated_answers().await;
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("kto.jsonl");
    std::fs::write(&path, "yesterday's export\n").unwrap();

    let result = export_killed_half_way(&mut ledger, &path).await;

    assert!(result.is_err());
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "yesterday's export\n"
    );
    assert_eq!(files_in(folder.path()), vec!["kto.jsonl"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_folder_that_does_not_exist_is_a_file_error_naming_the_path() {
    let mut ledger = three_rated_answers().await;
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("missing").join("kto.jsonl");
    let options = ExportOptions::new(ExportFormat::Kto);

    let result =
        export::export_to_path(&mut ledger.connection, &options, &path, &mut NoProgress).await;

    match result {
        Err(ExportError::File { path: failed, .. }) => assert_eq!(failed, path),
        other => panic!("expected a file error, got {other:?}"),
    }
}

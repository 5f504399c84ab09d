//! `chatledger export --out FILE` killed half way: nothing may appear under `FILE`.
//!
//! The export writes to a hidden `.chatledger-export-*.partial` file beside `FILE` and renames it
//! only when complete. The process is killed with SIGKILL (no destructor, no cleanup) as soon as
//! records have reached that temporary file, which is the moment a careless writer would have
//! left half a dataset under the final name.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chatledger_tests::TestDatabase;

use crate::process::{chatledger, run};

/// Enough for the export to run for about a second in a debug build, far longer than the
/// millisecond it takes to notice the temporary file.
const CONVERSATIONS: &str = "6000";
const POLL_LIMIT: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_export_leaves_nothing_under_the_final_name() {
    let database = TestDatabase::new().await;
    let seeded = run([
        "seed",
        "--conversations",
        CONVERSATIONS,
        "--database-url",
        database.url(),
    ]);
    assert_eq!(seeded.code, Some(0), "{seeded:#?}");
    let directory = tempfile::tempdir().unwrap();
    let final_path = directory.path().join("dataset.jsonl");

    let mut export = chatledger()
        .args(["export", "--format", "jsonl", "--out"])
        .arg(&final_path)
        .args(["--database-url", database.url()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    let started = Instant::now();
    let partial = loop {
        if let Some(partial) = non_empty_partial(directory.path()) {
            break partial;
        }
        let ended = export.try_wait().unwrap();
        assert!(
            ended.is_none(),
            "the export ended ({ended:?}) before it could be interrupted; seed more data"
        );
        assert!(started.elapsed() < POLL_LIMIT, "no partial file appeared");
        std::thread::sleep(Duration::from_millis(1));
    };
    let killed = Command::new("kill")
        .args(["-9", &export.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = export.wait().unwrap();

    assert_eq!(
        status.signal(),
        Some(9),
        "the export was killed, not finished: {status}"
    );
    assert!(
        !final_path.exists(),
        "a killed export left a file under the final name"
    );
    // What is left is the temporary file, with the records written before the kill; a later
    // export does not reuse it, and it can be deleted by its name.
    assert!(partial.exists());
    let leftovers: Vec<PathBuf> = entries(directory.path());
    assert_eq!(leftovers, vec![partial], "only the partial file is left");
}

/// The temporary file of an export in `directory`, once records have been flushed into it.
fn non_empty_partial(directory: &Path) -> Option<PathBuf> {
    entries(directory).into_iter().find(|path| {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        name.starts_with(".chatledger-export-")
            && name.ends_with(".partial")
            && path.metadata().is_ok_and(|metadata| metadata.len() > 0)
    })
}

fn entries(directory: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(directory)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect()
}

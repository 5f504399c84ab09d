//! What a progress reporter is told while an export runs.

use chatledger_query::export::{self, ExportFormat, ExportOptions, ExportProgress, ExportSummary};

use crate::support::{Ledger, Message, Rating};

#[derive(Default)]
struct Recorder {
    wants_total: bool,
    started: Vec<Option<u64>>,
    advanced: Vec<(u64, u64)>,
    finished: Vec<ExportSummary>,
}

impl ExportProgress for Recorder {
    fn wants_total(&self) -> bool {
        self.wants_total
    }

    fn started(&mut self, total_candidates: Option<u64>) {
        self.started.push(total_candidates);
    }

    fn advanced(&mut self, candidates_examined: u64, records_written: u64) {
        self.advanced.push((candidates_examined, records_written));
    }

    fn finished(&mut self, summary: &ExportSummary) {
        self.finished.push(summary.clone());
    }
}

/// Five thumbs-down answers, of which the second and fourth have no correction.
async fn five_candidates() -> Ledger {
    let mut ledger = Ledger::new().await;
    let conversation = ledger.conversation().await;
    for turn in 1..=5 {
        ledger
            .append(conversation, Message::user(&format!("question {turn}")))
            .await;
        let answer = ledger
            .append(conversation, Message::assistant(&format!("answer {turn}")))
            .await;
        let rating = if turn % 2 == 0 {
            Rating::down()
        } else {
            Rating::down().correcting("fixed")
        };
        ledger.rate(answer, rating).await;
    }
    ledger
}

#[tokio::test(flavor = "multi_thread")]
async fn progress_gets_the_total_running_counts_per_page_and_the_summary() {
    let mut ledger = five_candidates().await;
    let mut options = ExportOptions::new(ExportFormat::OpenAiSft);
    options.page_size = 2;
    let mut recorder = Recorder {
        wants_total: true,
        ..Recorder::default()
    };
    let mut output = Vec::new();

    let summary = export::export(&mut ledger.connection, &options, &mut output, &mut recorder)
        .await
        .unwrap();

    assert_eq!(recorder.started, vec![Some(5)]);
    assert_eq!(recorder.advanced, vec![(2, 1), (4, 2), (5, 3)]);
    assert_eq!(recorder.finished, vec![summary.clone()]);
    assert_eq!(
        summary.to_string(),
        "wrote 3 openai-sft records, skipped 2 (2 thumbs-down without a correction)"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn no_total_is_counted_unless_asked_for() {
    let mut ledger = five_candidates().await;
    let mut recorder = Recorder::default();
    let mut output = Vec::new();

    let options = ExportOptions::new(ExportFormat::OpenAiSft);
    export::export(&mut ledger.connection, &options, &mut output, &mut recorder)
        .await
        .unwrap();

    assert_eq!(recorder.started, vec![None]);
    assert_eq!(recorder.advanced, vec![(5, 3)]);
}

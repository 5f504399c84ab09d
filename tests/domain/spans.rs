//! The spans of the operations name ids, never what people wrote or what metadata holds.

use std::io::Write;
use std::sync::{Arc, Mutex};

use chatledger_domain::feedback::{self, NewFeedback};
use chatledger_domain::messages::{self, NewMessage};
use chatledger_domain::{FeedbackRating, PageRequest};
use chatledger_tests::TestDatabase;
use serde_json::json;
use tracing::instrument::WithSubscriber;
use tracing_subscriber::fmt::format::FmtSpan;

use crate::support::{conversation, user};

/// Collects everything the subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn spans_carry_ids_and_no_content() {
    let database = TestDatabase::new().await;
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_span_events(FmtSpan::CLOSE)
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();

    let (conversation_id, message_id) = async {
        let mut conn = database.connect().await;
        let owner = user(&mut conn).await;
        let thread = conversation(&mut conn, &owner).await;
        let said = NewMessage::user(thread.id, "my card is 4111 1111 1111 1111")
            .with_metadata(json!({"ip": "203.0.113.7"}));
        let message = messages::append(&mut conn, said).await.unwrap();
        let rated = NewFeedback::new(message.id, Some(owner.id), FeedbackRating::ThumbsDown)
            .with_correction("call me at 555-0100");
        feedback::submit(&mut conn, rated).await.unwrap();
        messages::history(&mut conn, thread.id, &PageRequest::first(10))
            .await
            .unwrap();
        (thread.id, message.id)
    }
    .with_subscriber(subscriber)
    .await;

    let output = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(output.contains("messages.append"), "{output}");
    assert!(
        output.contains(&format!("conversation_id={conversation_id}")),
        "{output}"
    );
    assert!(
        output.contains(&format!("message_id={message_id}")),
        "{output}"
    );
    for private in ["4111", "203.0.113.7", "555-0100"] {
        assert!(
            !output.contains(private),
            "{private} leaked into the spans: {output}"
        );
    }
}

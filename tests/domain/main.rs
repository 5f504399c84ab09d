//! The domain library's tests: every operation against a real PostgreSQL, each test on a
//! database of its own, concurrency claims on real concurrent connections.

#![expect(
    clippy::unwrap_used,
    reason = "a fixture that cannot be built must fail the test"
)]

mod embeddings;
mod hostile;
mod ledger;
mod messages;
mod metadata;
mod migrations;
mod pool;
mod prompts;
mod spans;
mod sql_text;
mod support;
mod users;

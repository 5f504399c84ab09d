//! The reports of `chatledger-query`, each run on a small dataset whose answers were worked out
//! by hand; the working is written next to each expected number.

#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "the dataset helpers fail the test when they cannot build its rows"
)]

mod categories_and_retrievals;
mod embedding_audit;
mod fixtures;
mod latency_and_finish_reasons;
mod prompt_compare;
mod prompt_feedback;
mod token_anomalies;
mod token_usage;

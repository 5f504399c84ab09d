//! The cross-crate integration tests: one binary, every test on a database of its own.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions fail the test by panicking"
)]

mod access;
mod enums;
mod harness;
mod invariants;
mod migrations;
mod plans;
mod schema_drift;
mod support;
mod uuid_keys;

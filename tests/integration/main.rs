//! The cross-crate integration tests: one binary, every test on a database of its own.

mod access;
mod harness;
mod invariants;
mod migrations;
mod schema_drift;
mod support;
mod uuid_keys;

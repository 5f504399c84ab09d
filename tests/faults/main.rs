//! Faults and load against a real PostgreSQL server: backends killed under load, a server
//! restart, a statement timeout, and a soak of mixed traffic from many concurrent tasks.
//!
//! Each test but the restart runs on a database of its own from the harness; the restart test
//! stops and starts a throwaway cluster of its own, so the shared server is never touched.

#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions fail the test by panicking"
)]

mod killed_connections;
mod restart;
mod soak;
mod statement_timeout;
mod support;

//! The `chatledger` binary, run as a process against real databases.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers outside #[test] functions fail the test by panicking"
)]

mod demo;
mod erase_user;
mod export;
mod fixture;
mod interrupted_export;
mod logs;
mod migrate;
mod process;
mod report;
mod seed;
mod usage;

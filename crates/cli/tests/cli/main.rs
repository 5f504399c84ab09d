//! The `chatledger` binary, run as a process against real databases.

mod migrate;
mod process;
mod usage;

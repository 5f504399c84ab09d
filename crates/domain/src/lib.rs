//! chatledger's library: typed models and async operations that record an LLM product's life.

pub mod migrations;
pub mod pool;

pub use pool::{PgPool, PoolConfig, PooledConnection};

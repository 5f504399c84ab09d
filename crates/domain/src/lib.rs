#![doc = include_str!("../README.md")]

pub mod conversations;
pub mod embeddings;
pub mod error;
pub mod feedback;
pub mod guard;
pub mod messages;
pub mod migrations;
pub mod page;
pub mod pool;
pub mod prompts;
pub mod retrievals;
pub mod sql_text;
pub mod template;
pub mod users;

pub use chatledger_schema::{FeedbackRating, MessageRole};
pub use error::{Error, InvalidReason};
pub use page::{Page, PageRequest};
pub use pool::{PgPool, PoolConfig, PooledConnection};
pub use template::TemplateError;

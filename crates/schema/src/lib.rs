//! The shape of chatledger's data as diesel sees it.
//!
//! [`schema`] is written by the diesel CLI from `migrations/` (see `diesel.toml` and
//! `src/schema.patch`) and is never edited by hand; CI fails when it drifts from the migrations.
//! [`enums`] maps the two Postgres enum types to Rust, in one place next to the tables.

pub mod enums;
#[expect(
    missing_docs,
    reason = "the diesel CLI writes this module; its docs come from COMMENT ON"
)]
pub mod schema;

pub use enums::{FeedbackRating, MessageRole};

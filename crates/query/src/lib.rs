//! Packaged analytics and dataset exports over chatledger's schema.
//!
//! Reports ([`reports`]) answer the questions the schema exists for, one function per report,
//! each returning typed, serialisable rows. Exports ([`export`]) stream the labelled dataset that
//! feedback makes, with personal data redacted ([`redact`]) unless the caller opts out.

pub mod export;
pub mod filters;
pub mod redact;
pub mod reports;
pub mod stats;

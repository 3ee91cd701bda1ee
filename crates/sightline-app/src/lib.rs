//! Sightline's application layer: the operations the HTTP server and the CLI share.
//!
//! Invariant: every write of one batch happens in one store transaction; a batch
//! with any invalid record leaves the store unchanged.
//!
//! Invariant: nothing here logs personal data; log lines carry counts, agency ids
//! and record ids only.

pub mod accounts;
pub mod audit;
pub mod audit_checkpoints;
pub mod bodies;
pub mod cases;
pub mod clock_book;
pub mod clocks;
pub mod controls;
pub mod cpis;
pub mod decisions;
pub mod demo;
pub mod engine;
pub mod erasure;
pub mod evaluate;
pub mod export;
pub mod ingest;
pub mod login_csrf;
pub mod memory;
pub mod need_to_know;
pub mod organisation;
pub mod persons;
pub mod picture;
pub mod privacy;
pub mod relationships;
pub mod retention;
pub mod routing;
pub mod sar;
pub mod sign_in;
pub mod tokens;
pub mod views;
pub mod work;

pub use engine::{Engine, EngineConfig, EngineError, SharedEngine};
pub use ingest::{
    BatchIngest, FileRejected, IngestError, IngestSummary, Preparation, PreparedRecord,
    content_hash, ingest_from_agency, ingest_parsed, prepare,
};
pub use tokens::{AgencyToken, LiveToken, TokenError, create_token, live_token, token_agency};

/// Microseconds since the Unix epoch, the store's time unit.
pub fn to_micros(instant: chrono::DateTime<chrono::Utc>) -> i64 {
    instant.timestamp_micros()
}

/// The instant of a store timestamp.
pub fn from_micros(micros: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

//! Sightline's pure core: the domain types, the interchange format's parser
//! (version 1.1, `spec/interchange.md`) and the organisation configuration
//! (`org`).
//!
//! Invariant: this crate does no IO, reads no clock and starts no task; time comes
//! in as a parameter (`received_at`). CI checks that it depends on no tokio, sqlx,
//! axum or database driver.
//!
//! Invariant: a value of a newtype here (`NhsNumber`, `Postcode`, `PartialDate`,
//! `AgencyId`, `RecordId`) is valid; the only way to build one is its `parse`.

pub mod dates;
pub mod interchange;
pub mod labels;
pub mod org;
pub mod record;
pub mod terminal;
pub mod values;
pub mod vocab;

pub use record::{
    Address, AttributeValue, Attributes, Finding, Person, Record, Relationship, Source,
};
pub use values::{AgencyId, NhsNumber, OccurredAt, PartialDate, Postcode, RecordId, ValueError};
pub use vocab::{FindingCode, Kind, RelationshipType, Role, Sex};

//! The Sightline record log: an append-only, bitemporal store of validated
//! interchange records, behind one synchronous trait ([`Store`]) with two real
//! backends, SQLite (embedded default) and PostgreSQL.
//!
//! The API is synchronous on purpose: the HTTP server calls it inside
//! `tokio::task::spawn_blocking`. A write transaction is a value ([`WriteTx`]):
//! [`WriteTx::commit`] consumes it and dropping it rolls back.
//!
//! ```no_run
//! # fn demo(record: sightline_store::NewRecord) -> Result<(), sightline_store::StoreError> {
//! let store = sightline_store::open("sqlite://data/sightline.db")?;
//! let mut tx = store.begin()?;
//! let outcomes = tx.append(&[record])?;
//! tx.commit()?; // only now may the records be acknowledged as durable
//! # let _ = outcomes; Ok(()) }
//! ```
//!
//! # Invariants
//!
//! - Invariant: `records` is append-only. Both backends install triggers that make
//!   every UPDATE and DELETE (and, in PostgreSQL, TRUNCATE) on it fail.
//! - Invariant: `(agency, record_id, version)` is unique. Appending an existing
//!   triple is a [`AppendOutcome::Duplicate`] and changes nothing, also when the
//!   first copy arrived earlier in the same slice.
//! - Invariant: the current version of a record is its highest stored version;
//!   lower versions are kept as history and never overwritten.
//! - Invariant: `seq` order equals commit order (SQLite has one writer; PostgreSQL
//!   writers take `pg_advisory_xact_lock` first), so a reader paging with
//!   `after_seq` never misses a committed row.
//! - Invariant: a store is only opened when the backend is durable at commit
//!   (SQLite WAL with `synchronous=FULL`; PostgreSQL with `fsync=on` and
//!   `synchronous_commit` not `off`); otherwise [`StoreError::UnsafeDurability`].
//! - Invariant: record bodies never appear in errors or `Debug` output.
//! - Invariant: alerts raised in a write transaction commit or roll back with its
//!   records; alerts and their history are never deleted (see [`AlertStore`]).

// Tests may unwrap: a panic there is a failed test, not a crashed server.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod access;
mod accounts;
mod alerts;
mod audit_query;
mod backup;
mod controls;
mod crypt;
mod error;
mod linkage;
mod migrations;
mod postgres_backend;
mod reference;
mod retention;
mod sql;
mod sqlite_backend;
mod url;

use std::fmt;

pub use access::{
    ACCESS_READ_LIMIT_MAX, AccessStore, CitingAlert, NOTICE_BREAK_GLASS, NOTICE_CPIS_ACCESS,
    NOTICE_NEW_RELATIONSHIP, NOTICE_RELATIONSHIP_HELD, NewNotice, NewRelationship, NoticeFilter,
    NoticeRow, Notify, RELATIONSHIP_ESTABLISHED, RELATIONSHIP_HELD, RelationshipRow,
};
pub use accounts::{
    ACCOUNT_LIST_LIMIT_MAX, AUDIT_READ_LIMIT_MAX, AccountStore, AuditRow, AuditStore, GrantRow,
    NewGrant, NewUser, RecordSummary, SessionRow, ThrottlePolicy, ThrottleRow, TokenRow, UserRow,
};
pub use alerts::{
    ALERT_LIST_LIMIT_MAX, AlertChange, AlertCounts, AlertCursor, AlertEventRow, AlertFilter,
    AlertRow, AlertStore, AlertUpsert, Assigned, Assignment, Decision, ESCALATION_HEAD_OF_SERVICE,
    ESCALATION_NONE, ESCALATION_TEAM_MANAGER, EvidenceRow, FollowUpFilter, FollowUpPlan,
    FollowUpRow, Holder, Reopening, SEVERITIES, STATUS_DECIDED, STATUS_OPEN, severity_rank,
};
pub use audit_query::{AUDIT_QUERY_KEYS_MAX, AuditQuery, GRANT_IDS_MAX, GrantGiven};
pub use backup::{BackupReport, RestoreReport, backup, restore};
pub use controls::{
    CONTROL_REASON_BYTES_MAX, CONTROLS_READ_LIMIT_MAX, HOLD_PLACED, HOLD_RELEASED, HoldRow, LIFTED,
    NewHold, NewRestriction, NewUnredaction, RESTRICTED, RESTRICTION_ROLES, RestrictionRow,
    UnredactionRow,
};
pub use crypt::{ERASED_PERSON_PREFIX, EnvelopeKeys};
pub use error::StoreError;
pub use linkage::{
    DECISION_READ_LIMIT_MAX, DecisionVerdict, LinkageDecisionRow, LinkageStore, NewLinkageDecision,
    REASON_BYTES_MAX as DECISION_REASON_BYTES_MAX,
};
pub use migrations::{AppliedMigration, MigrationReport};
pub use reference::{ReferenceRow, reference_bulk_insert};
pub use retention::{
    NewRetentionBatch, NewRetentionDecision, RETENTION_APPROVED, RETENTION_BATCH_RECORDS_MAX,
    RETENTION_DEFERRED, RETENTION_REJECTED, RetentionBatchRecord, RetentionBatchRow,
    RetentionDecisionRow,
};

/// The most rows one [`Store::list_records`] call returns; larger limits are clamped.
pub const LIST_RECORDS_LIMIT_MAX: u32 = 10_000;

/// Which database a store is backed by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    /// Embedded SQLite file (`sqlite://path/to.db`).
    Sqlite,
    /// PostgreSQL server (`postgres://...` or `postgresql://...`).
    Postgres,
}

impl fmt::Display for Backend {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        })
    }
}

/// One validated interchange record, ready for the log.
#[derive(Clone, PartialEq, Eq)]
pub struct NewRecord {
    /// `source.agency`.
    pub agency: String,
    /// `source.record_id`.
    pub record_id: String,
    /// `source.version`, at least 1.
    pub version: i64,
    /// The record kind, e.g. `police.domestic_incident`.
    pub kind: String,
    /// As sent: `"2007-04-12T22:40:00Z"`, `"2007-04-12"` or `"2007-04"`.
    pub occurred_at: String,
    /// Start of that instant, day or month, UTC microseconds since the epoch.
    pub occurred_start_us: i64,
    /// When the agency recorded it, UTC microseconds since the epoch.
    pub recorded_at_us: i64,
    /// When Sightline received it, UTC microseconds since the epoch.
    pub received_at_us: i64,
    /// SHA-256 of the body.
    pub content_hash: [u8; 32],
    /// The record JSON as received.
    pub body: String,
}

/// A record as stored in the log, with its position `seq`.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredRecord {
    /// Position in the log; strictly increasing in commit order, not gapless.
    pub seq: i64,
    /// `source.agency`.
    pub agency: String,
    /// `source.record_id`.
    pub record_id: String,
    /// `source.version`.
    pub version: i64,
    /// The record kind.
    pub kind: String,
    /// As sent.
    pub occurred_at: String,
    /// Start of `occurred_at`, UTC microseconds since the epoch.
    pub occurred_start_us: i64,
    /// When the agency recorded it, UTC microseconds since the epoch.
    pub recorded_at_us: i64,
    /// When Sightline received it, UTC microseconds since the epoch.
    pub received_at_us: i64,
    /// SHA-256 of the body as received (kept after an erasure, see
    /// docs/data-protection.md, "Erasure").
    pub content_hash: [u8; 32],
    /// The record JSON as received, decrypted; a person whose key was erased
    /// reads as `{"ref", "role", "source_person_id": "erased:ID"}`. Empty when
    /// the whole record was erased (`erased`).
    pub body: String,
    /// The erasure that destroyed this row's record key: its body is gone.
    pub erased: Option<i64>,
}

impl StoredRecord {
    /// The record without its `seq`, as it was appended.
    pub fn to_new_record(&self) -> NewRecord {
        NewRecord {
            agency: self.agency.clone(),
            record_id: self.record_id.clone(),
            version: self.version,
            kind: self.kind.clone(),
            occurred_at: self.occurred_at.clone(),
            occurred_start_us: self.occurred_start_us,
            recorded_at_us: self.recorded_at_us,
            received_at_us: self.received_at_us,
            content_hash: self.content_hash,
            body: self.body.clone(),
        }
    }
}

// Debug output leaves out the body and the occurrence date: they are personal data
// and Debug output ends up in logs and panic messages.
impl fmt::Debug for NewRecord {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("NewRecord")
            .field("agency", &self.agency)
            .field("record_id", &self.record_id)
            .field("version", &self.version)
            .field("kind", &self.kind)
            .field("received_at_us", &self.received_at_us)
            .field("body_bytes", &self.body.len())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for StoredRecord {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("StoredRecord")
            .field("seq", &self.seq)
            .field("agency", &self.agency)
            .field("record_id", &self.record_id)
            .field("version", &self.version)
            .field("kind", &self.kind)
            .field("received_at_us", &self.received_at_us)
            .field("body_bytes", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// What happened to one appended record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendOutcome {
    /// The record was stored at `seq`.
    Stored {
        /// Its position in the log.
        seq: i64,
        /// A lower version of the same `(agency, record_id)` existed and this one is
        /// now the current version. A lower version arriving late is stored as
        /// history with `superseded: false`.
        superseded: bool,
    },
    /// The `(agency, record_id, version)` triple was already stored (earlier, or
    /// earlier in the same slice); nothing changed.
    Duplicate {
        /// The `seq` of the stored copy.
        existing_seq: i64,
        /// Whether the stored copy has the same content hash.
        same_content: bool,
    },
}

/// Which records [`Store::list_records`] returns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecordFilter {
    /// Only this agency.
    pub agency: Option<String>,
    /// Only this kind.
    pub kind: Option<String>,
    /// Only records with `received_at_us >= received_since_us`.
    pub received_since_us: Option<i64>,
    /// Only records with `seq > after_seq` (the paging cursor).
    pub after_seq: Option<i64>,
    /// At most this many rows (clamped to [`LIST_RECORDS_LIMIT_MAX`]).
    pub limit: u32,
}

/// The record log. Implementations are safe to share between threads.
pub trait Store: Send + Sync {
    /// Starts a write transaction. Writers are serialised: this waits for any other
    /// open write transaction to finish.
    fn begin(&self) -> Result<Box<dyn WriteTx + '_>, StoreError>;
    /// Every stored version of one record, ascending by version; versions
    /// whose record key was erased are left out.
    fn record_versions(
        &self,
        agency: &str,
        record_id: &str,
    ) -> Result<Vec<StoredRecord>, StoreError>;
    /// Records matching `filter`, ascending by `seq`, with `seq > after_seq`, at most
    /// `limit` of them. An erased record is listed with `erased` set and an
    /// empty body, so paging by `seq` never stops early.
    fn list_records(&self, filter: &RecordFilter) -> Result<Vec<StoredRecord>, StoreError>;
    /// How many rows (all versions) the log holds.
    fn count_records(&self) -> Result<u64, StoreError>;
    /// The highest `seq` in the log (the head a follower catches up to),
    /// `None` when the log is empty.
    fn head_seq(&self) -> Result<Option<i64>, StoreError>;
    /// Stores the hash of a new agency API token and returns its id.
    /// A hash that is already stored is [`StoreError::TokenExists`].
    fn create_token(
        &self,
        agency: &str,
        token_hash: &[u8; 32],
        created_at_us: i64,
    ) -> Result<i64, StoreError>;
    /// The agency a token hash belongs to; `None` if unknown or revoked.
    fn token_agency(&self, token_hash: &[u8; 32]) -> Result<Option<String>, StoreError> {
        Ok(self.live_token(token_hash)?.map(|(_, agency)| agency))
    }
    /// The id and agency of the live token with this hash; `None` if unknown
    /// or revoked.
    fn live_token(&self, token_hash: &[u8; 32]) -> Result<Option<(i64, String)>, StoreError>;
    /// Revokes the token with this id; `false` if there is no such unrevoked token.
    fn revoke_token(&self, token_id: i64, revoked_at_us: i64) -> Result<bool, StoreError>;
    /// Which backend this is.
    fn backend(&self) -> Backend;
    /// Staff accounts, sessions, login throttling, break-glass grants, token list.
    fn accounts(&self) -> &dyn AccountStore;
    /// The append-only, hash-chained audit log.
    fn audit(&self) -> &dyn AuditStore;
    /// Alerts, their evidence and history (raising them is [`WriteTx::upsert_alerts`]).
    fn alerts(&self) -> &dyn AlertStore;
    /// The append-only log of people's linkage decisions (clerical review).
    fn linkage(&self) -> &dyn LinkageStore;
    /// The relationships intake established and the notices of new access.
    fn access(&self) -> &dyn AccessStore;
    /// Erases: writes the tombstone (an `erasures` row and the key ids in
    /// `erased_keys`) and deletes the data keys of every version of the named
    /// records (all of a record's keys, or only the mentions with the named
    /// refs), in one transaction. On SQLite the WAL is then checkpointed
    /// (TRUNCATE) so no copy of a destroyed key stays in it. A target that
    /// names no stored row is skipped; a key already erased is not counted.
    fn erase(&self, erasure: &NewErasure) -> Result<ErasureRow, StoreError>;
    /// Every erasure, oldest first (the tombstones; no personal data).
    fn erasures(&self) -> Result<Vec<ErasureRow>, StoreError>;
    /// The id of the newest erasure, if any (a cache compares it to the one
    /// it was built after).
    fn newest_erasure(&self) -> Result<Option<i64>, StoreError>;
    /// The key ids of one stored row's envelope; `None` if there is no such
    /// row or its body is plaintext.
    fn envelope_keys(&self, seq: i64) -> Result<Option<EnvelopeKeys>, StoreError>;
    /// Compacts the database after an erasure so freed pages keep no copy of
    /// a destroyed key: SQLite `VACUUM` and a WAL checkpoint (TRUNCATE);
    /// PostgreSQL `VACUUM FULL` of the key table and a `CHECKPOINT` (which
    /// needs a superuser or `pg_checkpoint`; refused otherwise, reported).
    fn compact_after_erasure(&self) -> Result<(), StoreError>;
}

/// What [`Store::erase`] erases: one record (all its keys) or the mentions
/// of one person in records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewErasure {
    /// When, UTC microseconds.
    pub at_us: i64,
    /// Who (a username, or `cli`).
    pub actor: String,
    /// `person` or `record`.
    pub scope: String,
    /// The person id or `AGENCY/RECORD_ID` (no personal data).
    pub target: String,
    /// Why, in a sentence.
    pub reason: String,
    /// What to erase.
    pub targets: Vec<ErasureTarget>,
}

/// One record whose keys go: all of them (`refs` `None`), or the mention keys
/// of the persons with these refs, in every stored version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErasureTarget {
    pub agency: String,
    pub record_id: String,
    pub refs: Option<Vec<String>>,
}

/// A stored erasure (tombstone).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErasureRow {
    pub id: i64,
    pub at_us: i64,
    pub actor: String,
    pub scope: String,
    pub target: String,
    pub reason: String,
    /// Rows (record versions) whose keys went.
    pub n_records: i64,
    /// Keys destroyed.
    pub n_keys: i64,
    /// Which keys, ascending.
    pub key_ids: Vec<i64>,
}

/// Values allowed in [`NewErasure::scope`].
pub const ERASURE_SCOPES: [&str; 2] = ["person", "record"];

/// The longest erasure reason, in bytes.
pub const ERASURE_REASON_BYTES_MAX: usize = 2_000;

/// Which key ids of a stored envelope `target` takes.
fn target_key_ids(keys: &EnvelopeKeys, refs: Option<&[String]>) -> Vec<i64> {
    match refs {
        None => std::iter::once(keys.record_key)
            .chain(keys.mentions.iter().map(|(_, key_id)| *key_id))
            .collect(),
        Some(refs) => keys
            .mentions
            .iter()
            .filter(|(person_ref, _)| refs.iter().any(|wanted| wanted == person_ref))
            .map(|(_, key_id)| *key_id)
            .collect(),
    }
}

fn check_erasure(erasure: &NewErasure) -> Result<(), StoreError> {
    let reason = if !ERASURE_SCOPES.contains(&erasure.scope.as_str()) {
        "scope is not person or record"
    } else if erasure.actor.is_empty() {
        "actor is empty"
    } else if erasure.target.is_empty() {
        "target is empty"
    } else if erasure.reason.trim().is_empty() {
        "reason is empty"
    } else if erasure.reason.len() > ERASURE_REASON_BYTES_MAX {
        "reason is too long"
    } else {
        return Ok(());
    };
    Err(StoreError::InvalidErasure(reason))
}

/// An open write transaction. [`WriteTx::commit`] consumes it; dropping it without
/// committing rolls back everything appended in it.
pub trait WriteTx {
    /// Appends records in order and returns one outcome per input, in order.
    fn append(&mut self, records: &[NewRecord]) -> Result<Vec<AppendOutcome>, StoreError>;
    /// Raises or re-raises alerts in this transaction, so they commit (or roll back)
    /// with the records that caused them. For each input, in order: an unknown id
    /// is inserted open with its evidence (`Raised`); a known id gets the evidence
    /// rows it lacks (`EvidenceAdded`), a higher severity (`SeverityRaised`), and,
    /// if it was decided and new evidence arrived, is open again with the input's
    /// `due_at_us` and `routed_to` and escalation level 0 (`Reopened`); an input
    /// that changes nothing is `Unchanged`. Every change writes an alert event
    /// stamped `at_us`. Idempotent. An invalid input ([`StoreError::InvalidAlert`])
    /// rejects the whole slice before anything is written; a database error
    /// poisons the transaction like a failed `append`.
    fn upsert_alerts(
        &mut self,
        alerts: &[AlertUpsert],
        at_us: i64,
    ) -> Result<Vec<AlertChange>, StoreError>;
    /// Records relationships (and their notices) in this transaction, so they
    /// commit or roll back with the records that established them. An invalid
    /// row ([`StoreError::InvalidAccess`]) rejects the slice before anything is
    /// written; a database error poisons the transaction.
    fn append_relationships(
        &mut self,
        rows: &[NewRelationship],
    ) -> Result<Vec<RelationshipRow>, StoreError>;
    /// Makes the appended records durable. Only after `Ok` may they be acknowledged.
    fn commit(self: Box<Self>) -> Result<(), StoreError>;
}

/// Opens a store: parses the URL, connects, checks durability settings and applies
/// pending migrations.
///
/// Accepted URLs: `sqlite://relative/path.db`, `sqlite:///absolute/path.db` (the
/// file and its parent directory are created on first use), `sqlite::memory:` (a
/// private throwaway database, removed when the store is dropped), and
/// `postgres://...` or `postgresql://...` in libpq URL form.
pub fn open(url: &str) -> Result<Box<dyn Store>, StoreError> {
    match url::parse(url)? {
        url::DatabaseUrl::Sqlite(location) => {
            Ok(Box::new(sqlite_backend::SqliteStore::open(location)?))
        }
        url::DatabaseUrl::Postgres(config) => {
            Ok(Box::new(postgres_backend::PgStore::open(*config)?))
        }
    }
}

/// Applies pending migrations without opening a store, and reports what it did.
pub fn migrate(url: &str) -> Result<MigrationReport, StoreError> {
    match url::parse(url)? {
        url::DatabaseUrl::Sqlite(location) => sqlite_backend::migrate(&location),
        url::DatabaseUrl::Postgres(config) => postgres_backend::migrate(&config),
    }
}

/// Checks one record before it reaches the database, so that a bad value is a
/// clear error rather than a constraint failure. Says nothing about the body.
fn check_new_record(record_idx: usize, record: &NewRecord) -> Result<(), StoreError> {
    let reason = if record.agency.is_empty() {
        "agency is empty"
    } else if record.record_id.is_empty() {
        "record_id is empty"
    } else if record.version < 1 {
        "version is less than 1"
    } else if record.kind.is_empty() {
        "kind is empty"
    } else if record.occurred_at.is_empty() {
        "occurred_at is empty"
    } else {
        return Ok(());
    };
    Err(StoreError::InvalidRecord { record_idx, reason })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> NewRecord {
        NewRecord {
            agency: "north-met-police".into(),
            record_id: "DA-1".into(),
            version: 1,
            kind: "police.call_out".into(),
            occurred_at: "2007-04".into(),
            occurred_start_us: 0,
            recorded_at_us: 0,
            received_at_us: 0,
            content_hash: [0; 32],
            body: "{\"narrative\":\"SECRET-NARRATIVE\"}".into(),
        }
    }

    #[test]
    fn debug_output_leaves_out_the_body() {
        let text = format!("{:?}", record());
        assert!(!text.contains("SECRET"), "{text}");
        assert!(text.contains("DA-1"));
    }

    #[test]
    fn bad_records_are_named_by_index() {
        let mut bad = record();
        bad.version = 0;
        assert!(check_new_record(3, &record()).is_ok());
        let error = check_new_record(3, &bad);
        assert!(matches!(
            error,
            Err(StoreError::InvalidRecord { record_idx: 3, .. })
        ));
    }
}

//! The one error type of this crate.
//!
//! Messages carry no personal data: never a record body, and database errors keep
//! only the server's primary message, not its DETAIL (which can quote a row).

use crate::Backend;

/// Everything that can go wrong in the store. Variants are stable; match on them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database URL could not be understood. The URL itself is not repeated, as
    /// it may hold a password.
    #[error("invalid database URL: {reason}")]
    InvalidUrl {
        /// What is wrong with it, in plain words.
        reason: String,
    },
    /// The database would not make commits durable, so the store refuses to open.
    #[error("unsafe durability setting on {backend}: {setting} is {found:?}, expected {expected}")]
    UnsafeDurability {
        /// Which backend.
        backend: Backend,
        /// The setting, e.g. `synchronous` or `fsync`.
        setting: &'static str,
        /// The value read back.
        found: String,
        /// What it must be.
        expected: &'static str,
    },
    /// A migration could not be applied, or the schema is unknown.
    #[error("migration failed on {backend}: {message}")]
    Migration {
        /// Which backend.
        backend: Backend,
        /// What went wrong.
        message: String,
    },
    /// An erasure was rejected before it reached the database.
    #[error("erasure cannot be stored: {0}")]
    InvalidErasure(&'static str),
    /// A record was rejected before it reached the database.
    #[error("record {record_idx} cannot be stored: {reason}")]
    InvalidRecord {
        /// Its position in the appended slice.
        record_idx: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An earlier `append` in this write transaction failed, so the transaction
    /// can only be dropped (rolled back); nothing in it will be committed.
    #[error("the write transaction failed earlier; drop it and start a new one")]
    TransactionFailed,
    /// A token with this hash is already stored.
    #[error("a token with this hash already exists")]
    TokenExists,
    /// An alert or decision was rejected before it reached the database.
    #[error("alert cannot be stored: {reason}")]
    InvalidAlert {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A relationship or access notice was rejected before it reached the
    /// database.
    #[error("access record cannot be stored: {reason}")]
    InvalidAccess {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// No alert has this id.
    #[error("no such alert")]
    AlertNotFound,
    /// The alert is not open (it was decided), so it cannot be decided or escalated.
    #[error("the alert is not open")]
    AlertNotOpen,
    /// The alert is open, so it cannot be reopened.
    #[error("the alert is open, not decided")]
    AlertNotDecided,
    /// No follow-up has this id.
    #[error("no such follow-up")]
    FollowUpNotFound,
    /// The follow-up was already recorded done.
    #[error("the follow-up was already recorded done")]
    FollowUpDone,
    /// An escalation asked for a level not above the alert's current level.
    #[error("the alert is already escalated to level {current}")]
    EscalationNotHigher {
        /// The alert's current escalation level.
        current: i64,
    },
    /// A linkage decision was rejected before it reached the database.
    #[error("linkage decision cannot be stored: {reason}")]
    InvalidDecision {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// No database connection became free in time.
    #[error("timed out waiting for a {backend} connection")]
    PoolTimeout {
        /// Which backend.
        backend: Backend,
    },
    /// A filesystem error (SQLite only), e.g. creating the database's directory.
    #[error("filesystem error: {0}")]
    Io(#[from] std::io::Error),
    /// Any other error from the database.
    #[error("{backend} error: {message}")]
    Database {
        /// Which backend.
        backend: Backend,
        /// The SQLSTATE code, for PostgreSQL server errors.
        code: Option<String>,
        /// The database's message.
        message: String,
    },
    /// A backup could not be made (`backup`).
    #[error("backup failed: {reason}")]
    Backup {
        /// What went wrong, in plain words (never the database URL).
        reason: String,
    },
    /// A stored value broke an invariant (e.g. a content hash that is not 32 bytes).
    #[error("corrupt stored data: {0}")]
    Corrupt(&'static str),
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        StoreError::Database {
            backend: Backend::Sqlite,
            code: None,
            message: error.to_string(),
        }
    }
}

impl From<postgres::Error> for StoreError {
    fn from(error: postgres::Error) -> Self {
        // Keep only the primary message: DETAIL lines can quote a whole failing row.
        match error.as_db_error() {
            Some(db_error) => StoreError::Database {
                backend: Backend::Postgres,
                code: Some(db_error.code().code().to_owned()),
                message: db_error.message().to_owned(),
            },
            None => StoreError::Database {
                backend: Backend::Postgres,
                code: None,
                // Client-side errors (connecting, I/O) name their cause only in the source.
                message: match std::error::Error::source(&error) {
                    Some(source) => format!("{error}: {source}"),
                    None => error.to_string(),
                },
            },
        }
    }
}
